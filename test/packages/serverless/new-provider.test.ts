/**
 * A provider is one folder plus its registry entry: a throwaway fifth provider (`toy-provider/`, a target that
 * packages a zip and serves nothing else) is added to a copy of the plugin's sources (its folder as
 * `providers/toy/`, its import and name in `providers/index.ts`, nothing else), the copy is compiled with tsc, and
 * `serverless package` runs on a small service with `provider.name: toy`. Any other file a new provider would need
 * changed (a union of names, a table keyed by provider, a schema's list) fails the compile or the command.
 */
import { expect } from 'chai'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { readZip } from 'serverless-polycloud/zip'
import { ROOT, runProcess, serverless } from '../../helpers/serverless.ts'

const PLUGIN = join(ROOT, 'packages/serverless')
const TOY = join(ROOT, 'test/packages/serverless/toy-provider')

/** The registry with the toy's entry: its import after the last provider's, its name at the end of the list. */
export function register(registry: string): string {
  const withImport = registry.replace("import { cloudflare } from './cloudflare/index.js'\n", "import { cloudflare } from './cloudflare/index.js'\nimport { toy } from './toy/index.js'\n")
  const withEntry = withImport.replace('[aws, azure, google, cloudflare]', '[aws, azure, google, cloudflare, toy]')
  expect(withEntry, 'the registry lists its providers as this test expects').to.not.equal(registry)
  expect(withEntry.split('\n').length - registry.split('\n').length).to.equal(1)
  return withEntry
}

describe('serverless/plugin: a fifth provider is one folder and one registry entry', function () {
  this.timeout(300_000)
  let root: string

  before(async () => {
    // Inside the repository, so the copy and the service resolve its node_modules.
    mkdirSync(join(ROOT, '.polycloud'), { recursive: true })
    root = mkdtempSync(join(ROOT, '.polycloud', 'new-provider-'))
    const service = join(root, 'service')
    // Where osls loads a plugin of the service's own from (`./plugin`).
    const plugin = join(service, 'plugin')
    cpSync(join(PLUGIN, 'src'), join(plugin, 'src'), { recursive: true })
    cpSync(join(PLUGIN, 'package.json'), join(plugin, 'package.json'))
    cpSync(TOY, join(plugin, 'src/providers/toy'), { recursive: true })
    const registry = join(plugin, 'src/providers/index.ts')
    writeFileSync(registry, register(readFileSync(registry, 'utf8')))
    const tsconfig = {
      extends: join(ROOT, 'tsconfig.base.json'),
      compilerOptions: { rootDir: 'src', outDir: 'dist', types: ['node'], composite: false, incremental: false, declaration: false, declarationMap: false },
      include: ['src'],
    }
    writeFileSync(join(plugin, 'tsconfig.json'), JSON.stringify(tsconfig))
    const compiled = await runProcess(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(plugin, 'tsconfig.json')], { timeoutMs: 240_000 })
    expect(compiled.code, `tsc on the plugin with the toy provider:\n${compiled.stdout}${compiled.stderr}`).to.equal(0)
    mkdirSync(join(service, 'handlers'), { recursive: true })
    writeFileSync(join(service, 'handlers/hello.ts'), "import { http, json } from '@polycloud/core'\nexport default http((request) => json({ hello: request.query.get('name') ?? 'toy' }))\n")
    writeFileSync(
      join(service, 'serverless.yml'),
      [
        'service: toy-demo',
        "frameworkVersion: '4'",
        'provider:',
        '  name: plaything',
        '  timeout: 3',
        'plugins:',
        '  - ./plugin',
        'custom:',
        '  polycloud:',
        '    toy:',
        '      greeting: hi',
        'functions:',
        '  hello:',
        '    handler: handlers/hello.default',
        '    events:',
        '      - route: GET /hello',
        '      - route: POST /hello',
        '  elsewhere:',
        '    handler: handlers/hello.default',
        '    excludeFrom: [toy]',
        '    events:',
        '      - cron: "@daily"',
        '',
      ].join('\n'),
    )
  })

  after(() => rmSync(root, { recursive: true, force: true }))

  it('packages a service for it: the bundle exports each handler, the manifest lists the routes', async () => {
    const service = join(root, 'service')
    const run = await serverless(['package'], { cwd: service, timeoutMs: 120_000 })
    expect(run.code, run.stdout + run.stderr).to.equal(0)
    expect(run.stdout + run.stderr).to.include('serverless-polycloud: elsewhere not deployed to Toy (excludeFrom)')
    const entries = readZip(readFileSync(join(service, '.serverless/toy-demo.zip')))
    expect(entries.map((entry) => entry.name)).to.deep.equal(['toy.json', 'toy.mjs'])
    const manifest = JSON.parse(entries[0]!.data.toString('utf8')) as Record<string, unknown>
    expect(manifest).to.deep.equal({ service: 'toy-demo', stage: 'dev', greeting: 'hi', functions: [{ name: 'hello', timeout: 3, routes: ['GET /hello', 'POST /hello'] }] })
    const bundle = join(root, 'toy.mjs')
    writeFileSync(bundle, entries[1]!.data)
    const { functions } = (await import(pathToFileURL(bundle).href)) as { functions: Record<string, { kind: string }> }
    expect(functions.hello?.kind).to.equal('http')
  })

  it('refuses what it does not serve, naming the provider and the function', async () => {
    const service = join(root, 'service')
    const offline = await serverless(['offline'], { cwd: service, timeoutMs: 120_000 })
    expect(offline.code).to.equal(1)
    expect(offline.stdout + offline.stderr).to.include('serverless-polycloud: offline is not available for Toy yet (it serves: package)')
    const yml = join(service, 'serverless.yml')
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('    excludeFrom: [toy]\n', ''))
    const refused = await serverless(['package'], { cwd: service, timeoutMs: 120_000 })
    expect(refused.code).to.equal(1)
    expect(refused.stdout + refused.stderr).to.include('serverless-polycloud: functions.elsewhere.events[0].cron: Toy runs routes only, not cron')
  })
})
