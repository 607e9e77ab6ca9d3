import { createRequire } from 'node:module'
import type { HttpHandler, PortableHandler, Source } from '@polycloud/core/adapter'
import { adjustFramework } from './framework-errors.js'
import { createCloudEventFunction, createHttpFunction, type CloudEventFunction, type HttpFunction } from './functions-framework.js'
import { cloudLoggingSink } from './logging.js'
import { createPushFunction } from './push.js'
import { createRoutedHttpFunction, type RouteBinding } from './routes.js'

type Env = Readonly<Record<string, string | undefined>>

/** The part of @google-cloud/functions-framework the registration helpers call. */
interface FunctionsFramework {
  http(name: string, fn: HttpFunction): void
  cloudEvent(name: string, fn: CloudEventFunction): void
}

let framework: FunctionsFramework | undefined
let warned = false

/**
 * Node's `require` where this code runs: the bundle's own in a CommonJS bundle (where `import.meta.url` is not
 * defined), else one made from this module's URL.
 */
function moduleRequire(): NodeJS.Require {
  return typeof require === 'function' ? require : createRequire(import.meta.url)
}

/**
 * The Functions Framework, loaded on first registration (synchronously, from the same module instance FF's own
 * loader uses) so that importing this package for `inspect` or tests does not load Express. Its request handling
 * is adjusted then, before FF builds its server (see `framework-errors.ts`).
 */
function loadFramework(): FunctionsFramework {
  if (framework === undefined) {
    const load = moduleRequire()
    const path = load.resolve('@google-cloud/functions-framework')
    adjustFramework(createRequire(path))
    framework = load(path) as FunctionsFramework
  }
  return framework
}

/**
 * Outside production, the Functions Framework answers a failed CloudEvent delivery with the error's message, and
 * libraries read NODE_ENV too. Google's buildpack sets NODE_ENV=production by default but `development` when the
 * build runs a `gcp-build` or `build` script (as TypeScript functions do); deploying with
 * `--set-env-vars NODE_ENV=production` fixes it (the Serverless plugin sets it). Warn once when deployed
 * (K_SERVICE set) without it.
 */
function warnAboutNodeEnv(env: Env): void {
  if (warned || env.NODE_ENV === 'production' || !env.K_SERVICE) return
  warned = true
  cloudLoggingSink(
    'warn',
    JSON.stringify({
      level: 'warn',
      message:
        `NODE_ENV is ${JSON.stringify(env.NODE_ENV ?? '')}, not "production": the Functions Framework answers a failed ` +
        'event delivery with the error message. Deploy with --set-env-vars NODE_ENV=production.',
      time: new Date().toISOString(),
    }),
  )
}

/**
 * Registers a portable handler as an HTTP function with the Functions Framework (`--target=name`): an HTTP handler
 * as such, an event handler as a push endpoint ({@link createPushFunction}).
 */
export function registerHttp(name: string, handler: PortableHandler, sources: readonly Source[]): void {
  if (handler.kind === 'http') return registerHttpHandler(name, handler, sources)
  warnAboutNodeEnv(process.env)
  loadFramework().http(name, createPushFunction(handler, sources, { name }))
}

/**
 * Registers a portable HTTP handler as an HTTP function: {@link registerHttp} without the push endpoint's code, for
 * bundles of HTTP functions (a non-HTTP handler is refused with a TypeError naming its kind).
 */
export function registerHttpHandler(name: string, handler: PortableHandler, sources: readonly Source[]): void {
  warnAboutNodeEnv(process.env)
  loadFramework().http(name, createHttpFunction(handler as HttpHandler, sources, { name }))
}

/** Registers a portable event handler as a CloudEvent function with the Functions Framework. */
export function registerCloudEvent(name: string, handler: PortableHandler, sources: readonly Source[]): void {
  warnAboutNodeEnv(process.env)
  loadFramework().cloudEvent(name, createCloudEventFunction(handler, sources, { name }))
}

/**
 * Registers one HTTP function serving many routes under its URL (see {@link createRoutedHttpFunction}): what a
 * service's `route` events become on Google Cloud, where a function has no path routing of its own.
 */
export function registerRoutes(name: string, routes: readonly RouteBinding[], sources: readonly Source[]): void {
  warnAboutNodeEnv(process.env)
  loadFramework().http(name, createRoutedHttpFunction(routes, sources, { name }))
}
