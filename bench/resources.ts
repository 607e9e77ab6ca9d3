// The resources figures of `npm run bench`: per provider, a warm put+get (1 KiB) and send through @polycloud/resources
// against the official client called directly, in the same process and on the same local emulator (interleaved
// rounds, medians per operation); the first call's cost in a fresh process (the function's bundle loaded and its
// first put+get, Polycloud against the SDK); and the hello bundle, which declares no resource, checked to hold none of
// this code. Emulators: the local AWS (packages/serverless/.../aws/local), azurite, the local Cloud Storage and the
// Google emulator's Pub/Sub, miniflare (the Cloudflare rows time a loop inside workerd: the driver against the raw
// bindings).
import { execFile } from 'node:child_process'
import { runNode } from './lib/child.js'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { Miniflare } from 'miniflare'
import { http } from '@polycloud/core'
import { PortableContext } from '@polycloud/core/adapter'
import { bucket, queue, store, withResources, type ResourceDriver } from '@polycloud/resources'
import { awsResources } from '@polycloud/aws/resources'
import { azureResources } from '@polycloud/azure/resources'
import { gcpResources } from '@polycloud/gcp/resources'
import { summarize, type Summary } from './lib/stats.js'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(BENCH)
const OUT = join(BENCH, 'out', 'resources')
const INSTRUCTIONS = process.env.POLYCLOUD_INSTRUCTIONS ?? '/work/shared/tools/instructions'

const BODY = new Uint8Array(1024).fill(97)
const CREDENTIALS = { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret' }

export interface WarmRow {
  readonly provider: string
  readonly operation: string
  readonly official: string
  /** Microseconds per operation. */
  readonly polycloud: Summary
  readonly sdk: Summary
  readonly ratio: number
  /** Where each round gives its own ratio (Cloudflare's pairs): their spread; `ratio` is their median. */
  readonly ratios?: Summary
}

export interface ColdRow {
  readonly provider: string
  readonly contender: string
  readonly bundleBytes: number
  /** require of the bundle, ms (median of fresh processes). */
  readonly loadMs: number
  /** the first put+get (client made, modules loaded lazily, connection opened), ms. */
  readonly firstMs: number
  /** Instructions of the whole process (node's own start included), when the counter is available. */
  readonly instructions: number | undefined
}

export interface ResourceFigures {
  readonly warm: WarmRow[]
  readonly cold: ColdRow[]
  readonly emptyInstructions: number | undefined
  readonly hello: { readonly bytes: number; readonly holdsResources: boolean }
  readonly rounds: number
  readonly opsPerRound: number
}

type Op = () => Promise<unknown>

/** Interleaved rounds of `ops` calls of each side, order alternating; microseconds per call. */
async function compare(polycloud: Op, sdk: Op, rounds: number, ops: number): Promise<{ polycloud: Summary; sdk: Summary; ratio: number }> {
  for (let i = 0; i < Math.max(20, ops); i++) {
    await polycloud()
    await sdk()
  }
  const a: number[] = []
  const b: number[] = []
  const time = async (op: Op): Promise<number> => {
    const start = performance.now()
    for (let i = 0; i < ops; i++) await op()
    return ((performance.now() - start) * 1000) / ops
  }
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      a.push(await time(polycloud))
      b.push(await time(sdk))
    } else {
      b.push(await time(sdk))
      a.push(await time(polycloud))
    }
  }
  const p = summarize(a)
  const s = summarize(b)
  return { polycloud: p, sdk: s, ratio: p.median / s.median }
}

/** Runs `body` inside one invocation of a function declaring every resource (deadline far away: its timer per call). */
async function inInvocation<T>(driver: ResourceDriver, env: Record<string, string>, body: () => Promise<T>, provider: 'aws' | 'azure' | 'gcp' | 'cloudflare'): Promise<T> {
  let out: T | undefined
  const handler = withResources(
    http(async () => {
      out = await body()
      return { status: 204 }
    }),
    driver,
    ['uploads', 'orders', 'alerts', 'kv'],
  )
  const context = new PortableContext({ provider, requestId: 'bench', functionName: 'bench', deadline: Date.now() + 3_600_000, env, native: { provider, event: null, context: null } })
  await handler.handle(null as never, context)
  return out as T
}

