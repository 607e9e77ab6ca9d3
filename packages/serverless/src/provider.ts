/**
 * The provider target contract. Each cloud is one folder under `providers/` exporting a {@link ProviderTarget}:
 * its mapping of events (neutral and native) to the adapter formats and its own deployment data, its generated
 * entries, and the commands it serves (package, offline, deploy, remove, info, invoke, invoke local). What is the
 * same for every provider lives once, outside those folders: reading functions and events, resolving and checking
 * the handler module, the kinds check (`functions.ts`), writing entries, bundling (`bundle.ts`) and zips (`zip.ts`).
 */
import type { HandlerRef } from './entry.js'
import type { EventExtension, NeutralEventName } from './schema.js'
import type { RouteSecurity } from './security.js'

/** The providers, spelt as users write them in `serverless.yml` and POLYCLOUD_PROVIDER (`gcp` is read as `google`). */
export type ProviderName = 'aws' | 'azure' | 'google' | 'cloudflare'

export const PROVIDERS: readonly ProviderName[] = ['aws', 'azure', 'google', 'cloudflare']

/** Other spellings users type, and the provider they mean. */
const ALIASES: Readonly<Record<string, ProviderName>> = { gcp: 'google', gcf: 'google', workers: 'cloudflare', lambda: 'aws' }

/** The provider a user means by `name`, or undefined. */
export function providerName(name: unknown): ProviderName | undefined {
  if (typeof name !== 'string') return undefined
  const lower = name.trim().toLowerCase()
  return (PROVIDERS as readonly string[]).includes(lower) ? (lower as ProviderName) : ALIASES[lower]
}

/** A portable handler kind (as `@polycloud/core` names them). */
export type Kind = 'http' | 'schedule' | 'queue' | 'topic' | 'storage' | 'changes' | 'cloudEvent'

export const ALL_KINDS: readonly Kind[] = ['http', 'schedule', 'queue', 'topic', 'storage', 'changes', 'cloudEvent']

/** An export of a provider's adapter package: `import { <name> } from '<adapter>/<module>'`. */
export interface SourceRef {
  readonly name: string
  readonly module: string
}

type Json = Record<string, unknown>

/** One event of a function, as the user wrote it. */
export interface EventSpec {
  /** The event's key: `route`, `cron`, ... or a native key such as `sqs`. */
  readonly key: string
  readonly value: unknown
  /** `functions.<name>.events[<i>].<key>`, for messages. */
  readonly path: string
  /** Whether `key` is a neutral event. */
  readonly neutral: boolean
}

/**
 * What one event becomes on a provider: the adapter formats its payloads come in, the handler kinds they can feed,
 * and the provider's own description of it (`native`: the osls events on AWS, a trigger on Azure, ...).
 */
export interface EventPlan<N = unknown> {
  readonly sources: readonly SourceRef[]
  readonly kinds: readonly Kind[]
  readonly native: N
}

/** A function's settings as the shared reading resolved them. */
export interface FunctionInfo {
  readonly name: string
  readonly config: FunctionConfig
  /** Seconds: the function's, else the provider's in serverless.yml, else the target's default. */
  readonly timeout: number
  /** MB, when set on the function or the provider. */
  readonly memorySize: number | undefined
  /** `provider.environment` and the function's `environment`, the function's winning (and `POLYCLOUD_API_KEYS`). */
  readonly environment: Readonly<Record<string, string>>
  /** Its routes' `auth`, `cors` and `maxBodySize`, when they declare any (or the service does). */
  readonly security?: RouteSecurity | undefined
}

/** A Polycloud function after the shared reading: handler checked, every event planned, the kinds agreed on. */
export interface PreparedFunction<N = unknown> extends FunctionInfo {
  readonly handler: HandlerRef
  /** The handler as written (`handlers/notes.get`), for messages in the generated entry. */
  readonly handlerText: string
  readonly events: ReadonlyArray<{ readonly spec: EventSpec; readonly plan: EventPlan<N> }>
  /** The handler kinds every event can feed (all kinds for a function without events). */
  readonly kinds: readonly Kind[]
  /** The formats of all events, without repeats, in event order. */
  readonly sources: readonly SourceRef[]
}

/** The framework's function configuration (the parts the plugin reads). */
export interface FunctionConfig {
  handler?: string
  events?: Json[]
  timeout?: number
  memorySize?: number
  environment?: Record<string, unknown>
  url?: unknown
  polycloud?: boolean
  /** Providers this function is not deployed to (`[cloudflare]`): for a trigger a provider cannot honour. */
  excludeFrom?: string[]
  [key: string]: unknown
}

/** The framework's logger as plugins receive it. */
export interface Logger {
  notice(message: string): void
  info(message: string): void
  warning(message: string): void
  error(message: string): void
  verbose(message: string): void
  success?(message: string): void
}

