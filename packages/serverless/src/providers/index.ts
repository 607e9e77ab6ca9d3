/**
 * The registry: every provider Polycloud deploys to, each one folder of `providers/` whose `index.ts` holds its
 * facts and steps (`ProviderDefinition`). Adding a provider is its folder and its line here; everything else reads
 * the providers from this list: the names and spellings users may write, native events, runtimes, schemas.
 *
 * A provider's module holds its facts, plan and entries only; what its commands need (SDKs, local runtimes) is
 * imported when a command runs, so packaging for AWS loads nothing of the other clouds.
 */
import type { ReaderProvider } from '../model.js'
import type { ProviderDefinition } from '../provider.js'
import { runtimeProblem as problemOf, runtimeProblems as problemsOf, type ProviderRuntimes, type RuntimeProblem } from '../runtime.js'
import { aws } from './aws/index.js'
import { azure } from './azure/index.js'
import { google } from './google/index.js'
import { cloudflare } from './cloudflare/index.js'

/** Every provider, in the order messages list them. */
export const PROVIDERS: readonly ProviderDefinition[] = [aws, azure, google, cloudflare]

/** Their names, as serverless.yml and POLYCLOUD_PROVIDER write them. */
export const PROVIDER_NAMES: readonly string[] = PROVIDERS.map((provider) => provider.name)

/** The provider a user means by `spelling` (its name or an alias, any case), or undefined. */
export function providerName(spelling: unknown): string | undefined {
  if (typeof spelling !== 'string') return undefined
  const lower = spelling.trim().toLowerCase()
  return PROVIDERS.find((provider) => provider.name === lower || provider.aliases.includes(lower))?.name
}

/** The definition of a provider by its name. */
export function definitionOf(name: string): ProviderDefinition {
  const definition = PROVIDERS.find((provider) => provider.name === name)
  if (definition === undefined) throw new Error(`no provider ${JSON.stringify(name)} in the registry`)
  return definition
}

/** What the shared reading needs of a provider: its name, the spellings that mean it, its default timeout. */
export function readerOf(provider: ProviderDefinition): ReaderProvider {
  return { name: provider.name, defaultTimeout: provider.defaultTimeout, means: (spelling) => providerName(spelling) === provider.name }
}

/** The names users may write for each provider in `excludeFrom`: its name, and its handlers' `context.provider` where that differs. */
export function providerSpellings(): string[] {
  return PROVIDERS.flatMap((provider) => (provider.adapter === undefined || provider.adapter.provider === provider.name ? [provider.name] : [provider.name, provider.adapter.provider]))
}

/** Which providers a native event key belongs to (`timer` -> azure). */
export function nativeOwners(key: string): string[] {
  return PROVIDERS.filter((provider) => provider.nativeEvents.includes(key)).map((provider) => provider.name)
}

/** The runtime tables of the providers that choose runtimes by Node.js version, by name. */
export const RUNTIMES: Readonly<Record<string, ProviderRuntimes>> = Object.fromEntries(
  PROVIDERS.flatMap((provider) => (provider.runtimes === undefined ? [] : [[provider.name, provider.runtimes]])),
)

/** What provider `name` says of a runtime today (see `runtime.ts`). */
export function runtimeProblem(name: string, runtime: unknown, path: string, now?: Date): RuntimeProblem | undefined {
  return problemOf(definitionOf(name), runtime, path, now)
}

/** The deprecated or blocked runtimes of a service on provider `name`: the provider's, and each function's own. */
export function runtimeProblems(name: string, providerRuntime: unknown, functions: Readonly<Record<string, { readonly runtime?: unknown }>>, now?: Date): RuntimeProblem[] {
  return problemsOf(definitionOf(name), providerRuntime, functions, now)
}
