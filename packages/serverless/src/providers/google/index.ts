/**
 * Google Cloud Functions (gen 2): the service's routes behind one routing function, each function registered with
 * the Functions Framework under its name, events through Eventarc, Pub/Sub push subscriptions and Cloud Scheduler.
 * The plugin packages the source zip itself, emulates it on the Functions Framework, and deploys it with Google's
 * own clients; what a command needs is imported when it runs.
 */
import { commandFiles, type ProviderDefinition } from '../../provider.js'
import { googleEntries } from './entry.js'
import { GOOGLE_RUNTIMES, googlePlan, type GooglePlan } from './plan.js'

const TIME_ZONE = { type: 'string', pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$' }

/**
 * Named `google`, as serverless-google-cloudfunctions names the provider (and `gcp` or `gcf` accepted); its adapter
 * is `@polycloud/gcp`, and handlers see `context.provider` as `gcp`, the adapter's id.
 */
export const google: ProviderDefinition<GooglePlan> = {
  name: 'google',
  aliases: ['gcp', 'gcf'],
  title: 'Google Cloud',
  platform: 'Google Cloud Functions',
  adapter: { package: '@polycloud/gcp', provider: 'gcp' },
  runtimes: GOOGLE_RUNTIMES,
  // serverless-google-cloudfunctions.
  nativeEvents: ['http', 'event'],
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

  plan: googlePlan,
  entries: googleEntries,
  commands: commandFiles(import.meta.url, ['package', 'offline', 'invokeLocal', 'deploy', 'remove', 'info', 'invoke']),
}
