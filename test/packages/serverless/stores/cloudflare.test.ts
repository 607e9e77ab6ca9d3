/**
 * Stores on Cloudflare: a D1 database each, bound as STORE_<NAME>; what the plan refuses (Workers KV, a name D1
 * refuses); `serverless deploy` and `remove` of a service with a store against the API stand-in, which checks each
 * request against the published spec (test/fixtures/cloudflare-api).
 */
import { expect } from 'chai'
import { join } from 'node:path'
import { ConfigError } from 'serverless-polycloud/errors'
import type { FunctionConfig } from 'serverless-polycloud/provider'
import { cloudflare } from 'serverless-polycloud/providers/cloudflare/index'
import { uploadMetadata, wranglerConfig } from 'serverless-polycloud/providers/cloudflare/package'
import { runtimeWorkers } from 'serverless-polycloud/providers/cloudflare/runtime'
import { startCloudflareStandIn, type CloudflareStandIn } from '../../../helpers/cloudflare-api.ts'
import { serverless } from '../../../helpers/serverless.ts'
import { planFor } from '../support.ts'

const FUNCTIONS: Record<string, FunctionConfig> = {
  chat: { handler: 'handlers/hello.default', uses: ['sessions', 'devices'], events: [{ route: 'POST /chat' }] },
  hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
}
const RESOURCES = { sessions: 'store', devices: { kind: 'store', name: 'iot-devices', existing: true } }
const options = { service: 'shop', stage: 'dev', resources: RESOURCES }

describe('serverless/stores: Cloudflare', () => {
  describe('the plan', () => {
    const plan = planFor(cloudflare, FUNCTIONS, options)

    it('binds each store as STORE_<NAME> and addresses it by that binding', () => {
      expect(plan.vars.POLYCLOUD_RESOURCES).to.equal('{"sessions":{"kind":"store","binding":"STORE_SESSIONS"},"devices":{"kind":"store","binding":"STORE_DEVICES"}}')
      expect(plan.manifest().stores).to.deep.equal([
        { name: 'shop-dev-sessions', binding: 'STORE_SESSIONS', existing: false },
        { name: 'iot-devices', binding: 'STORE_DEVICES', existing: true },
      ])
    })

    it("leaves the D1 bindings to deploy (their ids), gives wrangler's configuration and miniflare the databases", () => {
      const manifest = plan.manifest()
      expect(uploadMetadata(manifest).bindings.some((binding) => binding.type === 'd1')).to.equal(false)
      expect(wranglerConfig(manifest).d1_databases).to.deep.equal([
        { binding: 'STORE_SESSIONS', database_name: 'shop-dev-sessions' },
        { binding: 'STORE_DEVICES', database_name: 'iot-devices' },
      ])
      expect(runtimeWorkers(manifest, '/tmp/artifact')[0]?.d1Databases).to.deep.equal({ STORE_SESSIONS: 'shop-dev-sessions', STORE_DEVICES: 'iot-devices' })
    })

    it('refuses a store that asks for Workers KV, saying why, and a name D1 refuses', () => {
      const kv = { ...RESOURCES, sessions: { kind: 'store', cloudflare: { kv: true } } }
      expect(() => planFor(cloudflare, FUNCTIONS, { ...options, resources: kv })).to.throw(ConfigError, 'custom.polycloud.resources.sessions.cloudflare.kv: a store on Cloudflare is a D1 database, not Workers KV: KV is eventually consistent')
      expect(() => planFor(cloudflare, FUNCTIONS, { ...options, resources: kv })).to.throw(ConfigError, 'has no conditional write')
      expect(() => planFor(cloudflare, FUNCTIONS, { ...options, service: 'Shop' })).to.throw(ConfigError, 'custom.polycloud.resources.sessions: a store on Cloudflare is a D1 database, and "Shop-dev-sessions" is not a D1 database name')
    })
  })

  describe('deploy and remove (API stand-in)', function () {
    this.timeout(240_000)
    const TOKEN = 'test-token-0123456789'
    const ACCOUNT = '0123456789abcdef0123456789abcdef'
    const SERVICE = join(import.meta.dirname, 'service')
    let api: CloudflareStandIn
    const run = (command: string[]) =>
      serverless(command, { cwd: SERVICE, env: { POLYCLOUD_PROVIDER: 'cloudflare', CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_BASE_URL: api.baseUrl }, timeoutMs: 150_000 })
    const database = () => [...api.state.databases.values()].find((candidate) => candidate.name === 'polycloud-stores-dev-notes')

    before(async () => {
      api = await startCloudflareStandIn({ token: TOKEN, account: ACCOUNT, subdomain: 'acme' })
    })
    after(async () => {
      await api?.stop()
    })

    it('creates the D1 database before the upload, binds it by id and records it; a second deploy creates nothing', async () => {
      const result = await run(['deploy'])
      expect(result.code, result.stdout + result.stderr).to.equal(0)
      const operations = api.operations()
      expect(operations.indexOf('cloudflare-d1-create-database')).to.be.below(operations.indexOf('worker-script-upload-worker-module'))
      const created = database()
      expect(created).to.not.equal(undefined)
      const bindings = api.state.scripts.get('polycloud-stores-dev')?.metadata.bindings as Array<Record<string, unknown>>
      expect(bindings.find((binding) => binding.type === 'd1')).to.deep.equal({ type: 'd1', name: 'STORE_NOTES', database_id: created?.uuid })
      expect(bindings.find((binding) => binding.name === 'POLYCLOUD_RESOURCES')).to.deep.include({ text: '{"notes":{"kind":"store","binding":"STORE_NOTES"}}' })
      expect(bindings.find((binding) => binding.name === 'POLYCLOUD_DEPLOYMENT')?.json).to.deep.include({ stores: ['polycloud-stores-dev-notes'] })
      const before = api.operations().length
      const again = await run(['deploy'])
      expect(again.code, again.stdout + again.stderr).to.equal(0)
      const next = api.operations().slice(before)
      expect(next).to.include('cloudflare-d1-list-databases')
      expect(next).to.not.include('cloudflare-d1-create-database')
      expect(api.state.databases.size).to.equal(1)
    })

    it('remove keeps a database that holds entries, saying so; remove --deleteData deletes it once the Worker is gone', async () => {
      database()?.tables.set('kv', 3)
      const kept = await run(['remove'])
      expect(kept.code, kept.stdout + kept.stderr).to.equal(0)
      expect(kept.stdout + kept.stderr).to.contain('D1 database polycloud-stores-dev-notes was kept: it still holds 3 entries; serverless remove --deleteData (now or later) deletes it with them')
      expect(api.state.scripts.has('polycloud-stores-dev')).to.equal(false)
      expect(database()).to.not.equal(undefined)
      const deleted = await run(['remove', '--deleteData'])
      expect(deleted.code, deleted.stdout + deleted.stderr).to.equal(0)
      expect(deleted.stdout + deleted.stderr).to.contain('removed D1 database polycloud-stores-dev-notes')
      expect(database()).to.equal(undefined)
    })

    it('remove deletes a database that holds no entry (an empty table counts as none)', async () => {
      expect((await run(['deploy'])).code).to.equal(0)
      database()?.tables.set('kv', 0)
      const result = await run(['remove'])
      expect(result.code, result.stdout + result.stderr).to.equal(0)
      expect(result.stdout).to.contain('removed: Worker polycloud-stores-dev, D1 database polycloud-stores-dev-notes')
      expect(api.state.databases.size).to.equal(0)
    })
  })
})
