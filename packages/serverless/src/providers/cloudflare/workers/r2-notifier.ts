/**
 * A wrapped binding around a local R2 bucket (run by workerd beside the service's Worker, set up by `runtime.ts`):
 * the service sees a real R2 bucket binding (the same methods, over miniflare's persisted bucket), and every object
 * write the bucket's notification rules match also sends the message R2 sends (the documented body: account, action,
 * bucket, object, eventTime) to the rule's queue, which the service consumes as it would on Cloudflare. miniflare has
 * no R2 notifications itself.
 *
 * A module of its own, with no imports: workerd loads it as it is compiled.
 */

/** The parts of an R2 object the notifier reads. */
interface StoredObject {
  readonly key: string
  readonly size: number
  readonly etag: string
}

interface MultipartUpload {
  readonly key: string
  readonly uploadId: string
  uploadPart(...args: unknown[]): Promise<unknown>
  abort(): Promise<void>
  complete(...args: unknown[]): Promise<StoredObject>
}

/** The R2 bucket binding, as far as the notifier wraps it. */
interface Bucket {
  head(key: string): Promise<StoredObject | null>
  get(...args: unknown[]): Promise<unknown>
  list(...args: unknown[]): Promise<unknown>
  put(...args: unknown[]): Promise<StoredObject | null>
  delete(keys: string | string[]): Promise<void>
  createMultipartUpload(...args: unknown[]): Promise<MultipartUpload>
  resumeMultipartUpload(...args: unknown[]): MultipartUpload
}

interface QueueProducer {
  send(body: unknown, options: { contentType: 'json' }): Promise<void>
}

/** A notification rule: the actions it takes, the key prefix and suffix, the producer binding of its queue. */
export interface NotifierRule {
  readonly queue: string
  readonly actions: readonly string[]
  readonly prefix: string
  readonly suffix: string
}

export interface NotifierEnv {
  readonly BUCKET: Bucket
  readonly BUCKET_NAME: string
  readonly ACCOUNT: string
  readonly RULES: { readonly rules: readonly NotifierRule[] }
  readonly [producer: string]: unknown
}

export default function notifyingBucket(env: NotifierEnv): Omit<Bucket, 'resumeMultipartUpload' | 'createMultipartUpload'> & {
  createMultipartUpload(...args: unknown[]): Promise<MultipartUpload>
  resumeMultipartUpload(...args: unknown[]): MultipartUpload
} {
  const bucket = env.BUCKET
  const rules = env.RULES.rules
  const notify = async (action: string, object: { key: string; size?: number; eTag?: string }): Promise<void> => {
    const matching = rules.filter((rule) => rule.actions.includes(action) && object.key.startsWith(rule.prefix) && object.key.endsWith(rule.suffix))
    const body = { account: env.ACCOUNT, action, bucket: env.BUCKET_NAME, object, eventTime: new Date().toISOString() }
    await Promise.all(matching.map((rule) => (env[rule.queue] as QueueProducer).send(body, { contentType: 'json' })))
  }
  const written = async <T extends StoredObject | null>(action: string, result: T): Promise<T> => {
    if (result) await notify(action, { key: result.key, size: result.size, eTag: result.etag })
    return result
  }
  const wrapUpload = (upload: MultipartUpload): MultipartUpload => ({
    get key() {
      return upload.key
    },
    get uploadId() {
      return upload.uploadId
    },
    uploadPart: (...args) => upload.uploadPart(...args),
    abort: () => upload.abort(),
    complete: async (...args) => written('CompleteMultipartUpload', await upload.complete(...args)),
  })
  return {
    head: (key) => bucket.head(key),
    get: (...args) => bucket.get(...args),
    list: (...args) => bucket.list(...args),
    put: async (...args) => written('PutObject', await bucket.put(...args)),
    async delete(keys) {
      const list = Array.isArray(keys) ? keys : [keys]
      const existed = await Promise.all(list.map((key) => bucket.head(key)))
      await bucket.delete(keys)
      await Promise.all(list.filter((_, i) => existed[i] !== null).map((key) => notify('DeleteObject', { key })))
    },
    createMultipartUpload: async (...args) => wrapUpload(await bucket.createMultipartUpload(...args)),
    resumeMultipartUpload: (...args) => wrapUpload(bucket.resumeMultipartUpload(...args)),
  }
}
