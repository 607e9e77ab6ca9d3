/**
 * The generated entries of a Google Cloud service: one per function (registering it with the Functions Framework
 * under its name, with exactly the formats its events need) and the routing function's (every route's handler
 * behind core's router), plus the source's `index.js`, which loads the bundle of the function an instance serves.
 */
import { DECLARE_IMPORT, SECURE_IMPORT, declaredSchedules, entryHeader, importHandler, importSources, securedHandler, sourceExpressions } from '../../entry.js'
import type { EntryContext, EntryFile, PlannedFunction } from '../../provider.js'
import { resourcesImports, withResourcesCall } from '../../resources.js'
import { telemetryLines } from '../../telemetry.js'
import type { GoogleEvent } from './events.js'
import { ROUTER_ENTRY, type CloudFunctionSpec, type GooglePlan } from './plan.js'

const ADAPTER = '@polycloud/gcp'

/** Where the entries are written in the work folder, and bundled from. */
export const ENTRY_DIR = 'entries'

/** The key filters of a function's bucket events, checked in the entry (Eventarc filters on the bucket only). */
function bucketRules(fn: PlannedFunction<GoogleEvent>): Array<{ bucket: string; prefix: string; suffix: string }> {
  const rules = fn.events.flatMap(({ native }) => (native.type === 'bucket' ? [native] : []))
  if (!rules.some((rule) => rule.prefix !== '' || rule.suffix !== '')) return []
  return rules.map(({ bucket, prefix, suffix }) => ({ bucket, prefix, suffix }))
}

/** The queue format's export, which a function with push subscriptions gets named (`namedPubSubQueue`). */
const QUEUE_SOURCE = 'gcpPubSubQueue'

/**
 * The entry of one function: its handler registered as an HTTP function (routes, push endpoints) or a CloudEvent one.
 * `jobs`: the Cloud Scheduler jobs of its crons, in order (each message names its job: `polycloud-job`); `queues`:
 * its push subscriptions and the queue each delivers (a message names its subscription, not its queue).
 */
export function functionEntry(
  fn: PlannedFunction<GoogleEvent>,
  signature: CloudFunctionSpec['signature'],
  entryDir: string,
  servicePath: string,
  jobs: readonly string[] = [],
  queues: Readonly<Record<string, string>> = {},
): string {
  const lines = [
    ...entryHeader(`function ${JSON.stringify(fn.name)}`, 'google'),
    importHandler(fn.handler, entryDir, servicePath),
    ...(fn.security ? [SECURE_IMPORT] : []),
    ...(fn.resources.length > 0 ? resourcesImports(ADAPTER, 'gcpResources') : []),
    ...telemetryLines(fn.model.telemetry),
  ]
  // An HTTP function whose events are all routes needs no push endpoint code.
  const register = signature === 'cloudevent' ? 'registerCloudEvent' : fn.kinds.length === 1 && fn.kinds[0] === 'http' ? 'registerHttpHandler' : 'registerHttp'
  lines.push(`import { ${register} } from '${ADAPTER}/register'`)
  let names: string[]
  if (fn.sources.length === 0) {
    // No events (called by its URL): every format, the handler's kind decides.
    lines.push(`import { gcpSources } from '${ADAPTER}/sources'`)
    names = ['...gcpSources']
  } else {
    const sources = importSources(ADAPTER, fn.sources)
    const schedules = declaredSchedules(fn, (ordinal) => jobs[ordinal])
    lines.push(...sources.imports, ...(schedules.length > 0 ? [DECLARE_IMPORT] : []))
    names = sourceExpressions(fn, sources.names, schedules)
    if (Object.keys(queues).length > 0 && names.includes(QUEUE_SOURCE)) {
      lines.push(`import { namedPubSubQueue } from '${ADAPTER}/pubsub'`)
      names = names.map((name) => (name === QUEUE_SOURCE ? `namedPubSubQueue(${JSON.stringify(queues)})` : name))
    }
  }
  let handler = securedHandler(fn, 'portable')
  const rules = bucketRules(fn)
  if (rules.length > 0) {
    handler = 'filtered'
    lines.push(
      "import { onlyObjects } from '@polycloud/core/object-filter'",
      '',
      '// Eventarc filters storage events by bucket only: the prefix and suffix of each bucket event are checked here.',
      `const RULES = ${JSON.stringify(rules)}`,
      'const filtered = onlyObjects(portable, RULES)',
    )
  }
  handler = withResourcesCall(fn, handler, 'gcpResources()')
  lines.push('', `${register}(${JSON.stringify(fn.name)}, ${handler}, [${names.join(', ')}])`, '')
  return lines.join('\n')
}