async function awsRows(rounds: number, ops: number): Promise<WarmRow[]> {
  const { startLocalAws } = await import('../packages/serverless/src/providers/aws/local/index.js')
  const { S3Client, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3')
  const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs')
  const aws = await startLocalAws({ port: 0, region: 'eu-west-1', buckets: [{ name: 'bench-bucket' }], queues: [{ name: 'orders' }], invoke: async () => ({}), log: () => {} })
  try {
    const env = {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: aws.endpoint,
      POLYCLOUD_RESOURCES: JSON.stringify({ uploads: { kind: 'bucket', name: 'bench-bucket' }, orders: { kind: 'queue', url: aws.queueUrl('orders') } }),
    }
    const s3 = new S3Client({ region: 'eu-west-1', endpoint: aws.endpoint, forcePathStyle: true, credentials: CREDENTIALS })
    const sqs = new SQSClient({ region: 'eu-west-1', endpoint: aws.endpoint, credentials: CREDENTIALS })
    const driver = awsResources()
    return await inInvocation(driver, env, async () => {
      const uploads = bucket('uploads')
      const orders = queue('orders')
      const putGet = await compare(
        async () => {
          await uploads.put('bench.bin', BODY, { contentType: 'application/octet-stream' })
          await (await uploads.get('bench.bin'))?.bytes()
        },
        async () => {
          await s3.send(new PutObjectCommand({ Bucket: 'bench-bucket', Key: 'bench.bin', Body: BODY, ContentType: 'application/octet-stream' }))
          await (await s3.send(new GetObjectCommand({ Bucket: 'bench-bucket', Key: 'bench.bin' }))).Body?.transformToByteArray()
        },
        rounds,
        ops,
      )
      const send = await compare(
        () => orders.send('bench message', { attributes: { a: 'b' } }),
        () => sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl('orders'), MessageBody: 'bench message', MessageAttributes: { a: { DataType: 'String', StringValue: 'b' } } })),
        rounds,
        ops,
      )
      return [
        { provider: 'aws', operation: 'S3 put+get 1 KiB', official: '@aws-sdk/client-s3 3.1178.0', ...putGet },
        { provider: 'aws', operation: 'SQS send', official: '@aws-sdk/client-sqs 3.1178.0', ...send },
      ]
    }, 'aws')
  } finally {
    await aws.stop()
  }
}

/** A store entry of about 1 KiB of JSON. */
const ENTRY = { device: 'thermo-1', readings: Array.from({ length: 80 }, (_, i) => i + 0.5), note: 'x'.repeat(540) }

/** A warm put+get of ENTRY through store('kv') inside an invocation, against `official` (the cloud's client, same store). */
function storeVersusClient(driver: ResourceDriver, env: Record<string, string>, provider: 'aws' | 'azure' | 'gcp', official: Op, rounds: number, ops: number): Promise<{ polycloud: Summary; sdk: Summary; ratio: number }> {
  const polycloud = async (): Promise<void> => {
    await store('kv').put('bench', ENTRY)
    await store('kv').get('bench')
  }
  return inInvocation(driver, env, () => compare(polycloud, official, rounds, ops), provider)
}

/**
 * Key-value stores: a warm put+get of one entry through store() against the official client's write and strongly
 * consistent read on the same local store: DynamoDB on dynalite, Table Storage on azurite, Firestore on the local
 * stand-in, D1 on miniflare (the raw binding, in the same Worker).
 */
export async function storeRows(rounds: number, ops: number): Promise<WarmRow[]> {
  const rows: WarmRow[] = []
  const { startLocalDynamoDb } = await import('../packages/serverless/src/providers/aws/local/dynamodb.js')
  const { DynamoDBClient, GetItemCommand, PutItemCommand } = await import('@aws-sdk/client-dynamodb')
  const dynamo = await startLocalDynamoDb({ tables: ['bench-kv'] })
  try {
    const env = { AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, POLYCLOUD_RESOURCES: JSON.stringify({ kv: { kind: 'store', table: 'bench-kv' } }) }
    const sdk = new DynamoDBClient({ region: 'eu-west-1', endpoint: dynamo.endpoint, credentials: CREDENTIALS })
    const key = { pk: { S: 'kv' }, sk: { S: 'sdk' } }
    const putGet = await storeVersusClient(awsResources(), env, 'aws', async () => {
      await sdk.send(new PutItemCommand({ TableName: 'bench-kv', Item: { ...key, value: { S: JSON.stringify(ENTRY) }, version: { S: Math.random().toString(36) } } }))
      JSON.parse((await sdk.send(new GetItemCommand({ TableName: 'bench-kv', Key: key, ConsistentRead: true }))).Item?.value?.S ?? 'null')
    }, rounds, ops)
    sdk.destroy()
    rows.push({ provider: 'aws', operation: 'DynamoDB store put+get 1 KiB', official: '@aws-sdk/client-dynamodb 3.1178.0', ...putGet })
  } finally {
    await dynamo.stop()
  }
  const { startStorage } = await import('../packages/serverless/src/providers/azure/storage.js')
  const { TableClient } = await import('@azure/data-tables')
  const folder = mkdtempSync(join(tmpdir(), 'polycloud-bench-tables-'))
  const storage = await startStorage({ host: '127.0.0.1', port: 0, storage: folder, blobPort: 0, queuePort: 0, logLevel: 'error' } as never, () => {})
  try {
    const table = TableClient.fromConnectionString(storage.connectionString, 'benchkv', { allowInsecureConnection: true })
    await table.createTable()
    const env = { AzureWebJobsStorage: storage.connectionString, POLYCLOUD_RESOURCES: JSON.stringify({ kv: { kind: 'store', table: 'benchkv', connection: 'AzureWebJobsStorage' } }) }
    const putGet = await storeVersusClient(azureResources(), env, 'azure', async () => {
      await table.upsertEntity({ partitionKey: 'kv', rowKey: 'sdk', value: JSON.stringify(ENTRY) }, 'Replace')
      JSON.parse((await table.getEntity<{ value: string }>('kv', 'sdk')).value)
    }, rounds, ops)
    rows.push({ provider: 'azure', operation: 'Table Storage store put+get 1 KiB', official: '@azure/data-tables 13.3.2', ...putGet })
  } finally {
    await storage.stop()
    rmSync(folder, { recursive: true, force: true })
  }
  rows.push(await firestoreRow(rounds, ops))
  // Inside workerd, Date.now() moves only at I/O (in whole milliseconds): longer loops, as the other Cloudflare rows.
  rows.push(await d1Row(rounds, ops * 5))
  return rows
}

