/**
 * startLocalAws and its delivery engine, with an in-process invoker standing in for the functions: SQS batches as
 * Lambda's poller makes them (batch size, batching window, ReportBatchItemFailures, whole-batch failures, the
 * dead-letter queue after maxReceiveCount), SNS fan-out to functions and queues, S3 notifications by prefix and
 * suffix, asynchronous retries (two, as Lambda makes them; delays shortened), EventBridge schedules fired on demand
 * and on time, the control API, and a stop that leaves nothing behind. SQS seconds are 100 ms here.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { PublishCommand } from '@aws-sdk/client-sns'
import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import { eventBridgeSchedule, s3 as s3Source, sns as snsSource, sqs as sqsSource, sqsS3 } from '@polycloud/aws'
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { startLocalAws, type LocalAws, type LocalAwsOptions } from 'serverless-polycloud/providers/aws/local/index'
import { failedItems } from 'serverless-polycloud/providers/aws/local/delivery'
import { LocalSchedules } from 'serverless-polycloud/providers/aws/local/schedules'
import { ACCOUNT, REGION, s3Client, snsClient, sqsClient, waitFor } from './support.ts'

const FIXTURES = join(import.meta.dirname, '../../../../fixtures/events/aws')
const fixture = (path: string): Record<string, unknown> => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as Record<string, unknown>

interface Call {
  fn: string
  event: { Records?: Array<Record<string, unknown>> } & Record<string, unknown>
}

/** The keys of an object, recursively (values replaced by their type), to compare shapes. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])]
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]).sort(([a], [b]) => String(a).localeCompare(String(b))))
  return typeof value
}

describe('serverless/providers/aws/local: delivery to functions', function () {
  this.timeout(30_000)
  let local: LocalAws | undefined
  let calls: Call[] = []
  let behaviour: (call: Call) => unknown = () => undefined
  const lines: string[] = []

  const start = async (options: Omit<LocalAwsOptions, 'invoke'>): Promise<LocalAws> => {
    local = await startLocalAws({
      region: REGION,
      accountId: ACCOUNT,
      log: (line) => lines.push(line),
      timing: { second: 100, asyncRetryDelaysMs: [100, 200], pollWaitSeconds: 5 },
      ...options,
      invoke: async (fn, event) => {
        const call = { fn, event: event as Call['event'] }
        calls.push(call)
        return behaviour(call)
      },
    })
    return local
  }

  beforeEach(() => {
    calls = []
    behaviour = () => undefined
    lines.length = 0
  })
  afterEach(async () => {
    await local?.stop()
    local = undefined
  })

  describe('SQS event source mappings', () => {
    const orders = { queues: [{ name: 'orders-dlq' }, { name: 'orders', visibilityTimeout: 3, deadLetter: { queue: 'orders-dlq', maxReceiveCount: 3 } }] }

    it('delivers a batch in the event Lambda sends, which the AWS adapter reads', async () => {
      const aws = await start({ ...orders, queueMappings: [{ function: 'orders', queue: 'orders', batchSize: 10 }] })
      const client = sqsClient(aws.endpoint)
      const sent = await client.send(new SendMessageCommand({ QueueUrl: aws.queueUrl('orders'), MessageBody: '{"id":"o-1"}', MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } } }))
      client.destroy()
      const [call] = await waitFor('the batch', () => (calls.length > 0 ? calls : undefined))
      const record = call?.event.Records?.[0] as Record<string, unknown>
      expect(call?.fn).to.equal('orders')
      expect(record).to.deep.include({ messageId: sent.MessageId, body: '{"id":"o-1"}', md5OfBody: sent.MD5OfMessageBody, md5OfMessageAttributes: sent.MD5OfMessageAttributes, eventSource: 'aws:sqs', eventSourceARN: aws.queueArn('orders'), awsRegion: REGION })
      // Every field of a recorded SQS event, nested the same way.
      const recorded = (fixture('sqs/lgo__sqs-event.json').Records as Array<Record<string, unknown>>)[0] as Record<string, unknown>
      expect(shape({ ...record, messageAttributes: {} })).to.deep.equal(shape({ ...recorded, messageAttributes: {} }))
      expect(shape((record.messageAttributes as Record<string, unknown>).tenant)).to.deep.equal(shape({ stringValue: '', stringListValues: [], binaryListValues: [], dataType: '' }))
      const [message] = sqsSource.getEvents(call?.event as never) as Array<{ attributes: Record<string, string>; attempt: number; queue: string }>
      expect(message).to.deep.include({ attributes: { tenant: 'acme' }, attempt: 1, queue: 'orders' })
      await waitFor('the delete', () => aws.sqs.getAttributes('orders', ['All']).ApproximateNumberOfMessagesNotVisible === '0' && aws.sqs.getAttributes('orders', ['All']).ApproximateNumberOfMessages === '0')
      expect(aws.deliveries().at(-1)).to.deep.include({ source: 'sqs:orders', function: 'orders', outcome: 'succeeded', ids: [sent.MessageId], attempt: 1 })
    })

    it('retries only the messages batchItemFailures names, after the visibility timeout, then dead-letters them', async () => {
      const aws = await start({ ...orders, queueMappings: [{ function: 'orders', queue: 'orders', batchSize: 10 }] })
      behaviour = (call) => ({ batchItemFailures: (call.event.Records ?? []).filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })) })
      const client = sqsClient(aws.endpoint)
      await client.send(new SendMessageBatchCommand({ QueueUrl: aws.queueUrl('orders'), Entries: ['good-1', 'bad', 'good-2'].map((body, i) => ({ Id: `m${i}`, MessageBody: body })) }))
      const dead = await waitFor('the dead letter', async () => (await client.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl('orders-dlq'), MessageSystemAttributeNames: ['All'] }))).Messages)
      client.destroy()
      expect(dead.map((m) => m.Body)).to.deep.equal(['bad'])
      expect(dead[0]?.Attributes?.DeadLetterQueueSourceArn).to.equal(aws.queueArn('orders'))
      const bodies = calls.flatMap((call) => (call.event.Records ?? []).map((r) => `${String(r.body)}#${(r.attributes as Record<string, string>).ApproximateReceiveCount}`))
      // The good messages once; the bad one three times (maxReceiveCount), its receive count rising.
      expect(bodies.filter((b) => b.startsWith('good')).sort()).to.deep.equal(['good-1#1', 'good-2#1'])
      expect(bodies.filter((b) => b.startsWith('bad'))).to.deep.equal(['bad#1', 'bad#2', 'bad#3'])
      expect(aws.deliveries().filter((d) => d.outcome === 'partial')).to.have.length(3)
    })

    it('fails the whole batch when the function throws, or answers an unknown itemIdentifier', async () => {
      const aws = await start({ queues: [{ name: 'work', visibilityTimeout: 2 }], queueMappings: [{ function: 'worker', queue: 'work' }] })
      let attempts = 0
      behaviour = () => {
        attempts += 1
        if (attempts === 1) throw new Error('boom')
        if (attempts === 2) return { batchItemFailures: [{ itemIdentifier: 'not-in-the-batch' }] }
        if (attempts === 3) return { batchItemFailures: [{ itemIdentifier: '' }] }
        return { batchItemFailures: [] }
      }
      const client = sqsClient(aws.endpoint)
      await client.send(new SendMessageBatchCommand({ QueueUrl: aws.queueUrl('work'), Entries: [{ Id: 'a', MessageBody: 'a' }, { Id: 'b', MessageBody: 'b' }] }))
      client.destroy()
      await waitFor('four attempts', () => attempts >= 4 && aws.deliveries().at(-1)?.outcome === 'succeeded')
      expect(calls.map((call) => (call.event.Records ?? []).map((r) => r.body).sort().join(''))).to.deep.equal(['ab', 'ab', 'ab', 'ab'])
      expect(aws.deliveries().map((d) => d.outcome)).to.deep.equal(['failed', 'failed', 'failed', 'succeeded'])
      expect(lines.join('\n')).to.match(/worker failed a batch of 2 from work \(boom\)/)
    })

    it('keeps batches within batchSize, and gathers a batch over the batching window', async () => {
      // Visibility timeouts well beyond the window (30 s here), as AWS advises for a mapping with a batching window.
      const aws = await start({ queues: [{ name: 'bulk', visibilityTimeout: 300 }, { name: 'slow', visibilityTimeout: 300 }], queueMappings: [{ function: 'bulk', queue: 'bulk', batchSize: 4 }, { function: 'slow', queue: 'slow', batchSize: 100, maximumBatchingWindow: 20 }] })
      const client = sqsClient(aws.endpoint)
      for (let i = 0; i < 3; i++) {
        await client.send(new SendMessageBatchCommand({ QueueUrl: aws.queueUrl('bulk'), Entries: Array.from({ length: 5 }, (_, j) => ({ Id: `m${j}`, MessageBody: `${i}-${j}` })) }))
        await client.send(new SendMessageBatchCommand({ QueueUrl: aws.queueUrl('slow'), Entries: Array.from({ length: 5 }, (_, j) => ({ Id: `m${j}`, MessageBody: `${i}-${j}` })) }))
      }
      client.destroy()
      await waitFor('the bulk messages', () => calls.filter((c) => c.fn === 'bulk').flatMap((c) => c.event.Records ?? []).length === 15)
      const sizes = calls.filter((c) => c.fn === 'bulk').map((c) => c.event.Records?.length ?? 0)
      expect(Math.max(...sizes)).to.be.at.most(4)
      // Fifteen messages sent within the 2 s window reach the function as one batch.
      const slow = await waitFor('the slow batch', () => calls.find((c) => c.fn === 'slow'))
      expect(slow.event.Records).to.have.length(15)
    })

    it('checks a mapping against its queue', async () => {
      let error: Error | undefined
      try {
        await start({ queues: [{ name: 'q.fifo', fifo: true }], queueMappings: [{ function: 'f', queue: 'q.fifo', batchSize: 11 }] })
      } catch (caught) {
        error = caught as Error
      }
      expect(error?.message).to.equal("the batch size of f's queue q.fifo must be from 1 to 10, not 11")
      error = undefined
      try {
        await start({ queueMappings: [{ function: 'f', queue: 'missing' }] })
      } catch (caught) {
        error = caught as Error
      }
      expect(error?.message).to.equal('the event source mapping of f names the queue missing, which does not exist')
    })

    it('reads partial batch responses as Lambda documents them', () => {
      const batch = ['a', 'b']
      expect(failedItems(undefined, batch)).to.deep.equal([])
      expect(failedItems(null, batch)).to.deep.equal([])
      expect(failedItems({}, batch)).to.deep.equal([])
      expect(failedItems({ batchItemFailures: null }, batch)).to.deep.equal([])
      expect(failedItems({ batchItemFailures: [] }, batch)).to.deep.equal([])
      expect(failedItems({ batchItemFailures: [{ itemIdentifier: 'b' }] }, batch)).to.deep.equal(['b'])
      expect(failedItems({ batchItemFailures: [{ itemIdentifier: '' }] }, batch)).to.equal('all')
      expect(failedItems({ batchItemFailures: [{ itemIdentifier: null }] }, batch)).to.equal('all')
      expect(failedItems({ batchItemFailures: [{ id: 'b' }] }, batch)).to.equal('all')
      expect(failedItems({ batchItemFailures: [{ itemIdentifier: 'c' }] }, batch)).to.equal('all')
      expect(failedItems({ batchItemFailures: 'b' }, batch)).to.equal('all')
    })
  })

  describe('SNS, S3 and asynchronous invocations', () => {
    it('fans a topic message out to every subscribed function and queue, filtered, with its attributes', async () => {
      const aws = await start({
        queues: [{ name: 'audit' }],
        topics: [{ name: 'alerts', subscriptions: [{ protocol: 'lambda', function: 'alerts' }, { protocol: 'lambda', function: 'pager', filterPolicy: { severity: ['critical'] } }, { protocol: 'sqs', queue: 'audit' }] }],
        queueMappings: [{ function: 'audit', queue: 'audit' }],
      })
      const client = snsClient(aws.endpoint)
      await client.send(new PublishCommand({ TopicArn: aws.topicArn('alerts'), Message: 'disk almost full', MessageAttributes: { severity: { DataType: 'String', StringValue: 'warning' } } }))
      client.destroy()
      await waitFor('three deliveries', () => calls.length === 2 && calls.some((c) => c.fn === 'audit'))
      expect(calls.map((c) => c.fn).sort()).to.deep.equal(['alerts', 'audit'])
      const alerts = calls.find((c) => c.fn === 'alerts') as Call
      const [message] = snsSource.getEvents(alerts.event as never) as Array<{ attributes: Record<string, string> }>
      expect(message?.attributes).to.deep.equal({ severity: 'warning' })
      const actual = alerts.event.Records?.[0] as Record<string, Record<string, unknown>>
      expect(shape({ Records: [{ ...actual, Sns: { ...actual.Sns, MessageAttributes: {} } }] })).to.deep.equal(shape({ ...fixture('sns/lgo__sns-event.json'), Records: [{ ...(fixture('sns/lgo__sns-event.json').Records as Array<Record<string, Record<string, unknown>>>)[0], Sns: { ...(fixture('sns/lgo__sns-event.json').Records as Array<Record<string, Record<string, unknown>>>)[0]?.Sns, MessageAttributes: {}, Subject: null } }] }))
      const audit = calls.find((c) => c.fn === 'audit') as Call
      expect(JSON.parse(String(audit.event.Records?.[0]?.body))).to.deep.include({ Type: 'Notification', Message: 'disk almost full' })
    })

    it('retries a failed asynchronous invocation twice, then drops it', async () => {
      const aws = await start({ topics: [{ name: 'alerts', subscriptions: [{ protocol: 'lambda', function: 'flaky' }, { protocol: 'lambda', function: 'broken' }] }] })
      const tries = new Map<string, number>()
      behaviour = (call) => {
        tries.set(call.fn, (tries.get(call.fn) ?? 0) + 1)
        if (call.fn === 'broken' || (tries.get(call.fn) ?? 0) < 3) throw new Error(`${call.fn} failed`)
        return undefined
      }
      const client = snsClient(aws.endpoint)
      const { MessageId } = await client.send(new PublishCommand({ TopicArn: aws.topicArn('alerts'), Message: 'x' }))
      client.destroy()
      await waitFor('both done', () => aws.deliveries().filter((d) => d.outcome === 'succeeded' || d.outcome === 'dropped').length === 2)
      const outcomes = (fn: string) => aws.deliveries().filter((d) => d.function === fn).map((d) => `${d.attempt}:${d.outcome}`)
      expect(outcomes('flaky')).to.deep.equal(['1:retrying', '2:retrying', '3:succeeded'])
      expect(outcomes('broken')).to.deep.equal(['1:retrying', '2:retrying', '3:dropped'])
      expect(aws.deliveries()[0]?.ids).to.deep.equal([MessageId])
      expect(lines.join('\n')).to.match(/broken failed sns:alerts event .+ 3 times \(broken failed\)/)
    })

    it('notifies a function of objects created under its prefix and ignores the others; a queue gets S3\'s message', async () => {
      const aws = await start({
        queues: [{ name: 'uploads' }],
        buckets: [
          {
            name: 'uploads',
            notifications: [
              { events: ['s3:ObjectCreated:*'], prefix: 'images/', target: { function: 'thumbnails' } },
              { events: ['s3:ObjectRemoved:*'], suffix: '.txt', target: { queue: 'uploads' } },
            ],
          },
        ],
        queueMappings: [{ function: 'removals', queue: 'uploads' }],
      })
      const client = s3Client(aws.endpoint)
      await client.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'images/cat.png', Body: 'png' }))
      await client.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'docs/notes.txt', Body: 'text' }))
      await fetch(`${aws.endpoint}/uploads/docs/notes.txt`, { method: 'DELETE' })
      client.destroy()
      await waitFor('two deliveries', () => calls.length === 2)
      const thumbnails = calls.find((c) => c.fn === 'thumbnails') as Call
      expect(s3Source.canHandle(thumbnails.event)).to.equal(true)
      expect((s3Source.getEvents(thumbnails.event as never) as Array<{ key: string }>).map((e) => e.key)).to.deep.equal(['images/cat.png'])
      const removals = calls.find((c) => c.fn === 'removals') as Call
      expect(sqsS3.canHandle(removals.event)).to.equal(true)
      expect((sqsS3.getEvents(removals.event as never) as Array<{ key: string; type: string }>).map((e) => [e.type, e.key])).to.deep.equal([['deleted', 'docs/notes.txt']])
    })
  })

  describe('schedules', () => {
    it('fires a schedule on demand with the event EventBridge sends, through the control API', async () => {
      const aws = await start({ schedules: [{ rule: 'polycloud-demo-dev-report', function: 'report', expression: '0 3 * * *' }] })
      const listed = (await (await fetch(`${aws.endpoint}/polycloud/schedules`)).json()) as Array<{ rule: string; next: string }>
      expect(listed[0]).to.deep.include({ rule: 'polycloud-demo-dev-report' })
      expect(listed[0]?.next).to.match(/T03:00:00\.000Z$/)
      const fired = await fetch(`${aws.endpoint}/polycloud/schedules/report`, { method: 'POST' })
      expect(fired.status).to.equal(202)
      const { fired: [one] } = (await fired.json()) as { fired: Array<{ id: string; rule: string }> }
      const [call] = await waitFor('the scheduled event', () => (calls.length > 0 ? calls : undefined))
      expect(call?.event).to.deep.include({ id: one?.id, 'detail-type': 'Scheduled Event', source: 'aws.events', account: ACCOUNT, region: REGION, resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/polycloud-demo-dev-report`], detail: {} })
      expect(call?.event.time).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      // The recorded event's fields, and the "version" EventBridge adds to every event.
      expect(shape(call?.event)).to.deep.equal(shape({ version: '0', ...fixture('schedule/sam__ScheduledEvent.json') }))
      expect(eventBridgeSchedule.canHandle(call?.event)).to.equal(true)
      const unknown = await fetch(`${aws.endpoint}/polycloud/schedules/nope`, { method: 'POST' })
      expect(unknown.status).to.equal(404)
      expect(await unknown.json()).to.deep.equal({ error: 'no schedule named "nope" (by rule or function)', schedules: ['polycloud-demo-dev-report'] })
    })

    it('fires a schedule on time (a clock just before the minute)', async () => {
      const offset = Date.parse('2026-11-28T02:59:59.900Z') - Date.now()
      const fired: unknown[] = []
      const schedules = new LocalSchedules({ region: REGION, accountId: ACCOUNT, log: () => {}, specs: [{ rule: 'r', function: 'report', expression: '0 3 * * *' }, { rule: 'off', function: 'x', expression: '* * * * *', enabled: false }], fire: (_spec, event) => fired.push(event), now: () => new Date(Date.now() + offset) })
      schedules.start()
      await waitFor('the 03:00 run', () => fired.length === 1, 5_000)
      await schedules.stop()
      expect(fired[0]).to.deep.include({ time: '2026-11-28T03:00:00Z', resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/r`] })
      expect(() => new LocalSchedules({ region: REGION, accountId: ACCOUNT, log: () => {}, specs: [{ rule: 'bad', function: 'f', expression: 'cron(0 3 * * ? *)' }], fire: () => {} })).to.throw(/^schedule bad of f: /)
    })
  })

  describe('the endpoint', () => {
    it('answers unsigned requests as curl sends them: an object, a message, a publication', async () => {
      const aws = await start({ queues: [{ name: 'orders' }], topics: [{ name: 'alerts', subscriptions: [{ protocol: 'lambda', function: 'alerts' }] }], buckets: [{ name: 'uploads', notifications: [{ events: ['s3:ObjectCreated:*'], target: { function: 'thumbnails' } }] }], queueMappings: [{ function: 'orders', queue: 'orders' }] })
      expect((await fetch(`${aws.endpoint}/uploads/images/cat.png`, { method: 'PUT', body: 'png', headers: { 'content-type': 'image/png' } })).status).to.equal(200)
      const sent = await fetch(aws.endpoint, { method: 'POST', headers: { 'x-amz-target': 'AmazonSQS.SendMessage', 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify({ QueueUrl: aws.queueUrl('orders'), MessageBody: '{"id":"o-1"}' }) })
      expect(sent.status).to.equal(200)
      const published = await fetch(aws.endpoint, { method: 'POST', body: new URLSearchParams({ Action: 'Publish', TopicArn: aws.topicArn('alerts'), Message: 'hi', 'MessageAttributes.entry.1.Name': 'severity', 'MessageAttributes.entry.1.Value.DataType': 'String', 'MessageAttributes.entry.1.Value.StringValue': 'critical' }) })
      expect(await published.text()).to.match(/<PublishResponse xmlns="http:\/\/sns.amazonaws.com\/doc\/2010-03-31\/"><PublishResult><MessageId>[0-9a-f-]{36}<\/MessageId>/)
      await waitFor('three functions', () => new Set(calls.map((c) => c.fn)).size === 3)
      const summary = (await (await fetch(`${aws.endpoint}/polycloud`)).json()) as Record<string, unknown>
      expect(summary).to.deep.include({ endpoint: aws.endpoint, queues: [aws.queueUrl('orders')], topics: [aws.topicArn('alerts')], buckets: ['uploads'] })
      expect(aws.summary()[0]).to.equal(`local AWS on ${aws.endpoint} (S3, SQS, SNS; region ${REGION}, account ${ACCOUNT})`)
      const hostile = await fetch(`${aws.endpoint}/uploads/x`, { method: 'PUT', body: 'zz\r\nnot chunked', headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '5' } })
      expect(hostile.status).to.equal(400)
      expect(await hostile.text()).to.match(/<Code>InvalidRequest<\/Code><Message>An aws-chunked chunk header is malformed/)
      const garbage = await fetch(aws.endpoint, { method: 'POST', headers: { 'x-amz-target': 'AmazonSQS.SendMessage' }, body: '{nope' })
      expect(garbage.status).to.equal(400)
    })

    it('listens on the loopback interface only, says when the port is taken, and frees it at stop', async () => {
      let error: Error | undefined
      try {
        await startLocalAws({ host: '0.0.0.0', invoke: async () => undefined })
      } catch (caught) {
        error = caught as Error
      }
      expect(error?.message).to.match(/loopback interface only/)
      const aws = await start({})
      error = undefined
      try {
        await startLocalAws({ port: aws.port, invoke: async () => undefined, log: () => {} })
      } catch (caught) {
        error = caught as Error
      }
      expect(error?.message).to.equal(`local AWS could not listen on 127.0.0.1:${aws.port}: the port is in use (choose another one, or 0 for a free one)`)
      await aws.stop()
      local = undefined
      await new Promise<void>((resolve, reject) => {
        const probe = createServer().once('error', reject)
        probe.listen(aws.port, '127.0.0.1', () => probe.close(() => resolve()))
      })
    })

    it('stops everything: a process that started and stopped it ends by itself, with no handle left', async () => {
      const script = `
        import { startLocalAws } from 'serverless-polycloud/providers/aws/local/index'
        const aws = await startLocalAws({
          log: () => {},
          queues: [{ name: 'q' }],
          queueMappings: [{ function: 'f', queue: 'q' }],
          topics: [{ name: 't', subscriptions: [{ protocol: 'lambda', function: 'f' }] }],
          schedules: [{ rule: 'r', function: 'f', expression: '* * * * *' }],
          invoke: () => new Promise(() => {}),
        })
        // A long poll in flight, an invocation that never answers, a retry pending.
        void fetch(aws.endpoint, { method: 'POST', headers: { 'x-amz-target': 'AmazonSQS.ReceiveMessage' }, body: JSON.stringify({ QueueUrl: aws.queueUrl('q'), WaitTimeSeconds: 20 }) }).catch(() => {})
        aws.sns.publish(aws.topicArn('t'), { message: 'x' })
        await new Promise((resolve) => setTimeout(resolve, 100))
        await aws.stop()
        // Its own stdout and stderr pipes aside.
        setImmediate(() => console.log(JSON.stringify(process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap' && kind !== 'PipeWrap'))))
      `
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk))
      child.stderr.on('data', (chunk: Buffer) => (out += chunk))
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
        child.on('exit', (exit) => {
          clearTimeout(timer)
          resolve(exit)
        })
      })
      expect(code, out).to.equal(0)
      expect(JSON.parse(out.trim().split('\n').at(-1) as string)).to.deep.equal([])
    })
  })
})
