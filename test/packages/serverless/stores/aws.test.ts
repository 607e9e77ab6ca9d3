/**
 * Stores on AWS: the model's store kind and its refusals, the DynamoDB table the stack creates (the driver's keys,
 * TTL, kept on stack deletion), the role statements scoped to it, the addressing; `remove` deleting an empty table,
 * keeping one with entries unless --deleteData, through the official client on dynalite.
 */
import { BatchWriteItemCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { expect } from 'chai'
import { ConfigError } from 'serverless-polycloud/errors'
import type { FunctionConfig } from 'serverless-polycloud/provider'
import { aws } from 'serverless-polycloud/providers/aws/index'
import { startLocalDynamoDb, type LocalDynamoDb } from 'serverless-polycloud/providers/aws/local/dynamodb'
import { deleteDataOption } from 'serverless-polycloud/resources'
import { dynamoRemover, removeKeptStores, removeStores } from 'serverless-polycloud/providers/aws/stores'
import { join } from 'node:path'
import { ROOT } from '../../../helpers/serverless.ts'
import * as sdk from '@aws-sdk/client-dynamodb'
import { planFor } from '../support.ts'

const FUNCTIONS: Record<string, FunctionConfig> = {
  chat: { handler: 'handlers/hello.default', uses: ['sessions', 'devices'], events: [{ route: 'POST /chat' }] },
  hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
}
const RESOURCES = { sessions: 'store', devices: { kind: 'store', name: 'iot-devices', existing: true } }
const options = { service: 'shop', stage: 'dev', resources: RESOURCES }

describe('serverless/stores: AWS', () => {
  describe('the model', () => {
    it('a store is declared by kind, deployed as <service>-<stage>-<name> unless named', () => {
      const plan = planFor(aws, FUNCTIONS, options)
      expect(plan.model.resources.map((resource) => [resource.name, resource.kind, resource.deployedName, resource.existing])).to.deep.equal([
        ['sessions', 'store', 'shop-dev-sessions', false],
        ['devices', 'store', 'iot-devices', true],
      ])
    })

    it('refuses queue settings on a store, a name no store takes, and an event that names a store', () => {
      expect(() => planFor(aws, FUNCTIONS, { ...options, resources: { ...RESOURCES, sessions: { kind: 'store', fifo: true } } })).to.throw(ConfigError, "custom.polycloud.resources.sessions.fifo: is a queue's setting, not a store's")
      expect(() => planFor(aws, FUNCTIONS, { ...options, resources: { ...RESOURCES, devices: { kind: 'store', name: 'a.b' } } })).to.throw(ConfigError, 'custom.polycloud.resources.devices: name "a.b" is not a store name the clouds take: 3-80 letters, digits, "-" and "_"')
      expect(() => planFor(aws, { q: { handler: 'handlers/hello.default', events: [{ fromQueue: 'sessions' }] } }, options)).to.throw(ConfigError, 'is declared as a store (custom.polycloud.resources.sessions), which no event consumes: its functions read and write it (uses: [sessions]); fromQueue takes a queue')
    })
  })

  describe('the plan', () => {
    const plan = planFor(aws, FUNCTIONS, options)

    it('creates a DynamoDB table per store it owns: pk/sk strings, on demand, TTL on expires, kept when the stack is deleted', () => {
      expect(plan.resources.PolycloudStoreSessions).to.deep.equal({
        Type: 'AWS::DynamoDB::Table',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          TableName: 'shop-dev-sessions',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true },
        },
      })
      // An existing store is addressed and granted, never created.
      expect(Object.keys(plan.resources).filter((id) => id.startsWith('PolycloudStore'))).to.deep.equal(['PolycloudStoreSessions'])
    })

    it('addresses each store by its table name', () => {
      expect(plan.addressing.get('chat')).to.equal('{"sessions":{"kind":"store","table":"shop-dev-sessions"},"devices":{"kind":"store","table":"iot-devices"}}')
      expect(plan.addressing.has('hello')).to.equal(false)
    })

    it("grants the user of a store the driver's four calls on that table's ARN only", () => {
      const statements = (plan.roles.get('chat')!.role.Properties as { Policies: Array<{ PolicyDocument: { Statement: unknown[] } }> }).Policies[0]!.PolicyDocument.Statement.slice(2)
      expect(statements).to.deep.equal([
        { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: [{ 'Fn::GetAtt': ['PolycloudStoreSessions', 'Arn'] }] },
        { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/iot-devices' }] },
      ])
      expect(plan.roles.has('hello')).to.equal(false)
    })
  })

  describe('remove, on dynalite through the official client', function () {
    this.timeout(60_000)
    let dynamo: LocalDynamoDb
    let client: DynamoDBClient
    const warnings: string[] = []

    before(async () => {
      dynamo = await startLocalDynamoDb({ tables: ['shop-dev-empty', 'shop-dev-full'] })
      client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
      for (let start = 0; start < 30; start += 25) {
        const items = Array.from({ length: Math.min(25, 30 - start) }, (_, index) => ({ PutRequest: { Item: { pk: { S: 'kv' }, sk: { S: `k${start + index}` }, value: { S: '1' } } } }))
        await client.send(new BatchWriteItemCommand({ RequestItems: { 'shop-dev-full': items } }))
      }
    })
    after(async () => {
      client.destroy()
      await dynamo.stop()
    })

    const tables = async (): Promise<string[]> => (await client.send(new ListTablesCommand({}))).TableNames ?? []

    it('deletes an empty table, passes over a gone one, keeps one with entries and says how to delete it', async () => {
      const removed = await removeStores(['shop-dev-empty', 'shop-dev-gone', 'shop-dev-full'], dynamoRemover(sdk, client), false, (line) => warnings.push(line))
      expect(removed).to.deep.equal(['DynamoDB table shop-dev-empty'])
      expect(warnings).to.deep.equal(['DynamoDB table shop-dev-full was kept: it still holds 25 or more entries; serverless remove --deleteData deletes them with the table (once the stack is gone: aws dynamodb delete-table --table-name shop-dev-full)'])
      expect(await tables()).to.deep.equal(['shop-dev-full'])
    })

    it('--deleteData deletes the entries page by page, then the table', async () => {
      expect(deleteDataOption({ deleteData: true })).to.equal(true)
      expect(deleteDataOption({ 'delete-data': 'true' })).to.equal(true)
      expect(deleteDataOption({})).to.equal(false)
      const removed = await removeStores(['shop-dev-full'], dynamoRemover(sdk, client), true, (line) => warnings.push(line))
      expect(removed).to.deep.equal(['DynamoDB table shop-dev-full and its 30 entries'])
      expect(await tables()).to.deep.equal([])
    })

    it("runs after osls's remove, with osls's own DynamoDB client and configuration; an existing store is never touched", async () => {
      await dynamo.createTable('shop-dev-sessions')
      await dynamo.createTable('iot-devices')
      const hooks: Record<string, Array<{ pluginName: string; hook: () => unknown }>> = {}
      const framework = {
        config: { serverlessPath: join(ROOT, 'node_modules', 'serverless', 'lib') },
        getProvider: () => ({ getAwsSdkV3Config: async () => ({ endpoint: dynamo.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }) }),
        pluginManager: { hooks },
      }
      const notices: string[] = []
      removeKeptStores(framework, planFor(aws, FUNCTIONS, options).model.resources, { options: {}, log: { notice: (line) => notices.push(line), warning: (line) => notices.push(line) } })
      expect(hooks['after:remove:remove']?.map((entry) => entry.pluginName)).to.deep.equal(['PolycloudPlugin'])
      await hooks['after:remove:remove']?.[0]?.hook()
      expect(notices).to.deep.equal(['serverless-polycloud: removed DynamoDB table shop-dev-sessions'])
      expect(await tables()).to.deep.equal(['iot-devices'])
    })
  })
})
