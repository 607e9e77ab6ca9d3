/**
 * Key-value stores on DynamoDB over its JSON protocol (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/):
 * `GetItem` and `Query` with `ConsistentRead` (read-your-writes), `PutItem` and `DeleteItem` with a
 * `ConditionExpression` for conditional writes, signed with SigV4.
 *
 * One table per store, as the plugin creates it: partition key `pk` (S) holding `kv` for every entry, sort key `sk`
 * (S) the entry's key, so a listing is a key-ordered `Query`; the value's JSON text in `value` (S), the version in
 * `version` (S: a random id chosen by the writer), the expiry in `expires` (N, epoch seconds: the table's TTL
 * attribute). DynamoDB deletes expired items within days and returns them until then: reads and listings filter them.
 */
import { DriverError, type Call, type ListedRecord, type StoreBackend, type StoreCondition, type StoreRecord, type StoreWrite } from '@polycloud/resources/driver'
import { request } from '@polycloud/resources/node-http'
import { awsError } from './errors.js'
import { sha256Hex, sign, type Credentials } from './sigv4.js'

/** The partition every entry of a store's table lives in. */
export const PARTITION = 'kv'

export interface DynamoConfig {
  readonly table: string
  readonly region: string
  readonly credentials: Credentials
  readonly endpoint: string
}

type AttributeValue = { readonly S: string } | { readonly N: string }
type Item = Readonly<Record<string, AttributeValue | undefined>>

const NAMES = { '#v': 'version', '#e': 'expires' }

export function openDynamo(config: DynamoConfig): StoreBackend {
  const url = new URL(config.endpoint)
  const table = config.table

  const call = async (operation: string, payload: Record<string, unknown>, { signal }: Call): Promise<Record<string, unknown>> => {
    const body = JSON.stringify(payload)
    const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}` }
    sign({ method: 'POST', url, headers, payloadHash: sha256Hex(body), region: config.region, service: 'dynamodb', credentials: config.credentials })
    const response = await request({ method: 'POST', url, headers, body, signal })
    const text = await response.text()
    let answer: Record<string, unknown> = {}
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed === 'object' && parsed !== null) answer = parsed as Record<string, unknown>
    } catch {
      if (response.status === 200) throw new DriverError('Unavailable', `DynamoDB answered ${operation} with something that is not JSON`)
    }
    if (response.status !== 200) {
      const type = String(answer.__type ?? '')
      throw awsError('DynamoDB', response.status, type.slice(type.indexOf('#') + 1), String(answer.message ?? answer.Message ?? text))
    }
    return answer
  }

  const key = (sk: string) => ({ pk: { S: PARTITION }, sk: { S: sk } })

  const conditionOf = (condition: StoreCondition): Record<string, unknown> => {
    if (condition.type === 'absent') {
      return { ConditionExpression: 'attribute_not_exists(sk) OR #e <= :now', ExpressionAttributeNames: { '#e': NAMES['#e'] }, ExpressionAttributeValues: { ':now': { N: String(condition.now) } } }
    }
    if (condition.type === 'version') {
      return { ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': NAMES['#v'] }, ExpressionAttributeValues: { ':v': { S: condition.version } } }
    }
    return {}
  }

  /** A conditional write's failure as the Conflict it is (the table's absence and the rest stay as they are). */
  const conditional = async <T>(operation: Promise<T>, what: string): Promise<T> => {
    try {
      return await operation
    } catch (error) {
      if (error instanceof DriverError && error.code === 'Conflict') throw new DriverError('Conflict', `DynamoDB found the condition false: ${what}`, { status: error.status, cause: error.cause })
      throw error
    }
  }

  return {
    async get(sk: string, _now: number, options: Call): Promise<StoreRecord | null> {
      const answer = await call('GetItem', { TableName: table, Key: key(sk), ConsistentRead: true }, options)
      return answer.Item === undefined ? null : recordOf(answer.Item as Item)
    },
    async put(sk: string, write: StoreWrite, condition: StoreCondition, options: Call): Promise<string> {
      const item: Record<string, AttributeValue> = { ...key(sk), value: { S: write.json }, version: { S: write.writer } }
      if (write.expires !== undefined) item.expires = { N: String(write.expires) }
      const what = condition.type === 'absent' ? 'the key holds an entry' : 'the entry has another version'
      await conditional(call('PutItem', { TableName: table, Item: item, ...conditionOf(condition) }, options), what)
      return write.writer
    },
    async delete(sk: string, condition: StoreCondition, options: Call): Promise<void> {
      await conditional(call('DeleteItem', { TableName: table, Key: key(sk), ...conditionOf(condition) }, options), 'the entry has another version, or none')
    },
    async list(prefix: string, cursor: string | undefined, limit: number, now: number, options: Call) {
      const values: Record<string, AttributeValue> = { ':p': { S: PARTITION }, ':now': { N: String(now) } }
      // A key condition cannot take an empty string: without a prefix, every key of the partition.
      let range = ''
      if (prefix !== '') {
        range = ' AND begins_with(sk, :prefix)'
        values[':prefix'] = { S: prefix }
      }
      const answer = await call(
        'Query',
        {
          TableName: table,
          KeyConditionExpression: `pk = :p${range}`,
          FilterExpression: 'attribute_not_exists(#e) OR #e > :now',
          ExpressionAttributeNames: { '#e': NAMES['#e'] },
          ExpressionAttributeValues: values,
          ConsistentRead: true,
          Limit: limit,
          ...(cursor === undefined ? {} : { ExclusiveStartKey: key(cursor) }),
        },
        options,
      )
      const items = Array.isArray(answer.Items) ? (answer.Items as Item[]) : []
      const entries: ListedRecord[] = items.map((item) => ({ key: stringOf(item.sk), record: recordOf(item) }))
      const last = (answer.LastEvaluatedKey as Item | undefined)?.sk
      return { entries, cursor: last === undefined ? undefined : stringOf(last) }
    },
  }
}

function stringOf(value: AttributeValue | undefined): string {
  if (value === undefined || !('S' in value)) throw new DriverError('Invalid', 'DynamoDB answered an item without the string attributes a store writes (is the table a store\'s?)')
  return value.S
}

function recordOf(item: Item): StoreRecord {
  const expires = item.expires
  const version = stringOf(item.version)
  return { json: stringOf(item.value), version, expires: expires !== undefined && 'N' in expires ? Number(expires.N) : undefined, writer: version }
}
