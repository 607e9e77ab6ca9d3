/**
 * Cloudflare Workers: a service is ONE module Worker (`<service>-<stage>`) whose `fetch` routes the service's routes,
 * `scheduled` runs its Cron Triggers and `queue` its Queues consumers (R2 event notifications arrive through a
 * queue). The plugin packages it itself (esbuild, ES module, source map, upload metadata, wrangler.json), serves the
 * packaged Worker on workerd through miniflare, and deploys it through Cloudflare's REST API. The commands import
 * what they need (esbuild, miniflare, the API client) when they run.
 */
import type { ProviderTarget } from '../../provider.js'
import { ENTRY_FILE, providerVars, serviceEntry } from './entry.js'
import { CUSTOM_SCHEMA, neutralPlan, scriptName, type CloudflareTrigger } from './mapping.js'

/** Seconds: the default CPU limit of a Worker invocation (context.deadline of a function without a timeout). */
const DEFAULT_TIMEOUT = 30

export const cloudflare: ProviderTarget<CloudflareTrigger> = {
  name: 'cloudflare',
  title: 'Cloudflare',
  adapter: '@polycloud/cloudflare',
  defaultTimeout: DEFAULT_TIMEOUT,
  /** Workers accept request bodies up to 100 MB on the Free and Pro plans. */
  httpBodyLimit: 100 * 1000 * 1000,
  customSchema: CUSTOM_SCHEMA,

  plan(event, fn, context) {
    // Native events (serverless-cloudflare-workers' `http`) are not served: the plugin answers with its message.
    if (!event.neutral) return undefined
    return neutralPlan(event.key, event.value, event.path, fn.name, { service: context.service, stage: context.stage })
  },

  entries(functions, context) {
    const script = scriptName({ service: context.service, stage: context.stage })
    return [{ file: ENTRY_FILE, source: serviceEntry(functions, { ...context, script, providerEnvironment: providerVars(context) }), functions: functions.map((fn) => fn.name) }]
  },

  package: async (context) => {
    const { packageService, reportPackage } = await import('./package.js')
    reportPackage(context, await packageService(context))
  },
  offline: async (context) => (await import('./offline.js')).offline(context),
  invokeLocal: async (context) => (await import('./invoke.js')).invokeLocal(context),
  deploy: async (context) => (await import('./deploy.js')).deploy(context),
  remove: async (context) => (await import('./deploy.js')).remove(context),
  info: async (context) => (await import('./deploy.js')).info(context),
}
