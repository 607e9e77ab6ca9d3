/**
 * The service model: serverless.yml's functions, their events and their routes' security, read and checked once,
 * here, for every provider, into typed and frozen data. Every later step (each provider's plan, the generated
 * entries, the commands) reads the model, never the raw configuration.
 *
 * - A neutral event is one variant of {@link NeutralEvent}, by `kind`, its short form (`route: GET /x`) and object
 *   form read into one shape, routes and schedules parsed, defaults the same on every provider applied; the
 *   provider's own fields on it (`api` on an AWS route) are kept in `options`. A native event (`sqs` on AWS) is a
 *   {@link NativeEvent}, its value as written, for the provider that owns it.
 * - Every route of a function carries the function's security, resolved by `@polycloud/auth`'s own rules.
 * - Each function has its handler (checked to exist), runtime, limits, environment and the resources it uses:
 *   the service's resources are declared once (`custom.polycloud.resources`, see `resources.ts`), each function's
 *   `uses` resolved to their declarations, and an event naming a declared resource (`fromQueue: orders`) linked to it.
 *
 * Reading is two steps, because the policy rules are loaded only for a service that declares security:
 * {@link readFunctions}, then {@link completeService} with the resolver ({@link readService} does both).
 */
import type { RoutePolicy } from '@polycloud/auth/policy'
import { ConfigError, locate } from './errors.js'
import { parseHandler, type HandlerRef } from './handlers.js'
import type { FunctionConfig, Json } from './provider.js'
import { parseRoute } from './route.js'
import { declarationOf, readResources, resolveUses, RESOURCES_VARIABLE, type DeclaredResources, type ResourceDeclaration } from './resources.js'
import { parseSchedule, type Schedule } from './schedule.js'
import { readTelemetry, telemetryEnvironment, type TelemetrySettings } from './telemetry.js'
import { isNeutralEvent, sharedFields, type NeutralEventName } from './schema.js'
import { apiKeysVariable, functionSecurity, KEYS_VARIABLE, preflightPaths, serviceDefaults, type PolicyResolver, type RouteSecurity } from './security.js'

export type { RouteSecurity } from './security.js'
export type { ResourceDeclaration, ResourceKind, ResourceUse } from './resources.js'
export type { TelemetrySettings } from './telemetry.js'

interface EventBase {
  /** The event's key as written (`route`, `fromQueue`, `sqs`), for messages. */
  readonly key: string
  /** Where it is: `functions.<name>.events[<index>].<key>`. */
  readonly at: string
  /** Its position in the function's events (-1 for an event the plugin adds: a CORS preflight, a Function URL). */
  readonly index: number
}

interface NeutralBase extends EventBase {
  /** The provider's own fields on the event (`api` on an AWS route, `serviceBus` on an Azure queue), as written. */
  readonly options: Readonly<Json>
}

/** `route: GET /notes/{id}`, or `{ method, path, auth, cors, maxBodySize }`. */
export interface RouteEvent extends NeutralBase {
  readonly kind: 'route'
  /** Upper case, or `ANY`. */
  readonly method: string
  /** `/notes/{id}`; a greedy last parameter as `{path+}`. */
  readonly path: string
  /** The route's own `auth`, `cors` and `maxBodySize`, as written (the service's defaults are in `security`). */
  readonly policy: RoutePolicy
  /** The security of the function's routes, resolved (one policy for every route of a function); none declared: undefined. */
  readonly security: RouteSecurity | undefined
}

/** `cron: 0 3 * * *` (5-field cron, `@daily`, `rate(2 hours)`), or `{ schedule, enabled }`. */
export interface CronEvent extends NeutralBase {
  readonly kind: 'cron'
  /** As written. */
  readonly expression: string
  readonly schedule: Schedule
  readonly enabled: boolean
}

