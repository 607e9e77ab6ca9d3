/**
 * The Cloudflare plan: a service is ONE module Worker (`<service>-<stage>`); the plan is its name, its vars, the
 * account's settings (`custom.polycloud.cloudflare`), and, computed once by the commands that need it, the manifest
 * of everything deploy, offline and invoke local act on (routes, Cron Triggers, queues and their consumers, R2
 * buckets and their notifications), Cloudflare's limits that do not need the bundle checked.
 */
import { isSecretName } from '@polycloud/core/adapter'
import { ConfigError } from '../../errors.js'
import type { ServiceModel } from '../../model.js'
import { once, planFunctions } from '../../plan.js'
import type { Json, PlanInput, PlannedFunction, ProviderPlan } from '../../provider.js'
import { addressing, RESOURCES_VARIABLE, type ResourceDeclaration } from '../../resources.js'
import { checkStores, storeBinding, type StoreManifest } from './stores.js'
import { bindingName, neutralPlan, scriptName, type CloudflareTrigger, type QueueSpec, type R2Action } from './events.js'

/** The file name of the Worker's main module. */
export const MAIN_MODULE = 'worker.mjs'

/** The `custom.polycloud.cloudflare` settings, with their defaults. */
export interface CloudflareSettings {
  /** The Workers plan the account is on: it decides the size, CPU and cron limits checked at package time. */
  readonly plan: 'free' | 'paid'
  readonly compatibilityDate: string
  readonly compatibilityFlags: readonly string[]
  /** `limits.cpu_ms` (Workers Paid only). */
  readonly cpuMs: number | undefined
  /** Serve the Worker on `<name>.<account subdomain>.workers.dev`. */
  readonly workersDev: boolean
  /** Custom routes: `{ pattern, zone }` (a zone name) or `{ pattern, customDomain: true }`. */
  readonly routes: ReadonlyArray<{ readonly pattern: string; readonly zone?: string; readonly customDomain?: boolean }>
}

/**
 * The compatibility date every packaged Worker pins unless `custom.polycloud.cloudflare.compatibilityDate` says
 * otherwise: the runtime's behaviour does not change under a deployed Worker. The local workerd (miniflare
 * 4.20260426.0) supports it.
 */
export const COMPATIBILITY_DATE = '2026-04-01'

export function cloudflareSettings(custom: Readonly<Json>): CloudflareSettings {
  return {
    plan: (custom.plan as CloudflareSettings['plan'] | undefined) ?? 'free',
    compatibilityDate: (custom.compatibilityDate as string | undefined) ?? COMPATIBILITY_DATE,
    compatibilityFlags: (custom.compatibilityFlags as string[] | undefined) ?? [],
    cpuMs: custom.cpuMs as number | undefined,
    workersDev: (custom.workersDev as boolean | undefined) ?? true,
    routes: (custom.routes as CloudflareSettings['routes'] | undefined) ?? [],
  }
}

/**
 * Workers limits by plan (https://developers.cloudflare.com/workers/platform/limits/): the gzip-compressed size of
 * the upload, the uncompressed size, Cron Triggers per account, the CPU limit that can be configured.
 */
export const PLAN_LIMITS = {
  free: { compressedBytes: 3 * 1024 * 1024, crons: 5, cpuMs: undefined },
  paid: { compressedBytes: 10 * 1024 * 1024, crons: 250, cpuMs: 300_000 },
} as const
export const UNCOMPRESSED_LIMIT = 64 * 1024 * 1024
/** Cron Triggers and queue consumers run at most 15 minutes (wall time). */
export const BACKGROUND_WALL_SECONDS = 900
/** Workers isolates have 128 MB of memory, whatever memorySize says. */
export const MEMORY_MB = 128

type Kind = PlannedFunction['kinds'][number]

/** A queue the Worker consumes, and the function it feeds. */
export interface ConsumedQueue extends QueueSpec {
  readonly function: string
  /** The producer binding (a `fromQueue` queue); notification queues have none. */
  readonly binding: string | undefined
  /** The name as written in serverless.yml (`orders`), for a queue of `fromQueue`. */
  readonly alias: string | undefined
}

/** A queue the Worker's code sends to (a declared queue it uses) and does not consume. */
export interface ProducedQueue {
  readonly name: string
  readonly binding: string
  /** It exists already: deploy neither creates nor deletes it. */
  readonly existing: boolean
}

export interface BucketManifest {
  readonly name: string
  readonly existing: boolean
  readonly binding: string
  readonly notifications: ReadonlyArray<{ readonly queue: string; readonly actions: readonly R2Action[]; readonly prefix?: string; readonly suffix?: string; readonly function: string }>
}

