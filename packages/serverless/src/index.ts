/**
 * serverless-polycloud: functions declared once with neutral events, deployed with portable handlers.
 *
 * In the constructor it registers the neutral event schemas (the framework validates them before any hook) and
 * refuses a provider it does not support yet, or another provider's native events. At `initialize` (after
 * validation, before any command: package, deploy, offline, invoke local) it rewrites each function: neutral
 * events become native ones, and the handler becomes a generated entry (in .polycloud/<provider>/) that wraps the
 * portable handler with the adapter formats its events need; serverless-esbuild bundles that entry.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { entrySource, parseHandler } from './entry.js'
import { ConfigError } from './errors.js'
import { nativeOwners } from './native.js'
import { FUNCTION_URL_PLAN, nativePlan, neutralPlan, type AwsSettings, type EventPlan, type Kind } from './providers/aws.js'
import { CUSTOM_SCHEMA, FUNCTION_SCHEMA, NEUTRAL_EVENTS, NEUTRAL_EVENT_NAMES } from './schema.js'

type Json = Record<string, unknown>

/** The parts of the framework's `serverless` object the plugin uses. */
export interface Serverless {
  serviceDir?: string
  config: { servicePath?: string }
  service: {
    service: string
    provider: { name: string; stage?: string; timeout?: number; apiGateway?: Json }
    functions: Record<string, FunctionConfig>
    resources?: { Resources?: Json; [key: string]: unknown }
    custom?: { polycloud?: { aws?: { routes?: 'http-api' | 'rest-api' } } }
  }
  configSchemaHandler: {
    defineFunctionEvent(provider: string, name: string, schema: unknown): void
    defineFunctionProperties(provider: string, schema: unknown): void
    defineCustomProperties(schema: unknown): void
  }
  classes: { Error: new (message: string, code?: string) => Error }
}

export interface FunctionConfig {
  handler?: string
  events?: Json[]
  timeout?: number
  url?: unknown
  polycloud?: boolean
  [key: string]: unknown
}

interface Logger {
  notice(message: string): void
  info(message: string): void
}

const SUPPORTED = ['aws']
const COMING = ['azure', 'google', 'cloudflare']
const ENTRY_DIR = '.polycloud'

export default class PolycloudPlugin {
  readonly hooks: Record<string, () => Promise<void>>
  readonly #serverless: Serverless
  readonly #log: Logger | undefined

  constructor(serverless: Serverless, _options: unknown, utils?: { log?: Logger }) {
    this.#serverless = serverless
    this.#log = utils?.log
    const provider = serverless.service.provider.name
    if (!SUPPORTED.includes(provider)) {
      throw this.#error(
        `provider ${JSON.stringify(provider)} is not supported yet: this version deploys to ${SUPPORTED.join(', ')}; ` +
          `${COMING.join(', ')} are coming. Unset POLYCLOUD_PROVIDER (or set it to aws).`,
      )
    }
    const schemas = serverless.configSchemaHandler
    for (const name of NEUTRAL_EVENT_NAMES) schemas.defineFunctionEvent(provider, name, NEUTRAL_EVENTS[name])
    schemas.defineFunctionProperties(provider, FUNCTION_SCHEMA)
    schemas.defineCustomProperties(CUSTOM_SCHEMA)
    // Validation runs before any hook: another provider's native event must be refused here, by name.
    this.#checkForeignEvents(provider)
    this.hooks = { initialize: () => this.#rewrite() }
  }

