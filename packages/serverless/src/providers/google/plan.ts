/**
 * The Google Cloud plan: what a service becomes on Google Cloud, computed once from the model and the single input
 * of the entries, the package, the local emulation, deploy, info and remove: the Cloud Functions (their ids, entry
 * points, signatures, triggers, settings), and the topics, subscriptions and Scheduler jobs the events need.
 *
 * - The service's routes are served by one routing function, `<service>-<stage>`, at their declared paths under its
 *   URL; each HTTP function is also deployed on its own (its own URL serves it at any path) unless
 *   `custom.polycloud.google.functionUrls` is false.
 * - A gen 2 function has at most one event trigger: a function with more (two topics, a bucket's created and deleted
 *   events) is deployed once per trigger, `<id>`, `<id>-2`, ..., from the same source and entry point.
 * - Every schedule of a function publishes to its topic `<id>-schedule`, which is one trigger.
 * - The region, runtime and project are read on first use (the commands that deploy or run need them).
 */
import { ConfigError } from '../../errors.js'
import type { ServiceModel } from '../../model.js'
import { once, planFunctions } from '../../plan.js'
import { mappedRegionNote, regionFor } from '../../regions.js'
import type { Kind, PlanInput, PlannedFunction, ProviderPlan } from '../../provider.js'
import { addressing, RESOURCES_VARIABLE, type ResourceDeclaration } from '../../resources.js'
import { nodeMajor, offeredMajors, type ProviderRuntimes } from '../../runtime.js'
import { FIRESTORE_WRITTEN, MESSAGE_PUBLISHED, neutralPlan, type GoogleEvent } from './events.js'
import { storeAddress } from './stores.js'

/**
 * Google Cloud Functions (Cloud Run functions) runtimes: "Cloud Run functions runtimes", Runtime support schedule,
 * https://cloud.google.com/run/docs/runtimes/function-runtimes (Deprecation, Decommission: nodejs18 2025-04-30,
 * 2025-10-30; nodejs20 2026-04-30, 2026-10-30; nodejs22 2027-04-30, 2027-10-31; nodejs24 2028-04-30, 2028-10-31).
 * A decommissioned runtime can be neither created nor redeployed (https://cloud.google.com/functions/docs/runtime-support).
 * The plan deploys on the versions not deprecated when the table was checked (the oldest by default).
 */
export const GOOGLE_RUNTIMES: ProviderRuntimes = {
  spell: (major) => `nodejs${major}.x`,
  source: 'https://cloud.google.com/run/docs/runtimes/function-runtimes',
  checked: '2026-11-28',
  versions: [
    { major: 24, deprecated: '2028-04-30', blockCreate: '2028-10-31', blockUpdate: '2028-10-31' },
    { major: 22, deprecated: '2027-04-30', blockCreate: '2027-10-31', blockUpdate: '2027-10-31' },
    { major: 20, deprecated: '2026-04-30', blockCreate: '2026-10-30', blockUpdate: '2026-10-30' },
    { major: 18, deprecated: '2025-04-30', blockCreate: '2025-10-30', blockUpdate: '2025-10-30' },
  ],
}

/** The entry point (registered name) of the routing function. */
export const ROUTER_ENTRY = 'polycloudRoutes'

/** Names a deployed function's environment cannot set: the platform sets them. */
const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION', 'FUNCTION_TARGET', 'FUNCTION_SIGNATURE_TYPE'])

/** A Cloud Run function id: lower case, a letter first, at most 49 characters (the Cloud Run service name's limit). */
const FUNCTION_ID = /^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$/

export interface EventFilterSpec {
  readonly attribute: string
  readonly value: string
  /** `match-path-pattern` for a Firestore document pattern. */
  readonly operator?: string
}

/** An Eventarc trigger of one deployed function. */
export interface TriggerSpec {
  readonly eventType: string
  /** For Pub/Sub triggers: the topic id. */
  readonly topic?: string
  readonly filters: readonly EventFilterSpec[]
  /** Where the trigger lives when it is not the function's region (a Firestore multi-region). */
  readonly location?: string
  /** For messages: `topic alerts`, `bucket uploads (finalized)`. */
  readonly describe: string
}

