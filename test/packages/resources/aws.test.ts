// The AWS driver against the local S3, SQS and SNS (packages/serverless/src/providers/aws/local), the queue's and
// topic's messages delivered to functions through @polycloud/aws's own sources; SigV4 checked against the AWS SDK's
// signer; errors from a signature-checking front, a throttling answer and a missing resource.
import { expect } from 'chai'
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignatureV4 } from '@smithy/signature-v4'
import { queue as queueHandler, topic as topicHandler, type QueueMessage, type TopicMessage } from '@polycloud/core'
import type { EventHandler } from '@polycloud/core/adapter'
import { createLambdaEventHandler, sns, sqs, sqsSns } from '@polycloud/aws'
import { AWS_LIMITS, awsResources } from '@polycloud/aws/resources'
import { bucket, queue, topic } from '@polycloud/resources'
import { sign } from '../../../adapters/aws/src/resources/sigv4.ts'
import { startLocalAws, type LocalAws } from '../../../packages/serverless/src/providers/aws/local/index.ts'
import { behaviour, failure, invoke, type Target } from './behaviour.ts'
import { Inbox } from './support.ts'

const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDPOLYCLOUDTEST', AWS_SECRET_ACCESS_KEY: 'polycloud-test-secret', AWS_REGION: 'eu-west-1' }

/** SHA-256 for the SDK's signer, on node:crypto (what @aws-crypto/sha256-js gives it in the SDK). */
class Sha256 {
  readonly #hash: Hash | Hmac
  constructor(secret?: Uint8Array | string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret instanceof ArrayBuffer ? new Uint8Array(secret) : ArrayBuffer.isView(secret) ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength) : secret)
  }
  update(data: Uint8Array | string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data)
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest())
  }
}

const lambdaContext = (name: string) => ({ awsRequestId: `req-${Math.random()}`, functionName: name, getRemainingTimeInMillis: () => 30_000 })

interface Local {
  readonly aws: LocalAws
  readonly consumed: Inbox<QueueMessage>
  readonly published: Inbox<TopicMessage>
  readonly copied: Inbox<TopicMessage>
}