/**
 * Firestore on the local stand-in (Firestore's emulator needs Java): store() against Google's client in REST mode as
 * the tests point it there (`set` of the same fields the driver writes: a commit; `get`: a batchGet).
 */
export async function firestoreRow(rounds: number, ops: number): Promise<WarmRow> {
  const { startLocalFirestore } = await import('../packages/serverless/src/providers/google/local/firestore.js')
  const { Firestore } = await import('@google-cloud/firestore')
  const { OAuth2Client } = await import('google-auth-library')
  const local = await startLocalFirestore()
  const auth = new OAuth2Client()
  auth.setCredentials({ access_token: 'bench', expiry_date: Date.now() + 3_600_000 })
  const db = new Firestore({ projectId: 'bench', host: '127.0.0.1', port: local.port, ssl: false, preferRest: true, authClient: auth } as ConstructorParameters<typeof Firestore>[0])
  try {
    const env = { GOOGLE_CLOUD_PROJECT: 'bench', FIRESTORE_EMULATOR_HOST: `127.0.0.1:${local.port}`, POLYCLOUD_RESOURCES: JSON.stringify({ kv: { kind: 'store', collection: 'bench-kv' } }) }
    const doc = db.collection('bench-kv').doc('ksdk')
    const putGet = await storeVersusClient(gcpResources(), env, 'gcp', async () => {
      await doc.set({ key: 'sdk', value: JSON.stringify(ENTRY), writer: Math.random().toString(36) })
      JSON.parse(((await doc.get()).get('value') as string | undefined) ?? 'null')
    }, rounds, ops)
    return { provider: 'gcp', operation: 'Firestore store put+get 1 KiB (local stand-in)', official: '@google-cloud/firestore 8.7.1 (preferRest)', ...putGet }
  } finally {
    await db.terminate()
    await local.stop()
  }
}

/**
 * D1 on miniflare: a Worker loops store()'s put+get and the same statements the driver runs on the raw binding
 * (`prepare().bind().run()` of the upsert, `prepare().bind().first()` of the read), in the same Worker; us per
 * operation, timed inside workerd.
 */
