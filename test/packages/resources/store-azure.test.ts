// The Azure driver's key-value store against azurite's Table service (started as `npm start` starts it,
// packages/serverless/.../azure/storage.ts): the shared store behaviour, the entity as the official @azure/data-tables
// client reads it (chunked values, the Int64 expiry), and versions that are the entity's ETag.
import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TableClient } from '@azure/data-tables'
import { azureResources } from '@polycloud/azure/resources'
import { store } from '@polycloud/resources'
import { startStorage, type LocalStorage } from '../../../packages/serverless/src/providers/azure/storage.ts'
import type { OfflineSettings } from '../../../packages/serverless/src/providers/azure/offline.ts'
import { failure } from './behaviour.ts'
import { inStore, storeBehaviour, type StoreTarget } from './store-behaviour.ts'
import { chunks } from '../../../adapters/azure/src/resources/table.ts'

const RESOURCES = JSON.stringify({
  kv: { kind: 'store', table: 'polycloudkv', connection: 'AzureWebJobsStorage' },
  'missing-store': { kind: 'store', table: 'nosuchtable', connection: 'AzureWebJobsStorage' },
})

interface Local {
  readonly storage: LocalStorage
  readonly folder: string
  readonly table: TableClient
}

async function startLocal(): Promise<Local> {
  const folder = mkdtempSync(join(tmpdir(), 'polycloud-store-azurite-'))
  const storage = await startStorage({ host: '127.0.0.1', port: 0, storage: folder, blobPort: 0, queuePort: 0, logLevel: 'error' } as OfflineSettings, () => {})
  const table = TableClient.fromConnectionString(storage.connectionString, 'polycloudkv', { allowInsecureConnection: true })
  await table.createTable()
  return { storage, folder, table }
}

async function stopLocal(local: Local): Promise<void> {
  await local.storage.stop()
  rmSync(local.folder, { recursive: true, force: true })
}

function target(local: Local, stop: () => Promise<void>): StoreTarget {
  return { provider: 'azure', driver: azureResources(), env: { AzureWebJobsStorage: local.storage.connectionString, POLYCLOUD_RESOURCES: RESOURCES }, missing: true, stop }
}

storeBehaviour('azure (azurite Table service)', async () => {
  const local = await startLocal()
  return target(local, () => stopLocal(local))
})

describe('azure key-value store: Table Storage details', function () {
  this.timeout(60_000)
  let local: Local
  let at: StoreTarget

  before(async function () {
    this.timeout(120_000)
    local = await startLocal()
    at = target(local, async () => {})
  })

  after(() => (local === undefined ? undefined : stopLocal(local)))

  it('writes the entity the official client reads: PartitionKey "kv", the JSON text over 64 KiB properties, an Int64 expiry', async () => {
    const value = { text: 'x'.repeat(100_000), emoji: '😀'.repeat(20_000) }
    const put = await inStore(at, () => store('kv').put('device:9', value, { ttlSeconds: 3600 }))
    const entity = await local.table.getEntity<Record<string, unknown>>('kv', 'device:9')
    const json = JSON.stringify(value)
    const parts = chunks(json)
    expect(parts.length).to.be.greaterThan(3)
    expect(parts.join('')).to.equal(json)
    for (const part of parts) expect(part.length).to.be.at.most(32_768)
    expect(parts.map((part) => part.charCodeAt(part.length - 1)).every((code) => code < 0xd800 || code > 0xdbff)).to.equal(true)
    expect(entity.value).to.equal(parts[0])
    expect(entity[`value${parts.length - 1}`]).to.equal(parts.at(-1))
    expect(entity.expires).to.equal(BigInt(new Date(put.expires as string).getTime() / 1000))
    expect(entity.writer).to.be.a('string')
    const back = await inStore(at, () => store<typeof value>('kv').get('device:9'))
    expect(back?.text === value.text, 'text').to.equal(true)
    expect(back?.emoji.length, 'emoji length').to.equal(value.emoji.length)
    expect(back?.emoji === value.emoji, 'emoji').to.equal(true)
  })

  it("conditions writes on the entity's ETag: a write by another client makes the read version stale", async () => {
    const kv = store('kv')
    const first = await inStore(at, () => kv.put('shared', { by: 'polycloud' }))
    const entity = await local.table.getEntity('kv', 'shared')
    await local.table.updateEntity({ partitionKey: 'kv', rowKey: 'shared', value: '{"by":"sdk"}' }, 'Merge', { etag: entity.etag })
    const error = await inStore(at, () => failure(kv.put('shared', { by: 'polycloud again' }, { ifVersion: first.version })))
    expect(error.code).to.equal('Conflict')
    expect(error.status).to.equal(412)
    expect(await inStore(at, () => kv.get('shared'))).to.deep.equal({ by: 'sdk' })
  })

  it('is refused as Denied with a wrong account key (azurite checks the Table service\'s Shared Key signature)', async () => {
    const wrong = local.storage.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('not the key').toString('base64')}`)
    // A driver of its own: a driver opens each store once per process.
    const denied = { ...at, driver: azureResources(), env: { ...at.env, AzureWebJobsStorage: wrong } }
    const error = await inStore(denied, () => failure(store('kv').get('anything')))
    expect(error.code, error.message).to.equal('Denied')
    expect(error.status).to.equal(403)
  })
})
