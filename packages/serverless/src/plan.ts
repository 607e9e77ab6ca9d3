/**
 * What every provider's plan shares: each function's events planned by the provider (located errors, native events
 * it does not serve refused), the CORS preflight routes where the entries answer them, the handler kinds the
 * events agree on and the adapter formats they come in. A provider's `plan.ts` calls {@link planFunctions} with its
 * own event mapping and adds what it decides for the whole service.
 */
import { ConfigError, locate } from './errors.js'
import type { FunctionModel, ServiceEvent, ServiceModel } from './model.js'
import { ALL_KINDS, type EventPlan, type Kind, type PlannedEvent, type PlannedFunction, type SourceRef } from './provider.js'

/** How a provider plans the events of its functions. */
export interface EventPlanner<N> {
  /** How messages name the provider. */
  readonly title: string
  /**
   * What an event of a function becomes. Throws a ConfigError (an empty path is filled in with the event's) when
   * the event cannot run on the provider; undefined for a native event Polycloud does not serve there.
   */
  event(event: ServiceEvent, fn: FunctionModel): EventPlan<N> | undefined
  /** Whether the generated entries answer CORS preflights (false where the platform answers them). */
  readonly preflights: boolean
  /** The plans of a function's implicit events (a Function URL on AWS), after its declared ones. */
  implicit?(fn: FunctionModel): ReadonlyArray<PlannedEvent<N>>
}

/** Every function of the model, planned. */
export function planFunctions<N>(model: ServiceModel, planner: EventPlanner<N>): Array<PlannedFunction<N>> {
  return model.functions.map((fn) => {
    const declared = fn.events.map((event): PlannedEvent<N> => {
      let plan: EventPlan<N> | undefined
      try {
        plan = planner.event(event, fn)
      } catch (error) {
        throw locate(event.at, error)
      }
      if (plan === undefined) {
        throw new ConfigError(
          event.at,
          `native event ${JSON.stringify(event.key)} is not served by Polycloud's ${planner.title} adapter; set "polycloud: false" on the function to deploy a native handler`,
        )
      }
      return { event, ...plan }
    })
    const preflights = planner.preflights ? fn.preflights.map((event): PlannedEvent<N> => ({ event, ...(planner.event(event, fn) as EventPlan<N>) })) : []
    const events = [...declared, ...preflights, ...(planner.implicit?.(fn) ?? [])]
    return {
      name: fn.name,
      handler: fn.handler,
      handlerText: fn.handlerText,
      timeout: fn.timeout,
      memorySize: fn.memorySize,
      environment: fn.environment,
      security: fn.security,
      resources: fn.resources,
      model: fn,
      events,
      kinds: commonKinds(fn.name, events),
      sources: uniqueSources(events),
    }
  })
}

/** The handler kinds every event can feed; none means the events cannot share one handler. */
export function commonKinds(functionName: string, events: ReadonlyArray<{ readonly event: { readonly key: string }; readonly kinds: readonly Kind[] }>): Kind[] {
  if (events.length === 0) return [...ALL_KINDS]
  let kinds = [...events[0]!.kinds]
  for (const { kinds: other } of events.slice(1)) kinds = kinds.filter((kind) => other.includes(kind))
  if (kinds.length === 0) {
    const described = events.map(({ event, kinds: own }) => `${event.key} (${own.join('/')})`).join(', ')
    throw new ConfigError(`functions.${functionName}.events`, `these events cannot share one portable handler: ${described}`)
  }
  return kinds
}

function uniqueSources(events: ReadonlyArray<{ readonly sources: readonly SourceRef[] }>): SourceRef[] {
  const seen = new Set<string>()
  const out: SourceRef[] = []
  for (const { sources } of events) {
    for (const source of sources) {
      const key = `${source.module}#${source.name}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push(source)
    }
  }
  return out
}

/** A value computed on first use, then kept: what only some commands need of a plan is computed once, by those. */
export function once<T>(compute: () => T): () => T {
  let done = false
  let value: T
  return () => {
    if (!done) {
      value = compute()
      done = true
    }
    return value
  }
}
