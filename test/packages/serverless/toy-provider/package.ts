/** `serverless package` for Toy: the entry bundled, zipped with a manifest of the routes, `<service>.zip`. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bundle } from '../../bundle.js'
import type { ServiceContext } from '../../provider.js'
import { writeZip } from '../../zip.js'
import { ENTRY_FILE } from './entry.js'
import type { ToyPlan } from './plan.js'

export async function packageCommand(context: ServiceContext<ToyPlan>): Promise<void> {
  const { plan } = context
  const outdir = join(context.workDir, 'dist')
  await bundle(
    { entries: { toy: join(context.workDir, ENTRY_FILE) }, outdir, platform: 'node', format: 'esm', target: 'node20', extension: '.mjs', sourceRoot: context.servicePath },
    `the Toy service ${context.service}`,
  )
  const manifest = {
    service: context.service,
    stage: context.stage,
    greeting: plan.greeting,
    functions: plan.functions.map((fn) => ({ name: fn.name, timeout: fn.timeout, routes: fn.events.map(({ native }) => `${native.method} ${native.path}`) })),
  }
  const zip = join(context.packageDir, `${context.service}.zip`)
  const bytes = await writeZip(zip, [
    { name: 'toy.mjs', data: readFileSync(join(outdir, 'toy.mjs')) },
    { name: 'toy.json', data: `${JSON.stringify(manifest, null, 2)}\n` },
  ])
  context.log.notice(`Packaged ${plan.functions.length} function(s) for Toy: ${zip} (${bytes} bytes)`)
}
