// One trace across clouds (issue 21): the same incoming trace gives the same trace id on every provider, over HTTP
// and through queue messages; each provider's log lines carry the ids in its console's own fields; the real AWS HTTP
// payloads that carry an X-Ray header continue that trace.
import { expect } from 'chai'
import { http, json, queue, type Context, type QueueMessage } from '@polycloud/core'
import { messageEnvelope, xrayTraceId } from '@polycloud/core/adapter'
import { lambda } from '@polycloud/aws'
import { apiGatewayV2 } from '@polycloud/aws/api-gateway-v2'
import { createLambdaHttpHandler } from '@polycloud/aws/lambda'
import { azureHttp, createAzureHandler, serviceBus } from '@polycloud/azure'
import { createWorker, queueBatch, workersFetch } from '@polycloud/cloudflare'
import { toCloudEventFunction } from '@polycloud/gcp'
import { fixture, fixturePaths } from '../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './aws/support.ts'
import { httpRequest, invocation } from './azure/support.ts'
import { captureConsole, fakeBatch, fakeExecutionContext } from './cloudflare/helpers.ts'
import { captureOutput, published, withEnvAsync } from './gcp/support.ts'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'
const TRACEPARENT = `00-${TRACE}-${PARENT}-01`

type Seen = Pick<Context['trace'], 'traceId' | 'parentSpanId' | 'sampled'>
const pick = (context: Context): Seen => ({ traceId: context.trace.traceId, parentSpanId: context.trace.parentSpanId, sampled: context.trace.sampled })

