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
