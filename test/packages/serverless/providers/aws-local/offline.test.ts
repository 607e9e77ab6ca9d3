/**
 * The local AWS services `serverless offline` starts beside serverless-offline on AWS, end to end on a tiny service
 * (bundled by serverless-esbuild, run through the Polycloud AWS adapter): fed from the plan, delivering through
 * serverless-offline's Lambda Invoke API. An SQS batch with one bad order (only it is retried, its receive count
 * rising, then dead-lettered), an SNS alert with its attribute and a subscriber that throws (retried twice, then
 * dropped), the cron fired on demand by the one scheduler, a function's own SDK code reaching the queue through its
 * environment; then Ctrl-C (the port closed, the state kept for the next run) and a failed start (the framework's
 * error hook stops the services).
 */
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs'
import { PublishCommand } from '@aws-sdk/client-sns'
import { expect } from 'chai'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvocationError, lambdaInvoker, type DeliveryRecord } from 'serverless-polycloud/providers/aws/local/index'
import { freePorts, serverless, startServerless, type ServerlessProcess } from '../../../../helpers/serverless.ts'
import { REGION, snsClient, sqsClient, waitFor } from './support.ts'

const SERVICE = join(import.meta.dirname, 'service')
const fn = (name: string): string => `polycloud-aws-local-dev-${name}`
const ENV = { POLYCLOUD_OFFLINE_RETRY_SECONDS: '1' }

