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
import type { ResourceDeclaration } from '../../model.js'

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