async function startLocal(): Promise<Local> {
  const consumed = new Inbox<QueueMessage>()
  const published = new Inbox<TopicMessage>()
  const copied = new Inbox<TopicMessage>()
  const consumer = createLambdaEventHandler(queueHandler(async (message) => consumed.push(message)) as EventHandler, [sqs])
  const subscriber = createLambdaEventHandler(topicHandler(async (message) => published.push(message)) as EventHandler, [sns])
  const copier = createLambdaEventHandler(topicHandler(async (message) => copied.push(message)) as EventHandler, [sqsSns])
  const functions: Record<string, (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>> = { consumer, subscriber, copier }
  const aws = await startLocalAws({
    port: 0,
    region: 'eu-west-1',
    buckets: [{ name: 'polycloud-uploads' }],
    queues: [{ name: 'orders' }, { name: 'alerts-copy' }],
    topics: [{ name: 'alerts', subscriptions: [{ protocol: 'lambda', function: 'subscriber' }, { protocol: 'sqs', queue: 'alerts-copy' }] }],
    queueMappings: [
      { function: 'consumer', queue: 'orders', batchSize: 10 },
      { function: 'copier', queue: 'alerts-copy', batchSize: 10 },
    ],
    invoke: async (name, event) => (functions[name] as (typeof functions)[string])(event, lambdaContext(name)),
    log: () => {},
    timing: { pollWaitSeconds: 1 },
  })
  return { aws, consumed, published, copied }
}

function addressing(aws: LocalAws): string {
  return JSON.stringify({
    uploads: { kind: 'bucket', name: 'polycloud-uploads' },
    orders: { kind: 'queue', url: aws.queueUrl('orders') },
    alerts: { kind: 'topic', arn: aws.topicArn('alerts') },
    'missing-bucket': { kind: 'bucket', name: 'no-such-bucket' },
    'missing-queue': { kind: 'queue', url: aws.queueUrl('no-such-queue') },
  })
}

let local: Local | undefined

behaviour('aws', async (): Promise<Target> => {
  local = await startLocal()
  const { aws, consumed, published } = local
  return {
    provider: 'aws',
    driver: awsResources(),
    env: { ...CREDENTIALS, AWS_ENDPOINT_URL: aws.endpoint, POLYCLOUD_RESOURCES: addressing(aws) },
    limits: { objects: AWS_LIMITS.s3, queue: AWS_LIMITS.sqs, topic: AWS_LIMITS.sns },
    received: (count) => consumed.take(count),
    receivedFromTopic: (count) => published.take(count),
    stop: async () => {
      await aws.stop()
      local = undefined
    },
  }
})

describe('aws resources driver: wire details', function () {
  this.timeout(60_000)

  it('signs as the AWS SDK signs (SigV4: same canonical request, same signature)', async () => {
    const now = new Date('2026-12-07T12:34:56Z')
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'token/with+chars=' }
    const url = new URL('https://bucket.s3.eu-west-1.amazonaws.com/dir/a%20b%2Bc.txt?list-type=2&prefix=a%2Fb')
    const headers: Record<string, string> = { 'content-type': 'text/plain', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-owner': 'me' }
    sign({ method: 'PUT', url, headers, payloadHash: 'UNSIGNED-PAYLOAD', region: 'eu-west-1', service: 's3', credentials, now })
    const signer = new SignatureV4({ credentials, region: 'eu-west-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
    const signed = await signer.sign(
      {
        method: 'PUT',
        protocol: 'https:',
        hostname: url.hostname,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: { host: url.host, 'content-type': 'text/plain', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-owner': 'me' },
      },
      { signingDate: now },
    )
    expect(headers.authorization).to.equal(signed.headers.authorization)
    expect(headers['x-amz-security-token']).to.equal(signed.headers['x-amz-security-token'])
    expect(headers['x-amz-date']).to.equal(signed.headers['x-amz-date'])
  })

  it('reaches the endpoints the SDK reads from AWS_ENDPOINT_URL_S3 / _SQS / _SNS, per service', async () => {
    const seen: string[] = []
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-amz-target'] ?? ''}`.trim())
      req.resume()
      req.on('end', () => {
        if (req.headers['x-amz-target'] !== undefined) {
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{"MessageId":"m1"}')
        } else if (req.url === '/') res.writeHead(200).end('<PublishResponse><PublishResult><MessageId>m2</MessageId></PublishResult></PublishResponse>')
        else res.writeHead(200, { etag: '"e"' }).end()
      })
    })
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
    try {
      const stub = `http://127.0.0.1:${port}`
      const env = {
        ...CREDENTIALS,
        AWS_ENDPOINT_URL_S3: `${stub}`,
        AWS_ENDPOINT_URL_SQS: `${stub}`,
        AWS_ENDPOINT_URL_SNS: `${stub}`,
        POLYCLOUD_RESOURCES: JSON.stringify({
          uploads: { kind: 'bucket', name: 'b' },
          orders: { kind: 'queue', url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q' },
          alerts: { kind: 'topic', arn: 'arn:aws:sns:eu-west-1:123456789012:t' },
        }),
      }
      const target: Target = { provider: 'aws', driver: awsResources(), env, limits: { objects: AWS_LIMITS.s3, queue: AWS_LIMITS.sqs, topic: AWS_LIMITS.sns }, received: async () => [], stop: async () => {} }
      await invoke(target, async () => {
        await bucket('uploads').put('k', 'v')
        await queue('orders').send('m')
        await topic('alerts').publish('p')
      })
      expect(seen).to.deep.equal(['PUT /b/k', 'POST / AmazonSQS.SendMessage', 'POST /'])
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  describe('errors', () => {
    let front: Server
    let answer: ((req: IncomingMessage) => { status: number; body: string; headers?: Record<string, string> } | undefined) | undefined
    let upstream = ''
    let requests = 0
    let frontUrl = ''
    const captured: Array<{ target: string; trace: string | undefined; body: string }> = []

    before(async () => {
      local ??= await startLocal()
      upstream = local.aws.endpoint
      // A front that checks each request's SigV4 signature with the AWS SDK's signer, as AWS does, then forwards it.
      front = createServer((req, res) => {
        requests++
        const chunks: Buffer[] = []
        req.on('data', (chunk: Buffer) => chunks.push(chunk))
        req.on('end', async () => {
          captured.push({ target: String(req.headers['x-amz-target'] ?? `${req.method} ${req.url}`), trace: req.headers['x-amzn-trace-id'] as string | undefined, body: Buffer.concat(chunks).toString('utf8') })
          const canned = answer?.(req)
          if (canned !== undefined) return res.writeHead(canned.status, canned.headers ?? { 'content-type': 'application/xml' }).end(canned.body)
          const body = Buffer.concat(chunks)
          const auth = String(req.headers.authorization ?? '')
          const [, service = 's3'] = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(auth) ?? []
          const url = new URL(req.url ?? '/', `http://${req.headers.host}`)
          const headers: Record<string, string> = {}
          const signedNames = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? []
          for (const name of signedNames) headers[name] = String(req.headers[name] ?? '')
          const signer = new SignatureV4({ credentials: { accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY }, region: 'eu-west-1', service, sha256: Sha256, uriEscapePath: service !== 's3', applyChecksum: false })
          const date = String(req.headers['x-amz-date'])
          const signingDate = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`)
          const expected = await signer.sign({ method: req.method ?? 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body }, { signingDate })
          if (expected.headers.authorization !== auth) {
            return res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>')
          }
          const forward = httpRequest(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (reply) => {
            res.writeHead(reply.statusCode ?? 500, reply.headers)
            reply.pipe(res)
          })
          forward.end(body)
        })
      })
      const port = await new Promise<number>((resolve) => front.listen(0, '127.0.0.1', () => resolve((front.address() as AddressInfo).port)))
      frontUrl = `http://127.0.0.1:${port}`
    })

    after(async () => {
      front.closeAllConnections()
      await new Promise((resolve) => front.close(resolve))
      if (local !== undefined) await local.aws.stop()
      local = undefined
    })

    beforeEach(() => {
      answer = undefined
      requests = 0
      captured.length = 0
    })

    const target = (secret: string): Target => ({
      provider: 'aws',
      driver: awsResources(),
      env: { ...CREDENTIALS, AWS_SECRET_ACCESS_KEY: secret, AWS_ENDPOINT_URL: frontUrl, POLYCLOUD_RESOURCES: addressing(local?.aws as LocalAws) },
      limits: { objects: AWS_LIMITS.s3, queue: AWS_LIMITS.sqs, topic: AWS_LIMITS.sns },
      received: async () => [],
      stop: async () => {},
    })

    it('passes a front that checks signatures with the right key (S3, SQS, SNS), and is Denied with a wrong one', async () => {
      await invoke(target(CREDENTIALS.AWS_SECRET_ACCESS_KEY), async () => {
        await bucket('uploads').put('signed/a b.txt', 'signed', { metadata: { k: 'v' } })
        expect(await (await bucket('uploads').get('signed/a b.txt'))?.text()).to.equal('signed')
        expect((await bucket('uploads').list({ prefix: 'signed/' })).objects).to.have.length(1)
        await queue('orders').sendBatch([{ body: 'signed batch' }])
        await topic('alerts').publish('signed', { subject: 'S' })
      })
      await local?.consumed.take(1)
      await local?.published.take(1)
      await local?.copied.take(1)
      const denied = await failure(invoke(target('wrong-secret'), () => bucket('uploads').get('signed/a b.txt')))
      expect(denied.code).to.equal('Denied')
      expect(denied.status).to.equal(403)
      expect(denied.message).to.include('SignatureDoesNotMatch')
      expect((denied.cause as Error).message).to.include('S3 403 SignatureDoesNotMatch')
      const sqsDenied = await failure(invoke(target('wrong-secret'), () => queue('orders').send('x')))
      expect(sqsDenied.code).to.equal('Denied')
    })

    it("gives AWS's own propagation the trace: X-Amzn-Trace-Id on S3 PutObject and SNS Publish, AWSTraceHeader on SQS", async () => {
      const traceparent = '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01'
      await invoke(
        target(CREDENTIALS.AWS_SECRET_ACCESS_KEY),
        async () => {
          await bucket('uploads').put('traced.txt', 'x')
          await queue('orders').send('traced')
          await queue('orders').sendBatch([{ body: 'a' }, { body: 'b' }])
          await topic('alerts').publish('traced')
        },
        { traceparent },
      )
      // The invocation's own span (no exporter installed): the trace id of the traceparent, a span id of its own.
      const xray = /^Root=1-5759e988-bd862e3fe1be46a994272793;Parent=[\da-f]{16};Sampled=1$/
      const put = captured.find((request) => request.target === 'PUT /polycloud-uploads/traced.txt')
      expect(put?.trace).to.match(xray)
      const publish = captured.find((request) => request.body.includes('Action=Publish'))
      expect(publish?.trace).to.match(xray)
      expect(publish?.trace).to.equal(put?.trace)
      const send = JSON.parse(captured.find((request) => request.target === 'AmazonSQS.SendMessage')?.body ?? '{}') as { MessageSystemAttributes?: { AWSTraceHeader?: { DataType: string; StringValue: string } } }
      expect(send.MessageSystemAttributes?.AWSTraceHeader).to.deep.equal({ DataType: 'String', StringValue: put?.trace })
      const batch = JSON.parse(captured.find((request) => request.target === 'AmazonSQS.SendMessageBatch')?.body ?? '{}') as { Entries: Array<{ MessageSystemAttributes?: unknown }> }
      expect(batch.Entries.map((entry) => entry.MessageSystemAttributes)).to.deep.equal([0, 1].map(() => ({ AWSTraceHeader: { DataType: 'String', StringValue: put?.trace } })))
      // The local SQS took the system attribute (it refuses any other) and delivered them.
      expect(await local?.consumed.take(3)).to.have.length(3)
      await local?.published.take(1)
      await local?.copied.take(1)
    })

    it('retries a throttled call (3 attempts, as the SDK), then fails with Throttled', async () => {
      answer = () => ({ status: 503, body: '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>' })
      const error = await failure(invoke(target(CREDENTIALS.AWS_SECRET_ACCESS_KEY), () => bucket('uploads').put('slow', 'x')))
      expect(error.code).to.equal('Throttled')
      expect(error.retryable).to.equal(true)
      expect(requests).to.equal(3)
      answer = (req) => (req.headers['x-amz-target'] !== undefined ? { status: 400, body: '{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Request is throttled."}', headers: { 'content-type': 'application/x-amz-json-1.0' } } : undefined)
      const sqsError = await failure(invoke(target(CREDENTIALS.AWS_SECRET_ACCESS_KEY), () => queue('orders').send('x')))
      expect(sqsError.code).to.equal('Throttled')
    })

    it('reports the messages of a batch SQS did not take (the others were sent)', async () => {
      answer = (req) =>
        req.headers['x-amz-target'] === 'AmazonSQS.SendMessageBatch'
          ? {
              status: 200,
              headers: { 'content-type': 'application/x-amz-json-1.0' },
              body: JSON.stringify({ Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: 'cfcd208495d565ef66e7dff9f98764da' }], Failed: [{ Id: '1', SenderFault: true, Code: 'InvalidParameterValue', Message: 'bad' }] }),
            }
          : undefined
      const error = await failure(invoke(target(CREDENTIALS.AWS_SECRET_ACCESS_KEY), () => queue('orders').sendBatch([{ body: '0' }, { body: '1' }])))
      expect(error.failed).to.deep.equal([1])
      expect(error.code).to.equal('Invalid')
      expect(error.message).to.include('did not take messages 1')
    })

    it('delivers an SNS notification fanned out to SQS (raw delivery off) with its bytes, attributes and subject', async () => {
      await invoke(target(CREDENTIALS.AWS_SECRET_ACCESS_KEY), () => topic('alerts').publish(new Uint8Array([1, 255]), { subject: 'Bin', attributes: { a: 'b' } }))
      const [copy] = (await local?.copied.take(1)) ?? []
      await local?.published.take(1)
      expect([...(copy?.bytes() ?? [])]).to.deep.equal([1, 255])
      expect(copy?.attributes).to.deep.equal({ a: 'b' })
      expect(copy?.subject).to.equal('Bin')
    })
  })
})
