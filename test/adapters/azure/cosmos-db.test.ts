import { expect } from 'chai'
import { changes, type ChangeEvent } from '@polycloud/core'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import { cosmosDb, cosmosDbSource, createAzureHandler } from '@polycloud/azure'
import { azureFixtures, azureInput, invocation } from './support.ts'

const COSMOS = { type: 'cosmosDBTrigger', connection: 'Cosmos', databaseName: 'shop', containerName: 'orders' }

const order = {
  id: 'order-1',
  tenant: 'acme',
  address: { city: 'Oslo' },
  total: 12.5,
  _private: 'user field that starts with an underscore',
  _rid: 'AbCdAKxYzz0BAAAAAAAAAA==',
  _self: 'dbs/AbCdAA==/colls/AbCdAKxYzz0=/docs/AbCdAKxYzz0BAAAAAAAAAA==/',
  _etag: '"0000d986-0000-0d00-0000-663210a00000"',
  _attachments: 'attachments/',
  _ts: 1714557600,
  _lsn: 17,
}

describe('azure/cosmos-db', () => {
  it('recognises document arrays (with a Cosmos DB trigger, or by shape) and nothing else', () => {
    expect(cosmosDb.canHandle(azureInput([order], COSMOS))).to.equal(true)
    expect(cosmosDb.canHandle(azureInput([], COSMOS))).to.equal(true)
    expect(cosmosDb.canHandle(azureInput([order]))).to.equal(true)
    expect(cosmosDb.canHandle(azureInput([]))).to.equal(false)
    expect(cosmosDb.canHandle(azureInput(order, COSMOS))).to.equal(false)
    expect(cosmosDb.canHandle(azureInput([order], { type: 'eventGridTrigger' }))).to.equal(false)
    for (const [path, input] of azureFixtures()) expect(cosmosDb.canHandle(input), path).to.equal(path.startsWith('azure/cosmosdb/'))
  })

  it('gives each document as an upsert without system properties, keyed by id and the configured partition key', () => {
    const input = azureInput([order], COSMOS)
    const [event] = cosmosDbSource({ partitionKey: ['/tenant', '/address/city'] }).getEvents(input) as ChangeEvent[]
    expect(event).to.deep.equal({
      kind: 'changes',
      id: 'order-1@0000d986-0000-0d00-0000-663210a00000',
      time: '2024-05-01T10:00:00.000Z',
      source: 'shop/orders',
      native: order,
      type: 'upsert',
      table: 'orders',
      keys: { id: 'order-1', tenant: 'acme', 'address/city': 'Oslo' },
      newImage: { id: 'order-1', tenant: 'acme', address: { city: 'Oslo' }, total: 12.5, _private: 'user field that starts with an underscore' },
      oldImage: undefined,
    })
    const [plain] = cosmosDb.getEvents(input) as ChangeEvent[]
    expect(plain?.keys).to.deep.equal({ id: 'order-1' })
    const [missing] = cosmosDbSource({ partitionKey: '/region' }).getEvents(input) as ChangeEvent[]
    expect(missing?.keys).to.deep.equal({ id: 'order-1' })
    expect(() => cosmosDbSource({ partitionKey: '/' })).to.throw(RangeError, 'invalid partition key path "/"')
  })

  it('reads v3 binding names and resolves %AppSetting% names', () => {
    process.env.POLYCLOUD_TEST_DB = 'shop-eu'
    try {
      const [event] = cosmosDb.getEvents(azureInput([{ id: 'x' }], { type: 'cosmosDBTrigger', databaseName: '%POLYCLOUD_TEST_DB%', collectionName: 'legacy' })) as ChangeEvent[]
      expect([event?.table, event?.source, event?.id, event?.time]).to.deep.equal(['legacy', 'shop-eu/legacy', 'x', ''])
    } finally {
      delete process.env.POLYCLOUD_TEST_DB
    }
  })

  it('marks items that are not documents as invalid, and refuses the all-versions feed', () => {
    const records = cosmosDb.getEvents(azureInput([{ id: 'ok' }, { name: 'no id' }, 7], COSMOS))
    expect(records.map((record) => (record instanceof InvalidRecord ? `invalid ${record.id}: ${record.error.message}` : record.id))).to.deep.equal([
      'ok',
      'invalid input[1]: azure:cosmos-db: input[1]: id must be a non-empty string, got nothing',
      'invalid input[2]: azure:cosmos-db: input[2]: it is a number, not an object',
    ])
    const [item] = cosmosDb.getEvents(azureInput([{ current: { id: 'a' }, metadata: { operationType: 'create' } }], { ...COSMOS, changeFeedMode: 'AllVersionsAndDeletes' }))
    expect((item as InvalidRecord).error.message).to.match(/^azure:cosmos-db: input\[0\]: changeFeedMode 'AllVersionsAndDeletes' is not supported/)
  })

  it('runs changes in order, stops at the first failure and fails the invocation for it and the rest', async () => {
    const seen: string[] = []
    const handler = createAzureHandler(
      changes((event) => {
        seen.push(event.id)
        if (event.id === 'b') throw new Error('conflict')
      }),
      [cosmosDb],
    )
    const run = invocation(COSMOS)
    const error = await handler([{ id: 'a' }, { id: 'b' }, { id: 'c' }], run.context).catch((caught: unknown) => caught)
    expect(seen).to.deep.equal(['a', 'b'])
    expect(error).to.be.instanceOf(BatchFailedError)
    expect((error as BatchFailedError).failedIds).to.deep.equal(['b', 'c'])
    expect(run.lines().map((line) => [line.azureLevel, line.message])).to.deep.equal([
      ['error', 'event failed'],
      ['warning', 'stopped an ordered batch at the first failure'],
    ])
    expect(await handler([], invocation(COSMOS).context)).to.equal(undefined)
  })

  it('refuses a document whose id, _ts or _etag is of the wrong type, or that nests deeper than any real document', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ id: '' }, 'input[0]: id must be a non-empty string, got the empty string'],
      [{ _ts: 'later' }, 'input[0] ("1"): _ts must be a time in seconds since the epoch (from year 0 to 9999), got the string "later"'],
      [{ _etag: 5 }, 'input[0] ("1"): _etag must be a string, got the number 5'],
      [{ nested: JSON.parse(`${'['.repeat(1500)}${']'.repeat(1500)}`) }, "input[0] (\"1\"): the document nests arrays and objects more than 1000 levels deep; no provider's event does"],
    ]
    for (const [fields, problem] of cases) {
      const [item] = cosmosDb.getEvents(azureInput([{ ...order, id: '1', ...fields }], COSMOS) as never)
      expect((item as InvalidRecord).error.message).to.equal(`azure:cosmos-db: ${problem}`)
    }
  })
})
