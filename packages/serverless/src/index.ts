/**
 * serverless-polycloud: functions declared once with neutral events, deployed with portable handlers to the
 * provider `provider.name` names (any provider of the registry, `providers/index.ts`).
 *
 * In the constructor it picks the provider's definition (`providers/<name>/index.ts`), registers the neutral event
 * schemas (the framework validates them before any hook) and refuses another provider's native events. At
 * `initialize` (after validation, before any command) it reads the service once into the model (`model.ts`), has
 * the provider plan it once (`providers/<name>/plan.ts`), and writes the generated entries to
 * `.polycloud/<provider>/`. A provider the framework serves itself (AWS) then gets the plan applied to the
 * framework's service (osls, serverless-esbuild, serverless-offline do the rest). For the others the plugin is the
 * provider: it registers itself with the framework, keeps the AWS-only plugins out of the way, and serves package,
 * offline, deploy, remove, info, invoke and invoke local through the provider's commands, each given the plan.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { BundleError } from './bundle.js'
import type { LocalConsole } from './console/index.js'
import { CONSOLE_OPTIONS } from './console/options.js'
import { ConfigError, ProviderError, frameworkError } from './errors.js'
import { checkHandlers } from './handlers.js'
import { completeService, declaresSecurity, foreignEvents, readFunctions, type ReaderProvider, type ServiceModel } from './model.js'
import type { FunctionConfig, Logger, ProviderCommands, ProviderDefinition, ProviderPlan, ServiceContext } from './provider.js'
import { PROVIDER_NAMES, definitionOf, nativeOwners, providerName, providerSpellings, readerOf } from './providers/index.js'
import { runtimeProblems } from './runtime.js'
import { unreachableIssuers, type PolicyResolver } from './security.js'
import { NEUTRAL_EVENT_NAMES, customSchema, explainSchemaErrors, functionSchema, neutralEventSchema, type SchemaMessages } from './schema.js'

type Json = Record<string, unknown>

export type { FunctionConfig } from './provider.js'

interface HookEntry {
  pluginName: string
  hook: () => Promise<unknown> | unknown
}

/** The parts of the framework's `serverless` object the plugin uses. */
export interface Serverless {
  serviceDir?: string
  config: { servicePath?: string }
  service: {
    service: string
    provider: { name: string; stage?: string; region?: string; timeout?: number; apiGateway?: Json; [key: string]: unknown }
    functions: Record<string, FunctionConfig>
    resources?: { Resources?: Json; [key: string]: unknown }
    custom?: { polycloud?: Record<string, Json | undefined> }
    package?: { path?: string }
  }
  /** The service file, relative to `serviceDir` (`serverless.yml`). */
  configurationFilename?: string
  configSchemaHandler: {
    defineFunctionEvent(provider: string, name: string, schema: unknown): void
    defineFunctionProperties(provider: string, schema: unknown): void
    defineCustomProperties(schema: unknown): void
    defineProvider?(provider: string, options: Json): void
    schema?: unknown
  }
  setProvider?(name: string, provider: object): void
  /** The command being run (`['invoke', 'local']`). */
  processedInput?: { commands?: string[] }
  pluginManager?: { hooks: Record<string, HookEntry[]> }
  classes: { Error: new (message: string, code?: string) => Error }
}

const ENTRY_DIR = '.polycloud'

/**
 * The commands that run the service on this machine, with the folder suffix of their generated entries: a
 * `serverless invoke local` run while `serverless offline` serves (as the README suggests) must not rewrite the files
 * the running server loads, nor a `package` delete them.
 */
const LOCAL_FOLDERS: Readonly<Record<string, string>> = { offline: 'offline', 'offline start': 'offline', 'invoke local': 'invoke-local' }

/** Plugins that know only Lambda: the plugin does their work itself for a provider the framework does not serve. */
const AWS_ONLY_PLUGINS = new Set(['EsbuildServerlessPlugin', 'ServerlessOffline'])

/** The framework's generic packaging (a zip of the service folder), replaced by each provider's own artifact. */
const GENERIC_PACKAGING = new Set(['Package'])

/** The commands a provider serves itself, the lifecycle events they run at, and how messages name them. */
const COMMANDS: ReadonlyArray<{ command: keyof ProviderCommands<ProviderPlan>; event: string; describe: string }> = [
  { command: 'package', event: 'package:createDeploymentArtifacts', describe: 'package' },
  { command: 'deploy', event: 'deploy:deploy', describe: 'deploy' },
  { command: 'remove', event: 'remove:remove', describe: 'remove' },
  { command: 'info', event: 'info:info', describe: 'info' },
  { command: 'invoke', event: 'invoke:invoke', describe: 'invoke' },
  { command: 'invokeLocal', event: 'invoke:local:invoke', describe: 'invoke local' },
  { command: 'offline', event: 'offline:start', describe: 'offline' },
]