/** `fromQueue: orders`, or `{ name, batchSize, maximumBatchingWindow, fifo, maxReceiveCount }`. */
export interface QueueEvent extends NeutralBase {
  readonly kind: 'queue'
  /** As written (`orders`, `jobs.fifo`); undefined where a provider's own field names the queue (`arn` on AWS). */
  readonly name: string | undefined
  /** `fifo: true`, or a name ending in `.fifo`. */
  readonly fifo: boolean
  readonly batchSize: number | undefined
  readonly maximumBatchingWindow: number | undefined
  readonly maxReceiveCount: number | undefined
  /**
   * The declared queue it names (`name` is then its logical name; `fifo` and `maxReceiveCount` are the
   * declaration's), or undefined: a queue of the event's own, named `<service>-<stage>-<name>` as before.
   */
  readonly resource: ResourceDeclaration | undefined
}

/** `topic: alerts`, or `{ name }`. */
export interface TopicEvent extends NeutralBase {
  readonly kind: 'topic'
  /** Undefined where a provider's own field names the topic (`arn` on AWS); a declared topic's deployed name. */
  readonly name: string | undefined
  /** The declared topic it names, or undefined: the topic named as written. */
  readonly resource: ResourceDeclaration | undefined
}

/** `bucket: uploads`, or `{ name, on, prefix, suffix, existing }`. */
export interface BucketEvent extends NeutralBase {
  readonly kind: 'bucket'
  /** As written; a declared bucket's deployed name. */
  readonly name: string
  readonly on: 'created' | 'deleted' | 'all'
  /** `''` when not set. */
  readonly prefix: string
  readonly suffix: string
  /** The bucket exists already: the deploy neither creates nor deletes it. */
  readonly existing: boolean
  /** The declared bucket it names, or undefined: the bucket named as written. */
  readonly resource: ResourceDeclaration | undefined
}

/** `changes: NotesTable`, or `{ table, batchSize, startingPosition }`. */
export interface ChangesEvent extends NeutralBase {
  readonly kind: 'changes'
  /** Undefined where a provider's own field names the stream (`arn` on AWS). */
  readonly table: string | undefined
  readonly batchSize: number | undefined
  readonly startingPosition: 'LATEST' | 'TRIM_HORIZON' | undefined
}

/** A neutral event: the same serverless.yml on every provider. */
export type NeutralEvent = RouteEvent | CronEvent | QueueEvent | TopicEvent | BucketEvent | ChangesEvent

/** A provider's own event (`sqs`, `httpApi` on AWS), its value as written, for the provider that owns it. */
export interface NativeEvent extends EventBase {
  readonly kind: 'native'
  readonly value: unknown
}

export type ServiceEvent = NeutralEvent | NativeEvent

/** Where a function's timeout or memory size came from: the function, the provider block, or the provider's default. */
export type SettingSource = 'function' | 'provider' | 'default'

/** One Polycloud function of the service. */
export interface FunctionModel {
  readonly name: string
  readonly handler: HandlerRef
  /** The handler as written (`handlers/notes.get`), for messages. */
  readonly handlerText: string
  /** The function's `runtime`, else `provider.runtime`. */
  readonly runtime: string | undefined
  /** Seconds: the function's, else the provider block's, else the provider's default. */
  readonly timeout: number
  readonly timeoutFrom: SettingSource
  /** MB, when set on the function or the provider block. */
  readonly memorySize: number | undefined
  readonly memorySizeFrom: SettingSource
  /** `provider.environment` and the function's `environment`, the function's winning; `POLYCLOUD_API_KEYS` for key auth. */
  readonly environment: Readonly<Record<string, string>>
  /** The security of its routes, when they (or the service) declare any. */
  readonly security: RouteSecurity | undefined
  readonly events: readonly ServiceEvent[]
  /**
   * The `OPTIONS` routes that answer its routes' CORS preflights where the generated entry answers them (a provider
   * whose platform answers them leaves them out): one per path, the first function with CORS on a path taking it.
   */
  readonly preflights: readonly RouteEvent[]
  /**
   * The resources its code uses (`uses: [uploads, orders]`), as declared: each provider's plan grants exactly these
   * and the entry hands their names to `withResources`. Empty for a function without `uses`.
   */
  readonly resources: readonly ResourceDeclaration[]
  /** Its other settings as written (`url` on AWS), for the provider's own reading. */
  readonly settings: Readonly<Json>
  /** The OpenTelemetry opt-in (`custom.polycloud.telemetry`), the same for every function; undefined when off. */
  readonly telemetry?: TelemetrySettings | undefined
}

