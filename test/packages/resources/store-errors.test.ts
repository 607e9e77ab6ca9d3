// The same failure gives the same ResourceError on every driver's key-value store, as on buckets, queues and topics:
// each cloud's own answer for a throttled call, a failed service, refused credentials and a missing table (the shapes
// of DynamoDB's JSON protocol, Table Storage's OData errors, Google's JSON errors, D1's error messages) served from
// 127.0.0.1, and every store operation reporting it with one code, the cloud's status and error kept, retried only
// when trying again can help.
import { expect } from 'chai'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Provider } from '@polycloud/core'
import { awsResources } from '@polycloud/aws/resources'
import { azureResources } from '@polycloud/azure/resources'
import { cloudflareResources } from '@polycloud/cloudflare/resources'
import { gcpResources } from '@polycloud/gcp/resources'
import { store, type ResourceDriver, type ResourceErrorCode, type Store } from '@polycloud/resources'
import type { CloudError } from '@polycloud/resources/driver'
import { failure } from './behaviour.ts'
import { inStore, type StoreTarget } from './store-behaviour.ts'

/** The client's attempts at a retryable failure (MAX_ATTEMPTS of packages/resources/src/client.ts). */
const MAX_ATTEMPTS = 3

type Situation = 'throttled' | 'failed' | 'denied' | 'missing'

/** What every driver reports for each situation. */
const EXPECTED: Readonly<Record<Situation, { readonly code: ResourceErrorCode; readonly retried: boolean }>> = {
  throttled: { code: 'Throttled', retried: true },
  failed: { code: 'Unavailable', retried: true },
  denied: { code: 'Denied', retried: false },
  missing: { code: 'NotFound', retried: false },
}

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** The cloud's own error code, as the ResourceError's cause keeps it. */
  readonly code: string
}

const amz = (status: number, type: string, message: string): Answer => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify({ __type: type, message }),
  code: type.slice(type.indexOf('#') + 1),
})
const odata = (status: number, code: string, message: string): Answer => ({
  status,
  headers: { 'content-type': 'application/json;odata=minimalmetadata', 'x-ms-error-code': code },
  body: JSON.stringify({ 'odata.error': { code, message: { lang: 'en-US', value: `${message}\nRequestId:00000000-0000-0000-0000-000000000000\nTime:2026-12-07T10:00:00.0000000Z` } } }),
  code,
})
const google = (status: number, code: string, message: string): Answer => ({
  status,
  headers: { 'content-type': 'application/json; charset=UTF-8' },
  body: JSON.stringify({ error: { code: status, message, status: code } }),
  code,
})