export async function d1Row(rounds: number, ops: number): Promise<WarmRow> {
  mkdirSync(OUT, { recursive: true })
  const entry = join(OUT, 'cloudflare-d1-bench.mjs')
  writeFileSync(
    entry,
    [
      "import { http } from '@polycloud/core'",
      "import { createWorker, workersFetch } from '@polycloud/cloudflare'",
      "import { cloudflareResources } from '@polycloud/cloudflare/resources'",
      "import { store, withResources } from '@polycloud/resources'",
      `const ENTRY = ${JSON.stringify(ENTRY)}`,
      'const kv = store("kv")',
      'async function loop(n, op) { const start = Date.now(); for (let i = 0; i < n; i++) await op(); return ((Date.now() - start) * 1000) / n }',
      'const driver = createWorker(withResources(http(async (req) => {',
      '  const us = await loop(Number(req.query.get("n")), async () => { await kv.put("bench", ENTRY); await kv.get("bench") })',
      '  return { status: 200, body: String(us) }',
      '}), cloudflareResources(), ["kv"]), [workersFetch])',
      'const UPSERT = \'INSERT INTO "kv" (key, value, version, expires) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version, expires = excluded.expires\'',
      'const SELECT = \'SELECT value, version, expires FROM "kv" WHERE key = ?1 AND (expires IS NULL OR expires > ?2)\'',
      'export default {',
      '  async fetch(request, env, ctx) {',
      '    const url = new URL(request.url)',
      '    if (url.pathname !== "/raw") return driver.fetch(request, env, ctx)',
      '    const us = await loop(Number(url.searchParams.get("n")), async () => {',
      '      await env.KV_DB.prepare(UPSERT).bind("sdk", JSON.stringify(ENTRY), crypto.randomUUID(), null).run()',
      '      const row = await env.KV_DB.prepare(SELECT).bind("sdk", Math.floor(Date.now() / 1000)).first()',
      '      JSON.parse(row.value)',
      '    })',
      '    return new Response(String(us))',
      '  },',
      '}',
    ].join('\n'),
  )
  const built = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'neutral', conditions: ['workerd', 'worker'], external: ['node:*', 'cloudflare:*'], minify: true, write: false, logLevel: 'silent' })
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'worker.mjs', contents: built.outputFiles[0]?.text ?? '' }],
    compatibilityDate: '2026-04-01',
    compatibilityFlags: ['nodejs_als'],
    host: '127.0.0.1',
    port: 0,
    cf: false,
    bindings: { POLYCLOUD_RESOURCES: JSON.stringify({ kv: { kind: 'store', binding: 'KV_DB' } }) },
    d1Databases: ['KV_DB'],
  })
  try {
    await mf.ready
    const sample = async (path: string): Promise<number> => {
      const response = await mf.dispatchFetch(`http://localhost${path}?n=${ops}`)
      const text = await response.text()
      if (response.status !== 200 || !Number.isFinite(Number(text))) throw new Error(`the D1 bench Worker answered ${response.status} on ${path}: ${text.slice(0, 300)}`)
      return Number(text)
    }
    // The driver first: it creates the table the raw statements use too.
    await sample('/driver')
    await sample('/raw')
    const a: number[] = []
    const b: number[] = []
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        a.push(await sample('/driver'))
        b.push(await sample('/raw'))
      } else {
        b.push(await sample('/raw'))
        a.push(await sample('/driver'))
      }
    }
    const polycloud = summarize(a)
    const sdk = summarize(b)
    return { provider: 'cloudflare', operation: 'D1 store put+get 1 KiB', official: 'the raw D1 binding (prepare().bind().run() / .first()), in the same Worker', polycloud, sdk, ratio: polycloud.median / sdk.median }
  } finally {
    await mf.dispose()
  }
}

async function azureRows(rounds: number, ops: number): Promise<WarmRow[]> {
  const { startStorage } = await import('../packages/serverless/src/providers/azure/storage.js')
  const { BlobServiceClient } = await import('@azure/storage-blob')
  const { QueueServiceClient } = await import('@azure/storage-queue')
  const folder = mkdtempSync(join(tmpdir(), 'polycloud-bench-azurite-'))
  const storage = await startStorage({ host: '127.0.0.1', port: 0, storage: folder, blobPort: 0, queuePort: 0, logLevel: 'error' } as never, () => {})
  try {
    const blobs = BlobServiceClient.fromConnectionString(storage.connectionString)
    const container = blobs.getContainerClient('uploads')
    await container.createIfNotExists()
    const queueClient = QueueServiceClient.fromConnectionString(storage.connectionString).getQueueClient('orders')
    await queueClient.createIfNotExists()
    const env = {
      AzureWebJobsStorage: storage.connectionString,
      POLYCLOUD_RESOURCES: JSON.stringify({ uploads: { kind: 'bucket', name: 'uploads', connection: 'AzureWebJobsStorage' }, orders: { kind: 'queue', service: 'storage', name: 'orders', connection: 'AzureWebJobsStorage' } }),
    }
    const blob = container.getBlockBlobClient('bench.bin')
    const text = Buffer.from('bench message').toString('base64')
    return await inInvocation(azureResources(), env, async () => {
      const putGet = await compare(
        async () => {
          await bucket('uploads').put('bench.bin', BODY, { contentType: 'application/octet-stream' })
          await (await bucket('uploads').get('bench.bin'))?.bytes()
        },
        async () => {
          await blob.upload(BODY, BODY.length, { blobHTTPHeaders: { blobContentType: 'application/octet-stream' } })
          const response = await blob.download()
          const chunks: Buffer[] = []
          for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) chunks.push(chunk)
        },
        rounds,
        ops,
      )
      const send = await compare(() => queue('orders').send('bench message'), () => queueClient.sendMessage(text), rounds, ops)
      await queueClient.clearMessages()
      return [
        { provider: 'azure', operation: 'Blob put+get 1 KiB', official: '@azure/storage-blob 12.32.0', ...putGet },
        { provider: 'azure', operation: 'Storage queue send', official: '@azure/storage-queue 12.30.0', ...send },
      ]
    }, 'azure')
  } finally {
    await storage.stop()
    rmSync(folder, { recursive: true, force: true })
  }
}