export interface RouteSpec {
  readonly method: string
  readonly path: string
  /** The Polycloud function it belongs to. */
  readonly function: string
  /** That function's deployed id (its context's function name). */
  readonly functionId: string
}

/** One Cloud Function to deploy. */
export interface CloudFunctionSpec {
  readonly id: string
  /** The name the source registers it under (FF's target). */
  readonly entryPoint: string
  /** The Polycloud function, or undefined for the routing function. */
  readonly function: string | undefined
  readonly signature: 'http' | 'cloudevent'
  readonly trigger: TriggerSpec | undefined
  readonly timeout: number
  /** Gen 2 memory (`256Mi`), when set. */
  readonly memory: string | undefined
  readonly environment: Readonly<Record<string, string>>
  /** The routing function's routes (empty for the others). */
  readonly routes: readonly RouteSpec[]
}

export interface TopicSpec {
  readonly name: string
  readonly role: 'queue' | 'dead-letter' | 'schedule' | 'topic'
}

/** A push subscription delivering a queue to its function. */
export interface SubscriptionSpec {
  readonly name: string
  readonly topic: string
  readonly queue: string
  readonly function: string
  readonly functionId: string
  readonly deadLetterTopic: string
  readonly maxDeliveryAttempts: number
  readonly ackDeadlineSeconds: number
  readonly ordered: boolean
}

/** A pull subscription keeping a dead-letter topic's messages (Pub/Sub drops messages of a topic nobody subscribes to). */
export interface DeadLetterSpec {
  readonly name: string
  readonly topic: string
}

export interface JobSpec {
  readonly name: string
  readonly function: string
  readonly schedule: string
  readonly timeZone: string
  readonly topic: string
  readonly enabled: boolean
}

/** A declared bucket the deploy creates (Cloud Storage, uniform bucket-level access, in the service's region). */
export interface BucketSpec {
  readonly name: string
  /** Its logical name (`custom.polycloud.resources`). */
  readonly resource: string
}

/** The bucket- or topic-level role the runtime service account of the functions that use a resource is granted. */
export interface GoogleGrant {
  readonly resource: string
  readonly kind: 'bucket' | 'topic'
  /** The bucket name or the topic id. */
  readonly name: string
  readonly role: (typeof GOOGLE_ROLES)[keyof typeof GOOGLE_ROLES]
  /** The Cloud Functions whose code uses it (the routing function for routes), by id. */
  readonly functionIds: readonly string[]
}

/**
 * The predefined roles Polycloud grants, on the bucket or topic only (https://cloud.google.com/storage/docs/access-control/iam-roles,
 * https://cloud.google.com/pubsub/docs/access-control): objects read, written, deleted and listed, nothing on the
 * bucket itself; messages published, nothing else on the topic.
 */
export const GOOGLE_ROLES = { objectUser: 'roles/storage.objectUser', publisher: 'roles/pubsub.publisher' } as const

export interface ServiceLayout {
  readonly functions: readonly CloudFunctionSpec[]
  /** The routing function, when the service has routes. */
  readonly router: CloudFunctionSpec | undefined
  readonly topics: readonly TopicSpec[]
  readonly subscriptions: readonly SubscriptionSpec[]
  readonly deadLetters: readonly DeadLetterSpec[]
  readonly jobs: readonly JobSpec[]
  /** The declared buckets the deploy creates (not `existing`). */
  readonly buckets: readonly BucketSpec[]
  /** What the functions' service account is granted on the resources their code uses. */
  readonly grants: readonly GoogleGrant[]
}

export interface LayoutSettings {
  /** `custom.polycloud.resources` as declared for Google. */
  readonly resources?: readonly ResourceDeclaration[]
  readonly service: string
  readonly stage: string
  /** Deploy each HTTP function on its own as well as behind the routing function (default true). */
  readonly functionUrls: boolean
}

