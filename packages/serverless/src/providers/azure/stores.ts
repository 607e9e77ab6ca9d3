/**
 * Key-value stores on Azure: a table of Table Storage per declared store, in the function app's storage account,
 * named after `<service>-<stage>-<name>` (or the declared name) less what table names refuse (only letters and digits,
 * 3-63 of them, starting with a letter): `shop-dev-sessions` is the table `shopdevsessions`. Table Storage is
 * strongly consistent and takes `If-Match` on an entity's ETag, so the neutral store's promises hold unchanged.
 * `@polycloud/azure/resources` reads `{ kind: 'store', table, connection }`, through the connection the storage
 * triggers read.
 *
 * Locally (`serverless offline`), azurite's Table service (azurite starts when a store is used), each table created
 * at start, its data in azurite's folder (`.azurite`, `--storage`).
 */
import { ConfigError } from '../../errors.js'
import type { ResourceDeclaration } from '../../model.js'

/** A Table Storage table name (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model#table-names). */
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/

/** A store's table: its deployed name with only the letters and digits a table name takes. */
export function storeTable(resource: ResourceDeclaration): string {
  return resource.deployedName.replace(/[^A-Za-z0-9]/g, '')
}

/** Refuses, at package time, a store whose name cannot make a table name. */
export function checkStores(resources: readonly ResourceDeclaration[]): void {
  for (const resource of resources) {
    if (resource.kind !== 'store') continue
    const table = storeTable(resource)
    if (!TABLE_NAME.test(table)) {
      throw new ConfigError(resource.at, `a store on Azure is a Table Storage table, and ${JSON.stringify(resource.deployedName)} makes the table name ${JSON.stringify(table)}, which Table Storage refuses (3-63 letters and digits, starting with a letter): give it a name (name: ...)`)
    }
  }
}

/** A store's addressing entry: its table, through the storage connection the app's triggers read. */
export function storeAddress(resource: ResourceDeclaration, connection: string): { readonly kind: 'store'; readonly table: string; readonly connection: string } {
  return { kind: 'store', table: storeTable(resource), connection }
}

/** Reads `TableEndpoint`, `AccountName` and `AccountKey` of a connection string. */
function connectionParts(connectionString: string): { endpoint: string; account: string; key: Buffer } {
  const parts = Object.fromEntries(connectionString.split(';').flatMap((part) => {
    const at = part.indexOf('=')
    return at === -1 ? [] : [[part.slice(0, at), part.slice(at + 1)]]
  }))
  if (!parts.TableEndpoint || !parts.AccountName || !parts.AccountKey) throw new Error('the storage connection string names no TableEndpoint, AccountName and AccountKey')
  return { endpoint: parts.TableEndpoint.replace(/\/+$/, ''), account: parts.AccountName, key: Buffer.from(parts.AccountKey, 'base64') }
}

/** Creates the tables (Create Table, Shared Key) in the account of a connection string, those that exist kept. */
export async function createTables(connectionString: string, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return
  const { tableSharedKey, TABLE_VERSION } = await import('@polycloud/azure/resources/table')
  const { endpoint, account, key } = connectionParts(connectionString)
  for (const table of tables) {
    const url = new URL(`${endpoint}/Tables`)
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json;odata=nometadata', 'x-ms-date': new Date().toUTCString(), 'x-ms-version': TABLE_VERSION, prefer: 'return-no-content' }
    headers.authorization = tableSharedKey('POST', url, headers, account, key)
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ TableName: table }) })
    const text = await response.text()
    if (response.status === 409 && /TableAlreadyExists/.test(text)) continue
    if (!response.ok) throw new Error(`table ${table} could not be created (${response.status}): ${text.slice(0, 200)}`)
  }
}

/** The parts of `@azure/arm-storage`'s client the stores' deploy and remove call. */
export interface StorageClient {
  readonly table: {
    list(resourceGroupName: string, accountName: string): AsyncIterable<{ readonly name?: string }>
    create(resourceGroupName: string, accountName: string, tableName: string): Promise<unknown>
  }
  readonly storageAccounts: {
    listKeys(resourceGroupName: string, accountName: string): Promise<{ readonly keys?: ReadonlyArray<{ readonly value?: string }> }>
    getProperties(resourceGroupName: string, accountName: string): Promise<{ readonly primaryEndpoints?: { readonly table?: string } }>
  }
}

/** The stores' tables the service creates (those declared `existing` are the user's). */
export function ownTables(resources: readonly ResourceDeclaration[]): string[] {
  return [...new Set(resources.filter((resource) => resource.kind === 'store' && !resource.existing).map(storeTable))]
}

/** Deploy: each store's table in the app's storage account (Table_Create through ARM), those there kept; answers those created. */
export async function deployTables(storage: StorageClient, resourceGroup: string, account: string, resources: readonly ResourceDeclaration[]): Promise<string[]> {
  const wanted = ownTables(resources)
  if (wanted.length === 0) return []
  const existing = new Set<string>()
  for await (const table of storage.table.list(resourceGroup, account)) if (table.name) existing.add(table.name.toLowerCase())
  const created: string[] = []
  for (const table of wanted) {
    // Table names are case-insensitive (and kept as created).
    if (existing.has(table.toLowerCase())) continue
    await storage.table.create(resourceGroup, account, table)
    created.push(table)
  }
  return created
}

/**
 * The tables among `tables` that hold an entity, read with Query Entities (`$top=1`, Shared Key) at the account's
 * table endpoint; a table that does not exist holds none.
 */
export async function tablesHoldingEntries(endpoint: string, account: string, key: string, tables: readonly string[]): Promise<string[]> {
  const { tableSharedKey, TABLE_VERSION } = await import('@polycloud/azure/resources/table')
  const held: string[] = []
  for (const table of tables) {
    const url = new URL(`${endpoint.replace(/\/+$/, '')}/${table}()?$top=1&$select=RowKey`)
    const headers: Record<string, string> = { accept: 'application/json;odata=nometadata', 'x-ms-date': new Date().toUTCString(), 'x-ms-version': TABLE_VERSION }
    headers.authorization = tableSharedKey('GET', url, headers, account, Buffer.from(key, 'base64'))
    const response = await fetch(url, { headers })
    const text = await response.text()
    if (response.status === 404) continue
    if (!response.ok) throw new Error(`table ${table} of ${account} could not be read (${response.status}): ${text.slice(0, 200)}`)
    if (((JSON.parse(text) as { value?: unknown[] }).value ?? []).length > 0) held.push(table)
  }
  return held
}

/**
 * Remove: whether the app's storage account must be kept because a store's table still holds entries (the account
 * goes with its tables): the tables that do, empty when it may go. `--deleteData` deletes it anyway.
 */
export async function storesHoldingData(storage: StorageClient, resourceGroup: string, account: string, resources: readonly ResourceDeclaration[]): Promise<string[]> {
  const tables = ownTables(resources)
  if (tables.length === 0) return []
  const key = (await storage.storageAccounts.listKeys(resourceGroup, account)).keys?.[0]?.value
  const endpoint = (await storage.storageAccounts.getProperties(resourceGroup, account)).primaryEndpoints?.table ?? `https://${account}.table.core.windows.net/`
  if (!key) throw new Error(`storage account ${account} gave no key: its stores' tables cannot be read (pass --deleteData to delete it with them)`)
  return tablesHoldingEntries(endpoint, account, key, tables)
}