describe('trace across clouds', () => {
  it('continues the same traceparent on every provider: HTTP on AWS, Azure and Cloudflare, a CloudEvent on Google', async () => {
    const seen: Record<string, Seen> = {}
    const record = (cloud: string) =>
      http((_request, context) => {
        seen[cloud] = pick(context)
        context.log.info('handled')
        return json({ ok: true })
      })

    const event = { ...(fixture('aws/apigw-http/lgo__apigw-v2-request-no-authorizer.json') as Record<string, unknown>) }
    event.headers = { ...(event.headers as Record<string, string>), traceparent: TRACEPARENT }
    const lambdaCtx = lambdaContext()
    const aws = await captureStdout(() => createLambdaHttpHandler(record('aws'), [apiGatewayV2])(event, lambdaCtx))
    // AWS: CloudWatch's JSON with the request id and the trace in X-Ray's form.
    expect(aws.lines[0]).to.include({ message: 'handled', requestId: lambdaCtx.awsRequestId, traceId: TRACE, parentSpanId: PARENT, xrayTraceId: xrayTraceId(TRACE) })
    expect(aws.lines[0]).to.have.property('timestamp')

    const run = invocation({ type: 'httpTrigger' }, { invocationId: 'inv-1' })
    await createAzureHandler(record('azure'), [azureHttp])(httpRequest({ method: 'GET', url: 'https://h/', headers: { traceparent: TRACEPARENT } }), run.context)
    // Azure: Application Insights' operation id is the trace id; the invocation id is the request id.
    expect(run.lines()[0]).to.include({ message: 'handled', requestId: 'inv-1', traceId: TRACE, operation_Id: TRACE, operation_ParentId: PARENT })

    const cf = await captureConsole(() =>
      createWorker(record('cloudflare'), [workersFetch]).fetch(new Request('https://example.com/', { headers: { traceparent: TRACEPARENT, 'cf-ray': 'ray-1' } }), {}, fakeExecutionContext()),
    )
    // Cloudflare: a JSON line Workers Logs indexes, the Ray id as the request id.
    const [, cfLine] = cf.lines[0] as [string, string]
    expect(JSON.parse(cfLine)).to.include({ message: 'handled', requestId: 'ray-1', traceId: TRACE, parentSpanId: PARENT })

    const output = captureOutput()
    try {
      await withEnvAsync({ GOOGLE_CLOUD_PROJECT: 'proj' }, () =>
        toCloudEventFunction(
          queue((_message: QueueMessage, context) => {
            seen.gcp = pick(context)
            context.log.info('handled')
          }),
        )(published('x', { traceparent: TRACEPARENT })),
      )
    } finally {
      output.restore()
    }
    // Google: severity first, the trace as Cloud Logging names it, with the project.
    expect(output.logs()[0]).to.include({ severity: 'INFO', message: 'handled', traceId: TRACE, 'logging.googleapis.com/trace': `projects/proj/traces/${TRACE}` })

    const expected: Seen = { traceId: TRACE, parentSpanId: PARENT, sampled: true }
    expect(seen).to.deep.equal({ aws: expected, azure: expected, cloudflare: expected, gcp: expected })
  })

  it('continues the sender\'s trace from a queue message on every provider (SQS, Service Bus, Pub/Sub, Cloudflare Queues)', async () => {
    const seen: Record<string, Seen> = {}
    const record = (cloud: string) => queue((_message, context) => void (seen[cloud] = pick(context)))

    const sqs = structuredClone(fixture('aws/sqs/ptts__base.json')) as { Records: Array<Record<string, unknown>> }
    const sqsRecord = sqs.Records[0] as Record<string, unknown>
    sqs.Records = [{ ...sqsRecord, messageAttributes: { traceparent: { stringValue: TRACEPARENT, dataType: 'String' } } }]
    await captureStdout(() => lambda(record('aws'))(sqs, lambdaContext()))

    const sb = invocation({ type: 'serviceBusTrigger', queueName: 'jobs' }, { triggerMetadata: { messageId: 'sb-1', deliveryCount: 1, applicationProperties: { traceparent: TRACEPARENT } } })
    await createAzureHandler(record('azure'), [serviceBus])('x', sb.context)

    const output = captureOutput()
    try {
      const message = published('x')
      ;((message.data as { message: { attributes: Record<string, string> } }).message.attributes).traceparent = TRACEPARENT
      await toCloudEventFunction(record('gcp'))(message)
    } finally {
      output.restore()
    }

    const { batch } = fakeBatch('jobs', [{ id: 'q1', body: messageEnvelope({ text: 'x' }, { traceparent: TRACEPARENT }) }])
    await captureConsole(() => createWorker(record('cloudflare'), [queueBatch]).queue(batch, {}, fakeExecutionContext()))

    const expected: Seen = { traceId: TRACE, parentSpanId: PARENT, sampled: true }
    expect(seen).to.deep.equal({ aws: expected, azure: expected, gcp: expected, cloudflare: expected })
  })

  it('writes Workers log lines as JSON text, or as objects Workers Logs indexes with POLYCLOUD_LOG_FORMAT=object', async () => {
    const app = createWorker(http((_request, context) => (context.log.warn('careful', { token: 'secret-value', n: 1 }), json({}))), [workersFetch])
    const request = (): Request => new Request('https://example.com/', { headers: { traceparent: TRACEPARENT, 'cf-ray': 'ray-2' } })
    const asText = await captureConsole(() => app.fetch(request(), {}, fakeExecutionContext()))
    const [level, text] = asText.lines[0] as [string, string]
    expect(level).to.equal('warn')
    expect(JSON.parse(text)).to.include({ message: 'careful', traceId: TRACE, token: '[REDACTED]', n: 1 })
    const logged: unknown[] = []
    const summaries: unknown[] = []
    const saved = { warn: console.warn, log: console.log }
    console.warn = (value: unknown) => void logged.push(value)
    console.log = (value: unknown) => void summaries.push(value)
    try {
      await app.fetch(request(), { POLYCLOUD_LOG_FORMAT: 'object' }, fakeExecutionContext())
    } finally {
      Object.assign(console, saved)
    }
    expect(summaries).to.have.length(1)
    expect(summaries[0]).to.be.an('object').that.includes({ polycloud: 'invocation', outcome: 'ok', traceId: TRACE })
    expect(logged).to.have.length(1)
    expect(logged[0]).to.be.an('object').that.includes({ level: 'warn', message: 'careful', requestId: 'ray-2', traceId: TRACE, token: '[REDACTED]', n: 1 })
  })

  it('continues AWS\'s X-Amzn-Trace-Id in every real HTTP payload that carries one', async () => {
    let checked = 0
    for (const path of fixturePaths('aws')) {
      const event = fixture(path) as { headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown> }
      const headers = { ...event.multiValueHeaders, ...event.headers }
      const name = Object.keys(headers).find((key) => key.toLowerCase() === 'x-amzn-trace-id')
      if (name === undefined) continue
      const raw = headers[name]
      const value = Array.isArray(raw) ? String(raw[0]) : String(raw)
      const root = /Root=1-([0-9a-f]{8})-([0-9a-f]{24})/i.exec(value)
      if (root === null) continue
      let trace: Seen | undefined
      const { result } = await captureStdout(() => lambda(http((_request, context) => ((trace = pick(context)), json({}))))(event, lambdaContext()))
      expect((result as { statusCode: number }).statusCode, path).to.equal(200)
      expect(trace?.traceId, path).to.equal(`${root[1]}${root[2]}`.toLowerCase())
      checked++
    }
    expect(checked).to.be.at.least(8)
  })
})
