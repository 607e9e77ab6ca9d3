/**
 * The shared reading of a service's functions, the same for every provider: each event planned by the target,
 * the handler module resolved and checked, the handler kinds the events agree on.
 */
import { parseHandler } from './entry.js'
import { ConfigError, locate } from './errors.js'
import type {
  EventPlan,
  EventSpec,
  FunctionConfig,
  FunctionInfo,
  Kind,
  PlanContext,
  PreparedFunction,
  ProviderTarget,
  SourceRef,
} from './provider.js'
import { ALL_KINDS, providerName, type ProviderName } from './provider.js'
import { isNeutralEvent } from './schema.js'

type Json = Record<string, unknown>

/** The settings of one function: timeout, memory and environment resolved against the provider block. */
export function functionInfo(name: string, config: FunctionConfig, providerConfig: Readonly<Json>, defaultTimeout: number): FunctionInfo {
  const timeout = config.timeout ?? (providerConfig.timeout as number | undefined) ?? defaultTimeout
  const memorySize = config.memorySize ?? (providerConfig.memorySize as number | undefined)
  const environment: Record<string, string> = {}
  for (const source of [providerConfig.environment, config.environment]) {
    if (typeof source !== 'object' || source === null) continue
    for (const [key, value] of Object.entries(source as Json)) {
      if (value !== undefined && value !== null) environment[key] = typeof value === 'string' ? value : JSON.stringify(value)
    }
  }
  return { name, config, timeout, memorySize, environment }
}

/** Whether a function's `excludeFrom` names the provider (in any of its spellings). */
export function isExcluded(config: FunctionConfig, provider: ProviderName): boolean {
  return Array.isArray(config.excludeFrom) && config.excludeFrom.some((name) => providerName(name) === provider)
}

/** Every Polycloud function of the service (not those with `polycloud: false`, nor excluded from this provider), read and checked. */
export function prepareFunctions<N>(
  functions: Readonly<Record<string, FunctionConfig>>,
  target: ProviderTarget<N>,
  context: PlanContext,
): Array<PreparedFunction<N>> {
  const prepared: Array<PreparedFunction<N>> = []
  for (const [name, config] of Object.entries(functions)) {
    if (config.polycloud === false || isExcluded(config, target.name)) continue
    const info = functionInfo(name, config, context.providerConfig, target.defaultTimeout)
    const events = (config.events ?? []).map((event, index) => {
      const key = Object.keys(event)[0] as string
      const spec: EventSpec = { key, value: event[key], path: `functions.${name}.events[${index}].${key}`, neutral: isNeutralEvent(key) }
      let plan: EventPlan<N> | undefined
      try {
        plan = target.plan(spec, info, context)
      } catch (error) {
        throw locate(spec.path, error)
      }
      if (plan === undefined) {
        throw new ConfigError(
          spec.path,
          `native event ${JSON.stringify(key)} is not served by Polycloud's ${target.title} adapter; set "polycloud: false" on the function to deploy a native handler`,
        )
      }
      return { spec, plan }
    })
    events.push(...(target.implicitPlans?.(info) ?? []))
    const kinds = commonKinds(name, events)
    const handler = parseHandler(config.handler, context.servicePath, `functions.${name}.handler`)
    prepared.push({ ...info, handler, handlerText: config.handler as string, events, kinds, sources: uniqueSources(events) })
  }
  return prepared
}

/** The handler kinds every event of a function can feed; none means the events cannot share one handler. */
export function commonKinds(functionName: string, events: ReadonlyArray<{ readonly spec: EventSpec; readonly plan: EventPlan<unknown> }>): Kind[] {
  if (events.length === 0) return [...ALL_KINDS]
  let kinds = [...events[0]!.plan.kinds]
  for (const { plan } of events.slice(1)) kinds = kinds.filter((kind) => plan.kinds.includes(kind))
  if (kinds.length === 0) {
    const described = events.map(({ spec, plan }) => `${spec.key} (${plan.kinds.join('/')})`).join(', ')
    throw new ConfigError(`functions.${functionName}.events`, `these events cannot share one portable handler: ${described}`)
  }
  return kinds
}

function uniqueSources(events: ReadonlyArray<{ readonly plan: EventPlan<unknown> }>): SourceRef[] {
  const seen = new Set<string>()
  const out: SourceRef[] = []
  for (const { plan } of events) {
    for (const source of plan.sources) {
      const key = `${source.module}#${source.name}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push(source)
    }
  }
  return out
}