/** Everything about the service's Worker that deploy, offline and invoke local act on (`polycloud.json`). */
export interface ServiceManifest {
  readonly script: string
  readonly service: string
  readonly stage: string
  readonly main: string
  readonly settings: CloudflareSettings
  readonly vars: Readonly<Record<string, string>>
  /** `secret_text` bindings (write-only: never in the script, never read back): see {@link workerSecrets}. */
  readonly secrets: Readonly<Record<string, string>>
  readonly functions: ReadonlyArray<{
    readonly name: string
    readonly kind: Kind
    readonly routes: ReadonlyArray<{ readonly method: string; readonly path: string }>
    /** Cron Triggers as uploaded, and the expressions as written. */
    readonly crons: ReadonlyArray<{ readonly cron: string; readonly expression: string }>
    readonly queues: readonly string[]
  }>
  /** The Worker's Cron Triggers, each once. */
  readonly crons: readonly string[]
  readonly queues: readonly ConsumedQueue[]
  /** The declared queues the code sends to that the Worker does not consume (its consumed queues have bindings too). */
  readonly producers: readonly ProducedQueue[]
  readonly deadLetterQueues: readonly string[]
  readonly buckets: readonly BucketManifest[]
  /** The declared stores the code uses: a D1 database each (stores.ts). */
  readonly stores: readonly StoreManifest[]
}

export interface CloudflarePlan extends ProviderPlan<CloudflareTrigger> {
  /** The Worker's name: `<service>-<stage>`. */
  readonly script: string
  /**
   * Its plain-text vars: `provider.environment` (a function's own variables are in its entry), and
   * `POLYCLOUD_RESOURCES` when functions use resources: every used resource's binding (one Worker serves every
   * function; each function's `uses`, in the entry, limits what its code reaches).
   */
  readonly vars: Readonly<Record<string, string>>
  /** The Worker's secrets by binding name (`secret_text`): see {@link workerSecrets}. */
  readonly secrets: Readonly<Record<string, string>>
  readonly settings: CloudflareSettings
  /** What the Worker is made of, checked against the plan's limits; computed on first use. */
  manifest(): ServiceManifest
}

/** A declared resource's binding: `BUCKET_<NAME>` or `QUEUE_<NAME>` of its logical name. */
export function resourceBinding(resource: ResourceDeclaration): string {
  if (resource.kind === 'store') return storeBinding(resource)
  return bindingName(resource.kind === 'bucket' ? 'BUCKET' : 'QUEUE', resource.name)
}

/** Compatibility flags under which a Worker has AsyncLocalStorage (`@polycloud/resources` finds each call's invocation with it). */
const ALS_FLAGS = ['nodejs_als', 'nodejs_compat', 'nodejs_compat_v2']

/**
 * The settings with what the service's resources need: `nodejs_als` when a function uses resources (unless a flag
 * that provides AsyncLocalStorage is set already).
 */
function withResourceFlags(settings: CloudflareSettings, usesResources: boolean): CloudflareSettings {
  if (!usesResources || settings.compatibilityFlags.some((flag) => ALS_FLAGS.includes(flag))) return settings
  return { ...settings, compatibilityFlags: [...settings.compatibilityFlags, 'nodejs_als'] }
}

/** Refuses what Cloudflare has no equivalent of among the declared resources: topics, by name. */
function checkResources(model: ServiceModel): void {
  checkStores(model.resources)
  for (const resource of model.resources) {
    if (resource.kind === 'topic') {
      throw new ConfigError(
        resource.at,
        'Cloudflare has no pub/sub topics (no fan-out of one message to several subscribers): keep the topic off Cloudflare with "excludeFrom: [cloudflare]" on it (its users then find it not declared there), or send to a queue',
      )
    }
  }
}

/** A function's own `environment` values: those the provider's `environment` does not already set to the same. */
export function functionVars(fn: PlannedFunction, providerEnvironment: Readonly<Record<string, string>>): Record<string, string> {
  const own: Record<string, string> = {}
  for (const [name, value] of Object.entries(fn.environment)) if (providerEnvironment[name] !== value) own[name] = value
  return own
}

/** The prefix of the bindings that hold a function's own secrets (the adapter keeps them out of `context.env`). */
export const SECRET_BINDING_PREFIX = 'POLYCLOUD_SECRET_'

/** The `secret_text` binding of function `fn`'s own secret `name`. */
export function secretBinding(fn: string, name: string): string {
  return `${SECRET_BINDING_PREFIX}${fn.replace(/[^\w]/g, '_')}_${name}`
}

/**
 * Whether an `environment` value is a secret: its name says so (the rule of the logs' redaction), or it is the
 * OpenTelemetry exporter's headers (`OTEL_EXPORTER_OTLP_HEADERS`, `..._TRACES_HEADERS`), which carry the collector's
 * API key.
 */
