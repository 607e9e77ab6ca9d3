/**
 * Storage for the local host: azurite (started on 127.0.0.1 and stopped with the command, its data in a folder of
 * the user's choice), and the Storage triggers fed from it with the Functions host's semantics. Queue messages are
 * base64 (host.json `messageEncoding`), run one invocation each, `batchSize` at a time; a failed message becomes
 * visible again after `visibilityTimeout` and goes to `<queue>-poison` once dequeued `maxDequeueCount` times (5).
 * Blob triggers see each new or changed blob once (receipts in `azure-webjobs-hosts`, as the host keeps them); a
 * blob failing 5 times goes to the `webjobs-blobtrigger-poison` queue. Imported only when a trigger needs storage.
 */
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ProviderError } from '../../errors.js'
import { localRetrySeconds, startProcess, type Stoppable } from '../../local.js'
import type { HostLog, LocalHost } from './host.js'
import type { OfflineSettings, StorageAccess } from './offline.js'
import { QUEUE_DEFAULTS } from './package.js'
import { queueMetadata, triggerOf, type RegisteredFunction, type RpcTypedDataShape } from './rpc.js'

type Json = Record<string, unknown>

/** azurite's well-known development account (the same in every azurite and in the Storage emulator before it). */
const ACCOUNT = 'devstoreaccount1'
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

const INSTALL = 'install them next to the plugin: npm install --save-dev azurite@3.35.0 @azure/storage-queue@12.30.0 @azure/storage-blob@12.32.0'

async function sdk(): Promise<{ queue: typeof import('@azure/storage-queue'); blob: typeof import('@azure/storage-blob') }> {
  try {
    return { queue: await import('@azure/storage-queue'), blob: await import('@azure/storage-blob') }
  } catch (error) {
    throw new ProviderError(`the local host needs @azure/storage-queue and @azure/storage-blob to feed Storage triggers (${(error as Error).message})`, INSTALL)
  }
}

export interface LocalStorage extends StorageAccess, Stoppable {
  readonly blobUrl: string
  readonly queueUrl: string
}

/** Starts azurite with the settings' folder and ports; resolves with its connection string once it listens. */
export async function startStorage(settings: OfflineSettings, log: HostLog): Promise<LocalStorage> {
  let script: string
  try {
    script = join(dirname(createRequire(import.meta.url).resolve('azurite/package.json')), 'dist/src/azurite.js')
  } catch {
    throw new ProviderError('the local host needs azurite to run Storage queue and blob triggers', INSTALL)
  }
  mkdirSync(settings.storage, { recursive: true })
  const tablePort = settings.blobPort === 0 ? 0 : settings.blobPort + 2
  const args = [
    script,
    ...['--blobHost', '127.0.0.1', '--blobPort', String(settings.blobPort)],
    ...['--queueHost', '127.0.0.1', '--queuePort', String(settings.queuePort)],
    ...['--tableHost', '127.0.0.1', '--tablePort', String(tablePort)],
    ...['--location', settings.storage, '--skipApiVersionCheck', '--disableTelemetry', '--silent'],
  ]
  let azurite
  try {
    azurite = await startProcess(process.execPath, args, { name: 'azurite', ready: /Table service is successfully listening/, timeoutMs: 30_000 })
  } catch (error) {
    throw new ProviderError(
      `azurite could not start: ${(error as Error).message.split('\n').slice(-3).join(' ').trim()}`,
      'another azurite may hold its ports: stop it, or pass --blobPort 0 --queuePort 0 (any free ports)',
    )
  }
  const port = (service: string): number => Number(new RegExp(`${service} service is successfully listening at http://127\\.0\\.0\\.1:(\\d+)`).exec(azurite.output())?.[1])
  const blobUrl = `http://127.0.0.1:${port('Blob')}/${ACCOUNT}`
  const queueUrl = `http://127.0.0.1:${port('Queue')}/${ACCOUNT}`
  const connectionString = [
    'DefaultEndpointsProtocol=http',
    `AccountName=${ACCOUNT}`,
    `AccountKey=${ACCOUNT_KEY}`,
    `BlobEndpoint=${blobUrl}`,
    `QueueEndpoint=${queueUrl}`,
    `TableEndpoint=http://127.0.0.1:${port('Table')}/${ACCOUNT}`,
  ].join(';')
  log('info', `azurite: blob ${blobUrl}, queue ${queueUrl} (data in ${settings.storage})`)
  return {
    connectionString,
    blobUrl,
    queueUrl,
    readBlob: async (path) => {
      const { blob } = await sdk()
      const [container, ...rest] = path.replace(/^\//, '').split('/')
      const client = blob.BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container ?? '').getBlobClient(rest.join('/'))
      try {
        return blobInvocation(client.url, container ?? '', rest.join('/'), await client.downloadToBuffer(), await client.getProperties(), {})
      } catch (error) {
        throw new ProviderError(`blob ${path} could not be read: ${(error as Error).message.split('\n')[0]}`)
      }
    },
    stop: () => azurite.stop(),
  }
}