async function googleRows(rounds: number, ops: number): Promise<WarmRow[]> {
  const { startLocalStorage } = await import('../packages/serverless/src/providers/google/local/storage.js')
  const { startEmulator } = await import('../packages/serverless/src/providers/google/emulator.js')
  const { Storage } = await import('@google-cloud/storage')
  const local = await startLocalStorage({ buckets: ['uploads'] })
  const layout = { functions: [], router: undefined, topics: [{ name: 'orders', role: 'queue' as const }], subscriptions: [], deadLetters: [], jobs: [], buckets: [], grants: [] }
  const emulator = await startEmulator({ project: 'bench', region: 'europe-west1', host: '127.0.0.1', port: 0, layout, urls: new Map(), log: () => {} })
  try {
    const env = {
      GOOGLE_CLOUD_PROJECT: 'bench',
      STORAGE_EMULATOR_HOST: local.url,
      PUBSUB_EMULATOR_HOST: emulator.url.replace('http://', ''),
      POLYCLOUD_RESOURCES: JSON.stringify({ uploads: { kind: 'bucket', name: 'uploads' }, orders: { kind: 'queue', topic: 'orders' } }),
    }
    const file = new Storage({ apiEndpoint: local.url, projectId: 'bench' }).bucket('uploads').file('bench.bin')
    const pubsub = await officialPubSub(emulator.url)
    return await inInvocation(gcpResources(), env, async () => {
      const putGet = await compare(
        async () => {
          await bucket('uploads').put('bench.bin', BODY, { contentType: 'application/octet-stream' })
          await (await bucket('uploads').get('bench.bin'))?.bytes()
        },
        async () => {
          await file.save(Buffer.from(BODY), { resumable: false, contentType: 'application/octet-stream' })
          await file.getMetadata()
          await file.download()
        },
        rounds,
        ops,
      )
      const rows: WarmRow[] = [{ provider: 'gcp', operation: 'Cloud Storage put+get 1 KiB', official: '@google-cloud/storage 7.22.0 (save, getMetadata + download)', ...putGet }]
      if (pubsub !== undefined) {
        const send = await compare(() => queue('orders').send('bench message', { attributes: { a: 'b' } }), () => pubsub.publish('bench message'), rounds, ops)
        rows.push({ provider: 'gcp', operation: 'Pub/Sub publish', official: "@google-cloud/pubsub 5.3.1 (fallback 'rest', batching 1 message)", ...send })
      }
      return rows
    }, 'gcp')
  } finally {
    await local.stop()
    await emulator.stop()
  }
}

/** The official Pub/Sub client over REST against the emulator, publishing one message per request (no batching wait). */
async function officialPubSub(url: string): Promise<{ publish(text: string): Promise<unknown> } | undefined> {
  try {
    const { PubSub } = await import('@google-cloud/pubsub')
    const { OAuth2Client } = await import('google-auth-library')
    const auth = new OAuth2Client()
    auth.setCredentials({ access_token: 'bench', expiry_date: Date.now() + 3_600_000 })
    const client = new PubSub({ projectId: 'bench', apiEndpoint: url.replace('http://', ''), protocol: 'http', fallback: 'rest', authClient: auth as never } as never)
    const publisher = client.topic('orders', { batching: { maxMessages: 1, maxMilliseconds: 0 } })
    await publisher.publishMessage({ data: Buffer.from('probe'), attributes: { a: 'b' } })
    return { publish: (text) => publisher.publishMessage({ data: Buffer.from(text), attributes: { a: 'b' } }) }
  } catch (error) {
    process.stderr.write(`resources bench: the official Pub/Sub client could not publish to the emulator over REST (${(error as Error).message}); that row is left out\n`)
    return undefined
  }
}

/**
 * Cloudflare: one Worker times both sides inside workerd, in pairs: each request runs `ops` pairs of one operation
 * through the driver (inside the function's withResources scope) and one through the raw binding (run outside that
 * scope, through an AsyncLocalStorage snapshot taken at module scope: as a Worker without Polycloud runs it), the
 * side going first alternating from pair to pair. Inside workerd, Date.now() moves only at I/O, in whole
 * milliseconds: one operation's figure is mostly 0 or 1 ms, but the ticks fall on the two sides in proportion to the
 * time each takes, so the sums over a request are fair; pairing makes a load spike (other processes on the machine)
 * fall on both. Per request: us per operation of each side; the ratio is the median of the per-request ratios.
 * Like with like: the same key, body and content type; the raw send is text without a trace, the driver's carries
 * the invocation's traceparent in Polycloud's envelope (a json message, as the Queues source reads it) and the put
 * its traceparent as custom metadata: that is part of the gap measured.
 */