function isSecretVar(name: string): boolean {
  return isSecretName(name) || /^OTEL_EXPORTER_OTLP_(?:TRACES_)?HEADERS$/.test(name)
}

/** An environment without its secrets ({@link isSecretVar}). */
export function withoutSecrets(environment: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).filter(([name]) => !isSecretVar(name)))
}

/**
 * The Worker's secrets: every `environment` value {@link isSecretVar} (`*SECRET*`, `*TOKEN*`, `*PASSWORD*`,
 * `*API_KEY*`, ...: the rule of the logs' redaction; the OTLP exporter's headers), bound as `secret_text` (write-only: out of the
 * Worker's script and its plain-text vars, never read back by the API). The provider's under their own names; a
 * function's own under {@link secretBinding}, which its entry maps back to the name for that function alone.
 */
export function workerSecrets(functions: readonly PlannedFunction[], providerEnvironment: Readonly<Record<string, string>>): Record<string, string> {
  const secrets: Record<string, string> = {}
  for (const [name, value] of Object.entries(providerEnvironment)) if (isSecretVar(name)) secrets[name] = value
  for (const fn of functions) {
    for (const [name, value] of Object.entries(functionVars(fn, providerEnvironment))) {
      if (!isSecretVar(name)) continue
      const binding = secretBinding(fn.name, name)
      if (secrets[binding] !== undefined) throw new ConfigError(`functions.${fn.name}.environment.${name}`, `its secret would be bound as ${binding}, as another function's is: rename the function or the variable`)
      secrets[binding] = value
    }
  }
  return secrets
}

/** The service as Cloudflare runs it. */
export function cloudflarePlan(model: ServiceModel, _input: PlanInput): CloudflarePlan {
  checkResources(model)
  const names = { service: model.service, stage: model.stage }
  const functions = planFunctions<CloudflareTrigger>(model, {
    title: 'Cloudflare',
    preflights: true,
    // Native events (serverless-cloudflare-workers' `http`) are not served: the plugin answers with its message.
    event: (event, fn) => (event.kind === 'native' ? undefined : neutralPlan(event, fn.name, names)),
  })
  const used = addressing(functions, (resource) => ({ kind: resource.kind, binding: resourceBinding(resource) }))
  const plain = withoutSecrets(model.environment)
  const usesResources = Object.keys(used).length > 0
  const plan: CloudflarePlan = {
    model,
    functions,
    script: scriptName(names),
    vars: usesResources ? { ...plain, [RESOURCES_VARIABLE]: JSON.stringify(used) } : plain,
    secrets: workerSecrets(functions, model.environment),
    settings: withResourceFlags(cloudflareSettings(model.custom), usesResources),
    manifest: once(() => describeService(plan)),
  }
  return plan
}

/**
 * R2 refuses a bucket's notification rules that overlap, "that could trigger multiple notifications for the same
 * event" (R2 documentation, Event notifications): two rules with an action in common whose prefixes nest and whose
 * suffixes nest (the longer prefix followed by the longer suffix is a key both match). Refused here, before deploy.
 */
function checkRules(bucket: { readonly name: string; readonly notifications: BucketManifest['notifications'] }): void {
  const rules = bucket.notifications
  for (const [index, rule] of rules.entries()) {
    for (const other of rules.slice(index + 1)) {
      const [p, q, s, t] = [rule.prefix ?? '', other.prefix ?? '', rule.suffix ?? '', other.suffix ?? '']
      const shared = rule.actions.filter((action) => other.actions.includes(action))
      if (shared.length > 0 && (p.startsWith(q) || q.startsWith(p)) && (s.endsWith(t) || t.endsWith(s))) {
        throw new ConfigError(
          `functions.${other.function}`,
          `its bucket event on ${bucket.name} overlaps function ${rule.function}'s (both on ${shared.join(', ')}${p || q ? `, prefixes ${JSON.stringify(p)} and ${JSON.stringify(q)}` : ''}${s || t ? `, suffixes ${JSON.stringify(s)} and ${JSON.stringify(t)}` : ''}): R2 sends one notification per event, so give them prefixes or suffixes that do not overlap`,
        )
      }
    }
  }
}

