/**
 * AWS Lambda: neutral events become osls's native AWS events (and the CloudFormation resources they need), each
 * function's handler becomes its generated entry, and the framework's own AWS machinery (osls, serverless-esbuild,
 * serverless-offline) packages, deploys and emulates the rewritten service.
 */
import { basename, dirname, relative } from 'node:path'
import type { EventSpec, PreparedFunction, ProviderTarget, ServiceContext } from '../../provider.js'
import { KEYS_VARIABLE } from '../../security.js'
import { lambdaEntry } from './entry.js'
import { manageEsbuild } from './esbuild.js'
import { LAMBDA_REQUEST_LIMIT, truthfulOffline } from './offline.js'
import { FUNCTION_URL_PLAN, nativePlan, neutralPlan, type AwsSettings } from './mapping.js'
import { authorizerName, authorizers, enforcedByPlatform, platformCors, platformJwt } from './security.js'

type Json = Record<string, unknown>

/** osls's default function timeout, in seconds. */
const DEFAULT_TIMEOUT = 6

/** The framework's view of the service that the hand-over rewrites. */
interface AwsService {
  service: {
    provider: { apiGateway?: Json; httpApi?: Json; environment?: Json }
    functions: Record<string, { events?: Json[]; handler?: string; environment?: Json }>
    custom?: { esbuild?: Json }
  }
}

/**
 * Source maps for the bundles (`custom.esbuild.sourcemap`, unless the service says otherwise) and Node told to use
 * them (`NODE_OPTIONS=--enable-source-maps` in each Polycloud function's environment, deployed and under
 * serverless offline, whose worker threads read it), so stack traces in logs point at the TypeScript handlers.
 * The maps hold no sources (`sourcesContent: false`): only names and positions, a few KB per function.
 */
function enableSourceMaps(service: AwsService['service'], functions: ReadonlyArray<PreparedFunction<Json[]>>, command: string | undefined): void {
  const esbuild = (service.custom ??= {}).esbuild ??= {}
  esbuild.sourcemap ??= 'linked'
  if (esbuild.sourcemap === false || esbuild.sourcemap === 'external') return
  esbuild.sourcesContent ??= false
  const global = service.provider.environment?.NODE_OPTIONS
  for (const fn of functions) {
    const config = service.functions[fn.name]
    if (!config) continue
    const own = config.environment?.NODE_OPTIONS
    const current = own ?? global
    if (current !== undefined && typeof current !== 'string') continue
    if (current?.includes('--enable-source-maps')) continue
    config.environment = { ...config.environment, NODE_OPTIONS: current ? `${current} --enable-source-maps` : '--enable-source-maps' }
  }
  // `invoke local` runs the bundle in this process.
  if (command === 'invoke local') process.setSourceMapsEnabled(true)
}

/** The API `route` events go to unless they say: `custom.polycloud.aws.routes`, default the HTTP API. */
function defaultApi(custom: Readonly<Json>): AwsSettings['routes'] {
  return (custom.routes as AwsSettings['routes'] | undefined) ?? 'http-api'
}

/**
 * What API Gateway enforces of the routes' security: JWT authorizers and the API's CORS configuration
 * (`provider.httpApi`), and the API keys' digests in the environment of the functions that check them.
 */
function secureHttpApi(service: AwsService['service'], context: ServiceContext<Json[]>): void {
  const routes = defaultApi(context.custom)
  const found = authorizers(context.functions, routes, context.command ?? '')
  const cors = platformCors(context.functions, routes, context.command ?? '')
  if (Object.keys(found).length > 0 || cors) {
    const httpApi = (service.provider.httpApi ??= {})
    if (Object.keys(found).length > 0) httpApi.authorizers = { ...(httpApi.authorizers as Json | undefined), ...found }
    if (cors) httpApi.cors = cors
  }
  for (const fn of context.functions) {
    const keys = fn.environment[KEYS_VARIABLE]
    const config = service.functions[fn.name]
    if (keys !== undefined && config) config.environment = { ...config.environment, [KEYS_VARIABLE]: keys }
  }
}

/** serverless-esbuild's own watch ignores (its `DEFAULT_BUILD_OPTIONS`), which a `watch.ignore` of the service replaces. */
const WATCH_IGNORED = ['.esbuild', 'dist', 'node_modules', '.build']

/**
 * Each command bundles in a folder of its own (`.esbuild/<the entries' folder>`, unless the service sets
 * `custom.esbuild.outputWorkFolder`): serverless-esbuild deletes its whole work folder after `package`, and
 * `invoke local` rebuilds in it, which would pull the bundles from under a running `serverless offline`.
 *
 * And the generated entries are not sources for `serverless offline`'s file watcher: it watches every `.js`/`.ts`
 * file of the service, so each `invoke local` beside it (which writes its own entries under `.polycloud/`) made it
 * rebuild, and serverless-offline then ended every function's worker thread, one still starting included; the
 * invocation that worker was to run never settled and answered the Lambda timeout (a 500 from the HTTP API). The
 * entries are written once per command, from the handlers, which stay watched.
 */