/** `My_Service-dev-getNote` -> `my-service-dev-getnote`, checked. */
export function functionId(name: string, where: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
  if (!FUNCTION_ID.test(id)) {
    throw new ConfigError(
      where,
      `the Cloud Function id ${JSON.stringify(id)} (from ${JSON.stringify(name)}) must start with a letter and have at most 49 characters (service, stage and function name together): shorten the service or function name`,
    )
  }
  return id
}

/** The environment every deployed function gets besides the user's. */
export function platformEnvironment(timeout: number): Record<string, string> {
  return { NODE_ENV: 'production', NODE_OPTIONS: '--enable-source-maps', POLYCLOUD_TIMEOUT_SECONDS: String(timeout) }
}

/**
 * A declared resource as the Google driver addresses it: a Cloud Storage bucket by name, a queue by its Pub/Sub
 * topic (a queue is a topic with a push subscription on Google), a topic by its id.
 */
export function googleAddress(resource: ResourceDeclaration): { readonly kind: string; readonly [field: string]: string } {
  if (resource.kind === 'bucket') return { kind: 'bucket', name: resource.deployedName }
  if (resource.kind === 'store') return storeAddress(resource)
  return { kind: resource.kind, topic: resource.deployedName }
}

/** `POLYCLOUD_RESOURCES` of functions that run in one process (one function, or the routing function's routes). */
function resourcesEnvironment(functions: ReadonlyArray<PlannedFunction<GoogleEvent>>): Record<string, string> {
  const used = addressing(functions, googleAddress)
  return Object.keys(used).length === 0 ? {} : { [RESOURCES_VARIABLE]: JSON.stringify(used) }
}

function environmentOf(fn: PlannedFunction<GoogleEvent>): Record<string, string> {
  for (const name of Object.keys(fn.environment)) {
    if (RESERVED_ENV.has(name) || name.startsWith('X_GOOGLE_') || name.startsWith('CLOUD_RUN_')) {
      throw new ConfigError(`functions.${fn.name}.environment.${name}`, 'is set by Cloud Functions itself and cannot be set')
    }
  }
  return { ...fn.environment, ...resourcesEnvironment([fn]), ...platformEnvironment(fn.timeout) }
}

function memoryOf(memorySize: number | undefined): string | undefined {
  return memorySize === undefined ? undefined : LIMITS.memory[memorySize]
}

function triggersOf(fn: PlannedFunction<GoogleEvent>, id: string, topics: Map<string, TopicSpec>): TriggerSpec[] {
  const triggers: TriggerSpec[] = []
  let scheduled = false
  for (const { native: event } of fn.events) {
    switch (event.type) {
      case 'cron':
        if (!scheduled) {
          scheduled = true
          topics.set(`${id}-schedule`, { name: `${id}-schedule`, role: 'schedule' })
          triggers.push({ eventType: MESSAGE_PUBLISHED, topic: `${id}-schedule`, filters: [], describe: `schedule topic ${id}-schedule` })
        }
        break
      case 'topic':
        if (!topics.has(event.topic)) topics.set(event.topic, { name: event.topic, role: 'topic' })
        triggers.push({ eventType: MESSAGE_PUBLISHED, topic: event.topic, filters: [], describe: `topic ${event.topic}` })
        break
      case 'bucket':
        for (const eventType of event.eventTypes) {
          triggers.push({ eventType, filters: [{ attribute: 'bucket', value: event.bucket }], describe: `bucket ${event.bucket} (${eventType.slice(eventType.lastIndexOf('.') + 1)})` })
        }
        break
      case 'changes':
        triggers.push({
          eventType: FIRESTORE_WRITTEN,
          filters: [
            { attribute: 'database', value: event.database },
            { attribute: 'document', value: event.document, operator: 'match-path-pattern' },
          ],
          ...(event.location ? { location: event.location } : {}),
          describe: `firestore ${event.database}/${event.document}`,
        })
        break
      default:
        break
    }
  }
  return triggers
}

