import { expect } from 'chai'
import { ConfigError } from 'serverless-polycloud/errors'
import { logicalName, nativePlan, neutralPlan, type AwsSettings } from 'serverless-polycloud/providers/aws/mapping'

function settings(resources: Record<string, unknown> = {}): AwsSettings {
  return { service: 'shop', stage: 'prod', routes: 'http-api', timeout: 20, resources }
}

describe('serverless/providers/aws', () => {
  it('maps routes to HTTP API by default and to REST on request', () => {
    expect(neutralPlan('route', 'GET /notes/{id}', 'p', settings())).to.deep.equal({
      native: [{ httpApi: { method: 'GET', path: '/notes/{id}' } }],
      sources: [{ name: 'apiGatewayV2', module: 'api-gateway-v2' }],
      kinds: ['http'],
    })
    expect(neutralPlan('route', { method: 'ANY', path: '/x', api: 'rest-api' }, 'p', settings()).native).to.deep.equal([
      { http: { method: 'any', path: '/x' } },
    ])
    expect(neutralPlan('route', 'ANY /x', 'p', settings()).native).to.deep.equal([{ httpApi: { method: '*', path: '/x' } }])
  })

  it('maps cron to an EventBridge schedule, disabled on request', () => {
    expect(neutralPlan('cron', '0 3 * * *', 'p', settings()).native).to.deep.equal([{ schedule: { rate: ['cron(0 3 * * ? *)'], enabled: true } }])
    expect(neutralPlan('cron', { schedule: 'rate(1 hour)', enabled: false }, 'p', settings()).native).to.deep.equal([
      { schedule: { rate: ['rate(1 hour)'], enabled: false } },
    ])
  })

  it('creates a queue with a dead-letter queue and partial batch failures on', () => {
    const resources: Record<string, unknown> = {}
    const plan = neutralPlan('fromQueue', { name: 'orders', batchSize: 5, maxReceiveCount: 3 }, 'p', settings(resources))
    expect(plan.native).to.deep.equal([
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
    neutralPlan('fromQueue', { name: 'jobs.fifo' }, 'p', settings(resources))
    expect(resources.PolycloudQueueJobs).to.deep.include({ Type: 'AWS::SQS::Queue' })
    expect((resources.PolycloudQueueJobs as { Properties: Record<string, unknown> }).Properties).to.include({ QueueName: 'shop-prod-jobs.fifo', FifoQueue: true })
    neutralPlan('fromQueue', 'jobs.fifo', 'p', settings(resources))
    expect(() => neutralPlan('fromQueue', { name: 'jobs.fifo', maxReceiveCount: 9 }, 'functions.b.events[0].fromQueue', settings(resources))).to.throw(
      ConfigError,
      /^functions\.b\.events\[0\]\.fromQueue: resource PolycloudQueueJobs is already defined differently/,
    )
  })

  it('uses a queue or topic ARN as given, without creating anything', () => {
    const resources: Record<string, unknown> = {}
    expect(neutralPlan('fromQueue', { arn: 'arn:aws:sqs:eu-west-1:1:q' }, 'p', settings(resources)).native).to.deep.equal([
      { sqs: { arn: 'arn:aws:sqs:eu-west-1:1:q', batchSize: 10, functionResponseType: 'ReportBatchItemFailures' } },
    ])
    expect(resources).to.deep.equal({})
    expect(neutralPlan('topic', { arn: 'arn:aws:sns:eu-west-1:1:t', filterPolicy: { a: ['b'] } }, 'p', settings()).native).to.deep.equal([
      { sns: { arn: 'arn:aws:sns:eu-west-1:1:t', filterPolicy: { a: ['b'] } } },
    ])
    expect(neutralPlan('topic', 'alerts', 'p', settings()).native).to.deep.equal([{ sns: { topicName: 'alerts' } }])
  })

  it('maps buckets to S3 notifications with prefix/suffix rules', () => {
    expect(neutralPlan('bucket', { name: 'up-loads', on: 'all', prefix: 'images/', suffix: '.png' }, 'p', settings()).native).to.deep.equal([
      { s3: { bucket: 'up-loads', event: 's3:ObjectCreated:*', rules: [{ prefix: 'images/' }, { suffix: '.png' }] } },
      { s3: { bucket: 'up-loads', event: 's3:ObjectRemoved:*', rules: [{ prefix: 'images/' }, { suffix: '.png' }] } },
    ])
    expect(neutralPlan('bucket', { name: 'up-loads', on: 'deleted', existing: true }, 'p', settings()).native).to.deep.equal([
      { s3: { bucket: 'up-loads', event: 's3:ObjectRemoved:*', existing: true } },
    ])
  })

  it('maps changes to the stream of a table of the stack, turning the stream on', () => {
    const resources: Record<string, unknown> = { Notes: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'notes' } } }
    expect(neutralPlan('changes', 'Notes', 'p', settings(resources)).native).to.deep.equal([
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
    expect(() => neutralPlan('changes', 'Missing', 'functions.c.events[0].changes', settings(resources))).to.throw(
      ConfigError,
      'functions.c.events[0].changes: table "Missing" is not an AWS::DynamoDB::Table in resources.Resources; name its logical id, or give a stream arn',
    )
  })

  it('names the function and field of a bad schedule or route', () => {
    expect(() => neutralPlan('cron', '0 3 * * 9', 'functions.nightly.events[0].cron', settings())).to.throw(
      ConfigError,
      'functions.nightly.events[0].cron: day-of-week: 9 is out of range (0-7)',
    )
    expect(() => neutralPlan('route', 'GRAB /x', 'functions.api.events[1].route', settings())).to.throw(
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
