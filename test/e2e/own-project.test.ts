/**
 * The README's promise, kept: Polycloud in a project of its own. Every package is packed (`npm pack`), a project is
 * created with `polycloud init` in a temporary folder outside the repository, the tarballs are installed there
 * with npm (no workspace links, no node_modules of the repository on the way), and the project's own commands
 * run: `serverless package` and `npm start` (`serverless offline`) answering its route on 127.0.0.1 on each of the four
 * providers as generated (POLYCLOUD_PROVIDER only: no further install, no edit), and its `npm test`.
 *
 * npm reaches the registry for the third-party packages (osls, serverless-esbuild, serverless-offline, esbuild,
 * typescript, tsx, and the local runtimes of the other providers: azurite and the Storage clients, the Functions
 * Framework, miniflare): `--prefer-offline` uses npm's cache, which `npm ci` of the repository has filled with the
 * same versions. Measured on 2 busy cores: the install takes about 50 s (859 packages, 671 MB of node_modules, of
 * which the local runtimes are 438 packages and 410 MB), the provider switches 9 s of packaging and 14 s of
 * starting, the whole suite 3.5-4 min.
 */
import { expect } from 'chai'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { startAzureHost } from '../helpers/azure.ts'
import { freePort, ROOT, runProcess, startOffline, startServerless, type Offline, type Run } from '../helpers/serverless.ts'

const POLYCLOUD_BIN = join(ROOT, 'packages/testing/bin/polycloud.js')

