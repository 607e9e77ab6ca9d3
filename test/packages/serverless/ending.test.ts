/**
 * Commands that end: a bundling error, a handler that fails to load, a wrong export, each ends the command with a
 * non-zero status within seconds, the error shown once and without a stack trace. (Before serverless-polycloud
 * released esbuild's service in the framework's `error` hook, `package` and `invoke local` printed the error and
 * never exited: serverless-esbuild leaves an esbuild context alive when a build fails; see
 * packages/serverless/src/providers/aws/esbuild.ts.) The handler check runs before any bundling.
 */
import { expect } from 'chai'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, serverless, type Run } from '../../helpers/serverless.ts'

const BASE = join(ROOT, 'test/fixtures/services/.tmp/ending')

/** A service with one function per handler file given; `native` functions are left to the framework. */
function service(name: string, handlers: Record<string, string>, functions: string): string {
  const dir = join(BASE, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'handlers'), { recursive: true })
  for (const [file, source] of Object.entries(handlers)) writeFileSync(join(dir, 'handlers', file), source)
  writeFileSync(
    join(dir, 'serverless.yml'),
    [
      'service: ending',
      "frameworkVersion: '4'",
      'provider:',
      '  name: aws',
      '  runtime: nodejs22.x',
      'plugins:',
      '  - serverless-polycloud',
      '  - serverless-esbuild',
      '  - serverless-offline',
      'custom:',
      '  esbuild: { bundle: true, platform: node, format: cjs, outputFileExtension: .cjs }',
      '  serverless-offline: { host: 127.0.0.1 }',
      'functions:',
      functions,
    ].join('\n'),
  )
  writeFileSync(join(dir, 'event.json'), '{}')
  return dir
}

/** Runs a command; resolves with its result and how long it took. */
async function timed(args: string[], cwd: string): Promise<Run & { ms: number }> {
  const start = Date.now()
  const run = await serverless(args, { cwd, timeoutMs: 90_000 })
  return { ...run, ms: Date.now() - start }
}

const count = (text: string, part: string): number => text.split(part).length - 1
const stackLines = (text: string): string[] => text.split('\n').filter((line) => /^\s+at .+:\d+:\d+\)?$/.test(line))

const OK = "import { http, json } from '@polycloud/core'\nexport default http(() => json({ ok: true }))\n"
const SYNTAX = "import { http, json } from '@polycloud/core'\nexport default http(() => json({ ok: true })\n"
const ROUTE = (handler: string) => `  api:\n    handler: ${handler}\n    events:\n      - route: GET /api\n`

describe('serverless/plugin: commands end, with the error shown once', function () {
  this.timeout(180_000)
  after(() => rmSync(BASE, { recursive: true, force: true }))

  for (const command of [['package'], ['invoke', 'local', '-f', 'api', '--path', 'event.json'], ['offline', '--httpPort', '0', '--lambdaPort', '0']]) {
    it(`${command[0]}${command[0] === 'invoke' ? ' local' : ''}: a bundling error (a syntax error esbuild finds)`, async () => {
      const cwd = service(`syntax-${command[0]}`, { 'h.ts': SYNTAX }, ROUTE('handlers/h.default'))
      const run = await timed(command, cwd)
      const output = run.stdout + run.stderr
      expect(run.code, output).to.equal(1)
      expect(run.ms, 'seconds, not forever').to.be.below(45_000)
      expect(count(output, 'Expected ")" but found end of file'), output).to.equal(1)
      expect(output).to.include('serverless-polycloud: bundling the functions with esbuild failed:')
      expect(output).to.include('handlers/h.ts:3:0')
      expect(stackLines(output), output).to.deep.equal([])
    })
  }

  it('invoke local: a native function whose module throws at load (the framework runs it; esbuild is released)', async () => {
    const cwd = service(
      'native-load',
      { 'native.ts': "throw new Error('native module failed at load')\nexport const handler = async () => 'never'\n" },
      '  legacy:\n    handler: handlers/native.handler\n    polycloud: false\n',
    )
    const run = await timed(['invoke', 'local', '-f', 'legacy', '--path', 'event.json'], cwd)
    const output = run.stdout + run.stderr
    expect(run.code, output).to.equal(1)
    expect(run.ms).to.be.below(45_000)
    expect(output).to.include('native module failed at load')
    // The framework shows the function's own stack, mapped to the TypeScript source.
    expect(output).to.match(/handlers\/native\.ts:1:7/)
  })

  it('checks every handler before bundling, and reports every problem at once: file, export, kinds', async () => {
    const cwd = service(
      'checks',
      {
        'load.ts': "import { http, json } from '@polycloud/core'\nconst config = JSON.parse('{')\nexport default http(() => json(config))\n",
        'missing.ts': "import { http, json } from '@polycloud/core'\nimport { thing } from 'not-installed-anywhere'\nexport default http(() => json(thing))\n",
        'kind.ts': "import { schedule } from '@polycloud/core'\nexport default schedule(() => {})\n",
        'ok.ts': OK,
        'native.ts': 'export const handler = async () => ({ statusCode: 200 })\n',
      },
      [
        ROUTE('handlers/load.default').replace('api:', 'loads:'),
        ROUTE('handlers/missing.default').replace('api:', 'needsPackage:'),
        ROUTE('handlers/kind.default').replace('api:', 'wrongKind:'),
        ROUTE('handlers/ok.get').replace('api:', 'noExport:'),
        ROUTE('handlers/native.handler').replace('api:', 'notPortable:'),
        '  worker:\n    handler: handlers/ok.default\n    events:\n      - fromQueue: jobs\n',
      ].join(''),
    )
    const run = await timed(['package'], cwd)
    const output = run.stdout + run.stderr
    expect(run.code, output).to.equal(1)
    expect(run.ms).to.be.below(45_000)
    const expected = [
      /serverless-polycloud: functions\.loads\.handler: handlers\/load\.ts failed to load: SyntaxError: .*JSON.*\n\s+at <anonymous> \(handlers\/load\.ts:2:21\)/,
      /functions\.needsPackage\.handler: handlers\/missing\.ts failed to load: Error \[ERR_MODULE_NOT_FOUND\]: Cannot find package 'not-installed-anywhere' imported from handlers\/missing\.ts/,
      /functions\.wrongKind\.handler: handlers\/kind\.ts export "default" is a schedule handler, but its function's events need a http handler/,
      /functions\.noExport\.handler: handlers\/ok\.ts export "get" does not exist \(the module exports "default"\)/,
      /functions\.notPortable\.handler: handlers\/native\.ts export "handler" is not a portable handler: export one made with http\(\), schedule\(\)/,
      /functions\.worker\.handler: handlers\/ok\.ts export "default" is a http handler, but its function's events need a queue handler/,
    ]
    for (const message of expected) expect(output).to.match(message)
    // The only stack shown is the failing module's own frame, pointing at its TypeScript.
    expect(stackLines(output), output).to.deep.equal(['    at <anonymous> (handlers/load.ts:2:21)'])
    expect(existsSync(join(cwd, '.esbuild')), 'nothing was bundled').to.equal(false)
  })

  it('a module with timers of its own is checked and the command still ends', async () => {
    const cwd = service('timers', { 'h.ts': `setInterval(() => {}, 1000)\n${OK}` }, ROUTE('handlers/h.default'))
    const run = await timed(['package'], cwd)
    expect(run.code, run.stderr).to.equal(0)
  })
})