async function cloudflareRows(rounds: number, ops: number): Promise<WarmRow[]> {
  mkdirSync(OUT, { recursive: true })
  const entry = join(OUT, 'cloudflare-bench.mjs')
  writeFileSync(
    entry,
    [
      "import { AsyncLocalStorage } from 'node:async_hooks'",
      "import { http } from '@polycloud/core'",
      "import { createWorker, workersFetch } from '@polycloud/cloudflare'",
      "import { cloudflareResources } from '@polycloud/cloudflare/resources'",
      "import { bucket, queue, withResources } from '@polycloud/resources'",
      'const BODY = new Uint8Array(1024).fill(97)',
      'const uploads = bucket("uploads"), orders = queue("orders")',
      'const outside = AsyncLocalStorage.snapshot()',
      'let env',
      'const raw = {',
      '  send: () => env.ORDERS.send("bench message", { contentType: "text" }),',
      '  putget: async () => { await env.UPLOADS.put("bench.bin", BODY, { httpMetadata: { contentType: "application/octet-stream" } }); await (await env.UPLOADS.get("bench.bin")).arrayBuffer() },',
      '}',
      'const polycloud = {',
      '  send: () => orders.send("bench message"),',
      '  putget: async () => { await uploads.put("bench.bin", BODY, { contentType: "application/octet-stream" }); await (await uploads.get("bench.bin")).bytes() },',
      '}',
      'async function pairs(n, a, b) {',
      '  let ta = 0, tb = 0',
      '  for (let i = 0; i < n; i++) {',
      '    let t = Date.now()',
      '    if (i % 2 === 0) { await a(); const u = Date.now(); ta += u - t; await outside(b); tb += Date.now() - u }',
      '    else { await outside(b); const u = Date.now(); tb += u - t; await a(); ta += Date.now() - u }',
      '  }',
      '  return { polycloud: (ta * 1000) / n, raw: (tb * 1000) / n }',
      '}',
      'const driver = createWorker(withResources(http(async (req) => {',
      '  const n = Number(req.query.get("n")), op = req.query.get("op")',
      '  return { status: 200, body: JSON.stringify(await pairs(n, polycloud[op], raw[op])) }',
      '}), cloudflareResources(), ["uploads", "orders"]), [workersFetch])',
      'export default {',
      '  fetch(request, bindings, ctx) { env = bindings; return driver.fetch(request, bindings, ctx) },',
      '  async queue(batch) { for (const message of batch.messages) message.ack() },',
      '}',
    ].join('\n'),
  )
  const built = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'neutral', conditions: ['workerd', 'worker'], external: ['node:*'], minify: true, write: false, logLevel: 'silent' })
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'worker.mjs', contents: built.outputFiles[0]?.text ?? '' }],
    compatibilityDate: '2026-04-01',
    compatibilityFlags: ['nodejs_als'],
    host: '127.0.0.1',
    port: 0,
    cf: false,
    bindings: { POLYCLOUD_RESOURCES: JSON.stringify({ uploads: { kind: 'bucket', binding: 'UPLOADS' }, orders: { kind: 'queue', binding: 'ORDERS' } }), LOG_LEVEL: 'error' },
    r2Buckets: ['UPLOADS'],
    queueProducers: { ORDERS: 'orders' },
    queueConsumers: { orders: { maxBatchSize: 100, maxBatchTimeout: 1 } },
  })
  try {
    await mf.ready
    const sample = async (op: string): Promise<{ polycloud: number; raw: number }> => {
      const response = await mf.dispatchFetch(`http://localhost/?n=${ops}&op=${op}`)
      const text = await response.text()
      if (response.status !== 200) throw new Error(`the Cloudflare bench Worker answered ${response.status}: ${text}`)
      return JSON.parse(text) as { polycloud: number; raw: number }
    }
    const rows: WarmRow[] = []
    for (const [op, operation] of [['putget', 'R2 put+get 1 KiB'], ['send', 'Queue send']] as const) {
      await sample(op)
      const a: number[] = []
      const b: number[] = []
      const ratios: number[] = []
      for (let round = 0; round < rounds; round++) {
        const { polycloud, raw } = await sample(op)
        a.push(polycloud)
        b.push(raw)
        if (raw > 0) ratios.push(polycloud / raw)
      }
      rows.push({ provider: 'cloudflare', operation, official: 'the raw binding, in the same Worker (pairs, see bench/resources.ts)', polycloud: summarize(a), sdk: summarize(b), ratio: summarize(ratios).median, ratios: summarize(ratios) })
    }
    return rows
  } finally {
    await mf.dispose()
  }
}

function run(file: string, args: readonly string[]): Promise<string> {
  return runNode(file, args, { timeoutMs: 60_000 })
}

function instructions(file: string, args: readonly string[]): Promise<number | undefined> {
  if (!existsSync(INSTRUCTIONS)) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    execFile(INSTRUCTIONS, [file, ...args], { timeout: 600_000 }, (error, stdout) => resolve(error ? undefined : Number(stdout.trim()) || undefined))
  })
}