/** Each cloud's answer, as its API documents it, for each situation. */
const ANSWERS: Readonly<Record<'aws' | 'azure' | 'gcp', Readonly<Record<Situation, Answer>>>> = {
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
  aws: {
    throttled: amz(400, 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded.'),
    failed: amz(500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', 'Internal server error'),
    denied: amz(400, 'com.amazon.coral.service#UnrecognizedClientException', 'The security token included in the request is invalid.'),
    missing: amz(400, 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', 'Requested resource not found'),
  },
  // https://learn.microsoft.com/rest/api/storageservices/table-service-error-codes
  azure: {
    throttled: odata(503, 'ServerBusy', 'The server is busy.'),
    failed: odata(500, 'InternalError', 'The server encountered an internal error. Please retry the request.'),
    denied: odata(403, 'AuthenticationFailed', 'Server failed to authenticate the request.'),
    missing: odata(404, 'TableNotFound', 'The table specified does not exist.'),
  },
  // https://cloud.google.com/firestore/docs/understand-error-codes
  gcp: {
    throttled: google(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.'),
    failed: google(503, 'UNAVAILABLE', 'The service is currently unavailable.'),
    denied: google(403, 'PERMISSION_DENIED', 'Missing or insufficient permissions.'),
    missing: google(404, 'NOT_FOUND', 'The database (default) does not exist for project polycloud-test.'),
  },
}

/** D1's error messages (https://developers.cloudflare.com/d1/observability/debug-d1/#error-list). */
const D1_ERRORS: Readonly<Partial<Record<Situation, string>>> = {
  throttled: 'D1_ERROR: D1 DB is overloaded. Too many requests queued.',
  failed: 'D1_ERROR: Network connection lost.',
}

/** A D1 binding whose every query fails with `message` (counting the queries). */
function failingD1(message: () => string, count: () => void): unknown {
  const statement = {
    bind: () => statement,
    first: () => (count(), Promise.reject(new Error(message()))),
    run: () => (count(), Promise.reject(new Error(message()))),
    all: () => (count(), Promise.reject(new Error(message()))),
  }
  return { prepare: () => statement }
}

const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

/** Every operation of a store, each one call. */
const OPERATIONS: ReadonlyArray<readonly [string, (kv: Store) => Promise<unknown>]> = [
  ['get', (kv) => kv.get('k')],
  ['getEntry', (kv) => kv.getEntry('k')],
  ['put', (kv) => kv.put('k', { n: 1 }, { ttlSeconds: 60 })],
  ['delete', (kv) => kv.delete('k')],
  ['list', (kv) => kv.list({ prefix: 'k' })],
  ['update', (kv) => kv.update('k', () => 1)],
]

describe('key-value stores: the same failure, the same error on every driver', function () {
  this.timeout(60_000)
  let server: Server
  let origin = ''
  let answer: Answer | undefined
  let requests = 0
  let d1Message = ''

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      req.resume()
      req.on('end', () => {
        requests++
        const given = answer ?? google(500, 'INTERNAL', 'no answer set')
        res.writeHead(given.status, given.headers).end(given.body)
      })
    })
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
    origin = `http://127.0.0.1:${port}`
  })

  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  const targets: ReadonlyArray<readonly [Provider, () => StoreTarget]> = [
    ['aws', () => target('aws', awsResources(), { AWS_ACCESS_KEY_ID: 'AKIDPOLYCLOUDTEST', AWS_SECRET_ACCESS_KEY: 'polycloud-test-secret', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_DYNAMODB: origin }, { table: 'polycloud-kv' })],
    ['azure', () => target('azure', azureResources(), { AzureWebJobsStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};TableEndpoint=${origin}/devstoreaccount1;` }, { table: 'polycloudkv', connection: 'AzureWebJobsStorage' })],
    ['gcp', () => target('gcp', gcpResources(), { GOOGLE_CLOUD_PROJECT: 'polycloud-test', FIRESTORE_EMULATOR_HOST: origin.slice('http://'.length) }, { collection: 'polycloud-kv' })],
  ]

  function target(provider: Provider, driver: ResourceDriver, env: Record<string, string>, address: Record<string, string>): StoreTarget {
    return { provider, driver, env: { ...env, POLYCLOUD_RESOURCES: JSON.stringify({ kv: { kind: 'store', ...address } }) }, missing: true, stop: async () => {} }
  }

  for (const situation of Object.keys(EXPECTED) as Situation[]) {
    const expected = EXPECTED[situation]
    for (const [provider, make] of targets) {
      it(`${provider}: ${situation} is ${expected.code} on every operation, ${expected.retried ? `after ${MAX_ATTEMPTS} attempts` : 'without a retry'}`, async () => {
        const native = ANSWERS[provider as 'aws' | 'azure' | 'gcp'][situation]
        answer = native
        const at = make()
        for (const [operation, call] of OPERATIONS) {
          requests = 0
          const error = await inStore(at, () => failure(call(store('kv'))))
          expect(error.code, `${operation}: ${error.message}`).to.equal(expected.code)
          expect(error.operation).to.equal(operation)
          expect(error.provider).to.equal(provider)
          expect(error.status, operation).to.equal(native.status)
          expect(error.retryable).to.equal(expected.retried)
          expect(error.message).to.match(new RegExp(`^store\\("kv"\\)\\.${operation}: .*${native.code}`))
          // The cloud's error (a CloudError of the driver's copy of the package).
          expect((error.cause as Error).name, operation).to.equal('CloudError')
          expect((error.cause as CloudError).code).to.equal(native.code)
          expect(requests, `${operation}: requests`).to.equal(expected.retried ? MAX_ATTEMPTS : 1)
        }
      })
    }
    const d1 = D1_ERRORS[situation]
    if (d1 !== undefined) {
      it(`cloudflare: ${situation} is ${expected.code} on every operation, after ${MAX_ATTEMPTS} attempts`, async () => {
        let queries = 0
        d1Message = d1
        const at: StoreTarget = {
          provider: 'cloudflare',
          driver: cloudflareResources(),
          env: { POLYCLOUD_RESOURCES: JSON.stringify({ kv: { kind: 'store', binding: 'KV_DB' } }) },
          bindings: { KV_DB: failingD1(() => d1Message, () => queries++) },
          missing: false,
          stop: async () => {},
        }
        for (const [operation, call] of OPERATIONS) {
          queries = 0
          const error = await inStore(at, () => failure(call(store('kv'))))
          expect(error.code, `${operation}: ${error.message}`).to.equal(expected.code)
          expect(error.operation).to.equal(operation)
          expect(error.retryable).to.equal(true)
          expect(error.message).to.equal(`store("kv").${operation}: ${operation === 'update' ? 'reading the entry: ' : ''}${d1}`)
          expect(queries, `${operation}: queries`).to.equal(MAX_ATTEMPTS)
        }
      })
    }
  }

  it('cloudflare: a Worker without the D1 binding is NotDeclared, as a missing R2 or Queue binding is', async () => {
    const at: StoreTarget = { provider: 'cloudflare', driver: cloudflareResources(), env: { POLYCLOUD_RESOURCES: JSON.stringify({ kv: { kind: 'store', binding: 'KV_DB' } }) }, bindings: {}, missing: false, stop: async () => {} }
    for (const [operation, call] of OPERATIONS) {
      const error = await inStore(at, () => failure(call(store('kv'))))
      expect(error.code, operation).to.equal('NotDeclared')
      expect(error.message).to.include('the Worker has no D1 database binding KV_DB')
    }
  })

  it('cloudflare: a value D1 finds too big is TooLarge', async () => {
    d1Message = 'D1_ERROR: string or blob too big: SQLITE_TOOBIG'
    const at: StoreTarget = { provider: 'cloudflare', driver: cloudflareResources(), env: { POLYCLOUD_RESOURCES: JSON.stringify({ kv: { kind: 'store', binding: 'KV_DB' } }) }, bindings: { KV_DB: failingD1(() => d1Message, () => {}) }, missing: false, stop: async () => {} }
    expect((await inStore(at, () => failure(store('kv').put('k', 'v')))).code).to.equal('TooLarge')
  })
})