/** The service as every provider's plan reads it. */
export interface ServiceModel {
  /** The provider it is read for (its name in the registry). */
  readonly provider: string
  readonly service: string
  readonly stage: string
  /** `--region`, else `provider.region`. */
  readonly region: string | undefined
  readonly regionFrom: '--region' | 'provider.region' | undefined
  /** The service folder (where serverless.yml is). */
  readonly servicePath: string
  /** `provider.runtime`. */
  readonly runtime: string | undefined
  /** The runtimes functions set for themselves (native functions' too), by function name. */
  readonly functionRuntimes: Readonly<Record<string, string>>
  /** `provider.environment`, values as strings. */
  readonly environment: Readonly<Record<string, string>>
  /** The Polycloud functions (not those with `polycloud: false`, nor those excluded from this provider), in order. */
  readonly functions: readonly FunctionModel[]
  /** The functions excluded from this provider (`excludeFrom`). */
  readonly excluded: readonly string[]
  /** `provider.*` as written: the provider's own settings (`project` on Google), read by its plan. */
  readonly settings: Readonly<Json>
  /** `custom.polycloud.<provider>` as written (checked by the provider's schema), read by its plan. */
  readonly custom: Readonly<Json>
  /** `resources.Resources` as written: the provider's own template (CloudFormation on AWS), which its plan may extend. */
  readonly template: Readonly<Json>
  /** `custom.polycloud.resources` for this provider, in the order declared (those excluded from it left out). */
  readonly resources: readonly ResourceDeclaration[]
  /** The OpenTelemetry opt-in (`custom.polycloud.telemetry`); undefined when off. */
  readonly telemetry?: TelemetrySettings | undefined
  /** The logical names of the resources declared but excluded from this provider (`excludeFrom`). */
  readonly excludedResources: readonly string[]
}

/** What the shared reading reads: the framework's view of serverless.yml, variables resolved. */
export interface ServiceInput {
  readonly service: string
  readonly stage: string
  /** `--region`, when given. */
  readonly regionOption?: string | undefined
  readonly servicePath: string
  /** `provider.*` as written. */
  readonly provider: Readonly<Json>
  readonly functions: Readonly<Record<string, FunctionConfig>>
  /** `custom.polycloud`: every provider's block, `http` and `resources`. */
  readonly polycloud?: Readonly<Record<string, unknown>> | undefined
  /** `resources.Resources`. */
  readonly template?: Readonly<Json> | undefined
}

/** What the reading needs of the provider: its name, the spellings that mean it, its default timeout. */
export interface ReaderProvider {
  readonly name: string
  readonly defaultTimeout: number
  /** Whether a name users write (`excludeFrom: [gcp]`) means this provider. */
  means(spelling: string): boolean
}

/** The functions and events read, before the routes' security is resolved. */
export interface ServiceDraft {
  readonly model: Omit<ServiceModel, 'functions'>
  readonly functions: readonly FunctionModel[]
  /** `custom.polycloud.http`: the service's route security defaults and API keys. */
  readonly http: Readonly<Json> | undefined
}

const FUNCTION_KEYS = new Set(['handler', 'events', 'timeout', 'memorySize', 'runtime', 'environment', 'polycloud', 'excludeFrom', 'uses'])

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Whether a function's `excludeFrom` names the provider (in any of its spellings). */
export function isExcluded(config: FunctionConfig, provider: ReaderProvider): boolean {
  return Array.isArray(config.excludeFrom) && config.excludeFrom.some((name) => typeof name === 'string' && provider.means(name))
}

/** The key of an event as written (`{ route: ... }` -> `route`). */
export function eventKey(event: unknown): string {
  return Object.keys(isObject(event) ? event : {})[0] ?? ''
}

