/** The generated Lambda entry of a function: its portable handler wrapped with exactly the formats its events need. */
import { entryHeader, importHandler, importSources } from '../../entry.js'
import type { PreparedFunction } from '../../provider.js'

/** The entry's source: an ES module, bundled by serverless-esbuild with the handler it imports. */
export function lambdaEntry(fn: PreparedFunction, entryDir: string, servicePath: string): string {
  const header = entryHeader(`function ${JSON.stringify(fn.name)}`, 'aws')
  const label = JSON.stringify(fn.handlerText)
  if (fn.sources.length === 0) {
    // No events (invoked directly): every AWS format.
    return [
      ...header,
      importHandler(fn.handler, entryDir, servicePath),
      `import { createLambdaHandler } from '@polycloud/aws/lambda'`,
      `import { awsSources } from '@polycloud/aws/sources'`,
      '',
      `export const handler = createLambdaHandler(portable, awsSources, ${label})`,
      '',
    ].join('\n')
  }
  const { kinds } = fn
  const factory = kinds.length === 1 && kinds[0] === 'http' ? 'createLambdaHttpHandler' : kinds.includes('http') ? 'createLambdaHandler' : 'createLambdaEventHandler'
  const { imports, names } = importSources('@polycloud/aws', fn.sources)
  return [
    ...header,
    importHandler(fn.handler, entryDir, servicePath),
    `import { ${factory} } from '@polycloud/aws/lambda'`,
    ...imports,
    '',
    `export const handler = ${factory}(portable, [${names.join(', ')}], ${label})`,
    '',
  ].join('\n')
}
