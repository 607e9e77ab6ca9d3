/**
 * Google Cloud Functions (gen 2): the service's routes behind one routing function, each function registered with
 * the Functions Framework under its name, events through Eventarc, Pub/Sub push subscriptions and Cloud Scheduler.
 * The plugin packages the source zip itself, emulates it on the Functions Framework, and deploys it with Google's
 * own clients; what a command needs is imported when it runs.
 */
import type { ProviderTarget, ServiceContext } from '../../provider.js'
import { serviceEntries } from './entry.js'
import { serviceLayout } from './layout.js'
import { googleCustom, neutralPlan, type GoogleEvent } from './mapping.js'

const TIME_ZONE = { type: 'string', pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$' }

type Context = ServiceContext<GoogleEvent>

export const google: ProviderTarget<GoogleEvent> = {
  name: 'google',
  title: 'Google Cloud',
  adapter: '@polycloud/gcp',
  /** Cloud Functions gen 2's default timeout. */
  defaultTimeout: 60,
  /** Cloud Run functions accept HTTP/1 requests up to 32 MiB. */
  httpBodyLimit: 32 * 1024 * 1024,
  customSchema: {
    type: 'object',
    properties: {
      project: { type: 'string', pattern: '^[a-z][a-z0-9-]{4,28}[a-z0-9]$' },
      region: { type: 'string' },
      /** `nodejs22` or `nodejs24`; by default the major of `provider.runtime`. */
      runtime: { type: 'string' },
      /** Deploy each HTTP function on its own too (default true). */
      functionUrls: { type: 'boolean' },
      /** HTTP functions answer anyone (allUsers may invoke them; default true), as API Gateway routes do on AWS. */
      public: { type: 'boolean' },
      /** The service account the functions run as and triggers, subscriptions and jobs call them with. */
      serviceAccount: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
      /** The default time zone of `cron` events (UTC). */
      timeZone: TIME_ZONE,
      /** Labels added to everything the deploy creates. */
      labels: { type: 'object', additionalProperties: { type: 'string', pattern: '^[a-z0-9_-]{0,63}$' } },
    },
    additionalProperties: false,
  },
  providerSchema: { project: { type: 'string' } },
  eventOptions: {
    cron: { properties: { timeZone: TIME_ZONE } },
    changes: { properties: { database: { type: 'string', minLength: 1 }, location: { type: 'string', minLength: 1 } } },
  },

  plan(event, _fn, context) {
    if (!event.neutral) return undefined
    return neutralPlan(event.key, event.value, { service: context.service, stage: context.stage, timeZone: googleCustom(context.custom).timeZone })
  },

  entries(functions, { workDir, servicePath, service, stage }) {
    const layout = serviceLayout(functions, { service, stage, functionUrls: true })
    return serviceEntries(layout, functions, workDir, servicePath)
  },

  package: async (context: Context) => (await import('./package.js')).packageCommand(context),
  offline: async (context: Context) => (await import('./offline.js')).offlineCommand(context),
  invokeLocal: async (context: Context) => (await import('./offline.js')).invokeLocalCommand(context),
  deploy: async (context: Context) => (await import('./deploy.js')).deployCommand(context),
  remove: async (context: Context) => (await import('./deploy.js')).removeCommand(context),
  info: async (context: Context) => (await import('./deploy.js')).infoCommand(context),
  invoke: async (context: Context) => (await import('./deploy.js')).invokeCommand(context),
}
