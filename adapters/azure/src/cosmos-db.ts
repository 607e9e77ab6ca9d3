import {
  EventError,
  isRecord,
  readEpochTime,
  readId,
  readJson,
  readString,
  setOwn,
  translateRecords,
  type ChangeEvent,
  type EventSource,
  type JsonObject,
  type JsonValue,
  throwIfFailed,
} from '@polycloud/core/adapter'
import { bareEtag } from './blob.js'
import { isTrigger, triggerOption, type AzureInput } from './input.js'

/** A Cosmos DB trigger invocation: the changed documents, in change feed order (latest-version mode). */
export type CosmosDbInput = AzureInput<unknown[]>

export interface CosmosDbSourceOptions {
  /**
   * The container's partition key path (`/tenantId`), or paths for a hierarchical key. Each becomes a member of
   * `keys` named by the path without its leading slash (`tenantId`, `address/city`).
   */
  readonly partitionKey?: string | readonly string[]
}

/** The properties Cosmos DB adds to every document; kept out of `newImage` (they stay on `event.native`). */
export const SYSTEM_PROPERTIES: ReadonlySet<string> = new Set(['_rid', '_self', '_etag', '_attachments', '_ts', '_lsn'])

function looksLikeDocuments(input: AzureInput): boolean {
  const documents = input.input
  if (!Array.isArray(documents) || documents.length === 0) return false
  const first: unknown = documents[0]
  return isRecord(first) && typeof first.id === 'string' && !('eventType' in first) && !('specversion' in first)
}

function keyPaths(partitionKey: CosmosDbSourceOptions['partitionKey']): Array<[string, string[]]> {
  if (partitionKey === undefined) return []
  const paths = typeof partitionKey === 'string' ? [partitionKey] : partitionKey
  return paths.map((path) => {
    const name = path.startsWith('/') ? path.slice(1) : path
    if (name === '') throw new RangeError(`azure:cosmos-db: invalid partition key path ${JSON.stringify(path)}`)
    return [name, name.split('/')]
  })
}

function valueAt(document: JsonObject, segments: readonly string[]): JsonValue | undefined {
  let value: JsonValue | undefined = document
  for (const segment of segments) {
    if (!isRecord(value) || !Object.hasOwn(value, segment)) return undefined
    value = (value as JsonObject)[segment]
  }
  return value
}

/** The document without the system properties; every other name an own key (`__proto__` included). */
function userImage(document: JsonObject): JsonObject {
  const image: JsonObject = {}
  for (const key of Object.keys(document)) if (!SYSTEM_PROPERTIES.has(key)) setOwn(image, key, document[key] as JsonValue)
  return image
}

const ALL_VERSIONS =
  "changeFeedMode 'AllVersionsAndDeletes' is not supported (its items are { current, previous, metadata }); use the default 'LatestVersion'"

/**
 * A Cosmos DB change feed source (latest-version mode, the default). The feed does not tell inserts from
 * replacements, so every change is an `upsert`; deletes are not in this feed. `keys` holds `id` and the partition
 * key members configured here; `newImage` is the document without Cosmos DB's system properties (`_rid`, `_self`,
 * `_etag`, `_attachments`, `_ts`, `_lsn`); `time` comes from `_ts`; `id` is the document id and its `_etag`, which
 * names this version of the document.
 */
export function cosmosDbSource(options: CosmosDbSourceOptions = {}): EventSource<CosmosDbInput, ChangeEvent, void> {
  const paths = keyPaths(options.partitionKey)
  return {
    name: 'azure:cosmos-db',
    kind: 'changes',
    canHandle: (input): input is CosmosDbInput =>
      isTrigger(input, 'cosmosdbtrigger', looksLikeDocuments, (value) => Array.isArray(value.input)),
    getEvents(input) {
      const table = triggerOption(input, 'containerName') ?? triggerOption(input, 'collectionName') ?? ''
      const database = triggerOption(input, 'databaseName')
      const source = database === undefined ? table : `${database}/${table}`
      const allVersions = input.context.options.trigger.changeFeedMode === 'AllVersionsAndDeletes'
      return translateRecords<ChangeEvent>(
        input.input,
        (item) => {
          if (allVersions) throw new EventError(ALL_VERSIONS)
          const id = readId(item.id, 'id')
          const document = readJson(item, 'the document') as JsonObject
          const keys: JsonObject = { id }
          for (const [name, segments] of paths) {
            const value = valueAt(document, segments)
            if (value !== undefined) setOwn(keys, name, value)
          }
          const etag = bareEtag(readString(item._etag, '_etag'))
          return {
            kind: 'changes',
            id: etag === undefined ? id : `${id}@${etag}`,
            // _ts: seconds since the epoch.
            time: readEpochTime(item._ts, '_ts', 1000),
            source,
            native: item,
            type: 'upsert',
            table,
            keys,
            newImage: userImage(document),
            oldImage: undefined,
          }
        },
        { source: 'azure:cosmos-db', list: 'input', id: (item) => (typeof item.id === 'string' ? item.id : undefined) },
      )
    },
    isOrdered: () => true,
    getResult(_input, failed) {
      // The host does not redeliver a failed batch unless the function has a retry policy: the lease moves on.
      throwIfFailed('azure:cosmos-db', failed)
    },
  }
}

/** The Cosmos DB source with `keys: { id }` only. Use {@link cosmosDbSource} to add the partition key. */
export const cosmosDb = cosmosDbSource()
