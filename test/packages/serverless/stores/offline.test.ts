/**
 * A declared store under each provider's `serverless offline`: a function that uses it puts an entry and reads it
 * back through the provider's local store (dynalite behind the local AWS endpoint, azurite's Table service, the
 * local Firestore, D1 in miniflare), and concurrent conditional updates of one entry all count.
 */
import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAzureHost, type AzureHost } from '../../../helpers/azure.ts'
import { freePorts, startServerless, type ServerlessProcess } from '../../../helpers/serverless.ts'

const SERVICE = join(import.meta.dirname, 'service')

/** The function's behaviour, the same on every provider. */
function putsAndGets(base: () => string): void {
  it('puts an entry and reads it back; an absent key is a 404', async () => {
    const put = await fetch(`${base()}/notes/first`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hello', tags: ['a'] }) })
    expect(put.status, await put.clone().text()).to.equal(200)
    expect(await put.json()).to.deep.equal({ key: 'first', version: 'string' })
    const got = await fetch(`${base()}/notes/first`)
    expect(got.status, await got.clone().text()).to.equal(200)
    expect(await got.json()).to.deep.equal({ text: 'hello', tags: ['a'] })
    expect((await fetch(`${base()}/notes/missing`)).status).to.equal(404)
  })

  it('counts concurrent updates of one entry once each (conditional writes)', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => fetch(`${base()}/notes/counter/count`, { method: 'POST' })))
    for (const answer of answers) expect(answer.status, await answer.clone().text()).to.equal(200)
    expect(await (await fetch(`${base()}/notes/counter`)).json()).to.deep.equal({ count: 4 })
  })
}

describe('serverless/stores: a declared store under serverless offline', function () {
  this.timeout(240_000)

  describe('AWS (dynalite behind the local AWS endpoint)', () => {
    const state = mkdtempSync(join(tmpdir(), 'polycloud-stores-aws-'))
    let offline: ServerlessProcess | undefined
    let url = ''
    const start = async (): Promise<void> => {
      const [httpPort, lambdaPort, servicesPort] = (await freePorts(3)) as [number, number, number]
      offline = await startServerless(['offline', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort), '--servicesPort', String(servicesPort), '--stateDir', state], {
        cwd: SERVICE,
        timeoutMs: 150_000,
        env: { POLYCLOUD_PROVIDER: 'aws' },
      })
      url = `http://127.0.0.1:${httpPort}`
    }
    before(start)
    after(async () => {
      await offline?.stop()
      rmSync(state, { recursive: true, force: true })
    })

    it('prints the store with the local endpoint', () => {
      expect(offline?.stderr()).to.match(/local AWS on http:\/\/127\.0\.0\.1:\d+ \(S3, SQS, SNS, DynamoDB;/)
      expect(offline?.stderr()).to.include('  store  DynamoDB table polycloud-stores-dev-notes')
    })
    putsAndGets(() => url)

    it('keeps the tables under <stateDir>/dynamodb: a restart reads the entries back', async () => {
      await offline?.stop()
      await start()
      expect(await (await fetch(`${url}/notes/first`)).json()).to.deep.equal({ text: 'hello', tags: ['a'] })
    })
  })

  describe('Cloudflare (D1 in miniflare)', () => {
    let offline: ServerlessProcess | undefined
    let url = ''
    before(async () => {
      rmSync(join(SERVICE, '.polycloud', 'state', 'cloudflare'), { recursive: true, force: true })
      const [port] = (await freePorts(1)) as [number]
      offline = await startServerless(['offline', '--port', String(port)], { cwd: SERVICE, timeoutMs: 150_000, env: { POLYCLOUD_PROVIDER: 'cloudflare' } })
      url = `http://127.0.0.1:${port}`
    })
    after(async () => {
      await offline?.stop()
    })
    putsAndGets(() => url)

    it('keeps the entries in the state folder: a restart reads them back', async () => {
      await offline?.stop()
      const [port] = (await freePorts(1)) as [number]
      offline = await startServerless(['offline', '--port', String(port)], { cwd: SERVICE, timeoutMs: 150_000, env: { POLYCLOUD_PROVIDER: 'cloudflare' } })
      url = `http://127.0.0.1:${port}`
      expect(await (await fetch(`${url}/notes/first`)).json()).to.deep.equal({ text: 'hello', tags: ['a'] })
    })
  })

  describe('Google Cloud (the local Firestore)', () => {
    let offline: ServerlessProcess | undefined
    let url = ''
    const start = async (): Promise<void> => {
      offline = await startServerless(['offline', '--port', '0'], { cwd: SERVICE, timeoutMs: 150_000, env: { POLYCLOUD_PROVIDER: 'google' } })
      url = /routes at (http:\/\/\S+):/.exec(offline.stderr())?.[1] ?? ''
    }
    before(async () => {
      rmSync(join(SERVICE, '.polycloud', 'state', 'google'), { recursive: true, force: true })
      await start()
    })
    after(async () => {
      await offline?.stop()
    })

    it('prints where the stores are served', () => {
      expect(offline?.stderr()).to.match(/stores \(local Firestore, REST; FIRESTORE_EMULATOR_HOST=127\.0\.0\.1:\d+\): http:\/\/127\.0\.0\.1:\d+\/v1\/projects\/[^/]+\/databases\/\(default\)\/documents\/polycloud-stores-dev-notes/)
    })
    putsAndGets(() => url)

    it('keeps the documents under .polycloud/state/google: a restart reads the entries back', async () => {
      await offline?.stop()
      await start()
      expect(await (await fetch(`${url}/notes/first`)).json()).to.deep.equal({ text: 'hello', tags: ['a'] })
    })
  })

  describe("Azure (azurite's Table service)", () => {
    let host: AzureHost | undefined
    before(async () => {
      host = await startAzureHost({ cwd: SERVICE, timeoutMs: 150_000 })
    })
    after(async () => {
      await host?.stop()
    })
    putsAndGets(() => `${host?.url}/api`)
  })
})
