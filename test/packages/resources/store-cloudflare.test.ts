// The Cloudflare driver's key-value store against miniflare's D1: the shared store behaviour from Node through
// miniflare's binding, the table the driver creates as D1 sees it, and the store used inside workerd by a bundled
// Worker (AsyncLocalStorage from the nodejs_als flag, and without it).
import { expect } from 'chai'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { fileURLToPath } from 'node:url'
import { cloudflareResources } from '@polycloud/cloudflare/resources'
import { store } from '@polycloud/resources'
import { inStore, storeBehaviour, type StoreTarget } from './store-behaviour.ts'

const ENTRY = fileURLToPath(new URL('./workerd/store-worker.ts', import.meta.url))
const RESOURCES = JSON.stringify({ kv: { kind: 'store', binding: 'KV_DB' }, sessions: { kind: 'store', binding: 'KV_DB', table: 'sessions' } })

async function startLocal(flags: readonly string[] = ['nodejs_als']): Promise<Miniflare> {
  const bundle = await build({ entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'neutral', conditions: ['workerd', 'worker'], external: ['node:*', 'cloudflare:*'], target: 'es2022', write: false, logLevel: 'silent' })
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'worker.mjs', contents: bundle.outputFiles[0]?.text ?? '' }],
    compatibilityDate: '2026-04-01',
    compatibilityFlags: [...flags],
    host: '127.0.0.1',
    port: 0,
    cf: false,
    bindings: { POLYCLOUD_RESOURCES: RESOURCES },
    d1Databases: ['KV_DB'],
  })
  await mf.ready
  return mf
}

async function target(mf: Miniflare, stop: () => Promise<void>): Promise<StoreTarget> {
  return { provider: 'cloudflare', driver: cloudflareResources(), env: { POLYCLOUD_RESOURCES: RESOURCES }, bindings: { KV_DB: await mf.getD1Database('KV_DB') }, missing: false, stop }
}

storeBehaviour('cloudflare (miniflare D1)', async () => {
  const mf = await startLocal()
  return target(mf, () => mf.dispose())
})

describe('cloudflare key-value store: D1 details', function () {
  this.timeout(60_000)
  let mf: Miniflare

  before(async function () {
    this.timeout(120_000)
    mf = await startLocal()
  })

  after(() => mf?.dispose())

  it('creates the table on first use: key, JSON text, version, expiry in epoch seconds', async () => {
    const at = await target(mf, async () => {})
    const put = await inStore(at, () => store('kv').put('device:3', { last: 1 }, { ttlSeconds: 60 }))
    const db = await mf.getD1Database('KV_DB')
    const row = await db.prepare('SELECT key, value, version, expires FROM kv WHERE key = ?1').bind('device:3').first<Record<string, unknown>>()
    expect(row).to.deep.include({ key: 'device:3', value: '{"last":1}', expires: new Date(put.expires as string).getTime() / 1000 })
    const columns = await db.prepare("SELECT name, type, pk FROM pragma_table_info('kv') ORDER BY cid").all<{ name: string; type: string; pk: number }>()
    expect(columns.results).to.deep.equal([
      { name: 'key', type: 'TEXT', pk: 1 },
      { name: 'value', type: 'TEXT', pk: 0 },
      { name: 'version', type: 'TEXT', pk: 0 },
      { name: 'expires', type: 'INTEGER', pk: 0 },
    ])
  })

  for (const flags of [['nodejs_als'], []]) {
    it(`works inside workerd (${flags.length === 0 ? 'no flag' : flags.join(', ')}): conditional writes, 20 concurrent updates, paging, a table of its own`, async () => {
      const worker = flags.length === 0 ? await startLocal([]) : mf
      try {
        const response = await worker.dispatchFetch(`http://localhost/?prefix=${flags.length === 0 ? 'plain:' : 'als:'}`)
        const body = (await response.json()) as Record<string, unknown>
        expect(response.status, JSON.stringify(body)).to.equal(200)
        expect(body.conflict).to.equal('Conflict')
        expect(body.counter).to.deep.equal({ count: 20 })
        expect((body.entry as { value: unknown }).value).to.deep.equal({ count: 1 })
        expect((body.entry as { version: string }).version).to.equal((body.first as { version: string }).version)
        const p = flags.length === 0 ? 'plain:' : 'als:'
        expect(body.pages).to.deep.equal([[`${p}a`], [`${p}counter`]])
        const db = await worker.getD1Database('KV_DB')
        expect(await db.prepare('SELECT count(*) AS n FROM sessions').first('n')).to.equal(2)
      } finally {
        if (worker !== mf) await worker.dispose()
      }
    })
  }
})
