// The AWS driver's key-value store against dynalite (DynamoDB's API; packages/serverless/.../aws/local/dynamodb.ts
// starts it): the shared store behaviour, the item layout as the AWS SDK reads it (the contract with the deploy's
// table), and a write whose answer is lost on the way counted once.
import { expect } from 'chai'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import { awsResources } from '@polycloud/aws/resources'
import { store } from '@polycloud/resources'
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../packages/serverless/src/providers/aws/local/dynamodb.ts'
import { inStore, storeBehaviour, type StoreTarget } from './store-behaviour.ts'

const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDPOLYCLOUDTEST', AWS_SECRET_ACCESS_KEY: 'polycloud-test-secret', AWS_REGION: 'eu-west-1' }
const RESOURCES = JSON.stringify({ kv: { kind: 'store', table: 'polycloud-test-kv' }, 'missing-store': { kind: 'store', table: 'no-such-table' } })

function target(endpoint: string, stop: () => Promise<void>): StoreTarget {
  return { provider: 'aws', driver: awsResources(), env: { ...CREDENTIALS, AWS_ENDPOINT_URL_DYNAMODB: endpoint, POLYCLOUD_RESOURCES: RESOURCES }, missing: true, stop }
}

storeBehaviour('aws (dynalite)', async () => {
  const local = await startLocalDynamoDb({ tables: ['polycloud-test-kv'] })
  return target(local.endpoint, () => local.stop())
})

describe('aws key-value store: DynamoDB details', function () {
  this.timeout(60_000)
  let local: LocalDynamoDb
  let folder: string

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'polycloud-dynalite-'))
    local = await startLocalDynamoDb({ stateDir: folder, tables: ['polycloud-test-kv'] })
  })

  after(async () => {
    await local?.stop()
    rmSync(folder, { recursive: true, force: true })
  })

  it('writes the item the deploy\'s table expects: pk "kv", sk the key, the JSON text, the version and the TTL attribute', async () => {
    const put = await inStore(target(local.endpoint, async () => {}), () => store('kv').put('device:7', { last: 21.5 }, { ttlSeconds: 3600 }))
    const sdk = new DynamoDBClient({ region: 'eu-west-1', endpoint: local.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })
    const { Item } = await sdk.send(new GetItemCommand({ TableName: 'polycloud-test-kv', Key: { pk: { S: 'kv' }, sk: { S: 'device:7' } }, ConsistentRead: true }))
    expect(Item?.value).to.deep.equal({ S: '{"last":21.5}' })
    expect(Item?.version?.S).to.be.a('string').and.not.equal('')
    expect(Number(Item?.expires?.N)).to.equal(new Date(put.expires as string).getTime() / 1000)
    expect(Object.keys(Item ?? {}).sort()).to.deep.equal(['expires', 'pk', 'sk', 'value', 'version'])
    sdk.destroy()
  })

  it('keeps the tables and entries in its folder between runs', async () => {
    await inStore(target(local.endpoint, async () => {}), () => store('kv').put('kept', 'across restarts'))
    await local.stop()
    local = await startLocalDynamoDb({ stateDir: folder, tables: ['polycloud-test-kv'] })
    expect(await inStore(target(local.endpoint, async () => {}), () => store('kv').get('kept'))).to.equal('across restarts')
  })

  describe('an answer lost on the way', () => {
    let front: Server
    let frontUrl = ''
    let failures = 0

    before(async () => {
      // Forwards every request to dynalite; for the next `failures` conditional PutItems, applies them but answers 500.
      front = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (chunk: Buffer) => chunks.push(chunk))
        req.on('end', () => {
          const body = Buffer.concat(chunks)
          const lose = failures > 0 && req.headers['x-amz-target'] === 'DynamoDB_20120810.PutItem' && body.includes('ConditionExpression')
          if (lose) failures--
          const upstream = httpRequest(`${local.endpoint}/`, { method: 'POST', headers: req.headers }, (answer) => {
            const parts: Buffer[] = []
            answer.on('data', (chunk: Buffer) => parts.push(chunk))
            answer.on('end', () => {
              if (lose) res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end('{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"lost"}')
              else res.writeHead(answer.statusCode ?? 500, answer.headers).end(Buffer.concat(parts))
            })
          })
          upstream.end(body)
        })
      })
      const port = await new Promise<number>((resolve) => front.listen(0, '127.0.0.1', () => resolve((front.address() as AddressInfo).port)))
      frontUrl = `http://127.0.0.1:${port}`
    })

    after(async () => {
      front.closeAllConnections()
      await new Promise((resolve) => front.close(resolve))
    })

    it('retries, finds its own write stored, and counts the update once', async () => {
      const via = target(frontUrl, async () => {})
      const counter = store<{ count: number }>('kv')
      await inStore(via, () => counter.put('lost', { count: 1 }))
      failures = 1
      expect(await inStore(via, () => counter.update('lost', (current) => ({ count: (current?.count ?? 0) + 1 })))).to.deep.equal({ count: 2 })
      expect(failures).to.equal(0)
      expect(await inStore(via, () => counter.get('lost'))).to.deep.equal({ count: 2 })
      failures = 1
      await inStore(via, () => counter.put('lost-absent', { count: 1 }, { ifAbsent: true }))
      expect(failures).to.equal(0)
      expect(await inStore(via, () => counter.get('lost-absent'))).to.deep.equal({ count: 1 })
    })
  })
})