/** The commands that load the handlers (they bundle or run them): their modules and exports are checked first. */
const LOADING_COMMANDS = new Set(['package', 'deploy', 'deploy function', 'offline', 'offline start', 'invoke local'])

/**
 * Where the handler check of a command is awaited when it is not awaited at `initialize`: the framework goes on
 * with the package lifecycle (the template, the provider's configuration) while the check's Node process loads the
 * handlers, and the check is awaited first at `before:package:createDeploymentArtifacts`, before serverless-esbuild
 * bundles anything there.
 */
const CHECK_AWAITED_AT: Readonly<Record<string, string>> = {
  package: 'before:package:createDeploymentArtifacts',
  deploy: 'before:package:createDeploymentArtifacts',
}

/** The commands that create or update functions: a deprecated or blocked runtime refuses them (`package` warns). */
const DEPLOY_COMMANDS = new Set(['deploy', 'deploy function'])

/** `serverless remove --deleteData`: stores deploy created are deleted with their entries (kept while they hold any, otherwise). */
const DELETE_DATA = { usage: 'Also delete the stores deploy created that still hold entries, with their entries', type: 'boolean' }

const string = (usage: string, shortcut?: string) => ({ usage, type: 'string', ...(shortcut ? { shortcut } : {}) })

/** `serverless remove --deleteObjects`: buckets deploy created are deleted with their objects (kept while they hold any, otherwise). */
const DELETE_OBJECTS = { usage: 'Also delete the buckets deploy created that still hold objects, with their objects', type: 'boolean' }

export default class PolycloudPlugin {
  readonly hooks: Record<string, () => Promise<void>>
  readonly commands: Json = {}
  readonly #serverless: Serverless
  readonly #options: Readonly<Record<string, unknown>>
  readonly #log: Logger | undefined
  readonly #provider: ProviderDefinition
  readonly #reader: ReaderProvider
  #context: ServiceContext | undefined
  /** What the provider's hand-over left to release when a command fails. */
  #handedOver: { release(): Promise<void> } | undefined
  /** The local console of `serverless offline`. */
  #console: LocalConsole | undefined

  constructor(serverless: Serverless, options: Record<string, unknown> | undefined, utils?: { log?: Logger }) {
    this.#serverless = serverless
    this.#options = options ?? {}
    this.#log = utils?.log
    const written = serverless.service.provider.name
    const name = providerName(written)
    if (name === undefined) {
      throw this.#error(`provider ${JSON.stringify(written)} is not one Polycloud deploys to: use ${PROVIDER_NAMES.join(', ')} (POLYCLOUD_PROVIDER)`)
    }
    // One spelling from here on (`gcp` is read as `google`), in every message and for every later plugin.
    serverless.service.provider.name = name
    const provider = definitionOf(name)
    this.#provider = provider
    this.#reader = readerOf(provider)
    if (provider.handOver === undefined) this.#becomeProvider(name)
    const schemas = serverless.configSchemaHandler
    for (const event of NEUTRAL_EVENT_NAMES) {
      schemas.defineFunctionEvent(name, event, neutralEventSchema(event, provider.eventOptions?.[event]))
    }
    schemas.defineFunctionProperties(name, functionSchema(providerSpellings()))
    schemas.defineCustomProperties(customSchema(name, PROVIDER_NAMES, provider.customSchema as Json | undefined, { own: provider.resourceOptions as Json | undefined, spellings: providerSpellings() }))
    const vocabulary = { title: provider.title, natives: provider.nativeEvents, ...(provider.eventOptions ? { extensions: provider.eventOptions } : {}) }
    explainSchemaErrors(schemas as SchemaMessages, () => serverless.service.functions, vocabulary)
    // Validation runs before any hook: another provider's native event must be refused here, by name.
    const [foreign] = foreignEvents(serverless.service.functions ?? {}, this.#reader, nativeOwners)
    if (foreign !== undefined) {
      throw this.#error(
        `${foreign.at}: ${JSON.stringify(foreign.key)} is a native ${foreign.owners.join('/')} event, which provider ${name} cannot run; ` +
          `use a neutral event (${NEUTRAL_EVENT_NAMES.join(', ')}) to deploy the function anywhere`,
      )
    }
    this.hooks = {
      initialize: () => this.#initialize(),
      // A failed command ends once its error is shown: nothing a tool started may keep the process alive.
      error: async () => {
        await this.#handedOver?.release()
        await this.#console?.stop()
      },
    }
    if (provider.handOver === undefined) this.#serveCommands()
    else {
      // The framework's own commands take Polycloud's options too.
      this.commands.remove = { options: { deleteObjects: DELETE_OBJECTS, deleteData: DELETE_DATA } }
      // serverless-offline's offline command, the provider's options.
      if (usesPlugin(serverless, 'serverless-offline')) this.commands.offline = { options: { ...provider.offlineOptions, ...CONSOLE_OPTIONS } }
    }
  }

