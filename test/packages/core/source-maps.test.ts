/**
 * @polycloud/core/map-stack-traces: stacks through a bundle's source map, read only when a stack is formatted, written
 * exactly as Node writes them with --enable-source-maps (the configuration it replaces in the AWS entries). The same
 * mapper compiled on demand (@polycloud/core/stack-traces-on-demand, given its text by the module serverless-polycloud
 * writes for the AWS entries) writes the same stacks.
 */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as esbuild from 'esbuild'
import { STACK_TRACES_FILE, STACK_TRACES_IMPORT, stackTracesModule } from 'serverless-polycloud/stack-traces'
import { ROOT } from '../../helpers/serverless.ts'

const run = promisify(execFile)

// Errors thrown every way a frame can be written: a named function, an anonymous arrow inside Array#map, a
// constructor, a method, a portable handler's arrow (named by its caller), async frames, and a frame in Node itself.
const SOURCE = `import '@polycloud/core/map-stack-traces'
import { http } from '@polycloud/core'

class Thing {
  constructor(fail: boolean) {
    if (fail) throw new Error('in constructor')
  }
  method(): never {
    throw new TypeError('in method')
  }
}
function explode(): never {
  throw new Error('boom')
}
export const handler = http(() => {
  throw new Error('arrow')
})
async function inner(): Promise<never> {
  await Promise.resolve()
  throw new RangeError('deep async')
}
export async function run(kind: string): Promise<unknown> {
  await Promise.resolve()
  if (kind === 'constructor') return new Thing(true)
  if (kind === 'method') return new Thing(false).method()
  if (kind === 'handler') return handler.handle({} as never, {} as never)
  if (kind === 'async') return await inner()
  if (kind === 'node') return JSON.parse('{')
  return [1].map(() => explode())
}
`

// Loads the bundle, then (when asked) moves the map in place, then prints every stack.
const DRIVER = `const { renameSync } = require('node:fs')
const bundle = require(process.argv[2])
if (process.argv[3]) renameSync(process.argv[3], process.argv[2] + '.map')
;(async () => {
  for (const kind of ['function', 'constructor', 'method', 'handler', 'async', 'node']) {
    try { await bundle.run(kind) } catch (error) { console.log(error.stack) }
  }
})()
`

describe('map-stack-traces: source-mapped stacks at no cost until a stack is formatted', function () {
  this.timeout(30_000)
  let dir: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polycloud-maps-'))
    writeFileSync(join(dir, 'handler.ts'), SOURCE)
    // The AWS entries' first import: the mapper as text, compiled when the first stack is formatted.
    mkdirSync(join(dir, 'lib'))
    writeFileSync(join(dir, STACK_TRACES_FILE), stackTracesModule())
    writeFileSync(join(dir, 'on-demand.ts'), SOURCE.replace("import '@polycloud/core/map-stack-traces'", STACK_TRACES_IMPORT))
    writeFileSync(join(dir, 'driver.cjs'), DRIVER)
    const common: esbuild.BuildOptions = {
      entryPoints: [join(dir, 'handler.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      minify: true,
      sourcesContent: false,
      absWorkingDir: ROOT,
      nodePaths: [join(ROOT, 'node_modules')],
      logLevel: 'silent',
    }
    await esbuild.build({ ...common, sourcemap: 'linked', outfile: join(dir, 'linked.cjs') })
    await esbuild.build({ ...common, sourcemap: 'inline', outfile: join(dir, 'inline.cjs') })
    await esbuild.build({ ...common, entryPoints: [join(dir, 'on-demand.ts')], sourcemap: 'linked', outfile: join(dir, 'on-demand.cjs') })
  })

  after(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  const stacks = async (bundle: string, options: { flag?: boolean; mapAfterLoad?: string } = {}): Promise<string> => {
    const args = [...(options.flag ? ['--enable-source-maps'] : []), join(dir, 'driver.cjs'), join(dir, bundle), ...(options.mapAfterLoad ? [options.mapAfterLoad] : [])]
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    return (await run(process.execPath, args, { env })).stdout
  }

  for (const bundle of ['linked.cjs', 'inline.cjs', 'on-demand.cjs']) {
    it(`writes every frame as --enable-source-maps does (${bundle.replace('.cjs', '')} map)`, async () => {
      const source = bundle === 'on-demand.cjs' ? 'on-demand.ts' : 'handler.ts'
      const [mapped, native] = await Promise.all([stacks(bundle), stacks(bundle, { flag: true })])
      expect(mapped).to.equal(native)
      expect(mapped).to.include(`at explode (${join(dir, source)}:13:9)`)
      expect(mapped).to.include(`(${join(dir, source)}:16:9)`)
      expect(mapped).to.match(/at new \w+ \(.*\.ts:6:21\)/)
      expect(mapped).to.match(/at async .*\.ts:/)
      expect(mapped).to.include('SyntaxError')
      expect(mapped, 'no frame left in the bundle').to.not.include(`${bundle}:`)
    })
  }

  it('reads the map when a stack is formatted, not when the bundle loads', async () => {
    // The map is moved beside the bundle only after the bundle has loaded: still used. Node's own option reads it
    // at load, so it maps nothing then.
    renameSync(join(dir, 'linked.cjs.map'), join(dir, 'later.map'))
    try {
      const mapped = await stacks('linked.cjs', { mapAfterLoad: join(dir, 'later.map') })
      expect(mapped).to.include(`at explode (${join(dir, 'handler.ts')}:13:9)`)
      renameSync(join(dir, 'linked.cjs.map'), join(dir, 'later.map'))
      const native = await stacks('linked.cjs', { flag: true, mapAfterLoad: join(dir, 'later.map') })
      expect(native).to.match(/linked\.cjs:\d+:\d+\)/)
      expect(native).to.not.include('handler.ts')
    } finally {
      if (existsSync(join(dir, 'later.map'))) renameSync(join(dir, 'later.map'), join(dir, 'linked.cjs.map'))
    }
  })

  it('holds the on-demand mapper as text: no function of it is in the code V8 parses at load', () => {
    const bundle = readFileSync(join(dir, 'on-demand.cjs'), 'utf8')
    const text = JSON.stringify(stackTracesModule().match(/mapStackTracesOnDemand\((".*")\)/)?.[1] ?? '')
    expect(text.length).to.be.greaterThan(1000)
    // The mapper's own code (reading a map's URL comment) appears once, inside the string literal.
    expect(bundle.split('sourceMappingURL=([^').length - 1).to.equal(1)
    expect(bundle).to.match(/\(['"`]"use strict";var polycloudSourceMaps=/)
  })

  it('leaves stacks as they are without a map', async () => {
    await esbuild.build({ entryPoints: [join(dir, 'handler.ts')], bundle: true, platform: 'node', format: 'cjs', absWorkingDir: ROOT, nodePaths: [join(ROOT, 'node_modules')], outfile: join(dir, 'plain.cjs'), logLevel: 'silent' })
    const [mapped, native] = await Promise.all([stacks('plain.cjs'), stacks('plain.cjs', { flag: true })])
    expect(mapped).to.equal(native)
    expect(mapped).to.include('plain.cjs:')
  })
})
