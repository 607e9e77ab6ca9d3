/**
 * Key-value stores on Cloudflare: a D1 database per declared store, named `<service>-<stage>-<name>` unless the
 * declaration names it, bound to the Worker as `STORE_<NAME>`; `@polycloud/cloudflare/resources` keeps the entries in
 * its `kv` table (created on first use).
 *
 * Why D1 and not Workers KV: the neutral store promises read-your-writes and atomic conditional writes (`put` only
 * while the version read is current, or only when the key is absent). Workers KV is eventually consistent (a write
 * may take 60 seconds or more to be seen in other locations) and has no conditional write; D1 is SQLite with one
 * primary, where a write is one statement with its condition. A store asking for KV is refused at package time.
 *
 * - Deploy: each store's database is found by name (`GET /accounts/:account/d1/database?name=`) or created (`POST
 *   /accounts/:account/d1/database`); one declared `existing` must be there. The Worker's upload binds each by its id
 *   (`{ type: 'd1', name, database_id }`). What deploy created is recorded with the Worker (`stores` of
 *   `POLYCLOUD_DEPLOYMENT`).
 * - Remove: a database deploy created is deleted when it holds no entry (its tables are read through the D1 query
 *   API), with its entries under `serverless remove --deleteData`, and kept with a warning otherwise.
 * - Locally (`serverless offline`, `invoke local`): miniflare's D1, persisted under `.polycloud/state/cloudflare/d1`.
 */
import { ConfigError, ProviderError } from '../../errors.js'
import type { ResourceDeclaration } from '../../model.js'
import { deleteDataOption } from '../../resources.js'
import type { ServiceContext } from '../../provider.js'
import type { CloudflareApi } from './api.js'
import { bindingName } from './events.js'
import type { Binding } from './package.js'
import type { CloudflarePlan, ServiceManifest } from './plan.js'

/** A store the Worker's code uses: its D1 database's name and its binding. */
export interface StoreManifest {
  readonly name: string
  readonly binding: string
  /** It exists already: deploy neither creates nor deletes it. */
  readonly existing: boolean
}

/** The table the driver keeps a store's entries in (`DEFAULT_TABLE` of `@polycloud/cloudflare`'s store). */
export const STORE_TABLE = 'kv'

/** A store's binding: `STORE_<NAME>` of its logical name. */
export function storeBinding(resource: ResourceDeclaration): string {
  return bindingName('STORE', resource.name)
}

/** What a store's `cloudflare:` block may not ask for: Workers KV, which cannot keep the store's promises. */
const KV_FIELDS = ['kv', 'namespace', 'kvNamespace']

/** D1 database names (the API's d1_database-name). */
const D1_NAME = /^[a-z0-9][a-z0-9_-]*$/

/** Refuses, at package time, a store whose name D1 refuses, or that asks for Workers KV. */
export function checkStores(resources: readonly ResourceDeclaration[]): void {
  for (const resource of resources) {
    if (resource.kind !== 'store') continue
    if (!D1_NAME.test(resource.deployedName)) {
      throw new ConfigError(resource.at, `a store on Cloudflare is a D1 database, and ${JSON.stringify(resource.deployedName)} is not a D1 database name (lower-case letters, digits, "-" and "_", starting with a letter or digit): give it a name (name: ...), or lower-case the service`)
    }
    const field = KV_FIELDS.find((name) => resource.options[name] !== undefined)
    if (field === undefined) continue
    throw new ConfigError(
      `${resource.at}.cloudflare.${field}`,
      'a store on Cloudflare is a D1 database, not Workers KV: KV is eventually consistent (a write can take 60 s or more to be seen elsewhere) and has no conditional write, so two concurrent updates could both succeed and one be lost; D1 reads its own writes and writes each entry with its condition in one statement. Remove the field',
    )
  }
}

/** A D1 database as the API lists it. */
interface Database {
  readonly uuid: string
  readonly name: string
}

/** The database of that name on the account, if any (the list's `name` filter, then an exact match). */
async function databaseNamed(api: CloudflareApi, name: string): Promise<Database | undefined> {
  const listed = await api.list<Database>(`/accounts/${api.account}/d1/database?name=${encodeURIComponent(name)}`)
  return listed.find((database) => database.name === name)
}

/**
 * The stores' databases, found or created (those created added to `created`); answers their bindings for the
 * Worker's upload.
 */
export async function deployStores(api: CloudflareApi, stores: readonly StoreManifest[], created: Set<string>, log: (line: string) => void): Promise<Binding[]> {
  const bindings: Binding[] = []
  for (const store of stores) {
    let database = await databaseNamed(api, store.name)
    if (database === undefined) {
      if (store.existing) throw new ProviderError(`D1 database ${store.name} does not exist on the account`, 'create it (wrangler d1 create), or drop "existing: true" so that deploy creates it')
      database = await api.request<Database>('POST', `/accounts/${api.account}/d1/database`, { name: store.name })
      created.add(store.name)
      log(`serverless-polycloud: created D1 database ${store.name}`)
    }
    bindings.push({ type: 'd1', name: store.binding, database_id: database.uuid })
  }
  return bindings
}

/** One statement through the D1 query API: its rows. */
async function query<T>(api: CloudflareApi, database: Database, sql: string, params: readonly string[] = []): Promise<T[]> {
  const results = await api.request<Array<{ results?: T[]; success?: boolean }>>('POST', `/accounts/${api.account}/d1/database/${database.uuid}/query`, { sql, params })
  return results[0]?.results ?? []
}

/** The entries a database holds: the rows of the store's table, and of any other table someone made in it. */
async function entriesOf(api: CloudflareApi, database: Database): Promise<number> {
  const tables = await query<{ name: string }>(api, database, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
  let count = 0
  for (const { name } of tables) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return Number.POSITIVE_INFINITY
    const [row] = await query<{ entries: number }>(api, database, `SELECT count(*) AS entries FROM "${name}"`)
    count += Number(row?.entries ?? 0)
  }
  return count
}

/**
 * After the Worker is deleted: the databases deploy created are deleted when they hold no entry, or with their
 * entries when `deleteData`; kept with a warning otherwise. What was deleted is returned.
 */
export async function removeStores(api: CloudflareApi, names: readonly string[], deleteData: boolean, warn: (line: string) => void): Promise<string[]> {
  const removed: string[] = []
  for (const name of names) {
    const database = await databaseNamed(api, name)
    if (database === undefined) continue
    const entries = deleteData ? 0 : await entriesOf(api, database)
    if (entries > 0) {
      warn(`D1 database ${name} was kept: it still holds ${Number.isFinite(entries) ? `${entries} entr${entries === 1 ? 'y' : 'ies'}` : 'tables'}; serverless remove --deleteData (now or later) deletes it with them`)
      continue
    }
    await api.request('DELETE', `/accounts/${api.account}/d1/database/${database.uuid}`)
    removed.push(`D1 database ${name}`)
  }
  return removed
}

/**
 * `serverless remove --deleteData` once the Worker is gone: the service's stores that an earlier remove kept (they
 * held entries) are deleted by name, those declared `existing` never. Without the flag, nothing.
 */
export async function removeKeptStores(api: CloudflareApi, manifest: ServiceManifest, context: Pick<ServiceContext<CloudflarePlan>, 'options' | 'log'>): Promise<string[]> {
  if (!deleteDataOption(context.options)) return []
  const names = manifest.stores.filter((store) => !store.existing).map((store) => store.name)
  return removeStores(api, names, true, (line) => context.log.warning(`serverless-polycloud: ${line}`))
}