/** The manifest of the service, from its prepared functions; Cloudflare's limits that do not need the bundle checked. */
export function describeService(plan: CloudflarePlan): ServiceManifest {
  const { settings, script, model } = plan
  const queues: ConsumedQueue[] = []
  const buckets = new Map<string, { name: string; existing: boolean; binding: string; notifications: BucketManifest['notifications'][number][] }>()
  const crons: string[] = []
  const functions = plan.functions.map((fn) => {
    const routes: Array<{ method: string; path: string }> = []
    const fnCrons: Array<{ cron: string; expression: string }> = []
    const fnQueues: string[] = []
    for (const { event, native: trigger } of fn.events) {
      if (trigger.type === 'route') routes.push({ method: trigger.method, path: trigger.path })
      else if (trigger.type === 'cron') {
        fnCrons.push({ cron: trigger.cron, expression: trigger.expression.trim() })
        if (!crons.includes(trigger.cron)) crons.push(trigger.cron)
      } else {
        const consumer = queues.find((queue) => queue.name === trigger.queue.name)
        if (consumer !== undefined) {
          throw new ConfigError(event.at, `queue ${trigger.queue.name} is already consumed by function ${consumer.function}; a Cloudflare queue has one consumer`)
        }
        const binding = trigger.type === 'queue' ? trigger.binding : undefined
        const alias = trigger.type === 'queue' ? trigger.alias : undefined
        queues.push({ ...trigger.queue, function: fn.name, binding, alias })
        fnQueues.push(trigger.queue.name)
        if (trigger.type === 'bucket') {
          const bucket = buckets.get(trigger.bucket) ?? { name: trigger.bucket, existing: trigger.existing, binding: trigger.binding, notifications: [] }
          // A bucket any event does not mark `existing` is the service's own: deploy creates it.
          bucket.existing &&= trigger.existing
          bucket.notifications.push({
            queue: trigger.queue.name,
            actions: trigger.actions,
            ...(trigger.prefix !== undefined ? { prefix: trigger.prefix } : {}),
            ...(trigger.suffix !== undefined ? { suffix: trigger.suffix } : {}),
            function: fn.name,
          })
          buckets.set(trigger.bucket, bucket)
        }
      }
    }
    if (fn.kinds.every((kind) => kind !== 'http') && fn.timeout > BACKGROUND_WALL_SECONDS) {
      throw new ConfigError(`functions.${fn.name}.timeout`, `${fn.timeout} s is longer than Cron Triggers and Queues consumers run on Cloudflare (${BACKGROUND_WALL_SECONDS} s)`)
    }
    return { name: fn.name, kind: fn.kinds[0] as Kind, routes, crons: fnCrons, queues: fnQueues }
  })
  const limits = PLAN_LIMITS[settings.plan]
  if (crons.length > limits.crons) {
    throw new ConfigError('functions', `the Worker needs ${crons.length} Cron Triggers; an account on Workers ${settings.plan === 'free' ? 'Free' : 'Paid'} has ${limits.crons} in all (custom.polycloud.cloudflare.plan)`)
  }
  if (settings.cpuMs !== undefined && limits.cpuMs === undefined) {
    throw new ConfigError('custom.polycloud.cloudflare.cpuMs', 'a CPU limit can be set on Workers Paid only (Workers Free: 10 ms per invocation); set plan: paid if the account is on it')
  }
  // The declared resources the code uses: buckets bound (created unless existing), queues bound as producers.
  const producers: ProducedQueue[] = []
  const stores: StoreManifest[] = []
  const declared = new Map(plan.functions.flatMap((fn) => fn.resources.map((resource) => [resource.name, resource] as const)))
  for (const resource of declared.values()) {
    const binding = resourceBinding(resource)
    if (resource.kind === 'bucket') {
      const bucket = buckets.get(resource.deployedName) ?? { name: resource.deployedName, existing: resource.existing, binding, notifications: [] }
      buckets.set(resource.deployedName, bucket)
    } else if (resource.kind === 'store') {
      stores.push({ name: resource.deployedName, binding, existing: resource.existing })
    } else if (!queues.some((queue) => queue.name === resource.deployedName)) {
      producers.push({ name: resource.deployedName, binding, existing: resource.existing })
    }
  }
  const bindings = new Map<string, string>()
  for (const { binding, name } of [...buckets.values(), ...queues.flatMap((queue) => (queue.binding === undefined ? [] : [{ binding: queue.binding, name: queue.name }])), ...producers, ...stores]) {
    const other = bindings.get(binding)
    if (other !== undefined && other !== name) throw new ConfigError('functions', `${other} and ${name} would both be bound as ${binding}: rename one of them`)
    bindings.set(binding, name)
  }
  for (const bucket of buckets.values()) checkRules(bucket)
  const deadLetterQueues = [...new Set(queues.map((queue) => queue.deadLetterQueue))]
  for (const dlq of deadLetterQueues) {
    const consumed = queues.find((queue) => queue.name === dlq)
    if (consumed !== undefined && consumed.deadLetterQueue === dlq) throw new ConfigError(`functions.${consumed.function}`, `queue ${dlq} cannot be its own dead-letter queue`)
  }
  return {
    script,
    service: model.service,
    stage: model.stage,
    main: MAIN_MODULE,
    settings,
    vars: plan.vars,
    secrets: plan.secrets,
    functions,
    crons,
    queues,
    producers,
    deadLetterQueues,
    buckets: [...buckets.values()],
    stores,
  }
}

