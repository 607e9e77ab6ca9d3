/** The Toy plan: each function's routes; Toy has nothing else. */
import { ConfigError } from '../../errors.js'
import type { ServiceModel } from '../../model.js'
import { planFunctions } from '../../plan.js'
import type { PlanInput, ProviderPlan } from '../../provider.js'

export interface ToyRoute {
  readonly method: string
  readonly path: string
}

export interface ToyPlan extends ProviderPlan<ToyRoute> {
  /** `custom.polycloud.toy.greeting`. */
  readonly greeting: string
}

export function toyPlan(model: ServiceModel, _input: PlanInput): ToyPlan {
  const functions = planFunctions<ToyRoute>(model, {
    title: 'Toy',
    preflights: true,
    event(event) {
      if (event.kind === 'native') return undefined
      if (event.kind !== 'route') throw new ConfigError('', `Toy runs routes only, not ${event.key}`)
      return { sources: [], kinds: ['http'], native: { method: event.method, path: event.path } }
    },
  })
  return { model, functions, greeting: (model.custom.greeting as string | undefined) ?? 'hello' }
}
