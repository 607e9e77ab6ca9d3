/**
 * Azure Functions (Node.js v4 programming model, Flex Consumption). Neutral events become triggers registered in
 * one generated entry; the plugin bundles it into a deployment zip, serves that zip locally the way the Functions
 * host does (`serverless offline`), and deploys it with the Azure SDKs. The commands import what they need when
 * they run: loading this module loads no SDK.
 */
import { commandFiles, type ProviderDefinition } from '../../provider.js'
import { appEntries } from './entry.js'
import { EVENT_OPTIONS } from './events.js'
import { AZURE_RUNTIMES, azurePlan, type AzurePlan } from './plan.js'

const port = { type: 'integer', minimum: 0, maximum: 65535 }

export const azure: ProviderDefinition<AzurePlan> = {
  name: 'azure',
  aliases: [],
  title: 'Azure',
  platform: 'Azure Functions',
  adapter: { package: '@polycloud/azure', provider: 'azure' },
  runtimes: AZURE_RUNTIMES,
  // serverless-azure-functions (bindings with x-azure-settings).
  nativeEvents: ['http', 'timer', 'queue', 'serviceBus', 'blob', 'eventHub', 'cosmosDB', 'eventGrid'],
  /** Flex Consumption: 30 minutes unless host.json says otherwise; no maximum (HTTP responses end after 230 s). */
  defaultTimeout: 1800,
  /** The Functions host's HTTP request limit (100 MB). */
  httpBodyLimit: 100 * 1024 * 1024,
  customSchema: {
    type: 'object',
    properties: {
      /** The function app's name (global: `<name>.azurewebsites.net`); default `<service>-<stage>-<hash>`. */
      appName: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]$' },
      /** The resource group; default `<service>-<stage>`. */
      resourceGroup: { type: 'string', pattern: '^[-\\w._()]{1,89}[-\\w_()]$' },
      /** Flex Consumption scale-out limit (default 100). */
      maximumInstanceCount: { type: 'integer', minimum: 1, maximum: 1000 },
      offline: {
        type: 'object',
        properties: {
          port,
          /** The folder azurite keeps its data in (default `.azurite` in the service folder). */
          storage: { type: 'string', minLength: 1 },
          /** azurite's ports (default 10000 and 10001, azurite's own; 0 picks free ones). */
          blobPort: port,
          queuePort: port,
          logLevel: { enum: ['debug', 'info', 'warn', 'error'] },
        },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  },
  eventOptions: EVENT_OPTIONS,
  // custom.polycloud.resources.<name>.azure: a queue that is a Service Bus queue (sessions for fifo) rather than a Storage queue.
  resourceOptions: { type: 'object', properties: { serviceBus: { type: 'boolean' } }, additionalProperties: false },
  offlineOptions: {
    storage: { usage: 'Folder azurite keeps its data in (default .azurite)', type: 'string' },
    blobPort: { usage: 'Port of azurite Blob service (default 10000; 0: any free port)', type: 'string' },
    queuePort: { usage: 'Port of azurite Queue service (default 10001; 0: any free port)', type: 'string' },
    logLevel: { usage: 'debug, info (default), warn or error', type: 'string' },
  },

  plan: azurePlan,
  entries: appEntries,
  commands: commandFiles(import.meta.url, ['package', 'offline', 'invokeLocal', 'deploy', 'remove', 'info', 'invoke']),
}
