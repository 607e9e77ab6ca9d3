/**
 * The Node.js runtimes a provider still accepts, as each provider's folder states them (a table with the dates and
 * the source they come from): a warning at `package` and a refusal at `deploy` for a runtime the provider has
 * deprecated or blocked, so a deploy never fails on a runtime the cloud has retired; and the Node majors a provider
 * offers, for the providers that pick a version themselves.
 */

/** One Node.js major on one provider: when it was deprecated, and when creating and updating functions stop. */
export interface RuntimeDates {
  readonly major: number
  /** ISO date: no more patches or support; still deployable unless blocked. */
  readonly deprecated: string
  /** ISO date: new functions can no longer be created on it. */
  readonly blockCreate?: string
  /** ISO date: existing functions can no longer be updated (deployed again). */
  readonly blockUpdate?: string
}

export interface ProviderRuntimes {
  /** How serverless.yml names a runtime of a Node.js major on this provider (`nodejs22.x`: one file for every cloud). */
  spell(major: number): string
  /** Where the dates come from. */
  readonly source: string
  /** ISO date the dates were checked on: a version deprecated by then is not offered ({@link offeredMajors}). */
  readonly checked: string
  /** Newest first. */
  readonly versions: readonly RuntimeDates[]
}

/** A runtime of the service the provider has deprecated or blocked, located and explained. */
export interface RuntimeProblem {
  /** `provider.runtime` or `functions.<name>.runtime`. */
  readonly path: string
  readonly runtime: string
  readonly state: 'deprecated' | 'blocked'
  readonly message: string
}

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`)

/** A provider's runtime facts: its table, and how messages name its functions platform (`AWS Lambda`). */
export interface RuntimeFacts {
  readonly platform: string
  readonly runtimes?: ProviderRuntimes | undefined
}

/**
 * What the provider says of a runtime today: undefined while it is supported (or when it is not a Node.js runtime
 * the table knows: the provider's own checks answer for those).
 */
export function runtimeProblem(provider: RuntimeFacts, runtime: unknown, path: string, now: Date = new Date()): RuntimeProblem | undefined {
  const table = provider.runtimes
  const major = nodeMajor(runtime)
  if (table === undefined || major === undefined || typeof runtime !== 'string') return undefined
  const oldest = table.versions[table.versions.length - 1] as RuntimeDates
  // A major older than the table's oldest has that one's dates at the latest.
  const dates = table.versions.find((entry) => entry.major === major) ?? (major < oldest.major ? oldest : undefined)
  const time = now.getTime()
  if (dates === undefined || time < day(dates.deprecated)) return undefined
  const createBlocked = dates.blockCreate !== undefined && time >= day(dates.blockCreate)
  const updateBlocked = dates.blockUpdate !== undefined && time >= day(dates.blockUpdate)
  const since = dates.major === major ? `deprecated since ${dates.deprecated}` : `older than ${table.spell(oldest.major)}, deprecated since ${oldest.deprecated} at the latest`
  const blocks = [
    dates.blockCreate && `creating functions on it ${createBlocked ? 'blocked since' : 'blocked from'} ${dates.blockCreate}`,
    dates.blockUpdate && `updating them ${updateBlocked ? 'blocked since' : 'blocked from'} ${dates.blockUpdate}`,
  ].filter(Boolean)
  const supported = table.versions.filter((entry) => time < day(entry.deprecated))
  const move = supported.length === 0 ? 'no Node.js runtime in the table is still supported: check the source' : `move to ${supported.map((entry) => `${table.spell(entry.major)} (supported until ${entry.deprecated})`).join(' or ')}`
  const message = `${path}: ${runtime} is ${since} on ${provider.platform}${blocks.length > 0 ? ` (${blocks.join(', ')})` : ''}; ${move}. Source: ${table.source}`
  return { path, runtime, state: createBlocked || updateBlocked ? 'blocked' : 'deprecated', message }
}

/** The deprecated or blocked runtimes of a service: the provider's, and each function's own. */
export function runtimeProblems(
  provider: RuntimeFacts,
  providerRuntime: unknown,
  functions: Readonly<Record<string, { readonly runtime?: unknown; readonly polycloud?: unknown }>>,
  now: Date = new Date(),
): RuntimeProblem[] {
  const problems: RuntimeProblem[] = []
  const own = runtimeProblem(provider, providerRuntime, 'provider.runtime', now)
  if (own) problems.push(own)
  for (const [name, fn] of Object.entries(functions)) {
    if (fn.runtime === undefined) continue
    const problem = runtimeProblem(provider, fn.runtime, `functions.${name}.runtime`, now)
    if (problem) problems.push(problem)
  }
  return problems
}

/** The Node majors a provider offers: those not deprecated when its table was checked, oldest first. */
export function offeredMajors(table: ProviderRuntimes): number[] {
  return table.versions.filter((entry) => day(entry.deprecated) > day(table.checked)).map((entry) => entry.major).reverse()
}

/** The newest Node major a provider retired by the time its table was checked (Node.js 20 in 2026). */
export function lastRetired(table: ProviderRuntimes): RuntimeDates | undefined {
  return table.versions.find((entry) => day(entry.deprecated) <= day(table.checked))
}

/** The Node major version a runtime string names: `nodejs22.x`, `node22`, `22` -> 22; undefined when it names none. */
export function nodeMajor(runtime: unknown): number | undefined {
  if (typeof runtime !== 'string') return undefined
  const match = /^(?:nodejs|node)?(\d+)(?:\.x)?$/i.exec(runtime.trim())
  return match ? Number(match[1]) : undefined
}