  #error(message: string): Error {
    return new this.#serverless.classes.Error(`serverless-polycloud: ${message}`, 'POLYCLOUD_CONFIGURATION')
  }

  #checkForeignEvents(provider: string): void {
    for (const [name, fn] of Object.entries(this.#serverless.service.functions ?? {})) {
      ;(fn.events ?? []).forEach((event, index) => {
        const key = Object.keys(event ?? {})[0] ?? ''
        const owners = nativeOwners(key)
        if (NEUTRAL_EVENT_NAMES.includes(key as (typeof NEUTRAL_EVENT_NAMES)[number]) || owners.length === 0) return
        if (!owners.includes(provider)) {
          throw this.#error(
            `functions.${name}.events[${index}]: ${JSON.stringify(key)} is a native ${owners.join('/')} event, which provider ${provider} cannot run; ` +
              `use a neutral event (${NEUTRAL_EVENT_NAMES.join(', ')}) to deploy the function anywhere`,
          )
        }
      })
    }
  }

  async #rewrite(): Promise<void> {
    const serverless = this.#serverless
    const service = serverless.service
    const servicePath = serverless.serviceDir ?? serverless.config.servicePath ?? process.cwd()
    const entryDir = join(servicePath, ENTRY_DIR, 'aws')
    rmSync(entryDir, { recursive: true, force: true })
    mkdirSync(entryDir, { recursive: true })
    service.resources ??= {}
    const resources = (service.resources.Resources ??= {})
    let rest = false
    try {
      for (const [name, fn] of Object.entries(service.functions ?? {})) {
        if (fn.polycloud === false) continue
        const settings: AwsSettings = {
          service: service.service,
          stage: service.provider.stage ?? 'dev',
          routes: service.custom?.polycloud?.aws?.routes ?? 'http-api',
          timeout: fn.timeout ?? service.provider.timeout ?? 6,
          resources,
        }
        const plans: Array<{ key: string; plan: EventPlan }> = (fn.events ?? []).map((event, index) => {
          const key = Object.keys(event)[0] as string
          const path = `functions.${name}.events[${index}].${key}`
          if (NEUTRAL_EVENT_NAMES.includes(key as (typeof NEUTRAL_EVENT_NAMES)[number])) {
            return { key, plan: neutralPlan(key, event[key], path, settings) }
          }
          const plan = nativePlan(key, event[key])
          if (!plan) {
            throw new ConfigError(
              path,
              `native event ${JSON.stringify(key)} is not served by Polycloud's AWS adapter; set "polycloud: false" on the function to deploy a native handler`,
            )
          }
          return { key, plan }
        })
        if (fn.url) plans.push({ key: 'url', plan: FUNCTION_URL_PLAN })
        rest ||= plans.some(({ plan }) => plan.sources.some((source) => source.name === 'apiGatewayV1'))
        const kinds = commonKinds(name, plans)
        const handler = parseHandler(fn.handler, servicePath, `functions.${name}.handler`)
        const sources = plans.flatMap(({ plan }) => plan.sources)
        writeFileSync(
          join(entryDir, `${name}.js`),
          entrySource({ functionName: name, handler, handlerText: fn.handler as string, entryDir, servicePath, sources, kinds }),
        )
        fn.events = plans.flatMap(({ plan }) => plan.native)
        fn.handler = `${ENTRY_DIR}/aws/${name}.handler`
      }
    } catch (error) {
      if (error instanceof ConfigError) throw this.#error(error.message)
      throw error
    }
    // REST APIs deliver binary bodies only for the media types listed here; all bodies are handled as bytes.
    if (rest) {
      const apiGateway = (service.provider.apiGateway ??= {})
      apiGateway.binaryMediaTypes ??= ['*/*']
    }
    this.#log?.info(`serverless-polycloud: wrote ${Object.keys(service.functions ?? {}).length} function entries to ${ENTRY_DIR}/aws`)
  }
}

/** The handler kinds every event of a function can feed; none means the events cannot share one handler. */
function commonKinds(functionName: string, plans: ReadonlyArray<{ key: string; plan: EventPlan }>): Kind[] {
  if (plans.length === 0) return ['http', 'schedule', 'queue', 'topic', 'storage', 'changes', 'cloudEvent']
  let kinds = plans[0]!.plan.kinds
  for (const { plan } of plans.slice(1)) kinds = kinds.filter((kind) => plan.kinds.includes(kind))
  if (kinds.length === 0) {
    const described = plans.map(({ key, plan }) => `${key} (${plan.kinds.join('/')})`).join(', ')
    throw new ConfigError(`functions.${functionName}.events`, `these events cannot share one portable handler: ${described}`)
  }
  return kinds
}
