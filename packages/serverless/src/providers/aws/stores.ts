/**
 * Key-value stores on AWS: one DynamoDB table per declared store, as `@polycloud/aws/resources` reads it (partition
 * key `pk` and sort key `sk`, both strings; TTL attribute `expires`, epoch seconds), named
 * `<service>-<stage>-<name>` unless the declaration names it, on-demand billing.
 *
 * - Deploy: `AWS::DynamoDB::Table` `PolycloudStore<Name>` in the stack, with `DeletionPolicy: Retain` so that
 *   removing the stack never deletes entries; {@link removeStores} then deletes the table when it holds none, or
 *   with its entries under `serverless remove --deleteData`, and keeps it with a warning otherwise.
 * - Grants: the role of each function that uses the store may `GetItem`, `Query`, `PutItem` and `DeleteItem` on that
 *   table's ARN, nothing else (the driver's four calls).
 * - Addressing: `{ kind: 'store', table }`, the table's name, the same deployed and under `serverless offline`
 *   (where dynalite answers on the local services' endpoint: `AWS_ENDPOINT_URL_DYNAMODB`).
 */
import type { ResourceDeclaration } from '../../model.js'
import type { Json } from '../../provider.js'
import { deleteDataOption } from '../../resources.js'
import { logicalName } from './events.js'

/** What the store driver calls (`adapters/aws/src/resources/dynamodb.ts`), and so what its functions are granted. */
export const STORE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem']
/** The driver's key schema and TTL attribute. */
export const STORE_KEYS = { partition: 'pk', sort: 'sk', ttl: 'expires' } as const

/** The logical id of a store's table in the stack. */
export function storeId(resource: ResourceDeclaration): string {
  return `PolycloudStore${logicalName(resource.name)}`
}

/** A store's table as the stack creates it (kept when the stack is deleted: see {@link removeStores}). */
export function storeTable(resource: ResourceDeclaration): Json {
  return {
    Type: 'AWS::DynamoDB::Table',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      TableName: resource.deployedName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: STORE_KEYS.partition, AttributeType: 'S' },
        { AttributeName: STORE_KEYS.sort, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: STORE_KEYS.partition, KeyType: 'HASH' },
        { AttributeName: STORE_KEYS.sort, KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: STORE_KEYS.ttl, Enabled: true },
    },
  }
}

/** A store's table ARN: `Fn::GetAtt` when the stack creates it, else by name in the stack's account and region. */
export function storeArn(resource: ResourceDeclaration): Json {
  return resource.existing ? { 'Fn::Sub': `arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/${resource.deployedName}` } : { 'Fn::GetAtt': [storeId(resource), 'Arn'] }
}

/** The statement a function that uses the store needs: the driver's calls on its table only. */
export function storeStatements(resource: ResourceDeclaration): Json[] {
  return [{ Effect: 'Allow', Action: STORE_ACTIONS, Resource: [storeArn(resource)] }]
}

/** A store's addressing entry (deployed and local alike: the table's name). */
export function storeAddress(resource: ResourceDeclaration): Record<string, string> {
  return { kind: 'store', table: resource.deployedName }
}

/** The DynamoDB calls `remove` makes on the tables the stack kept. */
export interface TableRemover {
  /** A page of the table's keys (up to 25, BatchWriteItem's limit) and where the next begins; undefined when the table does not exist. */
  scan(table: string, start: Json | undefined): Promise<{ keys: Json[]; next: Json | undefined } | undefined>
  deleteKeys(table: string, keys: readonly Json[]): Promise<void>
  deleteTable(table: string): Promise<void>
}

/** The parts of `@aws-sdk/client-dynamodb` {@link dynamoRemover} calls: osls's own copy at run time. */
export interface DynamoSdk {
  ScanCommand: typeof import('@aws-sdk/client-dynamodb').ScanCommand
  BatchWriteItemCommand: typeof import('@aws-sdk/client-dynamodb').BatchWriteItemCommand
  DeleteTableCommand: typeof import('@aws-sdk/client-dynamodb').DeleteTableCommand
}

/** A page of keys small enough for one BatchWriteItem. */
const PAGE = 25

