/**
 * Azure Functions (Node.js v4 programming model, Flex Consumption). Neutral events become triggers registered in
 * one generated entry; the plugin bundles it into a deployment zip, serves that zip locally the way the Functions
 * host does (`serverless offline`), and deploys it with the Azure SDKs. The commands import what they need when
 * they run: loading this module loads no SDK.
 */
import { ConfigError } from '../../errors.js'
import type { ProviderTarget, ServiceContext } from '../../provider.js'
import { appEntry } from './entry.js'
import { EVENT_OPTIONS, neutralPlan, type AzureTrigger } from './mapping.js'

type Context = ServiceContext<AzureTrigger>

const port = { type: 'integer', minimum: 0, maximum: 65535 }

export const azure: ProviderTarget<AzureTrigger> = {
  name: 'azure',
  title: 'Azure',
  adapter: '@polycloud/azure',
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
  offlineOptions: {
    storage: { usage: 'Folder azurite keeps its data in (default .azurite)', type: 'string' },
    blobPort: { usage: 'Port of azurite Blob service (default 10000; 0: any free port)', type: 'string' },
    queuePort: { usage: 'Port of azurite Queue service (default 10001; 0: any free port)', type: 'string' },
    logLevel: { usage: 'debug, info (default), warn or error', type: 'string' },
  },

  plan(event, fn, context) {
    if (!event.neutral) {
      throw new ConfigError('', `native event ${JSON.stringify(event.key)} is not served by Polycloud on Azure: use a neutral event (route, cron, fromQueue, topic, bucket, changes)`)
    }
    const timeout = fn.config.timeout ?? (context.providerConfig.timeout as number | undefined)
    return neutralPlan(event, fn.name, { service: context.service, stage: context.stage, timeout })
  },

  entries(functions, { workDir, servicePath }) {
    if (functions.length === 0) return []
    return [{ file: 'app.js', source: appEntry(functions, workDir, servicePath), functions: functions.map((fn) => fn.name) }]
  },

  async package(context: Context) {
    const { packageApp } = await import('./package.js')
    const started = Date.now()
    const app = await packageApp(context)
    context.log.notice(`Packaged ${context.functions.length} functions for Azure: ${app.zip} (${Math.round(app.bytes / 1024)} KB, ${Date.now() - started} ms)`)
  },

  async offline(context: Context) {
    const { serveOffline } = await import('./offline.js')
    await serveOffline(context)
  },

  async invokeLocal(context: Context) {
    const { invokeLocal } = await import('./offline.js')
    await invokeLocal(context)
  },

  async deploy(context: Context) {
    const { deploy } = await import('./deploy.js')
    await deploy(context)
  },

  async remove(context: Context) {
    const { remove } = await import('./deploy.js')
    await remove(context)
  },

  async info(context: Context) {
    const { info } = await import('./deploy.js')
    await info(context)
  },

  async invoke(context: Context) {
    const { invoke } = await import('./deploy.js')
    await invoke(context)
  },
}