  #error(message: string): Error {
    return frameworkError(this.#serverless, message)
  }

  /**
   * Errors users can act on (configuration, bundling, a provider API's refusal) as the framework's own error: the
   * message, no stack trace. Anything else is a defect and keeps its stack.
   */
  #userError(error: unknown): unknown {
    if (error instanceof ConfigError || error instanceof ProviderError || error instanceof BundleError) return this.#error(error.message)
    return error
  }

  /** For a provider the framework does not know, the plugin is the provider: its schema, its commands. */
  #becomeProvider(name: string): void {
    const serverless = this.#serverless
    serverless.setProvider?.(name, { name, polycloud: true })
    serverless.configSchemaHandler.defineProvider?.(name, {
      provider: {
        properties: {
          runtime: { type: 'string' },
          region: { type: 'string' },
          stage: { type: 'string' },
          timeout: { type: 'number', minimum: 1 },
          memorySize: { type: 'integer', minimum: 128 },
          environment: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
          ...(this.#provider.providerSchema as Json | undefined),
        },
      },
      function: {
        properties: {
          handler: { type: 'string' },
          description: { type: 'string' },
          timeout: { type: 'number', minimum: 1 },
          memorySize: { type: 'integer', minimum: 128 },
          environment: { type: 'object' },
        },
      },
    })
    // Settings of other providers (an AWS `logRetentionInDays`) stay allowed, so one file serves every cloud.
    const schema = (serverless.configSchemaHandler as { schema?: { properties?: { provider?: Json } } }).schema
    if (schema?.properties?.provider) schema.properties.provider.additionalProperties = true
  }

  /** Hooks of the provider's commands, and the options they take that the framework only declares for AWS. */
  #serveCommands(): void {
    const provider = this.#provider
    const region = string('Region of the service', 'r')
    this.commands.deploy = { options: { region } }
    this.commands.remove = { options: { region, deleteObjects: DELETE_OBJECTS, deleteData: DELETE_DATA } }
    this.commands.info = { options: { region } }
    this.commands.invoke = { options: { region } }
    this.commands.offline = {
      usage: `Serves the packaged service locally on ${provider.title}'s own runtime`,
      lifecycleEvents: ['start'],
      commands: { start: { lifecycleEvents: ['init', 'ready', 'end'], usage: 'Serves the packaged service locally' } },
      options: {
        host: string('Host to bind (default 127.0.0.1)'),
        port: string('Port to serve on'),
        httpPort: string('Port to serve on (serverless-offline spelling)'),
        ...provider.offlineOptions,
        ...CONSOLE_OPTIONS,
      },
    }
    for (const { command, event, describe } of COMMANDS) {
      this.hooks[event] = async () => {
        const run = provider.commands[command]
        if (run === undefined) {
          const served = COMMANDS.filter(({ command: other }) => typeof provider.commands[other] === 'function').map((entry) => entry.describe)
          throw this.#error(`${describe} is not available for ${provider.title} yet (it serves: ${served.join(', ') || 'none'})`)
        }
        try {
          await run.call(provider.commands, this.#prepared())
        } catch (error) {
          throw this.#userError(error)
        } finally {
          if (command === 'offline') await this.#console?.stop()
        }
      }
    }
    // `serverless offline` and `serverless offline start` both start the server.
    this.hooks['offline:start:init'] = this.hooks['offline:start'] as () => Promise<void>
  }

  #prepared(): ServiceContext {
    if (this.#context === undefined) throw this.#error('the service was not read (the initialize hook did not run)')
    return this.#context
  }

  async #initialize(): Promise<void> {
    const serverless = this.#serverless
    const service = serverless.service
    const provider = this.#provider
    if (provider.handOver === undefined) this.#removeForeignHooks()
    const servicePath = serverless.serviceDir ?? serverless.config.servicePath ?? process.cwd()
    const command = (serverless.processedInput?.commands ?? []).join(' ')
    const local = LOCAL_FOLDERS[command]
    const workDir = join(servicePath, ENTRY_DIR, local ? `${provider.name}-${local}` : provider.name)
    const stage = (this.#options.stage as string | undefined) ?? service.provider.stage ?? 'dev'
    const log = this.#log ?? consoleLogger
    let model: ServiceModel
    let plan: ProviderPlan
    // Locally every invocation writes its summary line: the console reads invocations from them.
    if (local === 'offline') summariseEveryInvocation(service)
    try {
      const draft = readFunctions(
        {
          service: service.service,
          stage,
          regionOption: this.#options.region as string | undefined,
          servicePath,
          provider: service.provider,
          functions: service.functions ?? {},
          polycloud: service.custom?.polycloud,
          template: service.resources?.Resources,
        },
        this.#reader,
      )
      // Functions excluded from this provider are not the framework's business either (osls would package them).
      for (const name of draft.model.excluded) delete service.functions[name]
      this.#checkRuntimes(command, log, draft.model)
      const resolve = declaresSecurity(draft) ? await policyResolver() : undefined
      model = completeService(draft, resolve)
      this.#checkIssuers(command, log, model, servicePath)
      plan = provider.plan(model, { command })
      const checkOptions = { servicePath, workDir, ...(provider.adapter ? { adapter: provider.adapter.package } : {}) }
      // Where the framework packages (a provider that hands over), the check runs while it prepares and is awaited
      // before anything is bundled; elsewhere it is awaited here.
      const later = provider.handOver !== undefined ? CHECK_AWAITED_AT[command] : undefined
      if (LOADING_COMMANDS.has(command) && later === undefined) await checkHandlers(plan.functions, checkOptions)
      rmSync(workDir, { recursive: true, force: true })
      mkdirSync(workDir, { recursive: true })
      for (const entry of provider.entries(plan, { workDir, servicePath })) {
        const file = join(workDir, entry.file)
        mkdirSync(dirname(file), { recursive: true })
        writeFileSync(file, entry.source)
      }
      if (later !== undefined) await this.#checkLater(later, checkHandlers(plan.functions, checkOptions))
    } catch (error) {
      throw this.#userError(error)
    }
    this.#context = {
      plan,
      provider: provider.name,
      service: model.service,
      stage,
      region: model.region,
      servicePath,
      workDir,
      packageDir: (this.#options.package as string | undefined) ?? service.package?.path ?? join(servicePath, '.serverless'),
      command,
      options: this.#options,
      log,
      write: (line) => process.stdout.write(`${line}\n`),
    }
    if (local === 'offline') {
      try {
        this.#console = await startLocalConsole(this.#context)
      } catch (error) {
        throw this.#userError(error)
      }
      if (this.#console !== undefined) this.#context = { ...this.#context, console: this.#console }
    }
    this.#handedOver = provider.handOver?.(this.#context, serverless) ?? undefined
    for (const fn of plan.functions) {
      const declared = fn.security?.resolved.maxBodySize
      if (declared !== undefined && provider.httpBodyLimit !== undefined && declared > provider.httpBodyLimit) {
        log.warning(`serverless-polycloud: functions.${fn.name}: maxBodySize ${declared} is more than ${provider.title} accepts (${provider.httpBodyLimit} bytes): larger bodies are refused by the platform before the function runs`)
      }
    }
    if (model.excluded.length > 0) log.notice(`serverless-polycloud: ${model.excluded.join(', ')} not deployed to ${provider.title} (excludeFrom)`)
    log.info(`serverless-polycloud: wrote ${plan.functions.length} function entries to ${relative(servicePath, workDir)}`)
  }

  /**
   * Awaits a running handler check in the framework's `event` hook, first of that event's hooks; without the
   * framework's hooks (a test's stand-in), returns the check to await now.
   */
  #checkLater(event: string, check: Promise<void>): Promise<void> {
    // Its failure is the command's, reported at `event`; meanwhile it must not count as an unhandled rejection.
    check.catch(() => {})
    const hook = async (): Promise<void> => {
      try {
        await check
      } catch (error) {
        throw this.#userError(error)
      }
    }
    const hooks = this.#serverless.pluginManager?.hooks
    if (hooks === undefined) return check
    ;(hooks[event] ??= []).unshift({ pluginName: 'PolycloudPlugin', hook })
    return Promise.resolve()
  }

  /**
   * JWT issuers a deployed function cannot reach (loopback, private, plain http: `security.ts`): a refusal at
   * `deploy`, before anything is bundled, naming the variable to set; a warning at `package`. Local runs take them.
   */
  #checkIssuers(command: string, log: Logger, model: Pick<ServiceModel, 'functions'>, servicePath: string): void {
    if (command !== 'package' && !DEPLOY_COMMANDS.has(command)) return
    let source: string | undefined
    try {
      source = readFileSync(join(servicePath, this.#serverless.configurationFilename ?? 'serverless.yml'), 'utf8')
    } catch {
      source = undefined
    }
    const problems = unreachableIssuers(model.functions, this.#provider.platform, source, process.env)
    if (problems.length === 0) return
    if (DEPLOY_COMMANDS.has(command)) throw this.#error(`${problems.join('\n')}\nNot deploying. Local runs (serverless offline, invoke local) keep accepting these issuers.`)
    for (const problem of problems) log.warning(`serverless-polycloud: ${problem}\n\`serverless deploy\` refuses it.`)
  }

  /** Runtimes the provider has deprecated or blocked (`runtime.ts`): a warning at `package`, a refusal at `deploy`. */
  #checkRuntimes(command: string, log: Logger, model: Pick<ServiceModel, 'runtime' | 'functionRuntimes'>): void {
    if (command !== 'package' && !DEPLOY_COMMANDS.has(command)) return
    const functions = Object.fromEntries(Object.entries(model.functionRuntimes).map(([name, runtime]) => [name, { runtime }]))
    const problems = runtimeProblems(this.#provider, model.runtime, functions)
    if (problems.length === 0) return
    if (DEPLOY_COMMANDS.has(command)) {
      throw this.#error(`${problems.map((problem) => problem.message).join('\n')}\nNot deploying: change the runtime in serverless.yml.`)
    }
    for (const problem of problems) log.warning(`serverless-polycloud: ${problem.message}\n\`serverless deploy\` refuses it until the runtime changes.`)
  }

  /**
   * Takes the AWS-only plugins' hooks out (serverless-esbuild would bundle for Lambda and fail, serverless-offline
   * would serve Lambda semantics) and the framework's generic zip of the service folder (the provider writes its own
   * artifact).
   */
  #removeForeignHooks(): void {
    const hooks = this.#serverless.pluginManager?.hooks
    if (!hooks) return
    for (const [event, entries] of Object.entries(hooks)) {
      hooks[event] = entries.filter(
        ({ pluginName }) => !AWS_ONLY_PLUGINS.has(pluginName) && !(GENERIC_PACKAGING.has(pluginName) && event.includes('package:')),
      )
    }
  }
}