/** The blob trigger input (the blob's bytes) and metadata (path, URI, properties, metadata, pattern values). */
function blobInvocation(
  uri: string,
  container: string,
  name: string,
  bytes: Buffer,
  properties: { contentType?: string; etag?: string; contentLength?: number; lastModified?: Date; createdOn?: Date; metadata?: Record<string, string>; blobType?: string },
  bound: Readonly<Record<string, string>>,
): { data: RpcTypedDataShape; metadata: Record<string, RpcTypedDataShape> } {
  const metadata: Record<string, RpcTypedDataShape> = {
    BlobTrigger: { string: `${container}/${name}` },
    Uri: { string: uri },
    Properties: {
      json: JSON.stringify({
        ContentType: properties.contentType ?? 'application/octet-stream',
        ETag: properties.etag,
        ContentLength: properties.contentLength ?? bytes.length,
        LastModified: properties.lastModified?.toISOString(),
        CreatedOn: properties.createdOn?.toISOString(),
        BlobType: properties.blobType ?? 'BlockBlob',
      }),
    },
    Metadata: { json: JSON.stringify(properties.metadata ?? {}) },
  }
  for (const [key, value] of Object.entries(bound)) metadata[key] = { string: value }
  return { data: { bytes }, metadata }
}

/** `%Setting%` in a binding expression resolved from the app settings, as the host does. */
function resolveSetting(value: string, env: Readonly<Record<string, string | undefined>>, what: string): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const setting = env[name]
    if (setting === undefined) throw new ProviderError(`${what}: app setting ${name} is not set`)
    return setting
  })
}

function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

/** host.json `hh:mm:ss` in seconds. */
function seconds(span: unknown, fallback: number): number {
  if (typeof span !== 'string') return fallback
  const match = /^(?:(\d+)\.)?(\d+):(\d+):(\d+)$/.exec(span)
  return match ? Number(match[1] ?? 0) * 86400 + Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4]) : fallback
}

/** The longest a local poll waits when a queue is empty (the host's `maxPollingInterval` is 1 minute; too slow locally). */
const MAX_POLL_MS = 1000

/**
 * Polls each Storage queue and blob container a trigger reads, until stopped. A failing poll (azurite gone) is
 * logged and retried.
 */
