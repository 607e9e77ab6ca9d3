/**
 * The local AWS services beside serverless-offline: under `serverless offline` (`npm start`) on AWS, the plugin
 * starts `startLocalAws` (`local/`: S3, SQS, SNS on one endpoint of 127.0.0.1, EventBridge schedules, and delivery
 * to the functions as Lambda delivers) with the service's queues, topics, buckets and schedules as the plan creates
 * them (`local-model.ts`), invoking the functions through serverless-offline's own Lambda Invoke API
 * (`--lambdaPort`), so they run in the same runtime, with the same bundles, as the HTTP routes.
 *
 * - The endpoint is `http://127.0.0.1:4566` (`--servicesPort`, `custom.polycloud.aws.offline.servicesPort`; 0
 *   picks a free port), printed at start with every queue, topic, bucket and schedule. State (queues and their
 *   messages, topics and subscriptions, buckets and objects) persists in `.polycloud/state/aws` (`--stateDir`,
 *   `custom.polycloud.aws.offline.stateDir`).
 * - The stores' DynamoDB tables are served on the same endpoint by dynalite (`local/dynamodb.ts`), their state in
 *   `<stateDir>/dynamodb`.
 * - Each function's environment gets `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_SNS` and `AWS_ENDPOINT_URL_DYNAMODB` (the
 *   SDK v3 sends each service's requests there), and static local credentials when the environment has none (the
 *   default chain would otherwise probe the instance metadata address); `AWS_REGION` is serverless-offline's.
 * - The services start when serverless-offline starts (after serverless-esbuild has bundled: its hook is placed
 *   just before serverless-offline's), and deliver once serverless-offline's Lambda endpoint answers. Schedules are
 *   fired by this scheduler only: the `schedule` events it runs are taken out of what serverless-offline sees.
 * - They stop, their state saved and their port closed, when serverless-offline ends (Ctrl-C, SIGTERM) and in the
 *   framework's `error` hook when the command fails.
 */
import { connect } from 'node:net'
import { isAbsolute, resolve } from 'node:path'
import { frameworkError, ConfigError, type FrameworkErrors } from '../../errors.js'
import { localRetrySeconds } from '../../local.js'
import type { Json, ServiceContext } from '../../provider.js'
import { addressResources } from './resources.js'
import { localModel } from './local-model.js'
import type { LocalAws } from './local/index.js'
import type { AwsPlan } from './plan.js'

export const DEFAULT_SERVICES_PORT = 4566
export const DEFAULT_STATE = '.polycloud/state/aws'

/** `serverless offline`'s options for the local services (the same under `custom.polycloud.aws.offline`). */
export const OFFLINE_OPTIONS = {
  servicesPort: { usage: `Port of the local S3, SQS, SNS and DynamoDB endpoint (default ${DEFAULT_SERVICES_PORT}; 0: any free port)`, type: 'string' },
  stateDir: { usage: `Folder the local AWS services keep their state in (default ${DEFAULT_STATE})`, type: 'string' },
} as const

export interface ServicesSettings {
  readonly port: number
  /** Absolute. */
  readonly state: string
  readonly retrySeconds: number | undefined
}

/** The command line options, else `custom.polycloud.aws.offline`, else the defaults. */
export function servicesSettings(context: Pick<ServiceContext<AwsPlan>, 'options' | 'servicePath' | 'plan'>): ServicesSettings {
  const custom = (context.plan.model.custom.offline ?? {}) as Json
  const rawPort = context.options.servicesPort ?? custom.servicesPort
  const port = rawPort === undefined || rawPort === '' ? DEFAULT_SERVICES_PORT : Number(rawPort)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('--servicesPort', `${JSON.stringify(rawPort)} is not a port (0-65535)`)
  const state = String(context.options.stateDir ?? custom.stateDir ?? DEFAULT_STATE)
  return { port, state: isAbsolute(state) ? state : resolve(context.servicePath, state), retrySeconds: localRetrySeconds() }
}

/** The parts of the framework and of serverless-offline used here. */
interface Framework extends FrameworkErrors {
  service: {
    service?: string
    provider: { region?: string; stage?: string; environment?: Json }
    functions: Record<string, { name?: string; environment?: Json }>
    custom?: Record<string, unknown>
  }
  pluginManager?: { plugins?: object[]; hooks: Record<string, Array<{ pluginName: string; hook: (...args: unknown[]) => unknown }>> }
}

interface OfflinePlugin {
  end(skipExit?: boolean): Promise<void>
}

/** Where serverless-offline's Lambda Invoke API listens (its `host` and `lambdaPort`, from the CLI, custom or defaults). */
export function lambdaEndpoint(options: Readonly<Record<string, unknown>>, custom: Json | undefined): { host: string; port: number } {
  const host = String(options.host ?? custom?.host ?? 'localhost')
  const port = Number(options.lambdaPort ?? custom?.lambdaPort ?? 3002)
  // A wildcard address is reached on the loopback interface.
  return { host: host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, port }
}

/** Resolves once something accepts connections on host:port (polling), or with false when `signal` aborts. */
async function listening(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    const open = await new Promise<boolean>((done) => {
      const socket = connect({ host, port })
      socket.once('connect', () => (socket.destroy(), done(true)))
      socket.once('error', () => (socket.destroy(), done(false)))
    })
    if (open) return true
    await new Promise((done) => setTimeout(done, 100).unref())
  }
  return false
}