/** The Google Cloud layout of a service's functions (see the module's comment). */
export function serviceLayout(functions: ReadonlyArray<PlannedFunction<GoogleEvent>>, settings: LayoutSettings): ServiceLayout {
  const prefix = `${settings.service}-${settings.stage}`
  const out: CloudFunctionSpec[] = []
  const topics = new Map<string, TopicSpec>()
  const subscriptions: SubscriptionSpec[] = []
  const deadLetters: DeadLetterSpec[] = []
  const jobs: JobSpec[] = []
  const routes: RouteSpec[] = []
  const routed: Array<PlannedFunction<GoogleEvent>> = []
  const ids = new Map<string, string>()
  const claim = (id: string, owner: string): void => {
    const other = ids.get(id)
    if (other !== undefined) throw new ConfigError(`functions.${owner}`, `its Cloud Function id ${JSON.stringify(id)} is also ${other}'s: rename one of them`)
    ids.set(id, owner)
  }
  const routerId = functionId(prefix, 'service')
  for (const fn of functions) {
    checkLimits(fn, fn.kinds)
    if (fn.name === ROUTER_ENTRY) throw new ConfigError(`functions.${fn.name}`, `${ROUTER_ENTRY} is the name of the service's routing function: rename the function`)
    if (!/^[A-Za-z](?:[-_A-Za-z0-9]{0,61}[A-Za-z0-9])?$/.test(fn.name)) {
      throw new ConfigError(`functions.${fn.name}`, 'a Cloud Function entry point must start with a letter and hold only letters, digits, - and _ (at most 63)')
    }
    const id = functionId(`${prefix}-${fn.name}`, `functions.${fn.name}`)
    const environment = environmentOf(fn)
    const common = { entryPoint: fn.name, function: fn.name, timeout: fn.timeout, memory: memoryOf(fn.memorySize), environment, routes: [] }
    const fnRoutes = fn.events.flatMap(({ native }) => (native.type === 'route' ? [native] : []))
    for (const route of fnRoutes) routes.push({ method: route.method, path: route.path, function: fn.name, functionId: id })
    if (fnRoutes.length > 0) routed.push(fn)
    let ordinal = 0
    for (const { native: event } of fn.events) {
      if (event.type === 'queue') {
        ordinal++
        topics.set(event.topic, { name: event.topic, role: 'queue' })
        topics.set(event.deadLetterTopic, { name: event.deadLetterTopic, role: 'dead-letter' })
        if (!deadLetters.some((letter) => letter.topic === event.deadLetterTopic)) deadLetters.push({ name: event.deadLetterTopic, topic: event.deadLetterTopic })
        subscriptions.push({
          name: `${id}${ordinal === 1 ? '' : `-${ordinal}`}-push`,
          topic: event.topic,
          queue: event.name,
          function: fn.name,
          functionId: id,
          deadLetterTopic: event.deadLetterTopic,
          maxDeliveryAttempts: event.maxDeliveryAttempts,
          // Pub/Sub waits this long for the push to answer (10-600 s): the function's own timeout.
          ackDeadlineSeconds: Math.min(600, Math.max(10, Math.ceil(fn.timeout))),
          ordered: event.ordered,
        })
      }
    }
    const crons = fn.events.flatMap(({ native }) => (native.type === 'cron' ? [native] : []))
    crons.forEach((cron, index) => {
      jobs.push({ name: `${id}-cron${index === 0 ? '' : `-${index + 1}`}`, function: fn.name, schedule: cron.schedule, timeZone: cron.timeZone, topic: `${id}-schedule`, enabled: cron.enabled })
    })
    const triggers = triggersOf(fn, id, topics)
    if (triggers.length === 0) {
      if (fnRoutes.length > 0 && !settings.functionUrls) continue
      claim(id, fn.name)
      out.push({ id, signature: 'http', trigger: undefined, ...common })
    } else {
      triggers.forEach((trigger, index) => {
        const instance = index === 0 ? id : functionId(`${id}-${index + 1}`, `functions.${fn.name}`)
        claim(instance, fn.name)
        out.push({ id: instance, signature: 'cloudevent', trigger, ...common })
      })
    }
  }
  let router: CloudFunctionSpec | undefined
  if (routes.length > 0) {
    claim(routerId, 'the routing function')
    router = {
      id: routerId,
      entryPoint: ROUTER_ENTRY,
      function: undefined,
      signature: 'http',
      trigger: undefined,
      timeout: Math.max(...routed.map((fn) => fn.timeout)),
      memory: memoryOf(Math.max(...routed.map((fn) => fn.memorySize ?? 0)) || undefined),
      environment: routerEnvironment(routed),
      routes,
    }
    out.unshift(router)
  }
  // The declared topics and queues' topics are the service's too (created, kept, removed with it), unless existing.
  const declared = settings.resources ?? []
  for (const resource of declared) {
    if ((resource.kind === 'queue' || resource.kind === 'topic') && !resource.existing && !topics.has(resource.deployedName)) topics.set(resource.deployedName, { name: resource.deployedName, role: resource.kind })
  }
  const buckets = declared.flatMap((resource) => (resource.kind === 'bucket' && !resource.existing ? [{ name: resource.deployedName, resource: resource.name }] : []))
  return { functions: out, router, topics: [...topics.values()], subscriptions, deadLetters, jobs, buckets, grants: googleGrants(functions, out) }
}