/**
 * The first call's cost: a fresh process requires the function's bundle (esbuild, platform node, cjs, minified, as
 * the plugin bundles for Lambda) and runs one put+get against the local S3. Polycloud: a generated entry's shape
 * (`withResources(handler, awsResources(), ['uploads'])`); the SDK: @aws-sdk/client-s3 bundled the same way.
 */
async function coldRows(samples: number, counted: boolean): Promise<{ rows: ColdRow[]; empty: number | undefined }> {
  const { startLocalAws } = await import('../packages/serverless/src/providers/aws/local/index.js')
  const aws = await startLocalAws({ port: 0, region: 'eu-west-1', buckets: [{ name: 'bench-bucket' }], invoke: async () => ({}), log: () => {} })
  mkdirSync(OUT, { recursive: true })
  const entries = {
    polycloud: [
      "import { http } from '@polycloud/core'",
      "import { bucket, withResources } from '@polycloud/resources'",
      "import { awsResources } from '@polycloud/aws/resources'",
      "import { PortableContext } from '@polycloud/core/adapter'",
      'const uploads = bucket("uploads")',
      'export const handler = withResources(http(async () => { await uploads.put("cold.txt", "cold"); return { status: 200, body: await (await uploads.get("cold.txt")).text() } }), awsResources(), ["uploads"])',
      'export const context = (env) => new PortableContext({ provider: "aws", requestId: "cold", functionName: "cold", deadline: Date.now() + 60000, env, native: { provider: "aws", event: null, context: null } })',
    ].join('\n'),
    sdk: [
      "import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3'",
      'let client',
      'export const handler = { handle: async (_request, context) => { client ??= new S3Client({ region: "eu-west-1", endpoint: context.env.AWS_ENDPOINT_URL, forcePathStyle: true });',
      '  await client.send(new PutObjectCommand({ Bucket: "bench-bucket", Key: "cold.txt", Body: "cold" }))',
      '  return { status: 200, body: await (await client.send(new GetObjectCommand({ Bucket: "bench-bucket", Key: "cold.txt" }))).Body.transformToString() } } }',
      'export const context = (env) => ({ env })',
    ].join('\n'),
  }
  const runner = join(OUT, 'cold-runner.cjs')
  writeFileSync(
    runner,
    [
      "'use strict'",
      'const [bundle, endpoint] = process.argv.slice(2)',
      'const env = { AWS_ACCESS_KEY_ID: "AKIDBENCH", AWS_SECRET_ACCESS_KEY: "bench-secret", AWS_REGION: "eu-west-1", AWS_ENDPOINT_URL: endpoint, POLYCLOUD_RESOURCES: JSON.stringify({ uploads: { kind: "bucket", name: "bench-bucket" } }) }',
      'Object.assign(process.env, env)',
      'const t0 = performance.now()',
      'const mod = require(bundle)',
      'const t1 = performance.now()',
      'Promise.resolve(mod.handler.handle(null, mod.context(process.env))).then((result) => {',
      '  const t2 = performance.now()',
      '  if (result.body !== "cold") throw new Error("wrong answer " + JSON.stringify(result))',
      '  console.log(JSON.stringify({ loadMs: t1 - t0, firstMs: t2 - t1 }))',
      '  process.exit(0)',
      '})',
    ].join('\n'),
  )
  const empty = join(OUT, 'empty.cjs')
  writeFileSync(empty, '')
  try {
    const rows: ColdRow[] = []
    const files: Record<string, { file: string; bytes: number }> = {}
    for (const [name, source] of Object.entries(entries)) {
      const file = join(OUT, `cold-${name}.cjs`)
      await esbuild.build({ stdin: { contents: source, resolveDir: ROOT, loader: 'ts' }, outfile: file, bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'silent' })
      files[name] = { file, bytes: readFileSync(file).length }
    }
    const loads: Record<string, number[]> = { polycloud: [], sdk: [] }
    const firsts: Record<string, number[]> = { polycloud: [], sdk: [] }
    for (let k = 0; k < samples; k++) {
      for (const name of k % 2 === 0 ? ['polycloud', 'sdk'] : ['sdk', 'polycloud']) {
        const line = (await run(runner, [files[name]?.file as string, aws.endpoint])).trim().split('\n').pop() ?? '{}'
        const figures = JSON.parse(line) as { loadMs: number; firstMs: number }
        loads[name]?.push(figures.loadMs)
        firsts[name]?.push(figures.firstMs)
      }
    }
    for (const name of ['polycloud', 'sdk']) {
      rows.push({
        provider: 'aws',
        contender: name === 'polycloud' ? '@polycloud/resources + awsResources()' : '@aws-sdk/client-s3 3.1178.0 (bundled)',
        bundleBytes: files[name]?.bytes ?? 0,
        loadMs: summarize(loads[name] ?? []).median,
        firstMs: summarize(firsts[name] ?? []).median,
        instructions: counted ? await instructions(runner, [files[name]?.file as string, aws.endpoint]) : undefined,
      })
    }
    return { rows, empty: counted ? await instructions(empty, []) : undefined }
  } finally {
    await aws.stop()
  }
}

