/**
 * A local DynamoDB for the key-value stores: dynalite (DynamoDB's JSON API on LevelDB, in memory or in a folder) on
 * 127.0.0.1, with each store's table created as the deploy creates it: partition key `pk` (S), sort key `sk` (S),
 * on-demand billing. dynalite has no TTL (`UpdateTimeToLive` is an unknown operation there): the driver's reads
 * filter expired items, as they must on DynamoDB anyway (its TTL deletes within days).
 */
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

interface DynaliteOptions {
  readonly path?: string
  readonly createTableMs?: number
  readonly deleteTableMs?: number
  readonly updateTableMs?: number
}

export interface LocalDynamoDbOptions {
  /** 127.0.0.1 (the loopback interface is the only one allowed). */
  readonly host?: string
  /** 0 (the default) picks a free port. */
  readonly port?: number
  /** Where the tables are kept between runs (a LevelDB folder); in memory when undefined. */
  readonly stateDir?: string
  /** The stores' tables, created when missing. */
  readonly tables?: readonly string[]
}

export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>`: `AWS_ENDPOINT_URL_DYNAMODB` for the functions and the AWS SDK. */
  readonly endpoint: string
  readonly port: number
  /** Creates a store's table (`pk` + `sk`) unless it exists. */
  createTable(name: string): Promise<void>
  stop(): Promise<void>
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

/** One DynamoDB JSON API call (dynalite checks no signature: any credentials do). */
function call(endpoint: string, operation: string, payload: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(payload)
    const req = request(
      `${endpoint}/`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${operation}`,
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local',
          'x-amz-date': '20260101T000000Z',
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: Record<string, unknown> = {}
          try {
            parsed = JSON.parse(text) as Record<string, unknown>
          } catch {
            // An empty or non-JSON answer: the status says enough.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed })
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Starts dynalite and creates the stores' tables; resolves once it listens. */
export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const host = options.host ?? '127.0.0.1'
  if (!LOOPBACK.has(host)) throw new Error(`the local DynamoDB listens on the loopback interface only, not ${host}`)
  let dynalite: (options: DynaliteOptions) => Server
  try {
    dynalite = createRequire(import.meta.url)('dynalite') as typeof dynalite
  } catch (error) {
    throw new Error(`the local DynamoDB needs dynalite: npm install --save-dev dynalite@4.0.0 (${(error as Error).message})`, { cause: error })
  }
  if (options.stateDir !== undefined) mkdirSync(options.stateDir, { recursive: true })
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.stateDir === undefined ? {} : { path: options.stateDir }) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const endpoint = `http://${host === 'localhost' ? '127.0.0.1' : host}:${port}`

  const createTable = async (name: string): Promise<void> => {
    const { status, body } = await call(endpoint, 'CreateTable', {
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    })
    if (status !== 200 && !String(body.__type ?? '').endsWith('#ResourceInUseException')) {
      throw new Error(`the local DynamoDB could not create table ${name}: ${String(body.message ?? body.Message ?? status)}`)
    }
    // dynalite answers CreateTable with the table CREATING and makes it ACTIVE a moment later (a timer, then a write):
    // until then it refuses the table's items with ResourceNotFoundException. Wait for ACTIVE, as DynamoDB's own
    // waiter does, however busy the machine.
    for (let attempt = 0; ; attempt++) {
      const described = await call(endpoint, 'DescribeTable', { TableName: name })
      const table = described.body.Table as { TableStatus?: string } | undefined
      if (described.status === 200 && table?.TableStatus === 'ACTIVE') return
      if (attempt >= 200) throw new Error(`the local DynamoDB's table ${name} is still ${table?.TableStatus ?? described.status} after 10 s`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  try {
    for (const table of options.tables ?? []) await createTable(table)
  } catch (error) {
    await new Promise((resolve) => server.close(resolve))
    throw error
  }
  return {
    endpoint,
    port,
    createTable,
    stop: () =>
      new Promise<void>((resolve) => {
        ;(server as Server & { closeAllConnections?: () => void }).closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}

/** DynamoDB behind the local services' one endpoint: requests for it passed to dynalite as they came. */
export interface DynamoProxy {
  /** The stores' tables (none: dynalite is not started, and DynamoDB requests are answered with that reason). */
  readonly tables: readonly string[]
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts dynalite with the stores' tables (kept in `stateDir` between runs) on a free port of 127.0.0.1 and answers
 * the endpoint's DynamoDB requests through it; with no table, starts nothing.
 */
export async function dynamoProxy(tables: readonly string[], stateDir: string | undefined): Promise<DynamoProxy> {
  if (tables.length === 0) {
    return {
      tables,
      async handle(req, res) {
        req.resume()
        const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'the local AWS services serve DynamoDB for the stores the service declares (custom.polycloud.resources: <name>: store), and it declares none' })
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(Buffer.byteLength(body)) })
        res.end(body)
      },
      stop: async () => undefined,
    }
  }
  const dynamo = await startLocalDynamoDb({ tables, ...(stateDir === undefined ? {} : { stateDir }) })
  return {
    tables,
    handle: (req, res) =>
      new Promise<void>((resolve, reject) => {
        const forwarded = request(`${dynamo.endpoint}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers)
          answer.pipe(res)
          answer.once('end', resolve)
          answer.once('error', reject)
        })
        forwarded.once('error', reject)
        req.pipe(forwarded)
      }),
    stop: () => dynamo.stop(),
  }
}
