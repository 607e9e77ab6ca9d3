/** A provider's plan and command context built as the plugin builds them at `initialize`, for in-process tests. */
import { resolvePolicy } from '@polycloud/auth/policy'
import { readService, type ServiceModel } from 'serverless-polycloud/model'
import type { FunctionConfig, Logger, ProviderDefinition, ProviderPlan, ServiceContext } from 'serverless-polycloud/provider'
import { readerOf } from 'serverless-polycloud/providers/index'
import { ROOT } from '../../helpers/serverless.ts'

export interface ServiceOptions {
  readonly service?: string
  readonly stage?: string
  /** `provider.*`. */
  readonly provider?: Record<string, unknown>
  /** `custom.polycloud.<provider>`. */
  readonly custom?: Record<string, unknown>
  /** `custom.polycloud.http`. */
  readonly http?: Record<string, unknown>
  /** `custom.polycloud.resources`. */
  readonly resources?: Record<string, unknown>
  /** `custom.polycloud.telemetry`. */
  readonly telemetry?: Record<string, unknown>
  /** `--region`. */
  readonly region?: string
  /** `resources.Resources`. */
  readonly template?: Record<string, unknown>
  readonly command?: string
  readonly servicePath?: string
}

/** The model of a service's functions, read for a provider. */
export function modelFor(definition: ProviderDefinition, functions: Record<string, FunctionConfig>, options: ServiceOptions = {}): ServiceModel {
  return readService(
    {
      service: options.service ?? 'shop',
      stage: options.stage ?? 'prod',
      regionOption: options.region,
      servicePath: options.servicePath ?? ROOT,
      provider: { name: definition.name, ...options.provider },
      functions,
      polycloud: { ...(options.custom ? { [definition.name]: options.custom } : {}), ...(options.http ? { http: options.http } : {}), ...(options.resources ? { resources: options.resources } : {}), ...(options.telemetry ? { telemetry: options.telemetry } : {}) },
      template: options.template,
    },
    readerOf(definition),
    resolvePolicy,
  )
}

/** The provider's plan of a service's functions. */
export function planFor<P extends ProviderPlan>(definition: ProviderDefinition<P>, functions: Record<string, FunctionConfig>, options: ServiceOptions = {}): P {
  return definition.plan(modelFor(definition, functions, options), { command: options.command ?? 'package' })
}

export const silent: Logger = { notice() {}, info() {}, warning() {}, error() {}, verbose() {} }

/** The context a command gets for a plan. */
export function contextFor<P extends ProviderPlan>(plan: P, overrides: Partial<Omit<ServiceContext<P>, 'plan'>> = {}): ServiceContext<P> {
  return {
    plan,
    provider: plan.model.provider,
    service: plan.model.service,
    stage: plan.model.stage,
    region: plan.model.region,
    servicePath: plan.model.servicePath,
    workDir: `${plan.model.servicePath}.polycloud/${plan.model.provider}`,
    packageDir: `${plan.model.servicePath}.serverless`,
    options: {},
    log: silent,
    write() {},
    ...overrides,
  }
}