/** The variables a function's own SDK code (and Polycloud's resource clients) need to reach the local services. */
export function localEnvironment(endpoint: string, env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const variables: Record<string, string> = { AWS_ENDPOINT_URL_S3: endpoint, AWS_ENDPOINT_URL_SQS: endpoint, AWS_ENDPOINT_URL_SNS: endpoint, AWS_ENDPOINT_URL_DYNAMODB: endpoint }
  // Credentials the SDK's chain finds in the environment or a profile are the user's; none: local ones, so the
  // chain does not probe the instance metadata address.
  if (env.AWS_ACCESS_KEY_ID === undefined && env.AWS_PROFILE === undefined && env.AWS_CONTAINER_CREDENTIALS_FULL_URI === undefined) {
    Object.assign(variables, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' })
  }
  return variables
}

/**
 * Places the local services' start just before serverless-offline's (`offline:start`, `offline:start:init`) and
 * their stop just before its end; returns what the `error` hook releases. Without serverless-offline, nothing.
 */
export function servicesBesideOffline(context: ServiceContext<AwsPlan>, serverless: unknown): { release(): Promise<void> } | undefined {
  const framework = serverless as Framework
  const hooks = framework.pluginManager?.hooks
  const offline = framework.pluginManager?.plugins?.find((plugin) => plugin.constructor.name === 'ServerlessOffline') as OfflinePlugin | undefined
  if (hooks === undefined || offline === undefined) return undefined
  let aws: LocalAws | undefined
  let starting: Promise<void> | undefined
  const ready = new AbortController()
  const stop = async (): Promise<void> => {
    ready.abort()
    await starting?.catch(() => undefined)
    const running = aws
    aws = undefined
    await running?.stop()
  }

  const start = async (): Promise<void> => {
    starting ??= startServices(context, framework, ready.signal, (started) => (aws = started))
    try {
      await starting
    } catch (error) {
      throw error instanceof ConfigError || (error as Error).name === 'ProviderError' ? frameworkError(framework, (error as Error).message) : error
    }
  }
  const place = (event: string, hook: () => Promise<void>): void => {
    const entries = (hooks[event] ??= [])
    const at = entries.findIndex((entry) => entry.pluginName === 'ServerlessOffline')
    entries.splice(at === -1 ? entries.length : at, 0, { pluginName: 'PolycloudPlugin', hook })
  }
  place('offline:start', start)
  place('offline:start:init', start)
  place('offline:start:end', stop)
  // `serverless offline` ends through the instance's own `end` (which exits the process): stopped first.
  const end = offline.end.bind(offline)
  offline.end = async (skipExit) => {
    await stop()
    return end(skipExit)
  }
  return { release: stop }
}

async function startServices(context: ServiceContext<AwsPlan>, framework: Framework, ready: AbortSignal, started: (aws: LocalAws) => void): Promise<void> {
  const service = framework.service
  const settings = servicesSettings(context)
  const region = service.provider.region ?? 'us-east-1'
  const model = localModel({ plan: context.plan, functionName: (fn) => service.functions[fn]?.name ?? `${context.service}-${context.stage}-${fn}` })
  const log = context.log
  for (const warning of model.warnings) log.warning(`serverless-polycloud: ${warning}`)
  const lambda = lambdaEndpoint(context.options, service.custom?.['serverless-offline'] as Json | undefined)
  const { lambdaInvoker, startLocalAws } = await import('./local/index.js')
  let aws: LocalAws
  try {
    aws = await startLocalAws({
      port: settings.port,
      region,
      stateDir: settings.state,
      queues: model.queues,
      topics: model.topics,
      buckets: model.buckets,
      // The stores' tables on dynalite, behind the same endpoint (existing ones too: nothing exists locally).
      tables: context.plan.model.resources.filter((resource) => resource.kind === 'store').map((resource) => resource.deployedName),
      schedules: model.schedules,
      queueMappings: model.queueMappings,
      invoke: lambdaInvoker(`http://${lambda.host.includes(':') ? `[${lambda.host}]` : lambda.host}:${lambda.port}`),
      log: (line) => log.notice(line),
      deferDelivery: true,
      ...(settings.retrySeconds === undefined ? {} : { timing: { retryDelaySeconds: settings.retrySeconds } }),
    })
  } catch (error) {
    const message = (error as Error).message
    if (/port is in use/.test(message)) {
      throw new ConfigError('--servicesPort', `${settings.port}: the port is in use; stop what listens there, or pass --servicesPort <another> (0: any free port)`)
    }
    // A service's own refusal names what it refused in `extra` (the bucket name S3 finds invalid, say).
    const extra = (error as { extra?: unknown }).extra
    throw new ConfigError('offline', `the local AWS services could not start: ${message}${extra === undefined ? '' : ` ${JSON.stringify(extra)}`}`)
  }
  started(aws)
  if (context.console !== undefined) context.console.attachQueues((await import('./console.js')).sqsQueues(aws.sqs))
  service.provider.environment = { ...service.provider.environment, ...localEnvironment(aws.endpoint) }
  // Each function that uses resources finds them on the local services (names, queue URLs, topic ARNs).
  addressResources(service, context.plan, aws)
  for (const line of aws.summary()) log.notice(line)
  if (settings.retrySeconds !== undefined) log.notice(`  failed deliveries are retried after ${settings.retrySeconds} s (POLYCLOUD_OFFLINE_RETRY_SECONDS)`)
  // Deliveries begin once serverless-offline's Lambda endpoint answers (it starts after this hook).
  void listening(lambda.host, lambda.port, ready).then((open) => {
    if (open) aws.startDelivery()
  })
}
