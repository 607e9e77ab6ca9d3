import { expect } from 'chai'
import { ConfigError, locate } from 'serverless-polycloud/errors'
import { readEvents, type NeutralEvent } from 'serverless-polycloud/model'
import { declaredHeads } from 'serverless-polycloud/route'
import { logicalName, nativePlan, neutralPlan, scheduleRule, type AwsSettings, type EventPlan } from 'serverless-polycloud/providers/aws/events'

function settings(resources: Record<string, unknown> = {}): AwsSettings {
  return { service: 'shop', stage: 'prod', routes: 'http-api', timeout: 20, resources }
}

/** What event `index` of function `fn`, as serverless.yml writes it, is on AWS; a mistake names the function and the event. */
function plan(key: string, value: unknown, settings: AwsSettings, fn = 'f', index = 0): EventPlan {
  const events = [...Array.from({ length: index }, () => ({ route: 'GET /other' })), { [key]: value }]
  try {
    return neutralPlan(readEvents(fn, { events })[index] as NeutralEvent, settings)
  } catch (error) {
    throw locate(`functions.${fn}.events[${index}].${key}`, error)
  }
}

describe('serverless/providers/aws', () => {
  it('maps routes to HTTP API by default and to REST on request', () => {
    expect(plan('route', 'GET /notes/{id}', settings())).to.deep.equal({
      native: [{ httpApi: { method: 'GET', path: '/notes/{id}' } }, { httpApi: { method: 'HEAD', path: '/notes/{id}' } }],
      sources: [{ name: 'apiGatewayV2', module: 'api-gateway-v2' }],
      kinds: ['http'],
    })
    expect(plan('route', { method: 'ANY', path: '/x', api: 'rest-api' }, settings()).native).to.deep.equal([
      { http: { method: 'any', path: '/x' } },
    ])
    expect(plan('route', 'ANY /x', settings()).native).to.deep.equal([{ httpApi: { method: '*', path: '/x' } }])
  })

  it('declares HEAD with every GET route (API Gateway routes no HEAD to GET), with its authorizer, unless the service routes HEAD there', () => {
    const authorizer = { name: 'polycloudJwtabc', scopes: ['profile'] }
    expect(plan('route', 'GET /me', { ...settings(), authorizer }).native).to.deep.equal([
      { httpApi: { method: 'GET', path: '/me', authorizer } },
      { httpApi: { method: 'HEAD', path: '/me', authorizer } },
    ])
    expect(plan('route', { method: 'GET', path: '/x/{id}', api: 'rest-api' }, settings()).native).to.deep.equal([
      { http: { method: 'get', path: '/x/{id}' } },
      { http: { method: 'head', path: '/x/{id}' } },
    ])
    // The service's own HEAD route on the path (whatever its parameter names) keeps it.
    expect(plan('route', 'GET /x/{id}', { ...settings(), heads: declaredHeads([{ kind: 'route', method: 'HEAD', path: '/x/{slug}' }]) }).native).to.deep.equal([{ httpApi: { method: 'GET', path: '/x/{id}' } }])
    expect(plan('route', 'POST /x', settings()).native).to.deep.equal([{ httpApi: { method: 'POST', path: '/x' } }])
  })

  it('maps cron to an EventBridge schedule, disabled on request', () => {
    expect(plan('cron', '0 3 * * *', settings()).native).to.deep.equal([{ schedule: { rate: ['cron(0 3 * * ? *)'], enabled: true } }])
    expect(plan('cron', { schedule: 'rate(1 hour)', enabled: false }, settings()).native).to.deep.equal([
      { schedule: { rate: ['rate(1 hour)'], enabled: false } },
    ])
  })

  it('names each cron\'s EventBridge rule for its function (its ARN tells a function\'s schedules apart), at most 64 characters', () => {
    expect(plan('cron', '0 3 * * *', { ...settings(), rule: 'shop-prod-report' }).native).to.deep.equal([
      { schedule: { rate: ['cron(0 3 * * ? *)'], enabled: true, name: 'shop-prod-report' } },
    ])
    expect(scheduleRule('shop', 'prod', 'report', 0)).to.equal('shop-prod-report')
    expect(scheduleRule('shop', 'prod', 'report', 1)).to.equal('shop-prod-report-2')
    const long = scheduleRule('a-rather-long-service-name', 'production', 'a-function-with-a-long-name', 2)
    expect(long).to.match(/^a-rather-long-service-name-production-a-function-with-a-[0-9a-f]{8}$/)
    expect(long).to.have.length(64)
    expect(scheduleRule('a-rather-long-service-name', 'production', 'a-function-with-a-long-name', 3)).to.not.equal(long)
  })

  it('creates a queue with a dead-letter queue and partial batch failures on', () => {
    const resources: Record<string, unknown> = {}
    const planned = plan('fromQueue', { name: 'orders', batchSize: 5, maxReceiveCount: 3 }, settings(resources))
    expect(planned.native).to.deep.equal([
      { sqs: { arn: { 'Fn::GetAtt': ['PolycloudQueueOrders', 'Arn'] }, batchSize: 5, functionResponseType: 'ReportBatchItemFailures' } },
    ])
    expect(resources.PolycloudQueueOrders).to.deep.equal({
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: 'shop-prod-orders',
        VisibilityTimeout: 120,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['PolycloudQueueOrdersDlq', 'Arn'] }, maxReceiveCount: 3 },
      },
    })
    expect(resources.PolycloudQueueOrdersDlq).to.deep.equal({
      Type: 'AWS::SQS::Queue',
      Properties: { QueueName: 'shop-prod-orders-dlq', MessageRetentionPeriod: 1209600 },
    })
  })

  it('creates FIFO queues, shares one queue between consumers, and refuses conflicting settings', () => {
    const resources: Record<string, unknown> = {}
    plan('fromQueue', { name: 'jobs.fifo' }, settings(resources))
    expect(resources.PolycloudQueueJobs).to.deep.include({ Type: 'AWS::SQS::Queue' })
    expect((resources.PolycloudQueueJobs as { Properties: Record<string, unknown> }).Properties).to.include({ QueueName: 'shop-prod-jobs.fifo', FifoQueue: true })
    plan('fromQueue', 'jobs.fifo', settings(resources))
    expect(() => plan('fromQueue', { name: 'jobs.fifo', maxReceiveCount: 9 }, settings(resources), 'b')).to.throw(
      ConfigError,
      /^functions\.b\.events\[0\]\.fromQueue: resource PolycloudQueueJobs is already defined differently/,
    )
  })

  it('uses a queue or topic ARN as given, without creating anything', () => {
    const resources: Record<string, unknown> = {}
    expect(plan('fromQueue', { arn: 'arn:aws:sqs:eu-west-1:1:q' }, settings(resources)).native).to.deep.equal([
      { sqs: { arn: 'arn:aws:sqs:eu-west-1:1:q', batchSize: 10, functionResponseType: 'ReportBatchItemFailures' } },
    ])
    expect(resources).to.deep.equal({})
    expect(plan('topic', { arn: 'arn:aws:sns:eu-west-1:1:t', filterPolicy: { a: ['b'] } }, settings()).native).to.deep.equal([
      { sns: { arn: 'arn:aws:sns:eu-west-1:1:t', filterPolicy: { a: ['b'] } } },
    ])
    expect(plan('topic', 'alerts', settings()).native).to.deep.equal([{ sns: { topicName: 'alerts' } }])
  })

  it('maps buckets to S3 notifications with prefix/suffix rules', () => {
    expect(plan('bucket', { name: 'up-loads', on: 'all', prefix: 'images/', suffix: '.png' }, settings()).native).to.deep.equal([
      { s3: { bucket: 'up-loads', event: 's3:ObjectCreated:*', rules: [{ prefix: 'images/' }, { suffix: '.png' }] } },
      { s3: { bucket: 'up-loads', event: 's3:ObjectRemoved:*', rules: [{ prefix: 'images/' }, { suffix: '.png' }] } },
    ])
    expect(plan('bucket', { name: 'up-loads', on: 'deleted', existing: true }, settings()).native).to.deep.equal([
      { s3: { bucket: 'up-loads', event: 's3:ObjectRemoved:*', existing: true } },
    ])
  })

  it('maps changes to the stream of a table of the stack, turning the stream on', () => {
    const resources: Record<string, unknown> = { Notes: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'notes' } } }
    expect(plan('changes', 'Notes', settings(resources)).native).to.deep.equal([
      {
        stream: {
          type: 'dynamodb',
          arn: { 'Fn::GetAtt': ['Notes', 'StreamArn'] },
          startingPosition: 'LATEST',
          batchSize: 100,
          functionResponseType: 'ReportBatchItemFailures',
        },
      },
    ])
    expect((resources.Notes as { Properties: Record<string, unknown> }).Properties.StreamSpecification).to.deep.equal({ StreamViewType: 'NEW_AND_OLD_IMAGES' })
    expect(() => plan('changes', 'Missing', settings(resources), 'c')).to.throw(
      ConfigError,
      'functions.c.events[0].changes: table "Missing" is not an AWS::DynamoDB::Table in resources.Resources; name its logical id, or give a stream arn',
    )
  })

  it('names the function and field of a bad schedule or route', () => {
    expect(() => plan('cron', '0 3 * * 9', settings(), 'nightly')).to.throw(
      ConfigError,
      'functions.nightly.events[0].cron: day-of-week: 9 is out of range (0-7)',
    )
    expect(() => plan('route', 'GRAB /x', settings(), 'api', 1)).to.throw(
      ConfigError,
      /^functions\.api\.events\[1\]\.route: method "GRAB"/,
    )
  })

  it('knows which formats native events come in', () => {
    expect(nativePlan('sqs', { arn: 'x' })?.sources.map((s) => s.name)).to.deep.equal(['sqs', 'sqsSns', 'sqsS3'])
    expect(nativePlan('stream', { type: 'kinesis', arn: 'a' })?.sources.map((s) => s.name)).to.deep.equal(['dynamodbKinesis'])
    expect(nativePlan('stream', 'arn:aws:dynamodb:r:a:table/T/stream/x')?.sources.map((s) => s.name)).to.deep.equal(['dynamodbStreams'])
    expect(nativePlan('websocket', { route: '$connect' })).to.equal(undefined)
  })

  it('makes CloudFormation-safe names', () => {
    expect(logicalName('orders-v2')).to.equal('OrdersV2')
    expect(logicalName('my_queue.name')).to.equal('MyQueueName')
  })
})