/** Values of an `environment` block as strings (numbers and booleans as JSON); unset ones left out. */
function environmentOf(block: unknown): Record<string, string> {
  const environment: Record<string, string> = {}
  if (!isObject(block)) return environment
  for (const [key, value] of Object.entries(block)) {
    if (value !== undefined && value !== null) environment[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  return environment
}

/** The object form of an event (`{ name: value }` for a short form written as a string). */
function objectForm(value: unknown, field: string): Json {
  if (typeof value === 'string') return { [field]: value }
  if (isObject(value)) return value
  throw new ConfigError('', `is written as a string or an object, not ${JSON.stringify(value)}`)
}

/** The fields of an event's object form that are the provider's own (not the shared ones). */
function optionsOf(event: NeutralEventName, config: Json): Json {
  const shared = sharedFields(event)
  return Object.fromEntries(Object.entries(config).filter(([field]) => !shared.includes(field)))
}

const optionalNumber = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined)
const optionalString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** One neutral event read into its variant; errors have an empty path (the caller locates them). */
function neutralEvent(key: NeutralEventName, value: unknown, base: EventBase): NeutralEvent {
  switch (key) {
    case 'route': {
      const config = typeof value === 'string' ? {} : objectForm(value, 'route')
      const route = parseRoute(typeof value === 'string' ? value : { method: String(config.method ?? ''), path: String(config.path ?? '') })
      const policy: Record<string, unknown> = {}
      for (const field of ['auth', 'cors', 'maxBodySize'] as const) if (config[field] !== undefined) policy[field] = config[field]
      return { ...base, kind: 'route', method: route.method, path: route.path, policy: policy as RoutePolicy, security: undefined, options: optionsOf(key, config) }
    }
    case 'cron': {
      const config = objectForm(value, 'schedule')
      const expression = String(config.schedule ?? '')
      return { ...base, kind: 'cron', expression, schedule: parseSchedule(expression), enabled: config.enabled !== false, options: optionsOf(key, config) }
    }
    case 'fromQueue': {
      const config = objectForm(value, 'name')
      const name = optionalString(config.name)
      return {
        ...base,
        kind: 'queue',
        name,
        fifo: config.fifo === true || (name?.endsWith('.fifo') ?? false),
        batchSize: optionalNumber(config.batchSize),
        maximumBatchingWindow: optionalNumber(config.maximumBatchingWindow),
        maxReceiveCount: optionalNumber(config.maxReceiveCount),
        resource: undefined,
        options: optionsOf(key, config),
      }
    }
    case 'topic': {
      const config = objectForm(value, 'name')
      return { ...base, kind: 'topic', name: optionalString(config.name), resource: undefined, options: optionsOf(key, config) }
    }
    case 'bucket': {
      const config = objectForm(value, 'name')
      const on = config.on === 'deleted' || config.on === 'all' ? config.on : 'created'
      return {
        ...base,
        kind: 'bucket',
        name: String(config.name ?? ''),
        on,
        prefix: optionalString(config.prefix) ?? '',
        suffix: optionalString(config.suffix) ?? '',
        existing: config.existing === true,
        resource: undefined,
        options: optionsOf(key, config),
      }
    }
    case 'changes': {
      const config = objectForm(value, 'table')
      const position = config.startingPosition
      return {
        ...base,
        kind: 'changes',
        table: optionalString(config.table),
        batchSize: optionalNumber(config.batchSize),
        startingPosition: position === 'LATEST' || position === 'TRIM_HORIZON' ? position : undefined,
        options: optionsOf(key, config),
      }
    }
  }
}

/** A function's events as written, each read (routes and schedules parsed); a mistake names the event. */
export function readEvents(name: string, config: Pick<FunctionConfig, 'events'>): ServiceEvent[] {
  return (config.events ?? []).map((event, index) => {
    const key = eventKey(event)
    const base: EventBase = { key, at: `functions.${name}.events[${index}].${key}`, index }
    const value = (event as Json)[key]
    if (!isNeutralEvent(key)) return { ...base, kind: 'native', value }
    try {
      return neutralEvent(key, value, base)
    } catch (error) {
      throw locate(base.at, error)
    }
  })
}

/** What `event` and the resource it names disagree on, as a sentence (the declaration decides). */
function disagreement(event: NeutralEvent, declaration: ResourceDeclaration): string | undefined {
  const own = `custom.polycloud.resources.${declaration.name}`
  if (event.options.arn !== undefined) return `names the declared ${declaration.kind} ${declaration.name}, which ${own} addresses: drop its arn, or name the ${declaration.kind} by its arn alone`
  if (event.kind === 'queue') {
    if (event.fifo && !declaration.fifo) return `says fifo, and ${own} declares a standard queue: set fifo on the declaration`
    if (event.maxReceiveCount !== undefined && declaration.maxReceiveCount !== undefined && event.maxReceiveCount !== declaration.maxReceiveCount) {
      return `says maxReceiveCount ${event.maxReceiveCount}, and ${own} ${declaration.maxReceiveCount}: a queue has one; keep it on the declaration`
    }
  }
  if (event.kind === 'bucket' && event.existing && !declaration.existing) return `says existing, and ${own} is created by the deploy: set existing on the declaration`
  return undefined
}

/** An event linked to the declared resource it names by logical name; an event naming none stays as it was. */
function linkEvent(event: ServiceEvent, resources: DeclaredResources): ServiceEvent {
  if (event.kind !== 'queue' && event.kind !== 'topic' && event.kind !== 'bucket') return event
  let declaration: ResourceDeclaration | undefined
  try {
    declaration = declarationOf(event, event.name, resources)
  } catch (error) {
    throw locate(event.at, error)
  }
  if (declaration === undefined) return event
  const problem = disagreement(event, declaration)
  if (problem !== undefined) throw new ConfigError(event.at, problem)
  switch (event.kind) {
    case 'queue':
      return { ...event, fifo: declaration.fifo, maxReceiveCount: declaration.maxReceiveCount ?? event.maxReceiveCount, resource: declaration }
    case 'topic':
      return { ...event, name: declaration.deployedName, resource: declaration }
    case 'bucket':
      return { ...event, name: declaration.deployedName, existing: declaration.existing, resource: declaration }
  }
}

/**
 * The native events of other providers in the service (`timer` on AWS), refused by name before anything else runs:
 * the framework's own schema would only call them unknown.
 */
export function foreignEvents(
  functions: Readonly<Record<string, FunctionConfig>>,
  provider: ReaderProvider,
  owners: (key: string) => readonly string[],
): Array<{ readonly at: string; readonly key: string; readonly owners: readonly string[] }> {
  const found: Array<{ at: string; key: string; owners: readonly string[] }> = []
  for (const [name, config] of Object.entries(functions)) {
    if (isExcluded(config, provider)) continue
    ;(config.events ?? []).forEach((event, index) => {
      const key = eventKey(event)
      const owning = owners(key)
      if (isNeutralEvent(key) || owning.length === 0 || owning.includes(provider.name)) return
      found.push({ at: `functions.${name}.events[${index}]`, key, owners: owning })
    })
  }
  return found
}

/** Step one: every Polycloud function and its events, read; the routes' security not resolved yet. */
export function readFunctions(input: ServiceInput, provider: ReaderProvider): ServiceDraft {
  const settings = input.provider
  const providerTimeout = optionalNumber(settings.timeout)
  const providerMemory = optionalNumber(settings.memorySize)
  // The OpenTelemetry opt-in names the collector in every function's environment (a variable set explicitly wins).
  const telemetry = readTelemetry(input.polycloud?.telemetry, input.service)
  const providerEnvironment = { ...telemetryEnvironment(telemetry), ...environmentOf(settings.environment) }
  const functions: FunctionModel[] = []
  const excluded: string[] = []
  const functionRuntimes: Record<string, string> = {}
  const resources = readResources(input.polycloud?.resources, { service: input.service, stage: input.stage, provider: provider.name, means: (spelling) => provider.means(spelling) })
  for (const [name, config] of Object.entries(input.functions)) {
    if (isExcluded(config, provider)) {
      excluded.push(name)
      continue
    }
    if (typeof config.runtime === 'string') functionRuntimes[name] = config.runtime
    if (config.polycloud === false) continue
    const events = readEvents(name, config).map((event) => linkEvent(event, resources))
    const timeout = optionalNumber(config.timeout)
    const memorySize = optionalNumber(config.memorySize)
    const uses = resolveUses(name, config.uses, resources)
    const environment = { ...providerEnvironment, ...environmentOf(config.environment) }
    if (uses.length > 0 && RESOURCES_VARIABLE in environment) {
      throw new ConfigError(`functions.${name}.environment.${RESOURCES_VARIABLE}`, 'is set by the plugin from the function\'s uses: remove it from the environment')
    }
    functions.push({
      name,
      handler: parseHandler(config.handler, input.servicePath, `functions.${name}.handler`),
      handlerText: String(config.handler),
      runtime: optionalString(config.runtime) ?? optionalString(settings.runtime),
      timeout: timeout ?? providerTimeout ?? provider.defaultTimeout,
      timeoutFrom: timeout !== undefined ? 'function' : providerTimeout !== undefined ? 'provider' : 'default',
      memorySize: memorySize ?? providerMemory,
      memorySizeFrom: memorySize !== undefined ? 'function' : providerMemory !== undefined ? 'provider' : 'default',
      environment,
      security: undefined,
      events,
      preflights: [],
      resources: uses,
      settings: Object.fromEntries(Object.entries(config).filter(([key]) => !FUNCTION_KEYS.has(key))),
      ...(telemetry === undefined ? {} : { telemetry }),
    })
  }
  const custom = input.polycloud?.[provider.name]
  const http = input.polycloud?.http
  const regionOption = optionalString(input.regionOption)
  const region = regionOption ?? optionalString(settings.region)
  return {
    model: {
      provider: provider.name,
      service: input.service,
      stage: input.stage,
      region,
      regionFrom: regionOption !== undefined ? '--region' : region !== undefined ? 'provider.region' : undefined,
      servicePath: input.servicePath,
      runtime: optionalString(settings.runtime),
      functionRuntimes,
      environment: providerEnvironment,
      excluded,
      settings,
      custom: isObject(custom) ? custom : {},
      template: input.template ?? {},
      resources: resources.declared,
      ...(telemetry === undefined ? {} : { telemetry }),
      excludedResources: resources.excluded,
    },
    functions,
    http: isObject(http) ? http : undefined,
  }
}

/** Whether anything in the service declares route security (so `@polycloud/auth`'s rules need loading). */
export function declaresSecurity(draft: ServiceDraft): boolean {
  const declared = (policy: object | undefined) => ['auth', 'cors', 'maxBodySize'].some((field) => (policy as Json | undefined)?.[field] !== undefined)
  return declared(draft.http) || draft.functions.some((fn) => fn.events.some((event) => event.kind === 'route' && declared(event.policy)))
}

/**
 * Step two: each function's route security resolved (and given to each of its routes), API keys as digests in the
 * environment of the functions that check them, the CORS preflight routes, everything frozen.
 */
export function completeService(draft: ServiceDraft, resolve: PolicyResolver | undefined): ServiceModel {
  const defaults = serviceDefaults(draft.http)
  const secured = draft.functions.map((fn): FunctionModel => {
    const routes = fn.events.filter((event): event is RouteEvent => event.kind === 'route')
    const security = functionSecurity(fn.name, routes, defaults, resolve)
    if (security === undefined) return fn
    const environment = security.resolved.auth.kind === 'key' ? { ...fn.environment, [KEYS_VARIABLE]: apiKeysVariable(fn.name, draft.http?.keys as Json | undefined) } : fn.environment
    const events = fn.events.map((event) => (event.kind === 'route' ? { ...event, security } : event))
    return { ...fn, security, environment, events }
  })
  const preflights = preflightPaths(secured)
  const functions = secured.map((fn): FunctionModel => {
    const paths = preflights.get(fn.name) ?? []
    if (paths.length === 0) return fn
    const preflight = (path: string): RouteEvent => ({
      key: 'route',
      at: `functions.${fn.name}.events (the CORS preflight of ${path})`,
      index: -1,
      kind: 'route',
      method: 'OPTIONS',
      path,
      policy: {},
      security: fn.security,
      options: {},
    })
    return { ...fn, preflights: paths.map(preflight) }
  })
  return freeze(structuredClone({ ...draft.model, functions }))
}

/** Both steps, with the resolver at hand (tests, and services whose routes declare no security). */
export function readService(input: ServiceInput, provider: ReaderProvider, resolve?: PolicyResolver): ServiceModel {
  return completeService(readFunctions(input, provider), resolve)
}

/** Freezes a value and everything it holds. */
function freeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) freeze(child)
  }
  return value
}