/**
 * One grant per resource the functions' code uses: the bucket's `roles/storage.objectUser` or the topic's
 * `roles/pubsub.publisher` (a queue is a topic), for the Cloud Functions that run that code (each instance of the
 * function; the routing function when a route's function uses it).
 */
export function googleGrants(functions: ReadonlyArray<PlannedFunction<GoogleEvent>>, specs: readonly CloudFunctionSpec[]): GoogleGrant[] {
  const grants = new Map<string, GoogleGrant>()
  for (const fn of functions) {
    const ids = specs.filter((spec) => spec.function === fn.name || (spec.function === undefined && spec.routes.some((route) => route.function === fn.name))).map((spec) => spec.id)
    for (const resource of fn.resources) {
      // A store's grant is on its database, for the runtime account (stores.ts).
      if (resource.kind === 'store') continue
      const known = grants.get(resource.name)
      const functionIds = [...new Set([...(known?.functionIds ?? []), ...ids])]
      grants.set(
        resource.name,
        resource.kind === 'bucket'
          ? { resource: resource.name, kind: 'bucket', name: resource.deployedName, role: GOOGLE_ROLES.objectUser, functionIds }
          : { resource: resource.name, kind: 'topic', name: resource.deployedName, role: GOOGLE_ROLES.publisher, functionIds },
      )
    }
  }
  return [...grants.values()]
}

/**
 * The routing function runs every route's handler in one process, so it has one environment: the route functions'
 * own, which must agree where they overlap. POLYCLOUD_TIMEOUT_SECONDS is the longest timeout.
 */
function routerEnvironment(functions: ReadonlyArray<PlannedFunction<GoogleEvent>>): Record<string, string> {
  const environment: Record<string, string> = {}
  const owners: Record<string, string> = {}
  for (const fn of functions) {
    for (const [name, value] of Object.entries(fn.environment)) {
      if (name in environment && environment[name] !== value) {
        throw new ConfigError(
          `functions.${fn.name}.environment.${name}`,
          `differs from functions.${owners[name]}.environment.${name}, and one routing function serves both routes: give it one value (provider.environment)`,
        )
      }
      environment[name] = value
      owners[name] = fn.name
    }
  }
  return { ...environment, ...resourcesEnvironment(functions), ...platformEnvironment(Math.max(...functions.map((fn) => fn.timeout))) }
}

/** Cloud Functions gen 2 limits checked at package time. */
export const LIMITS = {
  /** Seconds: HTTP functions up to 60 minutes, event-driven ones up to 9. */
  httpTimeout: 3600,
  eventTimeout: 540,
  /** MB values of `memorySize` and the gen 2 memory each becomes. */
  memory: { 128: '128Mi', 256: '256Mi', 512: '512Mi', 1024: '1Gi', 2048: '2Gi', 4096: '4Gi', 8192: '8Gi', 16384: '16Gi', 32768: '32Gi' } as Record<number, string>,
}

