import { expect } from 'chai'
import { getFunction } from '@google-cloud/functions-framework/testing'
import { cloudEvent, http, topic } from '@polycloud/core'
import { gcp, gcpSources, registerCloudEvent, registerHttp, toCloudEventFunction, toHttpFunction } from '@polycloud/gcp'
import { captureOutput, withEnv } from './support.ts'

describe('gcp/register', () => {
  it('registers with the Functions Framework: an HTTP function, a push endpoint, a one-parameter CloudEvent function', () => {
    registerHttp('pcRegisterHttp', http(() => null), gcpSources)
    registerHttp('pcRegisterPush', topic(() => {}), gcpSources)
    registerCloudEvent('pcRegisterEvent', cloudEvent(() => {}), gcpSources)
    expect(getFunction('pcRegisterHttp')).to.be.a('function')
    expect(getFunction('pcRegisterPush')).to.be.a('function')
    expect((getFunction('pcRegisterEvent') as (...args: unknown[]) => unknown).length).to.equal(1)
  })

  it("passes on the framework's refusal of an invalid function name", () => {
    expect(() => gcp.http('not a valid name!', http(() => null))).to.throw(/name/i)
  })

  it('warns once, as a structured WARNING, when deployed (K_SERVICE) without NODE_ENV=production', () => {
    const output = captureOutput()
    try {
      withEnv({ K_SERVICE: undefined, NODE_ENV: 'development' }, () => gcp.http('pcWarnLocal', http(() => null)))
      expect(output.logs()).to.have.length(0)
      withEnv({ K_SERVICE: 'orders-api', NODE_ENV: 'development' }, () => {
        gcp.http('pcWarnOne', http(() => null))
        gcp.cloudEvent('pcWarnTwo', topic(() => {}))
      })
    } finally {
      output.restore()
    }
    const warnings = output.logs()
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.deep.include({ severity: 'WARNING', level: 'warn' })
    expect(warnings[0]?.message).to.match(/^NODE_ENV is "development", not "production": .* Deploy with --set-env-vars NODE_ENV=production\.$/)
  })
})

describe('gcp/register: the wrappers fit the Functions Framework types', () => {
  it("registers toHttpFunction / toCloudEventFunction results with FF's own http / cloudEvent (type-checked)", async () => {
    const ff = await import('@google-cloud/functions-framework')
    ff.http('pcTypedHttp', toHttpFunction(http(() => null)))
    ff.cloudEvent('pcTypedEvent', toCloudEventFunction(topic(() => {})))
    expect(getFunction('pcTypedHttp')).to.be.a('function')
    expect((getFunction('pcTypedEvent') as (...args: unknown[]) => unknown).length).to.equal(1)
  })
})

describe('gcp/register: bundled as CommonJS', function () {
  this.timeout(30_000)

  it('loads and registers (no import.meta in a CommonJS bundle), then serves through the Functions Framework', async () => {
    const { build } = await import('esbuild')
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { execFile } = await import('node:child_process')
    const { ROOT } = await import('../../helpers/serverless.ts')
    // In the repository, so the bundle finds the Functions Framework in node_modules, as a deployed one does.
    const dir = mkdtempSync(join(ROOT, 'node_modules', '.polycloud-cjs-'))
    try {
      const entry = join(dir, 'entry.ts')
      writeFileSync(entry, [
        "import { http, json } from '@polycloud/core'",
        "import { gcp } from '@polycloud/gcp'",
        "gcp.http('cjsHello', http(async (request) => json({ body: await request.json() })))",
      ].join('\n'))
      await build({ entryPoints: [entry], outfile: join(dir, 'entry.cjs'), bundle: true, platform: 'node', format: 'cjs', external: ['@google-cloud/functions-framework'], logLevel: 'silent' })
      writeFileSync(join(dir, 'run.cjs'), [
        "require('./entry.cjs')",
        "const { getTestServer } = require('@google-cloud/functions-framework/testing')",
        "const server = getTestServer('cjsHello').listen(0, '127.0.0.1', async () => {",
        "  const response = await fetch(`http://127.0.0.1:${server.address().port}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '42' })",
        "  console.log(response.status, await response.text())",
        "  server.close()",
        "})",
      ].join('\n'))
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [join(dir, 'run.cjs')], { timeout: 20_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out))),
      )
      expect(stdout.trim()).to.equal('200 {"body":42}')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
