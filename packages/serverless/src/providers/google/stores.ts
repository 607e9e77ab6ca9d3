/**
 * Key-value stores on Google Cloud: a Firestore collection per declared store, named `<service>-<stage>-<name>`
 * unless the declaration names it, in the project's `(default)` database (Native mode: strongly consistent reads,
 * preconditions on a document's update time for conditional writes). `@polycloud/gcp/resources` reads
 * `{ kind: 'store', collection }`.
 *
 * Locally (`serverless offline`), Firestore's own emulator needs Java and a download, which Polycloud cannot rely on:
 * the stores are served by the local Firestore (`local/firestore.ts`, the REST API's shapes, tested with Google's
 * client), its documents kept in `.polycloud/state/google/firestore.json`, and the functions reach it as Google's
 * clients reach an emulator (`FIRESTORE_EMULATOR_HOST`).
 */
import { join } from 'node:path'
import { ProviderError } from '../../errors.js'
import type { ResourceDeclaration } from '../../model.js'
import type { GoogleConnection } from './api.js'

/** A store's addressing entry: its collection in the `(default)` database. */
export function storeAddress(resource: ResourceDeclaration): { readonly kind: string; readonly collection: string } {
  return { kind: 'store', collection: resource.deployedName }
}

/** The local Firestore of `serverless offline`, when the service has stores: the functions' variables, and how to stop it. */
export interface LocalStores {
  readonly environment: Readonly<Record<string, string>>
  readonly lines: readonly string[]
  stop(): Promise<void>
}

/** Starts the local Firestore for the service's stores (none: nothing starts), its state under `servicePath`. */
export async function startLocalStores(stores: readonly ResourceDeclaration[], options: { readonly host: string; readonly servicePath: string; readonly project: string }): Promise<LocalStores | undefined> {
  const used = stores.filter((resource) => resource.kind === 'store')
  if (used.length === 0) return undefined
  const { startLocalFirestore } = await import('./local/firestore.js')
  const firestore = await startLocalFirestore({ host: options.host, port: 0, stateDir: join(options.servicePath, '.polycloud', 'state', 'google') })
  const hostPort = new URL(firestore.url).host
  return {
    environment: { FIRESTORE_EMULATOR_HOST: hostPort },
    lines: [`  stores (local Firestore, REST; FIRESTORE_EMULATOR_HOST=${hostPort}): ${used.map((resource) => `${firestore.url}/v1/projects/${options.project}/databases/(default)/documents/${resource.deployedName}`).join(', ')}`],
    stop: () => firestore.stop(),
  }
}

/** The role a store's users get: Cloud Datastore User (read and write documents), on the stores' database only. */
export const STORE_ROLE = 'roles/datastore.user'

/** The stores' database: `(default)`, which `@polycloud/gcp/resources` addresses unless told otherwise. */
const DATABASE = '(default)'

/** What the stores' deploy and remove need of Google's APIs (the deploy's connection). */
export interface StoreTarget {
  readonly project: string
  readonly region: string
  readonly connection: Pick<GoogleConnection, 'request' | 'endpoints'>
}

type Binding = { role: string; members: string[]; condition?: { title?: string; description?: string; expression?: string } }
type Policy = { bindings?: Binding[]; etag?: string; version?: number }

/** The IAM condition that limits the role to the stores' database (Firestore grants no narrower than a database). */
export function storeCondition(project: string): NonNullable<Binding['condition']> {
  return { title: 'polycloud-stores', description: 'Polycloud stores: documents of the (default) Firestore database', expression: `resource.name == "projects/${project}/databases/${DATABASE}"` }
}

/** One API call: its answer's body. */
async function send<T>(target: StoreTarget, options: { url: string; method: string; data?: unknown }): Promise<T> {
  return (await target.connection.request(options)).data as T
}

const status = (error: unknown): number | undefined => (error as { response?: { status?: number } }).response?.status

/** A GET that answers undefined for 404. */
async function find<T>(target: StoreTarget, url: string): Promise<T | undefined> {
  try {
    return await send<T>(target, { url, method: 'GET' })
  } catch (error) {
    if (status(error) === 404) return undefined
    throw error
  }
}

/**
 * Deploy: the project's `(default)` Firestore database in Native mode, created in the functions' region when
 * missing (a database in Datastore mode is refused: it has no Firestore documents); a TTL policy on each store's
 * `expires` field; then the runtime service accounts of the functions that use a store get `roles/datastore.user`
 * on that database only (a conditional project binding, policy version 3, read-modify-write with the etag), and
 * `revoke` (the service's accounts whose functions use none) loses it.
 */
