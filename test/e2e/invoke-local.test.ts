/**
 * `serverless invoke local -f <fn> --path <native event.json>` runs each demo function through its generated entry
 * (bundled by serverless-esbuild) on real AWS payloads, one per trigger kind.
 */
import { expect } from 'chai'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startLocalAws } from 'serverless-polycloud/providers/aws/local/index'
import { decodePng, encodePng } from '../../handlers/lib/png.ts'
import { EVENTS_DIR } from '../helpers/fixtures.ts'
import { serverless } from '../helpers/serverless.ts'
import { s3Client } from '../packages/serverless/providers/aws-local/support.ts'

/** The function's return value (the last JSON block on stdout) and its log lines. */
function parse(stdout: string): { result: unknown; logs: Array<Record<string, unknown>> } {
  const logs = stdout
    .split('\n')
    .filter((line) => line.startsWith('{"level"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
  const start = stdout.lastIndexOf('\n{\n')
  const result = start === -1 ? undefined : (JSON.parse(stdout.slice(start + 1)) as unknown)
  return { result, logs }
}

async function invoke(fn: string, eventPath: string, env: NodeJS.ProcessEnv = {}): Promise<{ result: unknown; logs: Array<Record<string, unknown>> }> {
  const run = await serverless(['invoke', 'local', '-f', fn, '--path', eventPath], { timeoutMs: 90_000, env })
  expect(run.code, run.stderr + run.stdout).to.equal(0)
  return parse(run.stdout)
}

describe('e2e: serverless invoke local, every trigger kind', function () {
  this.timeout(120_000)
  const scratch = mkdtempSync(join(tmpdir(), 'polycloud-invoke-'))

  it('http: an API Gateway v2 request', async () => {
    const { result } = await invoke('hello', join(EVENTS_DIR, 'aws/apigw-http/lgo__apigw-v2-request-no-authorizer.json'))
    expect(result).to.deep.equal({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"hello":"world","provider":"aws"}',
      isBase64Encoded: false,
    })
  })

  it('schedule: an EventBridge scheduled event', async () => {
    const { logs } = await invoke('report', join(EVENTS_DIR, 'aws/schedule/sam__ScheduledEvent.json'))
    expect(logs).to.have.length(1)
    // The schedule as serverless.yml declares it and the function's name, whatever rule the payload names.
    expect(logs[0]).to.include({ message: 'nightly report', to: '1970-01-01T00:00:00.000Z', schedule: '0 3 * * *', name: 'report' })
  })

  it('queue: an SQS batch where one bad message fails alone', async () => {
    const event = JSON.parse(readFileSync(join(EVENTS_DIR, 'aws/sqs/ptts__base.json'), 'utf8')) as { Records: Array<Record<string, unknown>> }
    event.Records[0]!.body = JSON.stringify({ id: 'o-1', items: ['book'], total: 12.5 })
    const path = join(scratch, 'orders.json')
    writeFileSync(path, JSON.stringify(event))
    const { result, logs } = await invoke('orders', path)
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: '2e1424d4-f796-459a-8184-9c92662be6da' }] })
    expect(logs.map((line) => [line.level, line.message])).to.deep.equal([
      ['info', 'order accepted'],
      ['error', 'event failed'],
      ['error', 'invocation'],
    ])
    // The batch's summary line, in the same trace as the handler's lines.
    expect(logs[2]).to.include({ polycloud: 'invocation', kind: 'queue', outcome: 'error', events: 2, failed: 1, traceId: logs[0]?.traceId })
  })

  it('topic: an SNS notification', async () => {
    const { logs } = await invoke('alerts', join(EVENTS_DIR, 'aws/sns/lgo__sns-event.json'))
    expect(logs[0]).to.include({ level: 'info', message: 'alert', subject: 'TestInvoke', body: 'Hello from SNS!', topic: 'EXAMPLE' })
  })

  it('storage: an S3 notification with a URL-encoded key; the function reaches its bucket where the environment points (local S3)', async () => {
    // The function reads the image from the uploads bucket and writes the thumbnail there: on the local services the
    // AWS CLI's variables point at (those `npm start` serves), started here with the image in the bucket.
    const aws = await startLocalAws({ port: 0, region: 'eu-west-1', buckets: [{ name: 'polycloud-demo-dev-uploads' }], invoke: async () => ({}) })
    const s3 = s3Client(aws.endpoint)
    try {
      const image = await encodePng({ width: 200, height: 100, data: new Uint8Array(200 * 100 * 4).fill(200) })
      await s3.send(new PutObjectCommand({ Bucket: 'polycloud-demo-dev-uploads', Key: 'Happy Face.jpg', Body: image, ContentType: 'image/png' }))
      const env = { AWS_ENDPOINT_URL: aws.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SESSION_TOKEN: '' }
      const { logs } = await invoke('thumbnails', join(EVENTS_DIR, 'aws/s3/lgo__s3-event.json'), env)
      expect(logs[0]).to.include({ message: 'thumbnail needed', bucket: 'sourcebucket', key: 'Happy Face.jpg', size: 1024 })
      expect(logs[1]).to.include({ message: 'thumbnail written', target: 'Happy Face.png', width: 128, height: 64 })
      const written = await s3.send(new GetObjectCommand({ Bucket: 'polycloud-demo-dev-uploads', Key: 'Happy Face.png' }))
      expect(written.ContentType).to.equal('image/png')
      expect(await decodePng(await (written.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())).to.include({ width: 128, height: 64 })
    } finally {
      s3.destroy()
      await aws.stop()
    }
  })

  it('queue: a function that uses a store reaches the local DynamoDB on the state npm start keeps (.polycloud/state/aws)', async () => {
    const device = `invoke-${process.pid}-${Date.now().toString(36)}`
    const dir = mkdtempSync(join(tmpdir(), 'polycloud-invoke-store-'))
    const body = JSON.stringify({ device, id: 'r-1', time: '2026-12-07T10:00:00Z', value: 21.5, unit: 'C' })
    const record = { messageId: 'm-1', receiptHandle: 'h', body, attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1765100000000', SenderId: 'local', ApproximateFirstReceiveTimestamp: '1765100000000' }, messageAttributes: {}, md5OfBody: 'x', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:polycloud-demo-dev-readings', awsRegion: 'eu-west-1' }
    const path = join(dir, 'reading.json')
    writeFileSync(path, JSON.stringify({ Records: [record] }))
    const env = { AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '' }
    try {
      const first = await invoke('readings', path, env)
      expect(first.logs.find((line) => line.device === device)).to.include({ message: 'reading counted', count: 1 })
      // A second invocation finds the state the first one kept.
      const second = await invoke('readings', path, env)
      expect(second.logs.find((line) => line.device === device)).to.include({ message: 'reading seen before', count: 1 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses an event of another kind with an error naming provider, kind and keys', async () => {
    const run = await serverless(['invoke', 'local', '-f', 'hello', '--path', join(EVENTS_DIR, 'aws/sns/lgo__sns-event.json')], { timeoutMs: 90_000 })
    expect(run.code).to.equal(1)
    expect(run.stdout).to.include('aws: no adapter for http handlers recognises this input (tried: aws:api-gateway-v2); it is an object with keys: Records')
  })
})