/** Everything a target's commands need about the service, read once. */
export interface ServiceContext<N = unknown> {
  readonly provider: ProviderName
  readonly service: string
  readonly stage: string
  /** `--region`, else `provider.region`, else undefined (the target picks its default). */
  readonly region: string | undefined
  /** The service folder (where serverless.yml is). */
  readonly servicePath: string
  /** `.polycloud/<provider>` in the service folder: generated entries and bundles. */
  readonly workDir: string
  /** `.serverless` (or `--package`): where artifacts go. */
  readonly packageDir: string
  /** The Polycloud functions (not those with `polycloud: false`). */
  readonly functions: ReadonlyArray<PreparedFunction<N>>
  /** `provider.*` as written (runtime, environment, provider-specific settings). */
  readonly providerConfig: Readonly<Json>
  /** `custom.polycloud.<provider>`. */
  readonly custom: Readonly<Json>
  /** The command being run, its words joined by spaces (`package`, `invoke local`, `offline start`), when known. */
  readonly command?: string
  /** The command line options (`--region`, `--function`, `--path`, ...). */
  readonly options: Readonly<Record<string, unknown>>
  readonly log: Logger
  /** Writes a line to the user's terminal (stdout), as the framework's own output does. */
  write(line: string): void
}

/** Settings a target's `plan` reads besides the event. */
export interface PlanContext {
  readonly service: string
  readonly stage: string
  readonly servicePath: string
  readonly providerConfig: Readonly<Json>
  readonly custom: Readonly<Json>
  /** `resources` of serverless.yml (AWS adds CloudFormation resources here). */
  readonly resources: Json
  /** The command being run (`package`, `deploy`, `offline`, `invoke local`, ...); none: packaging. */
  readonly command?: string
  /** Every function of the service, read (settings and security), before any event is planned. */
  readonly functions?: readonly FunctionInfo[]
}

/** A generated entry file: its path relative to `workDir`, its source, and the functions it serves. */
export interface EntryFile {
  readonly file: string
  readonly source: string
  readonly functions: readonly string[]
}

/** What a target's `entries` reads besides the functions (deployed names hold the service and the stage; a Worker serves a whole service: its name, its vars). */
export interface EntryContext {
  readonly workDir: string
  readonly servicePath: string
  readonly service: string
  readonly stage: string
  /** `provider.*` as written. */
  readonly providerConfig: Readonly<Json>
  /** `custom.polycloud.<provider>`. */
  readonly custom?: Readonly<Json>
  /** The command being run (entries differ where the platform enforces what the entry would check locally). */
  readonly command?: string
}

/** A command a target serves; the plugin calls it with the prepared service. */
export type Command<N> = (context: ServiceContext<N>) => Promise<void>

/**
 * A provider target. `plan` and `entries` are required; the commands are those the target supports (the plugin
 * answers the others with a message naming the provider and what it supports).
 */
export interface ProviderTarget<N = unknown> {
  readonly name: ProviderName
  /** How messages name the provider: `AWS`, `Azure`, `Google Cloud`, `Cloudflare`. */
  readonly title: string
  /** The adapter package the entries import: `@polycloud/aws`. */
  readonly adapter: string
  /** The default function timeout, in seconds, when serverless.yml sets none. */
  readonly defaultTimeout: number
  /**
   * JSON schema properties of `custom.polycloud.<name>`, and of the provider block (`provider.*`) for providers
   * the framework does not know (everything but AWS).
   */
  readonly customSchema?: Readonly<Json>
  readonly providerSchema?: Readonly<Json>
  /** This provider's own fields on the neutral events (`api` on an AWS route, `serviceBus` on an Azure queue, ...). */
  readonly eventOptions?: Readonly<Partial<Record<NeutralEventName, EventExtension>>>
  /** Options `serverless offline` takes for this target besides `--host` and `--port` (`--storage` on Azure, ...). */
  readonly offlineOptions?: Readonly<Record<string, { readonly usage: string; readonly type: 'string' | 'boolean' }>>
  /**
   * What an event becomes. Throws a ConfigError (path '' is filled in with the event's path) when the event cannot
   * run on this provider; returns undefined for a native event Polycloud does not serve.
   */
  plan(event: EventSpec, fn: FunctionInfo, context: PlanContext): EventPlan<N> | undefined
  /**
   * Whether the platform answers CORS preflights for the service itself (AWS HTTP API CORS): the plugin then adds no
   * `OPTIONS` routes for the generated entries to answer.
   */
  answersPreflight?(context: PlanContext): boolean
  /** The largest HTTP request body the platform accepts, in bytes (a larger `maxBodySize` is reported). */
  readonly httpBodyLimit?: number
  /** The plans of a function's implicit events (a Function URL on AWS), after its declared ones. */
  implicitPlans?(fn: FunctionInfo): ReadonlyArray<{ readonly spec: EventSpec; readonly plan: EventPlan<N> }>
  /** The generated entries of the service's Polycloud functions (paths relative to `workDir`). */
  entries(functions: ReadonlyArray<PreparedFunction<N>>, context: EntryContext): EntryFile[]
  /**
   * Runs at `initialize` once entries are written, for targets that hand the functions back to the framework's
   * own machinery (AWS: osls and serverless-esbuild package the rewritten functions). May return what to release
   * when a command fails (the framework's `error` hook), so a failed command ends instead of waiting on a tool it
   * left running.
   */
  handOver?(context: ServiceContext<N>, serverless: unknown): { release(): Promise<void> } | void
  /** Writes the deployable artifact(s) to `packageDir`. */
  package?: Command<N>
  /** Serves the packaged service locally until interrupted (`serverless offline`, `npm start`). */
  offline?: Command<N>
  deploy?: Command<N>
  remove?: Command<N>
  info?: Command<N>
  /** Calls a deployed function (`serverless invoke -f <fn> [--data | --path]`). */
  invoke?: Command<N>
  /** Runs a function of the packaged service with a native payload (`serverless invoke local -f <fn> --path`). */
  invokeLocal?: Command<N>
}
