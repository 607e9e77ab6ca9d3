/**
 * The Google Cloud driver of @polycloud/resources: Cloud Storage buckets, and Pub/Sub topics for both queues (a
 * Polycloud queue is a topic with a push subscription on Google) and topics, without Google's client libraries. The
 * entry of a function that declares resources wires it: `withResources(handler, gcpResources(), ['uploads'])`.
 * Nothing is loaded until a resource is first used.
 *
 * Addressing (`POLYCLOUD_RESOURCES`): `{ kind: 'bucket', name }`, `{ kind: 'queue' | 'topic', topic, project? }`,
 * `{ kind: 'store', collection, database?, project? }` (a Firestore collection).
 * Credentials: the function's service account, through the metadata server (`GCE_METADATA_HOST` to point
 * elsewhere); the project: `GOOGLE_CLOUD_PROJECT`, else the metadata server. Emulators: `STORAGE_EMULATOR_HOST`,
 * `PUBSUB_EMULATOR_HOST` and `FIRESTORE_EMULATOR_HOST`, as Google's clients read them (no credentials are sent to
 * them).
 */
import type { BucketBackend, MessageBackend, MessageLimits, ObjectLimits, OpenContext, ResourceAddress, ResourceDriver, StoreBackend } from '@polycloud/resources/driver'
import { DriverError, field } from '@polycloud/resources/driver'
import type { GoogleAuth } from './resources/auth.js'

export interface GcpResourcesOptions {
  /**
   * Endpoints instead of Google's own, reached with the metadata server's tokens (unlike the emulator variables,
   * which get none): `{ storage: 'http://127.0.0.1:9023', pubsub: ... }`.
   */
  readonly endpoints?: { readonly storage?: string; readonly pubsub?: string; readonly firestore?: string }
}

/** The limits checked before each call (and named in the errors), with where they come from. */
export const GCP_LIMITS: { readonly storage: ObjectLimits; readonly pubsub: MessageLimits } = {
  storage: {
    service: 'Cloud Storage',
    maxObjectBytes: 5 * 1024 ** 4,
    maxMetadataBytes: 8192,
    source: 'https://cloud.google.com/storage/quotas#objects (5 TiB per object, 8 KiB of custom metadata)',
  },
  pubsub: {
    service: 'Pub/Sub',
    maxMessageBytes: 10_000_000,
    maxBatchMessages: 1000,
    maxBatchBytes: 10_000_000,
    maxDelaySeconds: 0,
    sizeRule: 'the data and each attribute\'s name and value, in bytes (the subject is the attribute polycloud.subject)',
    source: 'https://cloud.google.com/pubsub/quotas#resource_limits (10 MB per message and per publish request, 1,000 messages per request, 100 attributes of 256-byte names and 1,024-byte values)',
  },
}

export function gcpResources(options: GcpResourcesOptions = {}): ResourceDriver {
  let metadata: GoogleAuth | undefined
  const authFor = async (env: OpenContext['env'], emulated: boolean): Promise<GoogleAuth> => {
    const { emulatorAuth, metadataAuth } = await import('./resources/auth.js')
    if (emulated) return emulatorAuth(env)
    return (metadata ??= metadataAuth(env))
  }
  return {
    provider: 'gcp',
    async bucket(name: string, address: ResourceAddress, { env }: OpenContext): Promise<BucketBackend> {
      const bucket = field(address, 'name', name, 'the bucket name')
      const emulator = options.endpoints?.storage === undefined ? env.STORAGE_EMULATOR_HOST : undefined
      const [{ openGcs }, { emulatorOrigin }] = await Promise.all([import('./resources/storage.js'), import('./resources/auth.js')])
      const origin = options.endpoints?.storage ?? (emulator ? emulatorOrigin(emulator) : 'https://storage.googleapis.com')
      return openGcs({ bucket, origin: origin.replace(/\/+$/, ''), auth: await authFor(env, emulator !== undefined && emulator !== ''), limits: GCP_LIMITS.storage })
    },
    queue: (name, address, context) => openTopic(name, address, context, 'queue'),
    topic: (name, address, context) => openTopic(name, address, context, 'topic'),
    async store(name: string, address: ResourceAddress, { env }: OpenContext): Promise<StoreBackend> {
      const collection = field(address, 'collection', name, 'the Firestore collection')
      if (collection.includes('/') || collection === '.' || collection === '..' || /^__.*__$/.test(collection)) {
        throw new DriverError('Invalid', `POLYCLOUD_RESOURCES.${name}.collection ${JSON.stringify(collection)} is not a collection id (no "/", not "." or "..", not __.*__)`)
      }
      const { database, project } = address as { database?: unknown; project?: unknown }
      const emulator = options.endpoints?.firestore === undefined ? env.FIRESTORE_EMULATOR_HOST : undefined
      const [{ openFirestore }, { emulatorOrigin }] = await Promise.all([import('./resources/firestore.js'), import('./resources/auth.js')])
      const origin = options.endpoints?.firestore ?? (emulator ? emulatorOrigin(emulator) : 'https://firestore.googleapis.com')
      return openFirestore({
        collection,
        database: typeof database === 'string' && database !== '' ? database : '(default)',
        project: typeof project === 'string' && project !== '' ? project : undefined,
        origin: origin.replace(/\/+$/, ''),
        auth: await authFor(env, emulator !== undefined && emulator !== ''),
      })
    },
  }

  async function openTopic(name: string, address: ResourceAddress, { env }: OpenContext, kind: 'queue' | 'topic'): Promise<MessageBackend> {
    const topic = field(address, 'topic', name, kind === 'queue' ? 'the Pub/Sub topic of the queue' : 'the Pub/Sub topic')
    const project = (address as { project?: unknown }).project
    const emulator = options.endpoints?.pubsub === undefined ? env.PUBSUB_EMULATOR_HOST : undefined
    const [{ openPubSub }, { emulatorOrigin }] = await Promise.all([import('./resources/pubsub.js'), import('./resources/auth.js')])
    const origin = options.endpoints?.pubsub ?? (emulator ? emulatorOrigin(emulator) : 'https://pubsub.googleapis.com')
    const limits = kind === 'topic' ? { ...GCP_LIMITS.pubsub, maxBatchMessages: 1 } : GCP_LIMITS.pubsub
    return openPubSub({ topic, project: typeof project === 'string' && project !== '' ? project : undefined, origin: origin.replace(/\/+$/, ''), auth: await authFor(env, emulator !== undefined && emulator !== ''), limits })
  }
}
