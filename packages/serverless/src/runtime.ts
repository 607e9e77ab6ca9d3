/**
 * Which Node.js runtimes each provider still accepts: ONE table, with its sources, read by every provider's
 * `package` (a warning) and `deploy` (a refusal) so a deploy never fails on a runtime the cloud has retired.
 *
 * Sources (checked 2026-11-28):
 * - AWS Lambda: "Lambda runtimes", supported runtimes table (Deprecation date, Block function create, Block function
 *   update), https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html and
 *   https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html (nodejs20.x: Apr 30 2026, Aug 31 2026,
 *   Sep 30 2026; nodejs22.x: Apr 30 2027, Jun 1 2027, Jul 1 2027; nodejs24.x: Apr 30 2028, Jun 1 2028, Jul 1 2028;
 *   nodejs18.x: Sep 1 2025, Oct 1 2025, Nov 1 2025; nodejs16.x: Jun 12 2024, Feb 28 2025, Mar 31 2025).
 * - Azure Functions: "Language runtime support policy", https://learn.microsoft.com/azure/azure-functions/language-support-policy:
 *   support ends on the language's community end-of-life date; retired versions can still be created and deployed.
 *   End-of-life dates from Node.js's schedule, https://github.com/nodejs/Release/blob/main/schedule.json (commit
 *   e4bf922d83b877a116763e2f83d2d9b6701871f9): v18 2025-04-30, v20 2026-04-30, v22 2027-04-30, v24 2028-04-30.
 * - Google Cloud Functions (Cloud Run functions): "Cloud Run functions runtimes", Runtime support schedule,
 *   https://cloud.google.com/run/docs/runtimes/function-runtimes (Deprecation, Decommission: nodejs18 2025-04-30,
 *   2025-10-30; nodejs20 2026-04-30, 2026-10-30; nodejs22 2027-04-30, 2027-10-31; nodejs24 2028-04-30, 2028-10-31).
 *   A decommissioned runtime can be neither created nor redeployed (https://cloud.google.com/functions/docs/runtime-support).
 * - Cloudflare Workers run on workerd, chosen by a compatibility date, not a Node.js version: no entry.
 */
import { nodeMajor } from './bundle.js'
import type { ProviderName } from './provider.js'

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
  readonly source: string
  /** Newest first. */
  readonly versions: readonly RuntimeDates[]
}

export const RUNTIMES: Readonly<Partial<Record<ProviderName, ProviderRuntimes>>> = {
  aws: {
    spell: (major) => `nodejs${major}.x`,
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html',
    versions: [
      { major: 24, deprecated: '2028-04-30', blockCreate: '2028-06-01', blockUpdate: '2028-07-01' },
      { major: 22, deprecated: '2027-04-30', blockCreate: '2027-06-01', blockUpdate: '2027-07-01' },
      { major: 20, deprecated: '2026-04-30', blockCreate: '2026-08-31', blockUpdate: '2026-09-30' },
      { major: 18, deprecated: '2025-09-01', blockCreate: '2025-10-01', blockUpdate: '2025-11-01' },
      { major: 16, deprecated: '2024-06-12', blockCreate: '2025-02-28', blockUpdate: '2025-03-31' },
    ],
  },
  azure: {
    spell: (major) => `nodejs${major}.x`,
    source: 'https://learn.microsoft.com/azure/azure-functions/language-support-policy (Node.js end-of-life dates: https://github.com/nodejs/Release)',
    versions: [
      { major: 24, deprecated: '2028-04-30' },
      { major: 22, deprecated: '2027-04-30' },
      { major: 20, deprecated: '2026-04-30' },
      { major: 18, deprecated: '2025-04-30' },
    ],
  },
  google: {
    spell: (major) => `nodejs${major}.x`,
    source: 'https://cloud.google.com/run/docs/runtimes/function-runtimes',
    versions: [
      { major: 24, deprecated: '2028-04-30', blockCreate: '2028-10-31', blockUpdate: '2028-10-31' },
      { major: 22, deprecated: '2027-04-30', blockCreate: '2027-10-31', blockUpdate: '2027-10-31' },
      { major: 20, deprecated: '2026-04-30', blockCreate: '2026-10-30', blockUpdate: '2026-10-30' },
      { major: 18, deprecated: '2025-04-30', blockCreate: '2025-10-30', blockUpdate: '2025-10-30' },
    ],
  },
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

/**
 * What the provider says of a runtime today: undefined while it is supported (or when it is not a Node.js runtime
 * the table knows: the provider's own checks answer for those).
 */
export function runtimeProblem(provider: ProviderName, runtime: unknown, path: string, now: Date = new Date()): RuntimeProblem | undefined {
  const table = RUNTIMES[provider]
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
  const message = `${path}: ${runtime} is ${since} on ${TITLES[provider]}${blocks.length > 0 ? ` (${blocks.join(', ')})` : ''}; ${move}. Source: ${table.source}`
  return { path, runtime, state: createBlocked || updateBlocked ? 'blocked' : 'deprecated', message }
}

const TITLES: Readonly<Record<ProviderName, string>> = { aws: 'AWS Lambda', azure: 'Azure Functions', google: 'Google Cloud Functions', cloudflare: 'Cloudflare Workers' }

/** The deprecated or blocked runtimes of a service: the provider's, and each function's own. */
export function runtimeProblems(
  provider: ProviderName,
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