/** The routing function's entry: every route's handler, each route named after its function's deployed id. */
export function routerEntry(
  router: CloudFunctionSpec,
  functions: ReadonlyArray<PlannedFunction<GoogleEvent>>,
  entryDir: string,
  servicePath: string,
): string {
  const lines = [...entryHeader(`the routing function ${JSON.stringify(ROUTER_ENTRY)}`, 'google'), ...telemetryLines(functions[0]?.model.telemetry)]
  const locals = new Map<string, string>()
  const secured: string[] = []
  for (const route of router.routes) {
    if (locals.has(route.function)) continue
    const fn = functions.find((candidate) => candidate.name === route.function) as PlannedFunction<GoogleEvent>
    const local = `handler${locals.size}`
    lines.push(importHandler(fn.handler, entryDir, servicePath, local))
    const wrapped = fn.security !== undefined || fn.resources.length > 0
    if (wrapped) secured.push(`const ${local}Wrapped = ${withResourcesCall(fn, securedHandler(fn, local), 'resources')}`)
    locals.set(route.function, wrapped ? `${local}Wrapped` : local)
  }
  const routed = router.routes.map((route) => functions.find((candidate) => candidate.name === route.function) as PlannedFunction<GoogleEvent>)
  if (routed.some((fn) => fn.security)) lines.push(SECURE_IMPORT)
  if (routed.some((fn) => fn.resources.length > 0)) {
    lines.push(...resourcesImports(ADAPTER, 'gcpResources'))
    secured.unshift('const resources = gcpResources()')
  }
  lines.push(`import { registerRoutes } from '${ADAPTER}/register'`, `import { gcpHttp } from '${ADAPTER}/http'`, '', ...secured, `registerRoutes(${JSON.stringify(ROUTER_ENTRY)}, [`)
  for (const route of router.routes) {
    lines.push(`  { method: ${JSON.stringify(route.method)}, path: ${JSON.stringify(route.path)}, name: ${JSON.stringify(route.functionId)}, handler: ${locals.get(route.function)} },`)
  }
  lines.push('], [gcpHttp])', '')
  return lines.join('\n')
}

/** The entries of the service: one per entry point (every function on its own too), in `entries/<entry point>.ts`. */
export function googleEntries(plan: GooglePlan, { workDir, servicePath }: EntryContext): EntryFile[] {
  const entryDir = `${workDir}/${ENTRY_DIR}`
  const entries: EntryFile[] = []
  const seen = new Set<string>()
  for (const spec of plan.entryLayout.functions) {
    if (seen.has(spec.entryPoint)) continue
    seen.add(spec.entryPoint)
    if (spec.function === undefined) {
      entries.push({ file: `${ENTRY_DIR}/${spec.entryPoint}.ts`, source: routerEntry(spec, plan.functions, entryDir, servicePath), functions: spec.routes.map((route) => route.function) })
    } else {
      const fn = plan.functions.find((candidate) => candidate.name === spec.function) as PlannedFunction<GoogleEvent>
      const jobs = plan.entryLayout.jobs.filter((job) => job.function === fn.name).map((job) => job.name)
      const queues = Object.fromEntries(plan.entryLayout.subscriptions.filter((subscription) => subscription.function === fn.name).map((subscription) => [subscription.name, subscription.topic]))
      entries.push({ file: `${ENTRY_DIR}/${spec.entryPoint}.ts`, source: functionEntry(fn, spec.signature, entryDir, servicePath, jobs, queues), functions: [fn.name] })
    }
  }
  return entries
}

/**
 * The source's main module (CommonJS, not bundled): it loads the bundle of the function this instance serves
 * (FUNCTION_TARGET, set by Cloud Functions and by the local emulation), or every bundle when none is named (tools
 * that load the source to list its functions), so an instance compiles only its own function's code.
 */
export function mainModule(entryPoints: readonly string[]): string {
  const bundles = Object.fromEntries(entryPoints.map((name) => [name, `./functions/${name}.js`]))
  return [
    "'use strict'",
    ...entryHeader('the service', 'google'),
    `const bundles = ${JSON.stringify(bundles, null, 2)}`,
    'const target = process.env.FUNCTION_TARGET',
    'if (target !== undefined && Object.prototype.hasOwnProperty.call(bundles, target)) require(bundles[target])',
    'else for (const name of Object.keys(bundles)) require(bundles[name])',
    '',
  ].join('\n')
}
