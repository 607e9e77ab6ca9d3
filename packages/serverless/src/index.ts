/**
 * serverless-polycloud: functions declared once with neutral events, deployed with portable handlers to the
 * provider `provider.name` names (aws, azure, google, cloudflare).
 *
 * In the constructor it picks the provider's target (`providers/<name>/`), registers the neutral event schemas
 * (the framework validates them before any hook) and refuses another provider's native events. At `initialize`
 * (after validation, before any command) it reads every function once (`functions.ts`) and writes the generated
 * entries to `.polycloud/<provider>/`. On AWS it then hands the rewritten functions to the framework's own AWS
 * machinery (osls, serverless-esbuild, serverless-offline). For the other providers it is the provider: it
 * registers itself with the framework, keeps the AWS-only plugins out of the way, and serves package, offline,
 * deploy, remove, info, invoke and invoke local through the target.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { BundleError } from './bundle.js'
import { ConfigError, ProviderError, frameworkError } from './errors.js'
import { checkHandlers, isExcluded, prepareFunctions } from './functions.js'
import { NATIVE_EVENTS, nativeOwners } from './native.js'
import {
  PROVIDERS,
  providerName,
  type Command,
  type FunctionConfig,
  type Logger,
  type PlanContext,
  type PreparedFunction,
  type ProviderName,
  type ProviderTarget,
  type ServiceContext,
} from './provider.js'
import { TARGETS } from './providers/index.js'
import { runtimeProblems } from './runtime.js'
import { declaresSecurity, type PolicyResolver } from './security.js'
import { FUNCTION_SCHEMA, NEUTRAL_EVENT_NAMES, customSchema, explainSchemaErrors, isNeutralEvent, neutralEventSchema, type SchemaMessages } from './schema.js'

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

/** Plugins whose work Polycloud does itself for every provider but AWS (they know only Lambda). */
const AWS_ONLY_PLUGINS = new Set(['EsbuildServerlessPlugin', 'ServerlessOffline'])

/** The framework's generic packaging (a zip of the service folder), replaced by each target's own artifact. */
const GENERIC_PACKAGING = new Set(['Package'])

