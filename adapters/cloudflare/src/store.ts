/**
 * Key-value stores on Cloudflare D1, through the Worker's D1 binding (https://developers.cloudflare.com/d1/worker-api/).
 * Without the Sessions API every query goes to the database's primary, so reads see every write acknowledged before
 * them; a conditional write is one statement (`INSERT ... ON CONFLICT DO UPDATE ... WHERE`, `UPDATE ... WHERE version
 * = ?`), decided by the changes it made.
 *
 * One table per store (`kv` unless the addressing names another), created by the driver when a query finds it missing:
 * `key` TEXT PRIMARY KEY, `value` TEXT (the JSON text), `version` TEXT (the writer's random id), `expires` INTEGER
 * (epoch seconds). D1 has no TTL: expired rows stay until overwritten or deleted, and queries skip them.
 */
import { DriverError, type Call, type ListedRecord, type StoreBackend, type StoreCondition, type StoreRecord, type StoreWrite } from '@polycloud/resources/driver'

/** The members of a D1 binding used here (workers-types' `D1Database`). */
export interface D1DatabaseLike {
  prepare(query: string): D1StatementLike
}

export interface D1StatementLike {
  bind(...values: unknown[]): D1StatementLike
  first<T = Record<string, unknown>>(): Promise<T | null>
  run(): Promise<{ readonly meta?: { readonly changes?: number } }>
  all<T = Record<string, unknown>>(): Promise<{ readonly results?: T[] }>
}

/** The table a store's addressing entry names by default. */
export const DEFAULT_TABLE = 'kv'

/** A table name D1 takes unquoted-safe (quoted anyway): letters, digits and `_`, not D1's or SQLite's own prefixes. */
export function checkTable(table: string, logical: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table) || /^(?:sqlite_|_cf_)/i.test(table)) {
    throw new DriverError('Invalid', `POLYCLOUD_RESOURCES.${logical}.table ${JSON.stringify(table)} is not a table name a store can use (letters, digits and "_", not starting with a digit, sqlite_ or _cf_)`)
  }
  return table
}

/** The statement that creates a store's table (what the deploy runs too). */
export function createTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS "${table}" (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, version TEXT NOT NULL, expires INTEGER)`
}

interface Row {
  readonly key?: string
  readonly value: string
  readonly version: string
  readonly expires: number | null
}

function recordOf(row: Row): StoreRecord {
  return { json: row.value, version: row.version, expires: row.expires === null ? undefined : Number(row.expires), writer: row.version }
}

/** A store on the D1 binding `binding` (found per call: the invocation's `env`). */
export function d1Store(table: string, database: (call: Call) => D1DatabaseLike, bounded: <T>(call: Call, promise: Promise<T>) => Promise<T>): StoreBackend {
  const t = `"${table}"`
  let created = false

  /** Runs `query`; when the table is missing, creates it and runs it again. */
  const withTable = async <T>(call: Call, query: (db: D1DatabaseLike) => Promise<T>): Promise<T> => {
    const db = database(call)
    try {
      return await bounded(call, query(db))
    } catch (error) {
      if (created || !/no such table/i.test(String((error as Error)?.message ?? ''))) throw error
      await bounded(call, db.prepare(createTableSql(table)).run())
      created = true
      return bounded(call, query(db))
    }
  }

  const changes = (result: { readonly meta?: { readonly changes?: number } }): number => Number(result.meta?.changes ?? 0)

  return {
    async get(key: string, now: number, call: Call): Promise<StoreRecord | null> {
      const row = await withTable(call, (db) => db.prepare(`SELECT value, version, expires FROM ${t} WHERE key = ?1 AND (expires IS NULL OR expires > ?2)`).bind(key, now).first<Row>())
      return row === null ? null : recordOf(row)
    },
    async put(key: string, write: StoreWrite, condition: StoreCondition, call: Call): Promise<string> {
      const values = [key, write.json, write.writer, write.expires ?? null]
      const upsert = `INSERT INTO ${t} (key, value, version, expires) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version, expires = excluded.expires`
      let result: { readonly meta?: { readonly changes?: number } }
      if (condition.type === 'none') result = await withTable(call, (db) => db.prepare(upsert).bind(...values).run())
      // An expired row counts as none: the upsert replaces only such a row.
      else if (condition.type === 'absent') result = await withTable(call, (db) => db.prepare(`${upsert} WHERE ${t}.expires IS NOT NULL AND ${t}.expires <= ?5`).bind(...values, condition.now).run())
      else result = await withTable(call, (db) => db.prepare(`UPDATE ${t} SET value = ?2, version = ?3, expires = ?4 WHERE key = ?1 AND version = ?5`).bind(...values, condition.version).run())
      if (changes(result) === 0) throw new DriverError('Conflict', condition.type === 'absent' ? 'D1 found the condition false: the key holds an entry' : 'D1 found the condition false: the entry has another version, or none')
      return write.writer
    },
    async delete(key: string, condition: StoreCondition, call: Call): Promise<void> {
      if (condition.type !== 'version') {
        await withTable(call, (db) => db.prepare(`DELETE FROM ${t} WHERE key = ?1`).bind(key).run())
        return
      }
      const result = await withTable(call, (db) => db.prepare(`DELETE FROM ${t} WHERE key = ?1 AND version = ?2`).bind(key, condition.version).run())
      if (changes(result) === 0) throw new DriverError('Conflict', 'D1 found the condition false: the entry has another version, or none')
    },
    async list(prefix: string, cursor: string | undefined, limit: number, now: number, call: Call) {
      // Keys are printable ASCII: those starting with the prefix sort from it to it plus U+007F.
      const after = cursor ?? ''
      const { results = [] } = await withTable(call, (db) =>
        db
          .prepare(`SELECT key, value, version, expires FROM ${t} WHERE key >= ?1 AND key < ?2 AND key > ?3 AND (expires IS NULL OR expires > ?4) ORDER BY key LIMIT ?5`)
          .bind(prefix, `${prefix}\u007f`, after, now, limit + 1)
          .all<Row>(),
      )
      const page = results.slice(0, limit)
      const entries: ListedRecord[] = page.map((row) => ({ key: String(row.key), record: recordOf(row) }))
      return { entries, cursor: results.length > limit ? entries.at(-1)?.key : undefined }
    },
  }
}
