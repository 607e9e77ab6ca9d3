/**
 * The provider contract. Each cloud is one folder under `providers/` whose `index.ts` exports a
 * {@link ProviderDefinition}: the provider's facts (names, runtimes with their dates, native events, limits, schemas)
 * and the three steps every provider takes, in this order and once per command:
 *
 * 1. the shared reading (`model.ts`, not the provider's) turns serverless.yml into the {@link ServiceModel};
 * 2. the provider's `plan` turns the model into its {@link ProviderPlan}: what gets deployed, named, granted, and
 *    which platform features carry auth and CORS;
 * 3. everything after reads the plan: the generated `entries`, and the commands (package, offline, deploy, remove,
 *    info, invoke, invoke local), each in a file of the same name in every provider folder.
 *
 * `providers/index.ts` registers the definitions, one line each.
 */
import type { Provider } from '@polycloud/core'
import type { QueueSource } from './console/model.js'
import type { HandlerRef } from './handlers.js'
import type { FunctionModel, ResourceDeclaration, RouteSecurity, ServiceEvent, ServiceModel } from './model.js'
import type { ProviderRuntimes } from './runtime.js'
import type { EventExtension, NeutralEventName } from './schema.js'

export type Json = Record<string, unknown>

/** A portable handler kind (as `@polycloud/core` names them). */
export type Kind = 'http' | 'schedule' | 'queue' | 'topic' | 'storage' | 'changes' | 'cloudEvent'

export const ALL_KINDS: readonly Kind[] = ['http', 'schedule', 'queue', 'topic', 'storage', 'changes', 'cloudEvent']

/** An export of a provider's adapter package: `import { <name> } from '<adapter>/<module>'`. */
export interface SourceRef {
  readonly name: string
  readonly module: string
}