export async function deployStores(target: StoreTarget, stores: readonly ResourceDeclaration[], accounts: readonly string[], log: (line: string) => void, revoke: readonly string[] = []): Promise<void> {
  if (!stores.some((resource) => resource.kind === 'store')) return
  const base = target.connection.endpoints.firestore
  const name = `projects/${target.project}/databases/${DATABASE}`
  const database = await find<{ type?: string }>(target, `${base}/v1/${name}`)
  if (database === undefined) {
    let operation = await send<{ name?: string; done?: boolean; error?: { message?: string } }>(target, { url: `${base}/v1/projects/${target.project}/databases?databaseId=${encodeURIComponent(DATABASE)}`, method: 'POST', data: { type: 'FIRESTORE_NATIVE', locationId: target.region } })
    for (let attempt = 0; !operation.done && attempt < 60; attempt++) {
      await new Promise((done) => setTimeout(done, 2000))
      operation = await send<typeof operation>(target, { url: `${base}/v1/${operation.name}`, method: 'GET' })
    }
    if (operation.error !== undefined) throw new ProviderError(`the Firestore database of project ${target.project} could not be created: ${operation.error.message ?? 'no reason given'}`)
    if (!operation.done) throw new ProviderError(`the Firestore database of project ${target.project} was still being created after 2 minutes`, 'deploy again once it is ready')
    log(`created the Firestore database ${DATABASE} in ${target.region} (Native mode) for the stores`)
  } else if (database.type !== undefined && database.type !== 'FIRESTORE_NATIVE') {
    throw new ProviderError(`the Firestore database ${DATABASE} of project ${target.project} is in Datastore mode, which has no Firestore documents: the stores need Native mode`, 'use a project whose (default) database is in Native mode (a database\'s mode cannot change once it holds data)')
  }
  // Firestore's TTL deletes expired entries (within a day or so; readers filter them before): a TTL policy on each
  // store's `expires` (a timestamp), set once; Firestore builds it in the background.
  for (const store of stores) {
    if (store.kind !== 'store') continue
    const field = `${name}/collectionGroups/${store.deployedName}/fields/expires`
    const current = await find<{ ttlConfig?: unknown }>(target, `${base}/v1/${field}`)
    if (current?.ttlConfig !== undefined) continue
    await send(target, { url: `${base}/v1/${field}?updateMask=ttlConfig`, method: 'PATCH', data: { name: field, ttlConfig: {} } })
    log(`set a TTL policy on ${store.deployedName}.expires (Firestore deletes expired entries)`)
  }
  await storeAccess(target, accounts, revoke)
}

/** Adds `grant` to the stores' binding and takes `revoke` out of it, in one read-modify-write (none when nothing changes). */
export async function storeAccess(target: StoreTarget, grant: readonly string[], revoke: readonly string[]): Promise<void> {
  await updatePolicy(target, (bindings) => {
    const condition = storeCondition(target.project)
    let own = bindings.find((binding) => binding.role === STORE_ROLE && binding.condition?.expression === condition.expression)
    let changed = false
    for (const account of grant) {
      const member = `serviceAccount:${account}`
      if (own?.members.includes(member)) continue
      if (own) own.members.push(member)
      else bindings.push((own = { role: STORE_ROLE, members: [member], condition }))
      changed = true
    }
    for (const account of revoke) {
      const member = `serviceAccount:${account}`
      if (own === undefined || !own.members.includes(member) || grant.includes(account)) continue
      own.members.splice(own.members.indexOf(member), 1)
      changed = true
    }
    return changed
  })
}

/** Reads the project's IAM policy (version 3), lets `change` edit its bindings, and writes it back when it changed. */
async function updatePolicy(target: StoreTarget, change: (bindings: Binding[]) => boolean): Promise<void> {
  const resource = `${target.connection.endpoints.resourceManager}/v3/projects/${target.project}`
  const policy = await send<Policy>(target, { url: `${resource}:getIamPolicy`, method: 'POST', data: { options: { requestedPolicyVersion: 3 } } })
  const bindings = structuredClone(policy.bindings ?? [])
  if (!change(bindings)) return
  await target.connection.request({ url: `${resource}:setIamPolicy`, method: 'POST', data: { policy: { ...policy, version: 3, bindings: bindings.filter((binding) => binding.members.length > 0) } } })
}

/** Firestore commits at most 500 writes. */
const COMMIT_WRITES = 500

/**
 * Remove: each store's collection is kept while it holds documents, with a warning, unless `deleteData`
 * (`--deleteData`): then its documents are deleted, 500 a commit; the runtime accounts are taken out of the stores' binding.
 * What was deleted is returned. The database stays: it is the project's.
 */
export async function removeStores(target: StoreTarget, stores: readonly ResourceDeclaration[], accounts: readonly string[], deleteData: boolean, warn: (line: string) => void): Promise<string[]> {
  const removed: string[] = []
  const used = stores.filter((resource) => resource.kind === 'store' && !resource.existing)
  if (used.length === 0) return removed
  const documents = `${target.connection.endpoints.firestore}/v1/projects/${target.project}/databases/${DATABASE}/documents`
  for (const store of used) {
    const list = async (): Promise<string[]> => ((await find<{ documents?: Array<{ name: string }> }>(target, `${documents}/${encodeURIComponent(store.deployedName)}?pageSize=${COMMIT_WRITES}`))?.documents ?? []).map((document) => document.name)
    let page = await list()
    if (page.length > 0 && !deleteData) {
      warn(`Firestore collection ${store.deployedName} was kept: it still holds documents; serverless remove --deleteData deletes them`)
      continue
    }
    let count = 0
    while (page.length > 0) {
      await target.connection.request({ url: `${documents}:commit`, method: 'POST', data: { writes: page.map((name) => ({ delete: name })) } })
      count += page.length
      page = await list()
    }
    if (count > 0) removed.push(`Firestore collection ${store.deployedName} (${count} document${count === 1 ? '' : 's'})`)
  }
  if (accounts.length > 0) await storeAccess(target, [], accounts)
  return removed
}
