import { expect } from 'chai'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LOCAL_RUNTIMES, STARTER_VERSIONS, starterFiles } from '../../../packages/testing/src/init.ts'
import { runProcess } from '../../helpers/serverless.ts'

const CLI = fileURLToPath(new URL('../../../packages/testing/bin/polycloud.js', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

const run = (...args: string[]) => runProcess(process.execPath, [CLI, ...args], { timeoutMs: 20_000 })

describe('testing/init: polycloud init', () => {
  it('writes a starter: exact versions, a route, a cron and a queue, three handlers, a test, a .gitignore', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'polycloud-init-')), 'Orders API')
    const result = await run('init', dir)
    expect(result.code, result.stderr).to.equal(0)
    expect(result.stdout).to.include('npm install')
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>
    expect(manifest.name).to.equal('orders-api')
    expect(manifest.dependencies).to.deep.equal({ '@polycloud/core': '0.1.0', '@polycloud/aws': '0.1.0' })
    // What npm start needs locally on every provider comes with the starter.
    expect(manifest.devDependencies).to.include(LOCAL_RUNTIMES).and.include({ 'serverless-offline': '14.8.2' })
    for (const version of [...Object.values(manifest.dependencies!), ...Object.values(manifest.devDependencies!)]) {
      expect(version, 'exact').to.match(/^(npm:[a-z-]+@)?\d+\.\d+\.\d+$/)
    }
    const yml = readFileSync(join(dir, 'serverless.yml'), 'utf8')
    expect(yml).to.include('service: orders-api')
    expect(yml).to.include('runtime: nodejs22.x')
    expect(yml).to.match(/route: GET \/hello[\s\S]*cron: '0 3 \* \* \*'[\s\S]*fromQueue: jobs/)
    for (const handler of ['hello', 'nightly', 'jobs']) expect(yml).to.include(`handler: handlers/${handler}.default`)
    expect(readFileSync(join(dir, '.gitignore'), 'utf8').split('\n')).to.include.members(['node_modules/', '.polycloud/', '.esbuild/', '.serverless/'])
    expect(readFileSync(join(dir, 'test/handlers.test.ts'), 'utf8')).to.include("from '@polycloud/testing'")
  })

  it("pins what the repository pins (so the starter runs what the repository's tests run)", () => {
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
    const plugin = JSON.parse(readFileSync(join(ROOT, 'packages/serverless/package.json'), 'utf8')) as { devDependencies: Record<string, string> }
    for (const [name, version] of Object.entries(STARTER_VERSIONS)) expect(version, name).to.equal(root.devDependencies[name])
    for (const [name, version] of Object.entries(LOCAL_RUNTIMES)) expect(version, name).to.equal(root.devDependencies[name] ?? plugin.devDependencies[name])
  })

  it('--packages points every Polycloud package at its tarball, relative to the project', () => {
    const base = mkdtempSync(join(tmpdir(), 'polycloud-init-'))
    const packs = join(base, 'packs')
    mkdirSync(packs)
    for (const name of ['polycloud-core', 'polycloud-resources', 'polycloud-aws', 'polycloud-azure', 'polycloud-gcp', 'polycloud-cloudflare', 'polycloud-testing', 'serverless-polycloud']) {
      writeFileSync(join(packs, `${name}-0.1.0.tgz`), '')
    }
    const files = starterFiles(join(base, 'svc'), { packages: packs })
    const manifest = JSON.parse(files['package.json'] as string) as Record<string, Record<string, string>>
    expect(manifest.dependencies!['@polycloud/core']).to.equal('file:../packs/polycloud-core-0.1.0.tgz')
    expect(manifest.devDependencies!['serverless-polycloud']).to.equal('file:../packs/serverless-polycloud-0.1.0.tgz')
    expect(manifest.devDependencies!['@polycloud/azure'], 'met by the tarball, not the registry').to.equal('file:../packs/polycloud-azure-0.1.0.tgz')
  })

  it('refuses a folder without the tarballs, and files that exist unless --force', async () => {
    const base = mkdtempSync(join(tmpdir(), 'polycloud-init-'))
    const missing = await run('init', join(base, 'a'), '--packages', base)
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.match(/--packages .*: no tarball for @polycloud\/core, .* at version 0\.1\.0 .*run `npm run pack`/)
    expect((await run('init', join(base, 'b'))).code).to.equal(0)
    const again = await run('init', join(base, 'b'))
    expect(again.code).to.equal(1)
    expect(again.stderr).to.match(/already has package\.json, .*pass --force/)
    expect((await run('init', join(base, 'b'), '--force')).code).to.equal(0)
    expect((await run('init', '--bogus')).code).to.equal(2)
  })
})