/** The framework's function configuration (the parts the shared reading reads). */
export interface FunctionConfig {
  handler?: string
  events?: Json[]
  timeout?: number
  memorySize?: number
  runtime?: string
  environment?: Record<string, unknown>
  polycloud?: boolean
  /** Providers this function is not deployed to (`[cloudflare]`): for a trigger a provider cannot honour. */
  excludeFrom?: string[]
  /** The logical names of the resources its code uses (`custom.polycloud.resources`). */
  uses?: string[]
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

/**
 * What one event becomes on a provider: the adapter formats its payloads come in, the handler kinds they can feed,
 * and the provider's own description of it (`native`: the osls events on AWS, a trigger on Azure, ...).
 */
export interface EventPlan<N = unknown> {
  readonly sources: readonly SourceRef[]
  readonly kinds: readonly Kind[]
  readonly native: N
}

/** An event of a function with what it becomes on the provider. */
export interface PlannedEvent<N = unknown> extends EventPlan<N> {
  readonly event: ServiceEvent
}

/** A function as the provider deploys it: its settings from the model, every event planned, the kinds agreed on. */
export interface PlannedFunction<N = unknown> {
  readonly name: string
  readonly handler: HandlerRef
  /** The handler as written (`handlers/notes.get`), for messages in the generated entry. */
  readonly handlerText: string
  readonly timeout: number
  readonly memorySize: number | undefined
  readonly environment: Readonly<Record<string, string>>
  readonly security: RouteSecurity | undefined
  /** The resources its code uses, as declared: the plan grants exactly these, the entry wires them (`withResources`). */
  readonly resources: readonly ResourceDeclaration[]
  /** The function in the model. */
  readonly model: FunctionModel
  /** Its declared events, then the `OPTIONS` routes of its CORS preflights, then its implicit events. */
  readonly events: ReadonlyArray<PlannedEvent<N>>
  /** The handler kinds every event can feed (all kinds for a function without events). */
  readonly kinds: readonly Kind[]
  /** The formats of all events, without repeats, in event order. */
  readonly sources: readonly SourceRef[]
}

/**
 * A provider's plan of the service, computed once per command from the model: the single input of the generated
 * entries, package, deploy, remove, info and the local runs. Each provider extends it with what it decides
 * (names, triggers, the platform's share of security, the resources it creates); what only some commands need is
 * computed on first use, once.
 */
export interface ProviderPlan<N = unknown> {
  readonly model: ServiceModel
  readonly functions: ReadonlyArray<PlannedFunction<N>>
}

/** What a plan reads besides the model. */
export interface PlanInput {
  /** The command being run (`package`, `deploy`, `offline`, `invoke local`, ...); '' when unknown. */
  readonly command: string
}

/** Everything a command needs: the plan, and where and how the command runs. */
export interface ServiceContext<P extends ProviderPlan = ProviderPlan> {
  readonly plan: P
  readonly provider: string
  readonly service: string
  readonly stage: string
  /** `--region`, else `provider.region`, else undefined (the provider picks its default). */
  readonly region: string | undefined
  /** The service folder (where serverless.yml is). */
  readonly servicePath: string
  /** `.polycloud/<provider>` in the service folder: generated entries and bundles. */
  readonly workDir: string
  /** `.serverless` (or `--package`): where artifacts go. */
  readonly packageDir: string
  /** The command being run, its words joined by spaces (`package`, `invoke local`, `offline start`), when known. */
  readonly command?: string
  /** The command line options (`--region`, `--function`, `--path`, ...). */
  readonly options: Readonly<Record<string, unknown>>
  readonly log: Logger
  /** `serverless offline`'s local console (unless `--noConsole`): the provider's offline gives it its local queues. */
  readonly console?: { attachQueues(source: QueueSource): void }
  /** Writes a line to the user's terminal (stdout), as the framework's own output does. */
  write(line: string): void
}

/** A generated entry file: its path relative to `workDir`, its source, and the functions it serves. */
export interface EntryFile {
  readonly file: string
  readonly source: string
  readonly functions: readonly string[]
}

/** Where the entries are written. */
export interface EntryContext {
  readonly workDir: string
  readonly servicePath: string
}

/**
 * The commands a provider serves itself, each in its own file of the provider's folder (`package.ts` exports
 * `packageCommand`, `offline.ts` `offlineCommand`, `invoke-local.ts` `invokeLocalCommand`, `deploy.ts`
 * `deployCommand`, `removeCommand`, `infoCommand` and `invokeCommand`), imported when the command runs. The plugin
 * answers a command a provider does not serve with a message naming the provider and what it serves.
 */
export interface ProviderCommands<P extends ProviderPlan> {
  /** Writes the deployable artifact(s) to `packageDir`. */
  package?(context: ServiceContext<P>): Promise<void>
  /** Serves the packaged service locally until interrupted (`serverless offline`, `npm start`). */
  offline?(context: ServiceContext<P>): Promise<void>
  deploy?(context: ServiceContext<P>): Promise<void>
  remove?(context: ServiceContext<P>): Promise<void>
  info?(context: ServiceContext<P>): Promise<void>
  /** Calls a deployed function (`serverless invoke -f <fn> [--data | --path]`). */
  invoke?(context: ServiceContext<P>): Promise<void>
  /** Runs a function of the packaged service with a native payload (`serverless invoke local -f <fn> --path`). */
  invokeLocal?(context: ServiceContext<P>): Promise<void>
}

/** The file of a provider's folder each command is in, and the function it exports. */
export const COMMAND_FILES = {
  package: { file: 'package.js', name: 'packageCommand' },
  offline: { file: 'offline.js', name: 'offlineCommand' },
  invokeLocal: { file: 'invoke-local.js', name: 'invokeLocalCommand' },
  deploy: { file: 'deploy.js', name: 'deployCommand' },
  remove: { file: 'deploy.js', name: 'removeCommand' },
  info: { file: 'deploy.js', name: 'infoCommand' },
  invoke: { file: 'deploy.js', name: 'invokeCommand' },
} as const satisfies Record<keyof ProviderCommands<ProviderPlan>, { readonly file: string; readonly name: string }>

/**
 * The commands a provider serves, each from its file in the provider's folder (`folder`: the folder's
 * `import.meta.url`), imported when the command runs: `commandFiles(import.meta.url, ['package', 'deploy'])`.
 */
export function commandFiles<P extends ProviderPlan>(folder: string, served: ReadonlyArray<keyof ProviderCommands<P>>): ProviderCommands<P> {
  const commands: ProviderCommands<P> = {}
  for (const command of served) {
    const { file, name } = COMMAND_FILES[command]
    commands[command] = async (context: ServiceContext<P>) => {
      const module = (await import(new URL(file, folder).href)) as Record<string, unknown>
      const run = module[name]
      if (typeof run !== 'function') throw new Error(`${new URL(file, folder).pathname} does not export ${name}`)
      await (run as (context: ServiceContext<P>) => Promise<void>)(context)
    }
  }
  return commands
}

/** The runtime adapter a provider's entries import, and the id handlers see as `context.provider`. */
export interface AdapterFacts {
  /** `@polycloud/gcp`. */
  readonly package: string
  /** `gcp`: the adapter's id, `context.provider` in handlers (users may also write it for the provider's name). */
  readonly provider: Provider
}

/** A provider: its facts and its steps (see the module's comment). */
export interface ProviderDefinition<P extends ProviderPlan = ProviderPlan> {
  /** How serverless.yml and POLYCLOUD_PROVIDER name it: `google`, as the Serverless Framework's provider plugins do. */
  readonly name: string
  /** Other spellings users may write for it (`gcp`, `gcf`); its adapter's id is always one of them. */
  readonly aliases: readonly string[]
  /** How messages name the provider: `AWS`, `Azure`, `Google Cloud`, `Cloudflare`. */
  readonly title: string
  /** How messages name its functions platform: `AWS Lambda`, `Google Cloud Functions`. */
  readonly platform: string
  /** The adapter the generated entries import; undefined for a provider whose entries need none. */
  readonly adapter: AdapterFacts | undefined
  /** The Node.js runtimes it still accepts, with their dates and sources; undefined when it chooses none by version. */
  readonly runtimes?: ProviderRuntimes
  /** The native event keys of its Serverless plugin: refused, by name, on the other providers. */
  readonly nativeEvents: readonly string[]
  /** The default function timeout, in seconds, when serverless.yml sets none. */
  readonly defaultTimeout: number
  /** The largest HTTP request body the platform accepts, in bytes (a larger `maxBodySize` is reported). */
  readonly httpBodyLimit?: number
  /**
   * JSON schema of `custom.polycloud.<name>`, and of the provider block (`provider.*`) for providers the framework
   * does not know (everything but AWS).
   */
  readonly customSchema?: Readonly<Json>
  readonly providerSchema?: Readonly<Json>
  /**
   * The JSON schema of its own settings in a resource's object form (`custom.polycloud.resources.<name>.<provider>`);
   * any object when undefined.
   */
  readonly resourceOptions?: Readonly<Json>
  /** Its own fields on the neutral events (`api` on an AWS route, `serviceBus` on an Azure queue, ...). */
  readonly eventOptions?: Readonly<Partial<Record<NeutralEventName, EventExtension>>>
  /** Options `serverless offline` takes besides `--host` and `--port` (`--storage` on Azure, ...). */
  readonly offlineOptions?: Readonly<Record<string, { readonly usage: string; readonly type: 'string' | 'boolean' }>>
  /** The model as this provider deploys it; throws a ConfigError naming the function and field it cannot honour. */
  plan(model: ServiceModel, input: PlanInput): P
  /** The generated entries of the plan's functions (paths relative to `workDir`). */
  entries(plan: P, context: EntryContext): EntryFile[]
  /**
   * For a provider the framework serves itself (AWS: osls, serverless-esbuild, serverless-offline): applies the plan
   * to the framework's service at `initialize`, once the entries are written. May return what to release when a
   * command fails (the framework's `error` hook), so a failed command ends instead of waiting on a tool it left
   * running. A provider without it is served by the plugin, through its `commands`.
   */
  handOver?(context: ServiceContext<P>, serverless: unknown): { release(): Promise<void> } | void
  readonly commands: ProviderCommands<P>
}
