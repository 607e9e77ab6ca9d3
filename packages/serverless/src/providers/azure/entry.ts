/**
 * The generated Azure entry: one module for the whole app (the Node worker loads every file of `main` when it
 * starts, so one bundle holds one copy of @azure/functions and of the handlers' shared code), registering each
 * function through @polycloud/azure's `register*` helpers with exactly the trigger its event maps to.
 */
import { SECURE_IMPORT, entryHeader, importHandler, securedHandler } from '../../entry.js'
import { ConfigError } from '../../errors.js'
import type { PreparedFunction } from '../../provider.js'
import { azureFunctionName, checkFunctionName, type AzureTrigger } from './mapping.js'

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

/** One Azure function of the app: its name, the Polycloud function it serves, its trigger. */
export interface AzureFunction {
  readonly name: string
  readonly function: string
  readonly trigger: AzureTrigger
}

/** Every Azure function of the service, in order: one per event (`<name>`, then `<name>-1`, ...). */
export function azureFunctions(functions: ReadonlyArray<PreparedFunction<AzureTrigger>>): AzureFunction[] {
  const out: AzureFunction[] = []
  const names = new Set<string>()
  for (const fn of functions) {
    checkFunctionName(fn.name)
    if (fn.events.length === 0) {
      throw new ConfigError(`functions.${fn.name}.events`, 'an Azure function runs only from a trigger: give it an event (route, cron, fromQueue, topic, bucket, changes)')
    }
    fn.events.forEach(({ plan }, index) => {
      const name = azureFunctionName(fn.name, index)
      if (names.has(name.toLowerCase())) throw new ConfigError(`functions.${fn.name}`, `Azure function name ${JSON.stringify(name)} is used twice (names are case-insensitive)`)
      names.add(name.toLowerCase())
      out.push({ name, function: fn.name, trigger: plan.native })
    })
  }
  return out
}

/** Keeps a storage handler to the blob events its trigger's filter asks for (Event Grid can deliver more). */
const FILTER_HELPER = [
  'const onlyBlobs = (portable, filter) => ({',
  '  ...portable,',
  '  handle: (event, context) => {',
  '    const key = event.key ?? ""',
  '    if (event.bucket === filter.container && filter.types.includes(event.type) && key.startsWith(filter.prefix) && key.endsWith(filter.suffix)) {',
  '      return portable.handle(event, context)',
  '    }',
  '    context.log.debug("blob event outside the function\'s filter, skipped", { bucket: event.bucket, key, type: event.type })',
  '  },',
  '})',
]

const EVENT_TYPES: Readonly<Record<string, string>> = { 'Microsoft.Storage.BlobCreated': 'created', 'Microsoft.Storage.BlobDeleted': 'deleted' }

/** The entry's source: an ES module bundled by the plugin (esbuild) into the app's one CommonJS bundle. */
export function appEntry(functions: ReadonlyArray<PreparedFunction<AzureTrigger>>, entryDir: string, servicePath: string): string {
  const registered = azureFunctions(functions)
  const helpers = [...new Set(registered.map(({ trigger }) => REGISTER[trigger.type]))].sort()
  const local = new Map(functions.map((fn, index) => [fn.name, `handler${index}`]))
  const lines = [
    ...entryHeader('the functions of the service', 'azure'),
    `import { ${helpers.join(', ')} } from '@polycloud/azure/register'`,
    ...functions.map((fn) => importHandler(fn.handler, entryDir, servicePath, local.get(fn.name))),
    ...(functions.some((fn) => fn.security) ? [SECURE_IMPORT] : []),
    '',
  ]
  // A function's handler behind its routes' security, once for all its HTTP triggers.
  for (const fn of functions) {
    if (!fn.security) continue
    const raw = local.get(fn.name) as string
    lines.push(`const ${raw}Secured = ${securedHandler(fn, raw)}`)
    local.set(fn.name, `${raw}Secured`)
  }
  if (registered.some(({ trigger }) => trigger.filter)) lines.push(...FILTER_HELPER, '')
  for (const { name, function: fn, trigger } of registered) {
    let handler = local.get(fn) as string
    if (trigger.filter) {
      const { container, prefix, suffix, events } = trigger.filter
      handler = `onlyBlobs(${handler}, ${JSON.stringify({ container, prefix, suffix, types: events.map((type) => EVENT_TYPES[type]) })})`
    }
    lines.push(`${REGISTER[trigger.type]}(${JSON.stringify(name)}, ${handler}, ${JSON.stringify(trigger.options)})`)
  }
  lines.push('')
  return lines.join('\n')
}