export async function startListeners(host: LocalHost, storage: LocalStorage, env: Readonly<Record<string, string | undefined>>, log: HostLog, hostJson: Json): Promise<Stoppable> {
  const { queue, blob } = await sdk()
  const queues = queue.QueueServiceClient.fromConnectionString(storage.connectionString)
  const blobs = blob.BlobServiceClient.fromConnectionString(storage.connectionString)
  const settings = { ...QUEUE_DEFAULTS, ...(((hostJson.extensions as Json | undefined)?.queues ?? {}) as Json) }
  const batchSize = Number(settings.batchSize)
  const maxDequeueCount = Number(settings.maxDequeueCount)
  // POLYCLOUD_OFFLINE_RETRY_SECONDS, else host.json's: the wait before a failed message is visible again.
  const retryAfter = localRetrySeconds() ?? seconds(settings.visibilityTimeout, 0)
  const base64 = String(settings.messageEncoding).toLowerCase() !== 'none'
  const lease = Math.min(7 * 86400, seconds(hostJson.functionTimeout, 1800) + 60)
  let stopped = false
  const loops: Array<Promise<void>> = []

  const poll = (what: string, once: () => Promise<boolean>): void => {
    loops.push(
      (async () => {
        let wait = 50
        while (!stopped) {
          let found = false
          try {
            found = await once()
          } catch (error) {
            if (!stopped) log('warn', `${what}: ${(error as Error).message.split('\n')[0]}`)
          }
          wait = found ? 0 : Math.min(MAX_POLL_MS, Math.max(50, wait * 2))
          if (wait > 0) await sleep(wait)
        }
      })(),
    )
  }

  for (const fn of host.functions) {
    const trigger = triggerOf(fn)
    const type = trigger.type.toLowerCase()
    if (type === 'queuetrigger') {
      const name = resolveSetting(String(trigger.queueName), env, `function ${fn.name}`)
      const client = queues.getQueueClient(name)
      await client.createIfNotExists()
      poll(`queue ${name}`, async () => {
        const { receivedMessageItems: messages } = await client.receiveMessages({ numberOfMessages: batchSize, visibilityTimeout: lease })
        await Promise.all(messages.map((message) => runQueueMessage(fn, name, client, message)))
        return messages.length > 0
      })
    } else if (type === 'blobtrigger') {
      const path = resolveSetting(String(trigger.path), env, `function ${fn.name}`)
      const [container = '', ...rest] = path.split('/')
      const watcher = await blobWatcher(fn, container, rest.join('/'))
      poll(`container ${container}`, watcher)
    }
  }

  async function runQueueMessage(
    fn: RegisteredFunction,
    name: string,
    client: ReturnType<typeof queues.getQueueClient>,
    message: { messageId: string; popReceipt: string; dequeueCount: number; messageText: string; insertedOn: Date; expiresOn: Date; nextVisibleOn: Date },
  ): Promise<void> {
    const text = base64 ? (isBase64(message.messageText) ? Buffer.from(message.messageText, 'base64').toString('utf8') : undefined) : message.messageText
    let succeeded = false
    if (text === undefined) {
      log('error', `Message ${message.messageId} on '${name}' is not valid base64 (host.json extensions.queues.messageEncoding is "base64"): send it base64-encoded`)
    } else {
      const result = await host.invoke({
        functionName: fn.name,
        reason: `New queue message detected on '${name}'.`,
        details: `Trigger Details: MessageId: ${message.messageId}, DequeueCount: ${message.dequeueCount}, InsertedOn: ${message.insertedOn.toISOString()}`,
        data: { string: text },
        metadata: queueMetadata({ ...message, text }),
      })
      succeeded = result.succeeded
    }
    if (succeeded) {
      await client.deleteMessage(message.messageId, message.popReceipt)
    } else if (message.dequeueCount >= maxDequeueCount) {
      const poison = queues.getQueueClient(`${name}-poison`)
      await poison.createIfNotExists()
      await poison.sendMessage(message.messageText)
      await client.deleteMessage(message.messageId, message.popReceipt)
      log('warn', `Message has reached MaxDequeueCount of ${maxDequeueCount}. Moving message ${message.messageId} to queue '${name}-poison'.`)
    } else {
      await client.updateMessage(message.messageId, message.popReceipt, undefined, retryAfter)
    }
  }

  /** A poll of one blob trigger's container: each blob matching the path pattern, once per ETag. */
  async function blobWatcher(fn: RegisteredFunction, container: string, pattern: string): Promise<() => Promise<boolean>> {
    const containerClient = blobs.getContainerClient(container)
    await containerClient.createIfNotExists()
    const receipts = blobs.getContainerClient('azure-webjobs-hosts')
    await receipts.createIfNotExists()
    const receiptPrefix = `blobreceipts/polycloud/Host.Functions.${fn.name}/`
    const done = new Set<string>()
    for await (const item of receipts.listBlobsFlat({ prefix: receiptPrefix })) done.add(item.name.slice(receiptPrefix.length))
    const failures = new Map<string, number>()
    const names: string[] = []
    const regex = new RegExp(
      `^${pattern
        .split(/(\{[^}]+\})/)
        .map((part) => {
          const param = /^\{([^}]+)\}$/.exec(part)
          if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          names.push(param[1] as string)
          return '(.+)'
        })
        .join('')}$`,
    )
    const prefix = pattern.split('{')[0] ?? ''
    return async () => {
      let found = false
      for await (const item of containerClient.listBlobsFlat({ prefix, includeMetadata: true })) {
        const match = regex.exec(item.name)
        const etag = (item.properties.etag ?? '').replace(/"/g, '')
        const key = `${etag}/${container}/${item.name}`
        if (!match || done.has(key) || stopped) continue
        found = true
        const client = containerClient.getBlobClient(item.name)
        const bound = Object.fromEntries(names.map((name, i) => [name, match[i + 1] as string]))
        const input = blobInvocation(client.url, container, item.name, await client.downloadToBuffer(), { ...item.properties, metadata: item.metadata ?? {} }, bound)
        const result = await host.invoke({ functionName: fn.name, reason: `New blob detected(LogsAndContainerScan): ${container}/${item.name}`, ...input })
        const failed = (failures.get(key) ?? 0) + (result.succeeded ? 0 : 1)
        failures.set(key, failed)
        if (!result.succeeded && failed < 5) continue
        if (!result.succeeded) {
          const poison = queues.getQueueClient('webjobs-blobtrigger-poison')
          await poison.createIfNotExists()
          const body = { Type: 'BlobTrigger', FunctionId: `Host.Functions.${fn.name}`, BlobType: 'BlockBlob', ContainerName: container, BlobName: item.name, ETag: item.properties.etag }
          await poison.sendMessage(Buffer.from(JSON.stringify(body)).toString('base64'))
          log('warn', `Blob '${container}/${item.name}' will be skipped for function '${fn.name}' because this blob with ETag '${etag}' has failed 5 times. Moved to 'webjobs-blobtrigger-poison'.`)
        }
        done.add(key)
        failures.delete(key)
        await receipts.getBlockBlobClient(`${receiptPrefix}${key}`).upload('', 0)
      }
      return found
    }
  }

  return {
    async stop() {
      stopped = true
      await Promise.race([Promise.all(loops), sleep(5000)])
    },
  }
}