/** The commands a non-AWS target serves, the lifecycle events they run at, and their options. */
const COMMANDS: ReadonlyArray<{ command: keyof ProviderTarget; event: string; describe: string }> = [
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

const string = (usage: string, shortcut?: string) => ({ usage, type: 'string', ...(shortcut ? { shortcut } : {}) })

export default class PolycloudPlugin {
  readonly hooks: Record<string, () => Promise<void>>
  readonly commands: Json = {}
  readonly #serverless: Serverless
  readonly #options: Readonly<Record<string, unknown>>
  readonly #log: Logger | undefined
  readonly #target: ProviderTarget
  #context: ServiceContext | undefined
  /** What the target's hand-over left to release when a command fails. */
  #handedOver: { release(): Promise<void> } | undefined

  constructor(serverless: Serverless, options: Record<string, unknown> | undefined, utils?: { log?: Logger }) {
    this.#serverless = serverless
    this.#options = options ?? {}
    this.#log = utils?.log
    const written = serverless.service.provider.name
    const name = providerName(written)
    if (name === undefined) {
      throw this.#error(`provider ${JSON.stringify(written)} is not one Polycloud deploys to: use ${PROVIDERS.join(', ')} (POLYCLOUD_PROVIDER)`)
    }
    // One spelling from here on (`gcp` is read as `google`), in every message and for every later plugin.
    serverless.service.provider.name = name
    this.#target = TARGETS[name]
    if (name !== 'aws') this.#becomeProvider(name)
    const schemas = serverless.configSchemaHandler
    for (const event of NEUTRAL_EVENT_NAMES) {
      schemas.defineFunctionEvent(name, event, neutralEventSchema(event, this.#target.eventOptions?.[event]))
    }
    schemas.defineFunctionProperties(name, FUNCTION_SCHEMA)
    schemas.defineCustomProperties(customSchema(name, PROVIDERS, this.#target.customSchema as Json | undefined))
    const vocabulary = { title: this.#target.title, natives: NATIVE_EVENTS[name], ...(this.#target.eventOptions ? { extensions: this.#target.eventOptions } : {}) }
    explainSchemaErrors(schemas as SchemaMessages, () => serverless.service.functions, vocabulary)
    // Validation runs before any hook: another provider's native event must be refused here, by name.
    this.#checkForeignEvents(name)
    this.hooks = {
      initialize: () => this.#initialize(),
      // A failed command ends once its error is shown: nothing a tool started may keep the process alive.
      error: async () => {
        await this.#handedOver?.release()
      },
    }
    if (name !== 'aws') this.#serveCommands()
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
  #becomeProvider(name: ProviderName): void {
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
          ...(this.#target.providerSchema as Json | undefined),
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

  /** Hooks of the target's commands, and the options they take that the framework only declares for AWS. */
  #serveCommands(): void {
    const target = this.#target
    const region = string('Region of the service', 'r')
    this.commands.deploy = { options: { region } }
    this.commands.remove = { options: { region } }
    this.commands.info = { options: { region } }
    this.commands.invoke = { options: { region } }
    this.commands.offline = {
      usage: `Serves the packaged service locally on ${target.title}'s own runtime`,
      lifecycleEvents: ['start'],
      commands: { start: { lifecycleEvents: ['init', 'ready', 'end'], usage: 'Serves the packaged service locally' } },
      options: {
        host: string('Host to bind (default 127.0.0.1)'),
        port: string('Port to serve on'),
        httpPort: string('Port to serve on (serverless-offline spelling)'),
        ...target.offlineOptions,
      },
    }
    for (const { command, event, describe } of COMMANDS) {
      this.hooks[event] = async () => {
        const run = target[command] as Command<unknown> | undefined
        if (run === undefined) {
          const served = COMMANDS.filter(({ command: other }) => typeof target[other] === 'function').map((entry) => entry.describe)
          throw this.#error(`${describe} is not available for ${target.title} yet (it serves: ${served.join(', ') || 'none'})`)
        }
        try {
          await run(this.#prepared())
        } catch (error) {
          throw this.#userError(error)
        }
      }
    }
    // `serverless offline` and `serverless offline start` both start the server.
    this.hooks['offline:start:init'] = this.hooks['offline:start'] as () => Promise<void>
  }

  #checkForeignEvents(provider: ProviderName): void {
    for (const [name, fn] of Object.entries(this.#serverless.service.functions ?? {})) {
      if (isExcluded(fn, provider)) continue
      ;(fn.events ?? []).forEach((event, index) => {
        const key = Object.keys(event ?? {})[0] ?? ''
        const owners = nativeOwners(key)
        if (isNeutralEvent(key) || owners.length === 0) return
        if (!owners.includes(provider)) {
          throw this.#error(
            `functions.${name}.events[${index}]: ${JSON.stringify(key)} is a native ${owners.join('/')} event, which provider ${provider} cannot run; ` +
              `use a neutral event (${NEUTRAL_EVENT_NAMES.join(', ')}) to deploy the function anywhere`,
          )
        }
      })
    }
  }

  #prepared(): ServiceContext {
    if (this.#context === undefined) throw this.#error('the service was not read (the initialize hook did not run)')
    return this.#context
  }

  async #initialize(): Promise<void> {
    const serverless = this.#serverless
    const service = serverless.service
    const target = this.#target
    if (target.name !== 'aws') this.#removeForeignHooks()
    const servicePath = serverless.serviceDir ?? serverless.config.servicePath ?? process.cwd()
    const command = (serverless.processedInput?.commands ?? []).join(' ')
    const local = LOCAL_FOLDERS[command]
    const workDir = join(servicePath, ENTRY_DIR, local ? `${target.name}-${local}` : target.name)
    const stage = (this.#options.stage as string | undefined) ?? service.provider.stage ?? 'dev'
    const custom = service.custom?.polycloud?.[target.name] ?? {}
    const planContext: PlanContext = {
      service: service.service,
      stage,
      servicePath,
      providerConfig: service.provider,
      custom,
      command,
      get resources(): Json {
        service.resources ??= {}
        return (service.resources.Resources ??= {})
      },
    }
    const http = service.custom?.polycloud?.http
    // Functions excluded from this provider are not the framework's business either (osls would package them).
    const excluded = Object.keys(service.functions ?? {}).filter((name) => isExcluded(service.functions[name] as FunctionConfig, target.name))
    for (const name of excluded) delete service.functions[name]
    const log = this.#log ?? consoleLogger
    this.#checkRuntimes(command, log)
    let functions: PreparedFunction[]
    try {
      const resolve = declaresSecurity(service.functions ?? {}, http) ? await policyResolver() : undefined
      functions = prepareFunctions(service.functions ?? {}, target, planContext, { http, resolve })
      const later = target.name === 'aws' ? CHECK_AWAITED_AT[command] : undefined
      const checked = LOADING_COMMANDS.has(command) && later === undefined ? checkHandlers(functions, { servicePath, workDir, adapter: target.adapter }) : undefined
      await checked
      rmSync(workDir, { recursive: true, force: true })
      mkdirSync(workDir, { recursive: true })
      for (const entry of target.entries(functions, { workDir, servicePath, service: service.service, stage, providerConfig: service.provider, custom, command })) {
        const file = join(workDir, entry.file)
        mkdirSync(dirname(file), { recursive: true })
        writeFileSync(file, entry.source)
      }
      if (later !== undefined) await this.#checkLater(later, checkHandlers(functions, { servicePath, workDir, adapter: target.adapter }))
    } catch (error) {
      throw this.#userError(error)
    }
    this.#context = {
      provider: target.name,
      service: service.service,
      stage,
      region: (this.#options.region as string | undefined) ?? service.provider.region,
      servicePath,
      workDir,
      packageDir: (this.#options.package as string | undefined) ?? service.package?.path ?? join(servicePath, '.serverless'),
      functions,
      providerConfig: service.provider,
      custom,
      command,
      options: this.#options,
      log,
      write: (line) => process.stdout.write(`${line}\n`),
    }
    this.#handedOver = target.handOver?.(this.#context, serverless) ?? undefined
    for (const fn of functions) {
      const declared = fn.security?.resolved.maxBodySize
      if (declared !== undefined && target.httpBodyLimit !== undefined && declared > target.httpBodyLimit) {
        log.warning(`serverless-polycloud: functions.${fn.name}: maxBodySize ${declared} is more than ${target.title} accepts (${target.httpBodyLimit} bytes): larger bodies are refused by the platform before the function runs`)
      }
    }
    if (excluded.length > 0) log.notice(`serverless-polycloud: ${excluded.join(', ')} not deployed to ${target.title} (excludeFrom)`)
    log.info(`serverless-polycloud: wrote ${functions.length} function entries to ${relative(servicePath, workDir)}`)
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

  /** Runtimes the provider has deprecated or blocked (`runtime.ts`): a warning at `package`, a refusal at `deploy`. */
  #checkRuntimes(command: string, log: Logger): void {
    if (command !== 'package' && !DEPLOY_COMMANDS.has(command)) return
    const service = this.#serverless.service
    const problems = runtimeProblems(this.#target.name, service.provider.runtime, service.functions ?? {})
    if (problems.length === 0) return
    if (DEPLOY_COMMANDS.has(command)) {
      throw this.#error(`${problems.map((problem) => problem.message).join('\n')}\nNot deploying: change the runtime in serverless.yml.`)
    }
    for (const problem of problems) log.warning(`serverless-polycloud: ${problem.message}\n\`serverless deploy\` refuses it until the runtime changes.`)
  }

  /**
   * Takes the AWS-only plugins' hooks out (serverless-esbuild would bundle for Lambda and fail, serverless-offline
   * would serve Lambda semantics) and the framework's generic zip of the service folder (the target writes its own
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
