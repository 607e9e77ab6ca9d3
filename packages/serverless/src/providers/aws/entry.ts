/** The generated Lambda entry of a function: its portable handler wrapped with exactly the formats its events need. */
import { DECLARE_IMPORT, SECURE_IMPORT, declaredSchedules, entryHeader, importHandler, importSources, securedHandler, sourceExpressions } from '../../entry.js'
import type { EntryContext, EntryFile, PlannedFunction } from '../../provider.js'
import { resourcesImports, withResourcesCall } from '../../resources.js'
import { STACK_TRACES_FILE, STACK_TRACES_IMPORT, stackTracesModule } from '../../stack-traces.js'
import { telemetryLines } from '../../telemetry.js'
import type { AwsEvents, AwsPlan } from './plan.js'

/**
 * Stack traces through the bundle's source map, read when a stack is formatted rather than at every cold start as
 * `--enable-source-maps` does, the mapper itself compiled then too (stack-traces.ts); first, so that an error thrown
 * while the handler's module loads is mapped too.
 */
export const MAP_STACK_TRACES = STACK_TRACES_IMPORT

/**
 * The entry's source: an ES module, bundled by serverless-esbuild with the handler it imports (behind `secure()` when
 * its routes declare security, minus what API Gateway enforces: `enforcedByPlatform`; through `withResources` with
 * the AWS driver when it uses resources).
 */
export function lambdaEntry(fn: PlannedFunction, entryDir: string, servicePath: string, enforcedByPlatform: readonly string[] = []): string {
  const header = [
    ...entryHeader(`function ${JSON.stringify(fn.name)}`, 'aws'),
    MAP_STACK_TRACES,
    ...(fn.security ? [SECURE_IMPORT] : []),
    ...(fn.resources.length > 0 ? resourcesImports('@polycloud/aws', 'awsResources') : []),
    ...telemetryLines(fn.model.telemetry),
  ]
  const handler = withResourcesCall(fn, securedHandler(fn, 'portable', enforcedByPlatform), 'awsResources()')
  const label = JSON.stringify(fn.handlerText)
  if (fn.sources.length === 0) {
    // No events (invoked directly): every AWS format.
    return [
      ...header,
      importHandler(fn.handler, entryDir, servicePath),
      `import { createLambdaHandler } from '@polycloud/aws/lambda'`,
      `import { awsSources } from '@polycloud/aws/sources'`,
      '',
      `export const handler = createLambdaHandler(${handler}, awsSources, ${label})`,
      '',
    ].join('\n')
  }
  const { kinds } = fn
  const factory = kinds.length === 1 && kinds[0] === 'http' ? 'createLambdaHttpHandler' : kinds.includes('http') ? 'createLambdaHandler' : 'createLambdaEventHandler'
  const { imports, names } = importSources('@polycloud/aws', fn.sources)
  // Each cron's EventBridge rule, whose ARN its events carry, tells the function's schedules apart.
  const schedules = declaredSchedules(fn, (ordinal) => ruleOf(fn, ordinal))
  return [
    ...header,
    importHandler(fn.handler, entryDir, servicePath),
    `import { ${factory} } from '@polycloud/aws/lambda'`,
    ...imports,
    ...(schedules.length > 0 ? [DECLARE_IMPORT] : []),
    '',
    `export const handler = ${factory}(${handler}, [${sourceExpressions(fn, names, schedules).join(', ')}], ${label})`,
    '',
  ].join('\n')
}

/** The rule name the plan gave the function's `ordinal`-th cron (`scheduleRule` in events.ts). */
function ruleOf(fn: PlannedFunction, ordinal: number): string | undefined {
  const planned = fn.events.filter(({ event }) => event.kind === 'cron')[ordinal]
  const native = (planned?.native as AwsEvents | undefined)?.[0]?.schedule as { name?: string } | undefined
  return native?.name
}

/** One entry per function, `<function>.js`, handed to serverless-esbuild. */
export function lambdaEntries(plan: AwsPlan, { workDir, servicePath }: EntryContext): EntryFile[] {
  const entries = plan.functions.map((fn) => ({ file: `${fn.name}.js`, source: lambdaEntry(fn, workDir, servicePath, plan.enforced.get(fn.name)), functions: [fn.name] }))
  return entries.length === 0 ? entries : [{ file: STACK_TRACES_FILE, source: stackTracesModule(), functions: [] }, ...entries]
}
