/**
 * The generated Azure entry: one module for the whole app (the Node worker loads every file of `main` when it
 * starts, so one bundle holds one copy of @azure/functions and of the handlers' shared code), registering each
 * function through @polycloud/azure's `register*` helpers with exactly the trigger its event maps to.
 */
import { SECURE_IMPORT, declaredSchedules, entryHeader, importHandler, securedHandler } from '../../entry.js'
import type { EntryContext, EntryFile } from '../../provider.js'
import { resourcesImports, withResourcesCall } from '../../resources.js'
import { telemetryLines } from '../../telemetry.js'
import type { AzureTrigger } from './events.js'
import type { AzurePlan } from './plan.js'

/** The file name of the entry in `.polycloud/azure/`. */
export const ENTRY_FILE = 'app.js'

/** The helper that registers each trigger type. */
const REGISTER: Readonly<Record<AzureTrigger['type'], string>> = {
  http: 'registerHttp',
  timer: 'registerTimer',
  storageQueue: 'registerStorageQueue',
  serviceBusQueue: 'registerServiceBusQueue',
  serviceBusTopic: 'registerServiceBusTopic',
  storageBlob: 'registerStorageBlob',
  eventGrid: 'registerEventGrid',
  cosmosDB: 'registerCosmosDB',
}

const EVENT_TYPES: Readonly<Record<string, string>> = { 'Microsoft.Storage.BlobCreated': 'created', 'Microsoft.Storage.BlobDeleted': 'deleted' }

/**
 * The entry's source: an ES module bundled by the plugin (esbuild) into the app's one CommonJS bundle. Blob events
 * an Event Grid trigger delivers beyond the function's filter are skipped by @polycloud/azure's `onlyBlobs`.
 */
export function appEntry(plan: AzurePlan, entryDir: string, servicePath: string): string {
  const { functions, app: registered } = plan
  const helpers = [...new Set(registered.map(({ trigger }) => REGISTER[trigger.type]))].sort()
  const local = new Map(functions.map((fn, index) => [fn.name, `handler${index}`]))
  const lines = [
    ...entryHeader('the functions of the service', 'azure'),
    `import { ${helpers.join(', ')} } from '@polycloud/azure/register'`,
    ...(registered.some(({ trigger }) => trigger.filter) ? ["import { onlyBlobs } from '@polycloud/azure/blob-filter'"] : []),
    ...functions.map((fn) => importHandler(fn.handler, entryDir, servicePath, local.get(fn.name))),
    ...(functions.some((fn) => fn.security) ? [SECURE_IMPORT] : []),
    ...(functions.some((fn) => fn.resources.length > 0) ? resourcesImports('@polycloud/azure', 'azureResources') : []),
    ...telemetryLines(functions[0]?.model.telemetry),
    '',
  ]
  // One driver for the app; each function's `uses` limits what its code reaches.
  if (functions.some((fn) => fn.resources.length > 0)) lines.push('const resources = azureResources()')
  // A function's handler behind its routes' security, once for all its HTTP triggers.
  for (const fn of functions) {
    if (!fn.security && fn.resources.length === 0) continue
    const raw = local.get(fn.name) as string
    lines.push(`const ${raw}Wrapped = ${withResourcesCall(fn, securedHandler(fn, raw), 'resources')}`)
    local.set(fn.name, `${raw}Wrapped`)
  }
  // Each timer is one Azure function of one cron event: the declared schedule it reports, in the functions' order.
  const schedules = new Map(functions.map((fn) => [fn.name, declaredSchedules(fn)]))
  for (const { name, function: fn, trigger } of registered) {
    let handler = local.get(fn) as string
    if (trigger.filter) {
      const { container, prefix, suffix, events } = trigger.filter
      handler = `onlyBlobs(${handler}, ${JSON.stringify({ container, prefix, suffix, types: events.map((type) => EVENT_TYPES[type]) })})`
    }
    const declared = trigger.type === 'timer' ? schedules.get(fn)?.shift() : undefined
    const args = [JSON.stringify(name), handler, JSON.stringify(trigger.options), ...(declared ? [JSON.stringify(declared)] : [])]
    lines.push(`${REGISTER[trigger.type]}(${args.join(', ')})`)
  }
  lines.push('')
  return lines.join('\n')
}

/** The app's one entry, `app.js` (none for a service without functions). */
export function appEntries(plan: AzurePlan, { workDir, servicePath }: EntryContext): EntryFile[] {
  if (plan.functions.length === 0) return []
  return [{ file: ENTRY_FILE, source: appEntry(plan, workDir, servicePath), functions: plan.functions.map((fn) => fn.name) }]
}
