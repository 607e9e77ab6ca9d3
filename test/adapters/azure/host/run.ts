/**
 * Drives @azure/functions' own invocation pipeline (ProgrammingModel -> InvocationModel: getArguments,
 * invokeFunction, getResponse) the way the Node worker does, with the `@azure/functions-core` stand-in in
 * ./node_path. Run in a child process (the library picks its mode once per process):
 *
 *   NODE_PATH=test/adapters/azure/host/node_path node --import tsx test/adapters/azure/host/run.ts rpc|stream
 *
 * Prints one JSON document: what was registered and what each invocation produced. The host-side inputs (RPC
 * typed data, metadata in PascalCase) follow the shapes the Functions host sends.
 */
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { createRequire } from 'node:module'
import { binary, changes, cloudEvent, http, json, queue, schedule, storage, stream, topic } from '@polycloud/core'
import {
  registerCosmosDB,
  registerEventGrid,
  registerHttp,
  registerServiceBusTopic,
  registerStorageBlob,
  registerStorageQueue,
  registerTimer,
  setup,
} from '@polycloud/azure'

interface FakeCore {
  __state: {
    model: {
      getInvocationModel(coreCtx: unknown): InvocationModel
      getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>
    }
    functions: Record<string, { metadata: { name: string; bindings: Record<string, { type: string }>; retryOptions?: unknown }; callback: unknown }>
  }
}

interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>
  invokeFunction(context: unknown, inputs: unknown[], callback: unknown): Promise<unknown>
  getResponse(context: unknown, result: unknown): Promise<{ returnValue?: { http?: Record<string, unknown> } }>
}

const core = createRequire(import.meta.url)('@azure/functions-core') as FakeCore
const scenario = process.argv[2]
const seen: Record<string, unknown> = {}
const watchdog = setTimeout(() => {
  process.stderr.write('host harness timed out\n')
  process.exit(2)
}, 8000)

if (scenario === 'stream') setup({ enableHttpStream: true })

// --- registration through the helpers -------------------------------------------------------------------------
let release: () => void = () => {}
const acknowledged = new Promise<void>((resolve) => (release = resolve))

registerHttp(
  'web',
  http(async (request) => {
    const path = request.path
    if (path.endsWith('/boom')) throw new Error('secret detail')
    if (path.endsWith('/parse')) return json(await request.json())
    if (path.endsWith('/stream')) {
      seen.streamRequest = { body: await request.text(), url: request.url, params: request.params }
      const encoder = new TextEncoder()
      let step = 0
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          step++
          if (step === 1) controller.enqueue(encoder.encode('first;'))
          else if (step === 2) {
            // Only reached once the client has received the first chunk: proof the body is not buffered.
            await acknowledged
            controller.enqueue(encoder.encode('second'))
          } else controller.close()
        },
      })
      return stream(body, {
        contentType: 'text/plain',
        headers: { 'set-cookie': ['a=1; Path=/; HttpOnly', 'b=two%20words; Max-Age=60; SameSite=Lax; Secure'] },
      })
    }
    const bytes = await request.bytes()
    seen.http = { method: request.method, url: request.url, params: request.params, query: [...request.query], cookie: request.cookies.get('a') }
    return binary(bytes, {
      contentType: 'application/octet-stream',
      headers: { 'set-cookie': ['a=1; Path=/; HttpOnly', 'b=two%20words; Max-Age=60; SameSite=Lax; Secure'], 'x-extra': 'yes' },
    })
  }),
  { route: 'items/{id}', methods: ['GET', 'POST'], authLevel: 'function' },
)

registerTimer('tick', schedule((event) => void (seen.tick = event)), { schedule: '0 */5 * * * *', useMonitor: true })
// As the generated entry registers a cron event's timer: with the schedule serverless.yml declares.
registerTimer('nightly-1', schedule((event) => void (seen.nightly = event)), { schedule: '0 0 9 * * 1,2,3,4,5', useMonitor: true }, { name: 'nightly', schedule: '0 9 * * 1-5' })
registerStorageQueue(
  'orders',
  queue((message) => {
    if (message.body === 'fail') throw new Error('queue failure')
    seen.orders = { id: message.id, body: message.body, json: message.json(), attempt: message.attempt, time: message.time, queue: message.queue }
  }),
  { queueName: 'orders', connection: 'AzureWebJobsStorage' },
)
registerServiceBusTopic(
  'audit',
  topic((message) => {
    seen.audit = {
      id: message.id,
      topic: message.topic,
      subject: message.subject,
      attributes: message.attributes,
      json: message.json(),
      time: message.time,
      source: message.source,
    }
  }),
  { topicName: 'events', subscriptionName: 'audit', connection: 'ServiceBus' },
)
registerStorageBlob('uploads', storage((event) => void (seen.uploads = { ...event, native: undefined })), {
  path: 'uploads/{name}',
  connection: 'AzureWebJobsStorage',
})
registerEventGrid('blobEvents', storage((event) => void (seen.blobEvents = { ...event, native: undefined })))
registerEventGrid('anyEvents', cloudEvent((event) => void (seen.anyEvents = { ...event, native: undefined })))
registerCosmosDB('items', changes((event) => void ((seen.items ??= []) as unknown[]).push({ ...event, native: undefined })), {
  connection: 'Cosmos',
  databaseName: 'shop',
  containerName: 'items',
  partitionKey: '/tenant',
  retry: { strategy: 'fixedDelay', maxRetryCount: 3, delayInterval: 1000 },
})