/** Whether the service lists a plugin (`plugins: [...]`, or `plugins: { modules: [...] }`). */
function usesPlugin(serverless: Serverless, name: string): boolean {
  const plugins = (serverless.service as { plugins?: unknown }).plugins
  const modules = Array.isArray(plugins) ? plugins : ((plugins as { modules?: unknown } | undefined)?.modules ?? [])
  return Array.isArray(modules) && modules.includes(name)
}

/**
 * `POLYCLOUD_LOG_SUMMARY=all` in every function's environment (the provider's block and each function's own, so a
 * function's setting does not win): under `serverless offline` each invocation writes its summary line, which the
 * local console reads as the invocation's end, outcome, duration and cold start.
 */
function summariseEveryInvocation(service: Serverless['service']): void {
  service.provider.environment = { ...(service.provider.environment as Json | undefined), POLYCLOUD_LOG_SUMMARY: 'all' }
  for (const fn of Object.values(service.functions ?? {})) {
    if (fn !== null && typeof fn === 'object' && fn.environment !== undefined) fn.environment = { ...fn.environment, POLYCLOUD_LOG_SUMMARY: 'all' }
  }
}

/** Starts the local console (imported only by `serverless offline`) unless `--noConsole`, and prints its address. */
async function startLocalConsole(context: ServiceContext): Promise<LocalConsole | undefined> {
  const { consolePort, functionViews, startConsole } = await import('./console/index.js')
  const port = consolePort(context.options)
  if (port === undefined) return undefined
  const started = await startConsole({ service: context.service, stage: context.stage, provider: definitionOf(context.provider).title, functions: functionViews(context.plan) }, port.port, { chosen: port.chosen })
  context.log.notice(`Polycloud console: ${started.url} (functions, invocations, traces, queues; --consolePort, --noConsole)`)
  return started
}

/** `@polycloud/auth`'s policy rules, loaded only for a service whose routes declare security. */
async function policyResolver(): Promise<PolicyResolver | undefined> {
  try {
    return (await import('@polycloud/auth/policy')).resolvePolicy
  } catch {
    return undefined // functionSecurity names the function and says to install it.
  }
}

const consoleLogger: Logger = {
  notice: (message) => console.log(message),
  info: () => {},
  verbose: () => {},
  warning: (message) => console.warn(message),
  error: (message) => console.error(message),
}