function separateBuilds(service: AwsService['service'], workDir: string, servicePath: string): void {
  const esbuild = ((service.custom ??= {}).esbuild ??= {})
  esbuild.outputWorkFolder ??= `.esbuild/${basename(workDir)}`
  const watch = ((esbuild.watch as Json | undefined) ??= {})
  const ignored = watch.ignore === undefined ? WATCH_IGNORED : ([] as unknown[]).concat(watch.ignore)
  const entries = relative(servicePath, dirname(workDir)).replaceAll('\\', '/')
  if (!ignored.includes(entries)) watch.ignore = [...ignored, entries]
}

/** An ARN, or a CloudFormation intrinsic (`Fn::GetAtt`, `Fn::ImportValue`, ...) that resolves to one. */
const ARN = { anyOf: [{ type: 'string', pattern: '^arn:' }, { type: 'object' }] }

const URL_EVENT: EventSpec = { key: 'url', value: true, path: 'url', neutral: false }

export const aws: ProviderTarget<Json[]> = {
  name: 'aws',
  title: 'AWS',
  adapter: '@polycloud/aws',
  defaultTimeout: DEFAULT_TIMEOUT,
  customSchema: {
    type: 'object',
    properties: {
      /** Which API Gateway serves `route` events: HTTP API (payload 2.0, default) or REST API (1.0). */
      routes: { enum: ['http-api', 'rest-api'] },
    },
    additionalProperties: false,
  },
  eventOptions: {
    route: { properties: { api: { enum: ['http-api', 'rest-api'] } } },
    fromQueue: { properties: { arn: ARN }, required: [['arn']] },
    topic: { properties: { arn: ARN, filterPolicy: { type: 'object' } }, required: [['arn']] },
    changes: { properties: { arn: ARN }, required: [['arn']] },
  },

  plan(event, fn, context) {
    if (!event.neutral) return nativePlan(event.key, event.value)
    const routes = defaultApi(context.custom)
    const auth = fn.security?.resolved.auth
    const settings: AwsSettings = {
      service: context.service,
      stage: context.stage,
      routes,
      timeout: fn.timeout,
      resources: context.resources,
      authorizer: auth?.kind === 'jwt' && platformJwt(fn, routes, context.command ?? '') ? { name: authorizerName(auth), scopes: auth.scopes } : undefined,
    }
    return neutralPlan(event.key, event.value, event.path, settings)
  },

  answersPreflight(context) {
    return platformCors(context.functions ?? [], defaultApi(context.custom), context.command ?? '') !== undefined
  },

  /** API Gateway's payload limit for a synchronous Lambda invocation (6 MB), below the HTTP API's own 10 MB. */
  httpBodyLimit: LAMBDA_REQUEST_LIMIT,

  implicitPlans(fn) {
    return fn.config.url ? [{ spec: URL_EVENT, plan: FUNCTION_URL_PLAN }] : []
  },

  entries(functions, { workDir, servicePath, custom = {}, command = '' }) {
    const routes = defaultApi(custom)
    const apiCors = platformCors(functions, routes, command) !== undefined
    return functions.map((fn) => ({
      file: `${fn.name}.js`,
      source: lambdaEntry(fn, workDir, servicePath, enforcedByPlatform(fn, apiCors, routes, command)),
      functions: [fn.name],
    }))
  },

  /** Points each function at its entry and gives osls the native events; serverless-esbuild bundles the entries. */
  handOver(context: ServiceContext<Json[]>, serverless: unknown) {
    const service = (serverless as AwsService).service
    const relativeDir = relative(context.servicePath, context.workDir).replaceAll('\\', '/')
    separateBuilds(service, context.workDir, context.servicePath)
    // Read from the routes as written: the loop below replaces them with osls's events.
    secureHttpApi(service, context)
    let rest = false
    for (const fn of context.functions as ReadonlyArray<PreparedFunction<Json[]>>) {
      const config = service.functions[fn.name]
      if (!config) continue
      config.events = fn.events.flatMap(({ plan }) => plan.native)
      config.handler = `${relativeDir}/${fn.name}.handler`
      rest ||= fn.sources.some((source) => source.name === 'apiGatewayV1')
    }
    // REST APIs deliver binary bodies only for the media types listed here; all bodies are handled as bytes.
    if (rest) {
      const apiGateway = (service.provider.apiGateway ??= {})
      apiGateway.binaryMediaTypes ??= ['*/*']
    }
    enableSourceMaps(service, context.functions, context.command)
    if (context.command === 'offline' || context.command === 'offline start') {
      truthfulOffline(context.servicePath, context.log, context.stage, rest)
    }
    return manageEsbuild(serverless, context.servicePath, context.log)
  },
}
