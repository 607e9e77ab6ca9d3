import { EventError, carrierOf, quote, readObject, readSize, readString, translateRecords, withTrace, type EventSource, type StorageEvent, throwIfFailed } from '@polycloud/core/adapter'
import { anyPayload, isTrigger, isoTime, metadata, type AzureInput } from './input.js'

/**
 * A blob trigger invocation: the blob's content (a Buffer) and its metadata: `blobTrigger` (`<container>/<blob>`),
 * `uri`, `properties` (the blob's properties: `contentType`, `eTag`, `contentLength`, `lastModified`, ...),
 * `metadata` and the `{tokens}` of the binding's path.
 */
export type BlobInput = AzureInput<unknown>

function hasBlobMetadata(input: AzureInput): boolean {
  const meta = metadata(input)
  return typeof meta.blobTrigger === 'string' && ('uri' in meta || 'properties' in meta)
}

/** An ETag without its quotes: Azure sends `"0x8D..."` in some places and `0x8D...` in others. */
export function bareEtag(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  return value.length > 1 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
}

function size(properties: Readonly<Record<string, unknown>>, content: unknown): number | undefined {
  // Extension 5+ (Azure.Storage.Blobs) says contentLength; older ones said length.
  const field = either(properties, 'contentLength', 'length')
  const length = readSize(properties[field], `triggerMetadata.properties.${field}`)
  return length ?? (content instanceof Uint8Array ? content.byteLength : undefined)
}

/** The name of the first of two properties that is present (the second when neither is). */
function either(properties: Readonly<Record<string, unknown>>, first: string, second: string): string {
  const value = properties[first]
  return value === undefined || value === null ? second : first
}

/** A string of the blob's properties, '' counting as none. */
function property(properties: Readonly<Record<string, unknown>>, name: string): string | undefined {
  return readString(properties[name], `triggerMetadata.properties.${name}`) || undefined
}

/** The account's container URL (`https://<account>.blob.core.windows.net/<container>`), else the container name. */
function containerSource(uri: unknown, container: string): string {
  if (typeof uri !== 'string') return container
  const scheme = uri.indexOf('://')
  const slash = scheme === -1 ? -1 : uri.indexOf('/', scheme + 3)
  return slash === -1 ? container : `${uri.slice(0, slash)}/${container}`
}

function toEvent(input: BlobInput): StorageEvent {
  const meta = metadata(input)
  const path = meta.blobTrigger
  const slash = typeof path === 'string' ? path.indexOf('/') : -1
  if (typeof path !== 'string' || slash <= 0 || slash === path.length - 1) {
    throw new EventError(`the trigger metadata has no blobTrigger path of the form <container>/<blob> (got ${quote(path)})`)
  }
  const bucket = path.slice(0, slash)
  const key = path.slice(slash + 1)
  const properties = readObject(meta.properties, 'triggerMetadata.properties')
  const etag = bareEtag(property(properties, either(properties, 'eTag', 'etag')))
  const time = either(properties, 'lastModified', 'createdOn')
  // The blob's metadata: a blob written through @polycloud/resources carries the writer's traceparent there.
  return withTrace<StorageEvent>({
    kind: 'storage',
    // The blob and its version: the same on every retry of this write, different for the next one.
    id: etag === undefined ? input.context.invocationId : `${path}@${etag}`,
    time: isoTime(properties[time], `triggerMetadata.properties.${time}`),
    source: containerSource(meta.uri, bucket),
    native: input,
    type: 'created',
    action: 'Microsoft.Storage.BlobCreated',
    bucket,
    key,
    size: size(properties, input.input),
    etag,
    contentType: property(properties, 'contentType'),
    versionId: property(properties, 'versionId'),
  }, carrierOf(meta.metadata))
}

/**
 * Blob trigger invocations (a new or overwritten blob) as storage events of type `created`; the content is the
 * trigger input, `event.native.input`. A throw fails the invocation: the host retries it (5 tries in all by
 * default), then writes the blob to the `webjobs-blobtrigger-poison` queue.
 */
export const blob: EventSource<BlobInput, StorageEvent, void> = {
  name: 'azure:blob',
  kind: 'storage',
  canHandle: (input): input is BlobInput => isTrigger(input, 'blobtrigger', hasBlobMetadata, anyPayload),
  getEvents: (input) =>
    translateRecords<StorageEvent, BlobInput>([input], toEvent, {
      source: 'azure:blob',
      id: (native) => {
        const path = metadata(native).blobTrigger
        return typeof path === 'string' ? path : undefined
      },
    }),
  getResult: (_input, failed) => throwIfFailed('azure:blob', failed),
}