/** The hello bundle (a function declaring no resource, as the plugin generates it): none of the resources code in it. */
async function helloCheck(): Promise<{ bytes: number; holdsResources: boolean }> {
  const file = join(OUT, 'hello.cjs')
  await esbuild.build({
    stdin: {
      contents: ["import hello from './contenders/polycloud-hello.ts'", "import { createLambdaHttpHandler } from '@polycloud/aws/lambda'", "import { apiGatewayV2 } from '@polycloud/aws/api-gateway-v2'", 'export const handler = createLambdaHttpHandler(hello, [apiGatewayV2])'].join('\n'),
      resolveDir: BENCH,
      loader: 'ts',
    },
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    logLevel: 'silent',
  })
  const text = readFileSync(file, 'utf8')
  return { bytes: Buffer.byteLength(text), holdsResources: /POLYCLOUD_RESOURCES|polycloud\.encoding|ResourceError|async_hooks/.test(text) }
}

export async function resourceFigures(options: { quick: boolean; log: (line: string) => void }): Promise<ResourceFigures> {
  const rounds = options.quick ? 4 : 30
  const ops = options.quick ? 10 : 40
  const warm: WarmRow[] = []
  for (const [name, rows] of [
    ['aws', awsRows],
    ['azure', azureRows],
    ['gcp', googleRows],
    ['cloudflare', cloudflareRows],
    ['stores', storeRows],
  ] as const) {
    // Inside workerd, Date.now() moves only at I/O (in whole milliseconds): longer loops for the Cloudflare rows.
    const n = name === 'cloudflare' ? ops * 5 : ops
    options.log(`resources: ${name}, ${rounds} interleaved rounds of ${n} operations per side...`)
    warm.push(...(await rows(rounds, n)))
  }
  options.log('resources: first call in fresh processes...')
  const cold = await coldRows(options.quick ? 3 : 15, !options.quick)
  return { warm, cold: cold.rows, emptyInstructions: cold.empty, hello: await helloCheck(), rounds, opsPerRound: ops }
}

const ROWS = { aws: awsRows, azure: azureRows, gcp: googleRows, cloudflare: cloudflareRows, stores: storeRows } as const

/**
 * Only the warm resources rows, for iteration: `node --import tsx bench/resources.ts [aws,azure,gcp,cloudflare,stores]
 * [--rounds N] [--ops N] [--repeat K]` (K runs of the rows, each printed as it ends). Built packages are used:
 * `npx tsc -b` first.
 */
async function main(args: readonly string[]): Promise<void> {
  const option = (name: string, fallback: number): number => {
    const at = args.indexOf(name)
    const value = at < 0 ? fallback : Number(args[at + 1])
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} takes a whole number, got ${String(args[at + 1])}`)
    return value
  }
  const skip = new Set(['--rounds', '--ops', '--repeat'].flatMap((name) => (args.includes(name) ? [args[args.indexOf(name) + 1]] : [])))
  const names = args.filter((arg) => !arg.startsWith('--') && !skip.has(arg)).flatMap((arg) => arg.split(','))
  for (const name of names) if (!Object.hasOwn(ROWS, name)) throw new Error(`unknown rows ${JSON.stringify(name)}: one of ${Object.keys(ROWS).join(', ')}`)
  const rounds = option('--rounds', 30)
  const ops = option('--ops', 40)
  for (let k = 0, repeat = option('--repeat', 1); k < repeat; k++) {
    for (const name of names.length === 0 ? (Object.keys(ROWS) as (keyof typeof ROWS)[]) : (names as (keyof typeof ROWS)[])) {
      const n = name === 'cloudflare' ? ops * 5 : ops
      for (const row of await ROWS[name](rounds, n)) {
        const { polycloud, sdk } = row
        const spread = row.ratios === undefined ? '' : ` (per round: p25 ${row.ratios.p25.toFixed(3)}, p75 ${row.ratios.p75.toFixed(3)})`
        console.log(`${row.provider}\t${row.operation}\t${polycloud.median.toFixed(1)} us (p25 ${polycloud.p25.toFixed(1)}, p75 ${polycloud.p75.toFixed(1)})\t${sdk.median.toFixed(1)} us (p25 ${sdk.p25.toFixed(1)}, p75 ${sdk.p75.toFixed(1)})\t${row.ratio.toFixed(3)}x${spread}`)
      }
    }
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : String(error))
    process.exitCode = 1
  })
}