/** Whether something accepts connections on host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => (socket.destroy(), resolve(false)))
  })
}

interface Started {
  offline: ServerlessProcess
  endpoint: string
  port: number
  lambda: string
  http: string
}

async function start(state: string): Promise<Started> {
  const [httpPort, lambdaPort, servicesPort] = (await freePorts(3)) as [number, number, number]
  const offline = await startServerless(
    ['offline', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort), '--servicesPort', String(servicesPort), '--stateDir', state],
    { cwd: SERVICE, timeoutMs: 120_000, env: ENV },
  )
  const endpoint = /local AWS on (http:\/\/127\.0\.0\.1:(\d+))/.exec(offline.stderr())
  if (!endpoint) {
    await offline.stop()
    throw new Error(`serverless offline printed no local AWS endpoint:\n${offline.stderr()}`)
  }
  return { offline, endpoint: endpoint[1] as string, port: Number(endpoint[2]), lambda: `http://127.0.0.1:${lambdaPort}`, http: `http://127.0.0.1:${httpPort}` }
}

describe('serverless/providers/aws/local: the services serverless offline starts', function () {
  this.timeout(180_000)
  const state = mkdtempSync(join(tmpdir(), 'polycloud-aws-offline-'))
  let run: Started | undefined
  const deliveries = async (): Promise<DeliveryRecord[]> => (await (await fetch(`${run?.endpoint}/polycloud/deliveries`)).json()) as DeliveryRecord[]

  before(async () => {
    run = await start(state)
  })

  after(async () => {
    await run?.offline.stop()
    rmSync(state, { recursive: true, force: true })
  })

  it('prints the endpoint with every queue, topic and schedule, on 127.0.0.1 only; serverless-offline schedules nothing itself', async () => {
    const { offline, endpoint, port } = run as Started
    const stderr = offline.stderr()
    expect(stderr).to.include(`  queue  ${endpoint}/000000000000/polycloud-aws-local-dev-orders`)
    expect(stderr).to.include(`  queue  ${endpoint}/000000000000/polycloud-aws-local-dev-orders-dlq`)
    expect(stderr).to.include('  topic  arn:aws:sns:eu-west-1:000000000000:alerts')
    expect(stderr).to.match(/ {2}schedule polycloud-aws-local-dev-nightly \(0 3 \* \* \*\) -> polycloud-aws-local-dev-nightly: POST /)
    expect(stderr).to.include('failed deliveries are retried after 1 s (POLYCLOUD_OFFLINE_RETRY_SECONDS)')
    // serverless-offline announces each schedule it runs ("Scheduling [nightly] cron: ..."): none.
    expect(stderr).to.not.match(/Scheduling \[/)
    const external = Object.values(networkInterfaces()).flat().find((address) => address && !address.internal && address.family === 'IPv4')
    if (external) expect(await accepts(external.address, port), `port ${port} on ${external.address}`).to.equal(false)
  })

  it('gives each function the endpoints and region its own SDK code needs; that code reaches the local queue', async () => {
    const { http, endpoint } = run as Started
    expect(await (await fetch(`${http}/ping`)).json()).to.deep.equal({ ok: true, s3: endpoint, sqs: endpoint, sns: endpoint, region: REGION })
    const relayed = await fetch(`${http}/relay`, { method: 'POST', body: JSON.stringify({ id: 'o-relayed', items: ['pen'] }) })
    expect(relayed.status, await relayed.clone().text()).to.equal(200)
    expect(((await relayed.json()) as { queueUrl: string }).queueUrl).to.equal(`${endpoint}/000000000000/polycloud-aws-local-dev-orders`)
    await (run as Started).offline.waitForLine(/"orderId":"o-relayed"/, 60_000)
  })

  it('delivers an SQS batch: the valid order once, the invalid one retried with its receive count rising, then dead-lettered', async () => {
    const { endpoint, offline } = run as Started
    const client = sqsClient(endpoint)
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: `${endpoint}/000000000000/polycloud-aws-local-dev-orders`,
        Entries: [
          { Id: 'good', MessageBody: JSON.stringify({ id: 'o-1', items: ['book'] }), MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } } },
          { Id: 'bad', MessageBody: JSON.stringify({ id: 'o-2', items: [] }) },
        ],
      }),
    )
    // Looked at, not taken (visibility 0): the restart below finds it there.
    const dead = await waitFor('the dead letter', async () => (await client.send(new ReceiveMessageCommand({ QueueUrl: `${endpoint}/000000000000/polycloud-aws-local-dev-orders-dlq`, VisibilityTimeout: 0 }))).Messages, 90_000)
    client.destroy()
    expect(dead.map((m) => JSON.parse(m.Body ?? '{}').id)).to.deep.equal(['o-2'])
    const accepted = offline.stdout().split('\n').filter((line) => line.includes('"orderId":"o-1"'))
    expect(accepted).to.have.length(1)
    expect(JSON.parse(accepted[0] as string)).to.deep.include({ orderId: 'o-1', attempt: 1, tenant: 'acme' })
    // Five receives (the plan's maxReceiveCount), each a batch reporting o-2 failed; then the dead-letter queue.
    const batches = (await deliveries()).filter((d) => d.source === 'sqs:polycloud-aws-local-dev-orders' && d.failed !== undefined)
    expect(batches.map((d) => [d.outcome, d.attempt])).to.deep.equal([['partial', 1], ['partial', 2], ['partial', 3], ['partial', 4], ['partial', 5]])
  })

  it('delivers a topic message with its attribute to each subscriber, and retries a throwing one twice', async () => {
    const { endpoint, offline } = run as Started
    const client = snsClient(endpoint)
    await client.send(new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:000000000000:alerts', Message: 'disk almost full', MessageAttributes: { severity: { DataType: 'String', StringValue: 'warning' } } }))
    client.destroy()
    const line = await offline.waitForLine(/"message":"alert"/, 60_000)
    expect(JSON.parse(line)).to.deep.include({ body: 'disk almost full', severity: 'warning' })
    await waitFor('the dropped event', async () => (await deliveries()).some((d) => d.function === fn('broken') && d.outcome === 'dropped'), 60_000)
    const records = await deliveries()
    expect(records.filter((d) => d.function === fn('broken')).map((d) => d.outcome)).to.deep.equal(['retrying', 'retrying', 'dropped'])
    expect(records.find((d) => d.function === fn('alerts'))?.outcome).to.equal('succeeded')
  })

  it('fires the cron on demand, by function or rule, as EventBridge sends it', async () => {
    const { endpoint, offline } = run as Started
    const fired = await fetch(`${endpoint}/polycloud/schedules/${fn('nightly')}`, { method: 'POST' })
    expect(fired.status).to.equal(202)
    const line = await offline.waitForLine(/"message":"tick"/, 60_000)
    // The neutral event names the cron as serverless.yml declares it, and its function (the rule is in `native`).
    expect(JSON.parse(line)).to.deep.include({ name: 'nightly', schedule: '0 3 * * *' })
    expect((await fetch(`${endpoint}/polycloud/schedules/nope`, { method: 'POST' })).status).to.equal(404)
  })

  it("reads serverless-offline's answers: a result, a function error, an unknown function", async () => {
    const invoke = lambdaInvoker((run as Started).lambda)
    const signal = new AbortController().signal
    const event = { Records: [{ EventSource: 'aws:sns', EventVersion: '1.0', EventSubscriptionArn: 'arn:aws:sns:eu-west-1:000000000000:alerts:x', Sns: { Type: 'Notification', MessageId: 'm-1', TopicArn: 'arn:aws:sns:eu-west-1:000000000000:alerts', Subject: null, Message: 'direct', Timestamp: new Date().toISOString(), MessageAttributes: {} } }] }
    expect(await invoke(fn('alerts'), event, signal)).to.equal(undefined)
    let failure: unknown
    try {
      await invoke(fn('broken'), event, signal)
    } catch (error) {
      failure = error
    }
    expect(failure).to.be.instanceOf(InvocationError)
    // The adapter rethrows the handler's failure (Lambda then retries an asynchronous event): X-Amz-Function-Error.
    expect(failure).to.deep.include({ errorType: 'Error', message: 'aws:sns: 1 event(s) failed: m-1' })
    try {
      await invoke('nope', event, signal)
    } catch (error) {
      failure = error
    }
    expect(failure).to.deep.include({ errorType: 'ResourceNotFoundException', message: 'invoking nope: Function not found: nope' })
  })

  it('Ctrl-C stops everything and closes the port; the next run starts with the state the last one left', async () => {
    const { offline, port } = run as Started
    await offline.stop()
    expect(await accepts('127.0.0.1', port)).to.equal(false)
    const saved = JSON.parse(readFileSync(join(state, 'sqs.json'), 'utf8')) as { queues: Array<{ name: string; messages: Array<{ body: string }> }> }
    expect(saved.queues.find((queue) => queue.name === 'polycloud-aws-local-dev-orders-dlq')?.messages.map((message) => JSON.parse(message.body).id)).to.deep.equal(['o-2'])
    run = await start(state)
    const client = sqsClient(run.endpoint)
    const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: `${run.endpoint}/000000000000/polycloud-aws-local-dev-orders-dlq`, MaxNumberOfMessages: 10 }))
    client.destroy()
    expect(Messages.map((message) => JSON.parse(message.Body ?? '{}').id)).to.deep.equal(['o-2'])
  })

  it('a start that fails after the services are up stops them (the error hook): the command ends, the port is closed', async () => {
    const [busyPort, servicesPort, lambdaPort] = (await freePorts(3)) as [number, number, number]
    const busy: Server = createServer()
    await new Promise<void>((resolve) => busy.listen(busyPort, '127.0.0.1', () => resolve()))
    const other = mkdtempSync(join(tmpdir(), 'polycloud-aws-offline-failed-'))
    try {
      const failed = await serverless(['offline', '--httpPort', String(busyPort), '--lambdaPort', String(lambdaPort), '--servicesPort', String(servicesPort), '--stateDir', other], { cwd: SERVICE, timeoutMs: 90_000, env: ENV })
      expect(failed.code, failed.stderr).to.equal(1)
      expect(failed.stderr).to.include(`local AWS on http://127.0.0.1:${servicesPort}`)
      expect(await accepts('127.0.0.1', servicesPort)).to.equal(false)
      // serverless-offline's Lambda endpoint had started too: the process ended, so nothing listens there either.
      expect(await accepts('127.0.0.1', lambdaPort)).to.equal(false)
    } finally {
      await new Promise((resolve) => busy.close(resolve))
      rmSync(other, { recursive: true, force: true })
    }
  })
})