/** The regions Cloud Run functions (gen 2) deploy to. */
export const REGIONS: readonly string[] = [
  'africa-south1', 'asia-east1', 'asia-east2', 'asia-northeast1', 'asia-northeast2', 'asia-northeast3', 'asia-south1', 'asia-south2',
  'asia-southeast1', 'asia-southeast2', 'australia-southeast1', 'australia-southeast2', 'europe-central2', 'europe-north1',
  'europe-north2', 'europe-southwest1', 'europe-west1', 'europe-west2', 'europe-west3', 'europe-west4', 'europe-west6', 'europe-west8',
  'europe-west9', 'europe-west10', 'europe-west12', 'me-central1', 'me-central2', 'me-west1', 'northamerica-northeast1',
  'northamerica-northeast2', 'northamerica-south1', 'southamerica-east1', 'southamerica-west1', 'us-central1', 'us-east1', 'us-east4',
  'us-east5', 'us-south1', 'us-west1', 'us-west2', 'us-west3', 'us-west4',
]

/** Checks a function's timeout and memory against gen 2's limits; the error names the function and the field. */
export function checkLimits(fn: PlannedFunction<GoogleEvent>, kinds: readonly Kind[]): void {
  const http = kinds.includes('http')
  const max = http ? LIMITS.httpTimeout : LIMITS.eventTimeout
  const field = fn.model.timeoutFrom === 'function' ? `functions.${fn.name}.timeout` : 'provider.timeout'
  if (!Number.isFinite(fn.timeout) || fn.timeout < 1 || fn.timeout > max) {
    throw new ConfigError(
      field,
      `${fn.timeout} s is beyond Cloud Functions gen 2's limit for ${http ? 'HTTP' : 'event-driven'} functions (1-${max} s)${http ? '' : '; an HTTP function may run up to 3600 s'}`,
    )
  }
  if (fn.memorySize !== undefined && LIMITS.memory[fn.memorySize] === undefined) {
    throw new ConfigError(
      fn.model.memorySizeFrom === 'function' ? `functions.${fn.name}.memorySize` : 'provider.memorySize',
      `${fn.memorySize} MB is not a Cloud Functions gen 2 memory size (${Object.keys(LIMITS.memory).join(', ')})`,
    )
  }
}

/** Checks the region, naming where it was set. */
export function checkRegion(region: string, where: string): void {
  if (!REGIONS.includes(region)) {
    throw new ConfigError(
      where,
      `${JSON.stringify(region)} is not a Cloud Run functions region (such as europe-west1, us-central1, asia-northeast1; see https://cloud.google.com/functions/docs/locations)${where === 'provider.region' ? ', nor an AWS or Azure region Polycloud pairs with one (README: One region for every provider)' : ''}`,
    )
  }
}

/** `custom.polycloud.google` as the plan reads it. */
export interface GoogleCustom {
  readonly project?: string
  readonly region?: string
  readonly runtime?: string
  readonly functionUrls?: boolean
  readonly public?: boolean
  readonly serviceAccount?: string
  readonly timeZone?: string
  readonly labels?: Readonly<Record<string, string>>
}


/** The Functions Framework version the generated source depends on (the one Polycloud is tested with). */
export const FUNCTIONS_FRAMEWORK_VERSION = '5.0.5'

export const DEFAULT_REGION = 'us-central1'

export interface GoogleSettings {
  readonly region: string
  /** `nodejs22`. */
  readonly runtime: string
  readonly nodeMajor: number
  /** provider.project, custom.polycloud.google.project or GOOGLE_CLOUD_PROJECT; undefined when none is set. */
  readonly project: string | undefined
  readonly custom: GoogleCustom
  readonly layout: ServiceLayout
  /** Said once to the user when a setting was adjusted (a runtime past end of life). */
  readonly notes: readonly string[]
  /** How the region was read from another provider's `provider.region` (said at deploy), when it was. */
  readonly regionNote: string | undefined
}

