/**
 * Cloudflare Workers: a service is ONE module Worker (`<service>-<stage>`) whose `fetch` routes the service's routes,
 * `scheduled` runs its Cron Triggers and `queue` its Queues consumers (R2 event notifications arrive through a
 * queue). The plugin packages it itself (esbuild, ES module, source map, upload metadata, wrangler.json), serves the
 * packaged Worker on workerd through miniflare, and deploys it through Cloudflare's REST API. The commands import
 * what they need (esbuild, miniflare, the API client) when they run.
 */
import { commandFiles, type ProviderDefinition } from '../../provider.js'
import { workerEntries } from './entry.js'
import { cloudflarePlan, type CloudflarePlan } from './plan.js'

/** Seconds: the default CPU limit of a Worker invocation (context.deadline of a function without a timeout). */
const DEFAULT_TIMEOUT = 30

/** The JSON schema of `custom.polycloud.cloudflare`. */
const CUSTOM_SCHEMA = {
  type: 'object',
  properties: {
    plan: { enum: ['free', 'paid'] },
    compatibilityDate: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    compatibilityFlags: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9_]+$' }, uniqueItems: true },
    cpuMs: { type: 'integer', minimum: 10, maximum: 300000 },
    workersDev: { type: 'boolean' },
    routes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { pattern: { type: 'string', minLength: 1 }, zone: { type: 'string', minLength: 1 }, customDomain: { type: 'boolean' } },
        required: ['pattern'],
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
}

export const cloudflare: ProviderDefinition<CloudflarePlan> = {
  name: 'cloudflare',
  aliases: ['workers'],
  title: 'Cloudflare',
  platform: 'Cloudflare Workers',
  adapter: { package: '@polycloud/cloudflare', provider: 'cloudflare' },
  // Workers run on workerd, chosen by a compatibility date (custom.polycloud.cloudflare), not a Node.js version: no runtime table.
  // serverless-cloudflare-workers.
  nativeEvents: ['http'],
  defaultTimeout: DEFAULT_TIMEOUT,
  /** Workers accept request bodies up to 100 MB on the Free and Pro plans. */
  httpBodyLimit: 100 * 1000 * 1000,
  customSchema: CUSTOM_SCHEMA,
  plan: cloudflarePlan,
  entries: workerEntries,
  commands: commandFiles(import.meta.url, ['package', 'offline', 'invokeLocal', 'deploy', 'remove', 'info']),
}
