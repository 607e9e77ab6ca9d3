/**
 * The in-memory key-value store of `memoryResources()`: the semantics of every cloud's store (conditional writes on
 * versions, an expired entry counted as none, key order in listings), so handlers that use `store()` run in unit
 * tests as deployed, concurrent `update`s included.
 */
import { DriverError, expired, prefixSuccessor, type Call, type ListedRecord, type StoreBackend, type StoreCondition, type StoreRecord } from '@polycloud/resources/driver'

/** An entry as the test sees it: its value parsed, its expiry (epoch seconds) and version. */
export interface MemoryEntry {
  readonly value: unknown
  readonly expires: number | undefined
  readonly version: string
}

let versions = 0

/** One store's backend over a map kept by the caller. */
export function memoryStore(entries: Map<string, StoreRecord>): StoreBackend {
  const check = (key: string, condition: StoreCondition): void => {
    const current = entries.get(key)
    if (condition.type === 'absent' && current !== undefined && !expired(current.expires, condition.now)) {
      throw new DriverError('Conflict', `the key ${JSON.stringify(key)} holds an entry`)
    }
    if (condition.type === 'version' && current?.version !== condition.version) {
      throw new DriverError('Conflict', `the entry under ${JSON.stringify(key)} has another version`)
    }
  }
  return {
    async get(key: string, _now: number, call: Call): Promise<StoreRecord | null> {
      call.signal?.throwIfAborted()
      return entries.get(key) ?? null
    },
    async put(key, write, condition, call): Promise<string> {
      call.signal?.throwIfAborted()
      check(key, condition)
      const version = `m${++versions}`
      entries.set(key, { json: write.json, version, expires: write.expires, writer: write.writer })
      return version
    },
    async delete(key, condition, call): Promise<void> {
      call.signal?.throwIfAborted()
      check(key, condition)
      entries.delete(key)
    },
    async list(prefix, cursor, limit, now, call) {
      call.signal?.throwIfAborted()
      const end = prefixSuccessor(prefix)
      const keys = [...entries.keys()].filter((key) => key >= prefix && (end === undefined || key < end) && (cursor === undefined || key > cursor)).sort()
      const page: ListedRecord[] = []
      let last: string | undefined
      for (const key of keys) {
        if (page.length === limit) break
        last = key
        const record = entries.get(key) as StoreRecord
        if (!expired(record.expires, now)) page.push({ key, record })
      }
      return { entries: page, cursor: last !== undefined && keys.at(-1) !== last ? last : undefined }
    },
  }
}

/** A store's entries as the test sees them. */
export function memoryEntries(entries: ReadonlyMap<string, StoreRecord> | undefined): ReadonlyMap<string, MemoryEntry> {
  const out = new Map<string, MemoryEntry>()
  for (const [key, record] of entries ?? []) out.set(key, { value: JSON.parse(record.json) as unknown, expires: record.expires, version: record.version })
  return out
}