/** The service's Google settings; a region or runtime Google does not offer is a ConfigError naming where it was set. */
function readSettings(model: ServiceModel, custom: GoogleCustom, layout: ServiceLayout, env: NodeJS.ProcessEnv): GoogleSettings {
  const notes: string[] = []
  const provider = model.settings
  const RUNTIMES = offeredMajors(GOOGLE_RUNTIMES)
  let region: string
  let where: string
  if (model.regionFrom === '--region') [region, where] = [model.region as string, '--region']
  else if (custom.region !== undefined) [region, where] = [custom.region, 'custom.polycloud.google.region']
  else if (typeof provider.region === 'string') [region, where] = [provider.region, 'provider.region']
  else [region, where] = [DEFAULT_REGION, 'the default region']
  let regionNote: string | undefined
  if (where === 'provider.region') {
    // One provider.region for every provider: another provider's region name is read as Google's of the same area.
    const mapped = regionFor('google', region, (name) => REGIONS.includes(name))
    if (mapped !== undefined) {
      regionNote = mappedRegionNote('google', region, mapped)
      region = mapped.region
    }
  }
  checkRegion(region, where)

  let major: number
  if (custom.runtime !== undefined) {
    const wanted = nodeMajor(custom.runtime)
    if (wanted === undefined || !RUNTIMES.includes(wanted)) {
      throw new ConfigError('custom.polycloud.google.runtime', `${JSON.stringify(custom.runtime)} is not a Node runtime Cloud Functions offers before its end of life (${RUNTIMES.map((n) => `nodejs${n}`).join(', ')})`)
    }
    major = wanted
  } else {
    const written = nodeMajor(provider.runtime)
    if (written !== undefined && RUNTIMES.includes(written)) major = written
    else {
      major = RUNTIMES[0] as number
      if (provider.runtime !== undefined) {
        notes.push(
          `provider.runtime ${String(provider.runtime)} is not a Node runtime Cloud Functions offers before its end of life: deploying on nodejs${major} (set custom.polycloud.google.runtime to choose)`,
        )
      }
    }
  }
  const project = (typeof provider.project === 'string' ? provider.project : undefined) ?? custom.project ?? env.GOOGLE_CLOUD_PROJECT ?? undefined
  return { region, runtime: `nodejs${major}`, nodeMajor: major, project: project === '' ? undefined : project, custom, layout, notes, regionNote }
}

export interface GooglePlan extends ProviderPlan<GoogleEvent> {
  readonly custom: GoogleCustom
  /** What is deployed (`functionUrls` as the service says). */
  readonly layout: ServiceLayout
  /** Every function on its own too: the entries are written for it, and `invoke local` runs a function so. */
  readonly entryLayout: ServiceLayout
  /** The region, runtime and project (and the layout deployed); computed on first use. */
  settings(): GoogleSettings
}

/** The service as Google Cloud deploys it. */
export function googlePlan(model: ServiceModel, _input: PlanInput): GooglePlan {
  const custom = model.custom as GoogleCustom
  const functions = planFunctions<GoogleEvent>(model, {
    title: 'Google Cloud',
    preflights: true,
    // Native events (serverless-google-cloudfunctions' `http`, `event`) are not served: the plugin answers with its message.
    event: (event) => (event.kind === 'native' ? undefined : neutralPlan(event, { service: model.service, stage: model.stage, timeZone: custom.timeZone })),
  })
  const entryLayout = serviceLayout(functions, { service: model.service, stage: model.stage, functionUrls: true, resources: model.resources })
  const layout = custom.functionUrls === false ? serviceLayout(functions, { service: model.service, stage: model.stage, functionUrls: false, resources: model.resources }) : entryLayout
  return { model, functions, custom, layout, entryLayout, settings: once(() => readSettings(model, custom, layout, process.env)) }
}

/** The settings every Google Cloud command reads (the plan's, computed once). */
export function googleSettings(context: { readonly plan: GooglePlan }): GoogleSettings {
  return context.plan.settings()
}
