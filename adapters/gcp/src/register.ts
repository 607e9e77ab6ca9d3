import { createRequire } from 'node:module'
import type { PortableHandler, Source } from '@polycloud/core/adapter'
import { createCloudEventFunction, createHttpFunction, type CloudEventFunction, type HttpFunction } from './functions-framework.js'
import { cloudLoggingSink } from './logging.js'
import { createPushFunction } from './push.js'

type Env = Readonly<Record<string, string | undefined>>

/** The part of @google-cloud/functions-framework the registration helpers call. */
interface FunctionsFramework {
  http(name: string, fn: HttpFunction): void
  cloudEvent(name: string, fn: CloudEventFunction): void
}

let framework: FunctionsFramework | undefined
let warned = false

/**
 * The Functions Framework, loaded on first registration (synchronously, from the same module instance FF's own
 * loader uses) so that importing this package for `inspect` or tests does not load Express.
 */
function loadFramework(): FunctionsFramework {
  return (framework ??= createRequire(import.meta.url)('@google-cloud/functions-framework') as FunctionsFramework)
}

/**
 * FF and Express answer a request they fail on before the function runs (a body that is not valid JSON, for one)
 * with Express's HTML error page, which holds the stack trace unless NODE_ENV is `production`. Google's buildpack
 * sets NODE_ENV=production by default but `development` when the build runs a `gcp-build` or `build` script (as
 * TypeScript functions do); deploying with `--set-env-vars NODE_ENV=production` fixes it. Warn once when deployed
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
        `NODE_ENV is ${JSON.stringify(env.NODE_ENV ?? '')}, not "production": the Functions Framework answers requests ` +
        'it rejects itself (such as invalid JSON bodies) with a stack trace. Deploy with --set-env-vars NODE_ENV=production.',
      time: new Date().toISOString(),
    }),
  )
}

/**
 * Registers a portable handler as an HTTP function with the Functions Framework (`--target=name`): an HTTP handler
 * as such, an event handler as a push endpoint ({@link createPushFunction}).
 */
export function registerHttp(name: string, handler: PortableHandler, sources: readonly Source[]): void {
  warnAboutNodeEnv(process.env)
  const fn = handler.kind === 'http' ? createHttpFunction(handler, sources, { name }) : createPushFunction(handler, sources, { name })
  loadFramework().http(name, fn)
}

/** Registers a portable event handler as a CloudEvent function with the Functions Framework. */
export function registerCloudEvent(name: string, handler: PortableHandler, sources: readonly Source[]): void {
  warnAboutNodeEnv(process.env)
  loadFramework().cloudEvent(name, createCloudEventFunction(handler, sources, { name }))
}