/** The environment without what `npm test` passes its children (npm_config_*, npm_package_*), the cache kept. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') && key !== 'npm_config_cache' && key !== 'npm_config_registry') continue
    env[key] = value
  }
  return { ...env, SLS_TELEMETRY_DISABLED: '1', NODE_OPTIONS: '' }
}

async function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Run & { ms: number }> {
  const start = Date.now()
  const result = await runProcess(command, args, { cwd, env: cleanEnv(), timeoutMs })
  return { ...result, ms: Date.now() - start }
}

describe('e2e: Polycloud in a project of its own (npm pack, polycloud init, npm install)', function () {
  this.timeout(600_000)
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'polycloud-own-')))
  const packs = join(base, 'packs')
  const project = join(base, 'my-service')
  let offline: Offline | undefined
  const timings: Record<string, number> = {}
  let modules = ''

  before(async () => {
    expect(relative(ROOT, base).startsWith('..'), 'the project is outside the repository').to.equal(true)
    for (let dir = base; dir !== dirname(dir); dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules')), `no node_modules above the project (${dir})`).to.equal(false)
    }
    mkdirSync(packs)
    const packed = await run('npm', ['pack', '--workspaces', '--pack-destination', packs], ROOT, 120_000)
    expect(packed.code, packed.stderr).to.equal(0)
    timings.pack = packed.ms
    const created = await run(process.execPath, [POLYCLOUD_BIN, 'init', project, '--packages', packs], base, 30_000)
    expect(created.code, created.stderr).to.equal(0)
    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project, 480_000)
    expect(installed.code, installed.stderr).to.equal(0)
    timings.install = installed.ms
    const counted = await run('du', ['-sm', 'node_modules'], project, 60_000)
    modules = `${counted.stdout.split('\t')[0]} MB`
  })

  after(async () => {
    await offline?.stop()
    rmSync(base, { recursive: true, force: true })
    const steps = Object.entries(timings).map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`)
    process.stderr.write(`\n    own project: ${steps.join(', ')}; node_modules ${modules}\n`)
  })

  it('packs every package with what a user installs: dist, types, README, and no test or build leftovers', () => {
    const names = readdirSync(packs).sort()
    expect(names).to.deep.equal([
      'polycloud-auth-0.1.0.tgz',
      'polycloud-aws-0.1.0.tgz',
      'polycloud-azure-0.1.0.tgz',
      'polycloud-cloudflare-0.1.0.tgz',
      'polycloud-core-0.1.0.tgz',
      'polycloud-gcp-0.1.0.tgz',
      'polycloud-resources-0.1.0.tgz',
      'polycloud-telemetry-0.1.0.tgz',
      'polycloud-testing-0.1.0.tgz',
      'serverless-polycloud-0.1.0.tgz',
    ])
  })

  it('installs real copies from the tarballs, resolved inside the project', () => {
    for (const name of ['@polycloud/core', '@polycloud/aws', '@polycloud/testing', 'serverless-polycloud']) {
      const dir = join(project, 'node_modules', name)
      expect(lstatSync(dir).isSymbolicLink(), `${name} is no link`).to.equal(false)
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; types?: string }
      expect(manifest.version).to.equal('0.1.0')
      expect(existsSync(join(dir, 'README.md')), `${name} README`).to.equal(true)
      expect(readFileSync(join(dir, 'README.md'), 'utf8'), `${name} README starts with how to install it`).to.match(/^# .+\n\n```sh\n(?:(?!```)[\s\S])*\nnpm install /)
    }
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string; link?: boolean }> }
    expect(Object.values(lock.packages).filter((entry) => entry.link)).to.deep.equal([])
    expect(lock.packages['node_modules/@polycloud/core']?.resolved).to.match(/^file:.*polycloud-core-0\.1\.0\.tgz$/)
  })

  it('loads the packages from ESM, from CommonJS, and from a CommonJS bundle', async () => {
    const esm = await run(process.execPath, ['--input-type=module', '-e', "import { http } from '@polycloud/core'; import { createLambdaHttpHandler } from '@polycloud/aws/lambda'; console.log(typeof http, typeof createLambdaHttpHandler)"], project, 30_000)
    expect(esm.stdout.trim(), esm.stderr).to.equal('function function')
    const cjs = await run(process.execPath, ['-e', "const { http } = require('@polycloud/core'); const { request } = require('@polycloud/testing'); console.log(typeof http, typeof request)"], project, 30_000)
    expect(cjs.stdout.trim(), cjs.stderr).to.equal('function function')
  })

  it('serverless package: one bundle per function, with its source map', async () => {
    const packaged = await run(process.execPath, ['node_modules/serverless/bin/serverless.js', 'package'], project, 180_000)
    expect(packaged.code, packaged.stdout + packaged.stderr).to.equal(0)
    expect(readdirSync(join(project, '.serverless')).filter((name) => name.endsWith('.zip')).sort()).to.deep.equal(['hello.zip', 'jobs.zip', 'nightly.zip'])
    const template = readFileSync(join(project, '.serverless/cloudformation-template-update-stack.json'), 'utf8')
    expect(template).to.include('"Runtime": "nodejs22.x"')
    expect(template).to.include('cron(0 3 * * ? *)')
  })

  it('serverless offline answers its route on 127.0.0.1', async () => {
    offline = await startOffline({}, 120_000, project, join(project, 'node_modules/serverless/bin/serverless.js'))
    const response = await fetch(`${offline.url}/hello?name=Ada`)
    expect(response.status).to.equal(200)
    expect(await response.json()).to.deep.equal({ hello: 'Ada', provider: 'aws' })
    await offline.stop()
    offline = undefined
  })

  describe('the same starter on Azure, Google Cloud and Cloudflare: POLYCLOUD_PROVIDER only, nothing installed or edited', () => {
    const CLI = () => join(project, 'node_modules/serverless/bin/serverless.js')
    const env = (provider: string) => ({ POLYCLOUD_PROVIDER: provider })
    const artifacts: Record<string, string> = { azure: '.serverless/my-service.zip', google: '.serverless/my-service.zip', cloudflare: '.serverless/cloudflare/worker.mjs' }

    it('npm start is serverless offline, and provider.region is an AWS region the others read as their own', () => {
      const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
      expect(manifest.scripts.start).to.equal('serverless offline')
      expect(readFileSync(join(project, 'serverless.yml'), 'utf8')).to.match(/region: \$\{opt:region, 'eu-west-1'\}/)
    })

    for (const provider of ['azure', 'google', 'cloudflare']) {
      it(`${provider}: serverless package`, async () => {
        const start = Date.now()
        const packaged = await runProcess(process.execPath, [CLI(), 'package'], { cwd: project, env: { ...cleanEnv(), ...env(provider) }, timeoutMs: 180_000 })
        timings[`${provider} package`] = Date.now() - start
        expect(packaged.code, packaged.stdout + packaged.stderr).to.equal(0)
        expect(existsSync(join(project, artifacts[provider] as string)), artifacts[provider]).to.equal(true)
      })
    }

    it('azure: npm start answers GET /api/hello', async () => {
      const start = Date.now()
      const host = await startAzureHost({ cwd: project, cli: CLI(), timeoutMs: 150_000 })
      try {
        timings['azure start'] = Date.now() - start
        const response = await fetch(`${host.url}/api/hello?name=Ada`)
        expect(response.status).to.equal(200)
        expect(await response.json()).to.deep.equal({ hello: 'Ada', provider: 'azure' })
      } finally {
        await host.stop()
      }
    })

    it('google: npm start answers GET /hello on the Functions Framework', async () => {
      const start = Date.now()
      const offline = await startServerless(['offline', '--port', '0'], { cwd: project, cli: CLI(), env: { ...cleanEnv(), ...env('google') }, timeoutMs: 150_000 })
      try {
        timings['google start'] = Date.now() - start
        const url = /Server ready: (http:\/\/127\.0\.0\.1:\d+)/.exec(offline.stderr())?.[1]
        const response = await fetch(`${url}/hello?name=Ada`)
        expect(response.status).to.equal(200)
        expect(await response.json()).to.deep.equal({ hello: 'Ada', provider: 'gcp' })
      } finally {
        await offline.stop()
      }
    })

    it('cloudflare: npm start answers GET /hello on workerd', async () => {
      const start = Date.now()
      const port = await freePort()
      const offline = await startServerless(['offline', '--port', String(port)], { cwd: project, cli: CLI(), env: { ...cleanEnv(), ...env('cloudflare') }, timeoutMs: 150_000 })
      try {
        timings['cloudflare start'] = Date.now() - start
        const response = await fetch(`http://127.0.0.1:${port}/hello?name=Ada`)
        expect(response.status).to.equal(200)
        expect(await response.json()).to.deep.equal({ hello: 'Ada', provider: 'cloudflare' })
      } finally {
        await offline.stop()
      }
    })
  })

  it("runs the project's own npm test (type check and the handlers' tests)", async () => {
    const tested = await run('npm', ['test'], project, 180_000)
    expect(tested.code, tested.stdout + tested.stderr).to.equal(0)
    expect(tested.stdout).to.match(/# pass 4\n# fail 0/)
  })
})

