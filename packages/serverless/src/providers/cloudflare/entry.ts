/**
 * The generated entry of a service's one Worker: every function's portable handler, with only the
 * @polycloud/cloudflare formats its events need, handed to `createServiceWorker` with the routes, crons and queues
 * that reach it.
 */
import { SECURE_IMPORT, entryHeader, importHandler, importSources, securedHandler } from '../../entry.js'
import type { EntryContext, EntryFile, PlannedFunction } from '../../provider.js'
import { resourcesImports, withResourcesCall } from '../../resources.js'
import type { CloudflareTrigger } from './events.js'
import { functionVars, secretBinding, withoutSecrets, type CloudflarePlan } from './plan.js'

/** The file name of the entry in `.polycloud/cloudflare/`. */
export const ENTRY_FILE = 'worker.js'

export function serviceEntry(
  functions: ReadonlyArray<PlannedFunction<CloudflareTrigger>>,
  options: { readonly workDir: string; readonly servicePath: string; readonly script: string; readonly providerEnvironment: Readonly<Record<string, string>> },
): string {
  const served = functions.filter((fn) => fn.events.length > 0)
  const { imports } = importSources('@polycloud/cloudflare', served.flatMap((fn) => fn.sources))
  const lines = [
    ...entryHeader(`the service's Worker ${JSON.stringify(options.script)}`, 'cloudflare'),
    `import { createServiceWorker } from '@polycloud/cloudflare/service'`,
    ...imports,
    ...(served.some((fn) => fn.security) ? [SECURE_IMPORT] : []),
    ...(served.some((fn) => fn.resources.length > 0) ? resourcesImports('@polycloud/cloudflare', 'cloudflareResources') : []),
  ]
  // One driver for the Worker; each function's `uses` limits what its code reaches.
  const declarations: string[] = served.some((fn) => fn.resources.length > 0) ? ['const resources = cloudflareResources()'] : []
  const routes: string[] = []
  const crons: string[] = []
  const queues: string[] = []
  served.forEach((fn, index) => {
    const local = `fn${index}`
    lines.push(importHandler(fn.handler, options.workDir, options.servicePath, `handler${index}`))
    const own = functionVars(fn, options.providerEnvironment)
    const vars = withoutSecrets(own)
    // Its secrets stay out of the script: bound as secret_text (plan.ts), mapped back to their names for it alone.
    const secrets = Object.keys(own).filter((name) => !(name in vars))
    const fields = [
      `name: ${JSON.stringify(fn.name)}`,
      `handler: ${withResourcesCall(fn, securedHandler(fn, `handler${index}`), 'resources')}`,
      `sources: [${fn.sources.map((source) => source.name).join(', ')}]`,
      `timeoutSeconds: ${fn.timeout}`,
      ...(Object.keys(vars).length > 0 ? [`vars: ${JSON.stringify(vars)}`] : []),
      ...(secrets.length > 0 ? [`secrets: ${JSON.stringify(Object.fromEntries(secrets.map((name) => [name, secretBinding(fn.name, name)])))}`] : []),
    ]
    declarations.push(`const ${local} = { ${fields.join(', ')} }`)
    for (const { native: trigger } of fn.events) {
      if (trigger.type === 'route') routes.push(`{ method: ${JSON.stringify(trigger.method)}, path: ${JSON.stringify(trigger.path)}, function: ${local} }`)
      else if (trigger.type === 'cron') {
        // Its events report the schedule as declared, whichever way it was fired.
        const schedule = JSON.stringify(trigger.expression.trim())
        crons.push(`{ cron: ${JSON.stringify(trigger.cron)}, function: ${local}, schedule: ${schedule} }`)
        // Fired by hand (`/cdn-cgi/handler/scheduled?cron=...`) with the expression as written, it runs too.
        if (trigger.expression.trim() !== trigger.cron) crons.push(`{ cron: ${schedule}, function: ${local}, schedule: ${schedule} }`)
      } else queues.push(`{ queue: ${JSON.stringify(trigger.queue.name)}, function: ${local} }`)
    }
  })
  const list = (items: string[]) => (items.length === 0 ? '[]' : `[\n    ${items.join(',\n    ')},\n  ]`)
  lines.push(
    '',
    ...declarations,
    '',
    'export default createServiceWorker({',
    `  name: ${JSON.stringify(options.script)},`,
    `  routes: ${list(routes)},`,
    `  crons: ${list(crons)},`,
    `  queues: ${list(queues)},`,
    '})',
    '',
  )
  return lines.join('\n')
}

/** The Worker's one entry, `worker.js`. */
export function workerEntries(plan: CloudflarePlan, { workDir, servicePath }: EntryContext): EntryFile[] {
  const source = serviceEntry(plan.functions, { workDir, servicePath, script: plan.script, providerEnvironment: plan.model.environment })
  return [{ file: ENTRY_FILE, source, functions: plan.functions.map((fn) => fn.name) }]
}