/** {@link TableRemover} over a DynamoDB client: Scan of the key attributes, BatchWriteItem deletes (unprocessed ones retried), DeleteTable. */
export function dynamoRemover(sdk: DynamoSdk, client: { send: import('@aws-sdk/client-dynamodb').DynamoDBClient['send'] }): TableRemover {
  return {
    async scan(table, start) {
      try {
        const page = await client.send(
          new sdk.ScanCommand({
            TableName: table,
            Limit: PAGE,
            ProjectionExpression: '#p, #s',
            ExpressionAttributeNames: { '#p': STORE_KEYS.partition, '#s': STORE_KEYS.sort },
            ...(start === undefined ? {} : { ExclusiveStartKey: start as never }),
          }),
        )
        return { keys: (page.Items ?? []) as Json[], next: page.LastEvaluatedKey as Json | undefined }
      } catch (error) {
        if ((error as Error).name === 'ResourceNotFoundException') return undefined
        throw error
      }
    },
    async deleteKeys(table, keys) {
      let requests = keys.map((key) => ({ DeleteRequest: { Key: key as never } }))
      // BatchWriteItem answers 200 with what it could not process yet (throttled): sent again, a bounded number of times.
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt === 5) throw new Error(`DynamoDB did not delete ${requests.length} entr${requests.length === 1 ? 'y' : 'ies'} of ${table} after ${attempt} attempts (throttled)`)
        const answer = await client.send(new sdk.BatchWriteItemCommand({ RequestItems: { [table]: requests } }))
        requests = (answer.UnprocessedItems?.[table] ?? []) as typeof requests
        if (requests.length > 0) await new Promise((done) => setTimeout(done, 100 * 2 ** attempt))
      }
    },
    async deleteTable(table) {
      await client.send(new sdk.DeleteTableCommand({ TableName: table }))
    },
  }
}

/**
 * After `serverless remove`: the stores' tables the stack created and kept (`DeletionPolicy: Retain`) are deleted
 * when they hold no entry; one that holds entries is kept, with a warning saying so, unless `deleteData`
 * (`--deleteData`): then its entries go first. What was deleted is returned.
 */
export async function removeStores(tables: readonly string[], dynamo: TableRemover, deleteData: boolean, warn: (line: string) => void): Promise<string[]> {
  const removed: string[] = []
  for (const table of tables) {
    const first = await dynamo.scan(table, undefined)
    if (first === undefined) continue
    if (first.keys.length > 0 && !deleteData) {
      warn(`DynamoDB table ${table} was kept: it still holds ${first.next === undefined ? first.keys.length : `${first.keys.length} or more`} entr${first.keys.length === 1 && first.next === undefined ? 'y' : 'ies'}; serverless remove --deleteData deletes them with the table (once the stack is gone: aws dynamodb delete-table --table-name ${table})`)
      continue
    }
    let page: { keys: Json[]; next: Json | undefined } | undefined = first
    let count = 0
    while (page !== undefined && (page.keys.length > 0 || page.next !== undefined)) {
      if (page.keys.length > 0) await dynamo.deleteKeys(table, page.keys)
      count += page.keys.length
      page = page.next === undefined ? undefined : await dynamo.scan(table, page.next)
    }
    await dynamo.deleteTable(table)
    removed.push(`DynamoDB table ${table}${count > 0 ? ` and its ${count} entr${count === 1 ? 'y' : 'ies'}` : ''}`)
  }
  return removed
}

/** The framework's parts `remove` reaches DynamoDB with: its AWS provider's SDK v3 configuration, and where osls is. */
interface AwsFramework {
  config?: { serverlessPath?: string }
  getProvider?(name: string): { getAwsSdkV3Config(): Promise<object> }
  pluginManager?: { hooks: Record<string, Array<{ pluginName: string; hook: () => unknown }>> }
}

/**
 * After `serverless remove`, the stores' tables the stack kept are deleted when they hold no entry, with their
 * entries under `--deleteData`, and kept with a warning otherwise ({@link removeStores}): through osls's own AWS SDK
 * client and credentials.
 */
export function removeKeptStores(serverless: unknown, stores: readonly ResourceDeclaration[], context: { readonly options: Readonly<Record<string, unknown>>; readonly log: { notice(line: string): void; warning(line: string): void } }): void {
  const framework = serverless as AwsFramework
  const tables = stores.filter((resource) => resource.kind === 'store' && !resource.existing).map((resource) => resource.deployedName)
  if (tables.length === 0 || framework.pluginManager === undefined) return
  ;(framework.pluginManager.hooks['after:remove:remove'] ??= []).push({
    pluginName: 'PolycloudPlugin',
    hook: async () => {
      const [{ createRequire }, { join }] = await Promise.all([import('node:module'), import('node:path')])
      const sdk = createRequire(join(framework.config?.serverlessPath ?? process.cwd(), 'index.js'))('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb')
      const client = new sdk.DynamoDBClient((await framework.getProvider?.('aws').getAwsSdkV3Config()) ?? {})
      try {
        const removed = await removeStores(tables, dynamoRemover(sdk, client), deleteDataOption(context.options), (line) => context.log.warning(`serverless-polycloud: ${line}`))
        if (removed.length > 0) context.log.notice(`serverless-polycloud: removed ${removed.join(', ')}`)
      } finally {
        client.destroy()
      }
    },
  })
}