// --- invocation through the library's pipeline ----------------------------------------------------------------
const registered: Record<string, unknown> = {}
for (const [name, { metadata }] of Object.entries(core.__state.functions)) {
  registered[name] = { bindings: metadata.bindings, retryOptions: metadata.retryOptions }
}

function triggerBinding(name: string): string {
  const bindings = core.__state.functions[name]?.metadata.bindings ?? {}
  return Object.keys(bindings).find((key) => /trigger$/i.test(bindings[key]?.type ?? '')) as string
}

let invocations = 0
async function invoke(name: string, data: unknown, triggerMetadata: Record<string, unknown> = {}, invocationId = `inv-${++invocations}`) {
  const { callback, metadata } = core.__state.functions[name] as { callback: unknown; metadata: unknown }
  const coreCtx = { invocationId, metadata, request: { inputData: [{ name: triggerBinding(name), data }], triggerMetadata }, state: undefined, log() {} }
  const model = core.__state.model.getInvocationModel(coreCtx)
  const { context, inputs } = await model.getArguments()
  try {
    const result = await model.invokeFunction(context, inputs, callback)
    return { response: await model.getResponse(context, result) }
  } catch (error) {
    return { error: (error as Error).message }
  }
}

/** An RPC HTTP response with its body bytes as hex, for JSON output. */
function httpOut(response: { returnValue?: { http?: Record<string, unknown> } } | undefined): Record<string, unknown> | undefined {
  const out = response?.returnValue?.http
  if (!out) return undefined
  const body = out.body as { bytes?: Uint8Array } | undefined
  return { ...out, body: body?.bytes === undefined ? body : Buffer.from(body.bytes).toString('hex') }
}

const j = (value: unknown) => ({ json: JSON.stringify(value) })
const s = (value: string) => ({ string: value })

async function rpc(): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {}
  const bytes = randomBytes(2048)
  const web = await invoke('web', {
    http: {
      method: 'POST',
      url: 'https://app.azurewebsites.net/api/items/9?x=1&x=2',
      headers: { 'content-type': 'application/octet-stream', cookie: 'a=%C3%A9' },
      params: { id: '9' },
      query: { x: '2' },
      body: { bytes },
    },
  })
  results.web = { sent: bytes.toString('hex'), response: httpOut(web.response), error: web.error, seen: seen.http }
  const bad = await invoke('web', { http: { method: 'POST', url: 'https://app.azurewebsites.net/api/items/parse', headers: { 'content-type': 'application/json' }, params: { id: 'parse' }, body: { string: '{"oops":' } } })
  results.invalidJson = httpOut(bad.response)
  const boom = await invoke('web', { http: { method: 'GET', url: 'https://app.azurewebsites.net/api/items/boom', headers: {}, params: { id: 'boom' } } })
  results.boom = httpOut(boom.response)
  release() // Nothing reads the first chunk early here: the body is buffered before the host gets it.
  const streamed = await invoke('web', { http: { method: 'POST', url: 'https://app.azurewebsites.net/api/items/stream', headers: {}, params: { id: 'stream' }, body: { string: 'hello' } } })
  results.bufferedStream = httpOut(streamed.response)

  const queueMetadata = {
    Id: s('6a1c1b2e-0000-4000-8000-000000000001'),
    DequeueCount: { int: 2 },
    PopReceipt: s('AgAAAAMAAAAAAAAA'),
    InsertionTime: j('2024-05-01T10:00:00+00:00'),
    ExpirationTime: j('2024-05-08T10:00:00+00:00'),
    NextVisibleTime: j('2024-05-01T10:10:00+00:00'),
    QueueTrigger: s('{"OrderId":7}'),
  }
  results.orders = await invoke('orders', s('{"OrderId":7,"Lines":[1,2]}'), queueMetadata)
  results.ordersSeen = seen.orders

  results.audit = await invoke('audit', s('{"action":"login"}'), {
    MessageId: s('12345'),
    DeliveryCount: { int: 1 },
    EnqueuedTimeUtc: j('2024-05-01T10:00:00'),
    Subject: s('user.login'),
    ApplicationProperties: j({ TenantId: 'A', Retries: 3 }),
    LockToken: s('lock'),
  })
  results.auditSeen = seen.audit

  results.tick = await invoke('tick', j({ Schedule: { AdjustForDST: true }, ScheduleStatus: { Last: '2024-05-01T09:55:00+00:00', Next: '2024-05-01T10:00:00+00:00', LastUpdated: '2024-05-01T09:55:00+00:00' }, IsPastDue: false }))
  results.tickSeen = { ...(seen.tick as object), native: undefined }
  await invoke('nightly-1', j({ Schedule: { AdjustForDST: true }, ScheduleStatus: { Last: '2024-05-01T09:00:00+00:00', Next: '2024-05-02T09:00:00+00:00', LastUpdated: '2024-05-01T09:00:00+00:00' }, IsPastDue: false }))
  const nightly = seen.nightly as { schedule?: string; name?: string; native?: { context?: { functionName?: string } } } | undefined
  results.nightlySeen = { schedule: nightly?.schedule, name: nightly?.name, functionName: nightly?.native?.context?.functionName }

  results.uploads = await invoke('uploads', { bytes: Buffer.from('file contents') }, {
    BlobTrigger: s('uploads/a/b.txt'),
    Uri: s('https://acct.blob.core.windows.net/uploads/a/b.txt'),
    Name: s('a/b.txt'),
    Properties: j({ ContentType: 'text/plain', ETag: '"0x8DC1"', ContentLength: 13, LastModified: '2024-05-01T10:00:00+00:00' }),
    Metadata: j({ Owner: 'me' }),
  })
  results.uploadsSeen = seen.uploads

  const gridEvent = {
    id: 'e1',
    topic: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct',
    subject: '/blobServices/default/containers/uploads/blobs/a/b.txt',
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: '2024-05-01T10:00:00.1234567Z',
    data: { api: 'PutBlob', eTag: '"0x8DC1"', contentType: 'text/plain', contentLength: 13, url: 'https://acct.blob.core.windows.net/uploads/a/b.txt' },
    dataVersion: '',
    metadataVersion: '1',
  }
  results.blobEvents = await invoke('blobEvents', j(gridEvent), { Data: j(gridEvent.data) })
  results.blobEventsSeen = seen.blobEvents
  results.anyEvents = await invoke('anyEvents', j(gridEvent), { Data: j(gridEvent.data) })
  results.anyEventsSeen = seen.anyEvents

  results.items = await invoke('items', j([{ id: '1', tenant: 't1', Name: 'x', _ts: 1714557600, _etag: '"e1"', _rid: 'r' }, { id: '2', tenant: 't2' }]))
  results.itemsSeen = seen.items

  results.failedQueue = await invoke('orders', s('fail'), queueMetadata, 'inv-fail')
  return results
}

async function streaming(): Promise<Record<string, unknown>> {
  const capabilities = await core.__state.model.getCapabilities({})
  const port = Number(new URL(capabilities.HttpUri as string).port)
  const invocationId = 'inv-stream'
  const invocation = invoke(
    'web',
    {},
    { Headers: j({ 'content-type': 'text/plain', 'x-forwarded-for': '203.0.113.7:50123' }), id: s('stream') },
    invocationId,
  )
  const client = await send(port, invocationId)
  const result = await invocation
  return { client, error: result.error, request: seen.streamRequest }
}

interface ClientResult {
  status: number | undefined
  setCookie: string[] | undefined
  contentType: string | undefined
  chunks: string[]
}

/** POSTs to the library's HTTP proxy as the host does (127.0.0.1 only), retrying while it starts listening. */
async function send(port: number, invocationId: string): Promise<ClientResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<ClientResult>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/items/stream?x=1',
            headers: { 'x-ms-invocation-id': invocationId, 'x-forwarded-host': 'app.example', 'x-forwarded-proto': 'https' },
          },
          (res) => {
            const out: ClientResult = { status: res.statusCode, setCookie: res.headers['set-cookie'], contentType: res.headers['content-type'], chunks: [] }
            res.on('data', (chunk: Buffer) => {
              out.chunks.push(chunk.toString())
              release()
            })
            res.on('end', () => resolve(out))
            res.on('error', reject)
          },
        )
        req.on('error', reject)
        req.end('hello from the client')
      })
    } catch (error) {
      if (attempt >= 20) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

const results = scenario === 'stream' ? await streaming() : await rpc()
clearTimeout(watchdog)
process.stdout.write(`${JSON.stringify({ registered, results })}\n`)
process.exit(0)
