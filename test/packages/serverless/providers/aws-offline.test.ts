/**
 * The local AWS services under `serverless offline`, in process: their model read from the AWS plan (queues as the
 * stack creates them, event source mappings, topics and subscriptions, bucket notifications, schedules), the
 * settings and the environment given to the functions, and the hand-over keeping serverless-offline's scheduler
 * from firing what the local one fires.
 */
import { expect } from 'chai'
import { ConfigError } from 'serverless-polycloud/errors'
import { localRetrySeconds } from 'serverless-polycloud/local'
import type { FunctionConfig } from 'serverless-polycloud/provider'
import { handOver } from 'serverless-polycloud/providers/aws/hand-over'
import { aws } from 'serverless-polycloud/providers/aws/index'
import { fromAwsCron, fromAwsSchedule, localModel, runsLocally } from 'serverless-polycloud/providers/aws/local-model'
import { lambdaEndpoint, localEnvironment, servicesSettings } from 'serverless-polycloud/providers/aws/offline-services'
import type { AwsPlan } from 'serverless-polycloud/providers/aws/plan'
import { ROOT } from '../../../helpers/serverless.ts'
import { contextFor, planFor } from '../support.ts'

const name = (fn: string): string => `shop-prod-${fn}`

function modelOf(functions: Record<string, FunctionConfig>, template?: Record<string, unknown>) {
  const plan = planFor(aws, functions, { command: 'offline', ...(template ? { template } : {}) })
  return localModel({ plan, functionName: name })
}

describe('serverless/providers/aws: the local services under serverless offline', () => {
  describe('their model, read from the plan', () => {
    it('a fromQueue queue as the stack creates it: its dead-letter queue, visibility timeout and receives; the mapping with its batch size', () => {
      const model = modelOf({ orders: { handler: 'handlers/orders.default', timeout: 10, events: [{ fromQueue: { name: 'orders', batchSize: 25, maximumBatchingWindow: 2, maxReceiveCount: 3 } }] } })
      expect(model.queues).to.deep.equal([
        { name: 'shop-prod-orders', visibilityTimeout: 60, deadLetter: { queue: 'shop-prod-orders-dlq', maxReceiveCount: 3 } },
        { name: 'shop-prod-orders-dlq', messageRetentionPeriod: 1209600 },
      ])
      expect(model.queueMappings).to.deep.equal([{ function: 'shop-prod-orders', queue: 'shop-prod-orders', batchSize: 25, maximumBatchingWindow: 2, reportBatchItemFailures: true }])
      expect(model.warnings).to.deep.equal([])
    })

    it('a FIFO queue keeps its .fifo names and FifoQueue; an sqs event by ARN creates the existing queue locally', () => {
      const model = modelOf({
        jobs: { handler: 'handlers/orders.default', events: [{ fromQueue: { name: 'jobs', fifo: true } }] },
        legacy: { handler: 'handlers/orders.default', events: [{ sqs: { arn: 'arn:aws:sqs:eu-west-1:123456789012:their-queue', batchSize: 5 } }] },
        off: { handler: 'handlers/orders.default', events: [{ sqs: { arn: 'arn:aws:sqs:eu-west-1:123456789012:paused', enabled: false } }] },
      })
      expect(model.queues.map((queue) => queue.name)).to.have.members(['shop-prod-jobs.fifo', 'shop-prod-jobs-dlq.fifo', 'their-queue', 'paused'])
      expect(model.queues.find((queue) => queue.name === 'shop-prod-jobs.fifo')).to.deep.include({ fifo: true, deadLetter: { queue: 'shop-prod-jobs-dlq.fifo', maxReceiveCount: 5 } })
      expect(model.queueMappings).to.deep.equal([
        { function: 'shop-prod-jobs', queue: 'shop-prod-jobs.fifo', batchSize: 10, reportBatchItemFailures: true },
        { function: 'shop-prod-legacy', queue: 'their-queue', batchSize: 5, reportBatchItemFailures: false },
      ])
    })

    it('a topic with a lambda subscription per function and its filter policy; topics and subscriptions of the stack', () => {
      const model = modelOf(
        {
          alerts: { handler: 'handlers/alerts.default', events: [{ topic: { name: 'alerts', filterPolicy: { severity: ['critical'] } } }] },
          audit: { handler: 'handlers/alerts.default', events: [{ sns: 'arn:aws:sns:eu-west-1:123456789012:alerts' }] },
        },
        {
          Audit: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'audit' } },
          Events: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'events', Subscription: [{ Protocol: 'sqs', Endpoint: { 'Fn::GetAtt': ['Audit', 'Arn'] } }, { Protocol: 'email', Endpoint: 'a@example.com' }] } },
          ToAlerts: { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: { Ref: 'Events' }, Protocol: 'lambda', Endpoint: { 'Fn::GetAtt': ['AlertsLambdaFunction', 'Arn'] }, FilterPolicy: '{"kind":["x"]}', FilterPolicyScope: 'MessageBody' } },
        },
      )
      expect(model.topics).to.deep.equal([
        {
          name: 'events',
          subscriptions: [
            { protocol: 'sqs', queue: 'audit' },
            { protocol: 'lambda', function: 'shop-prod-alerts', filterPolicy: { kind: ['x'] }, filterPolicyScope: 'MessageBody' },
          ],
        },
        {
          name: 'alerts',
          subscriptions: [
            { protocol: 'lambda', function: 'shop-prod-alerts', filterPolicy: { severity: ['critical'] } },
            { protocol: 'lambda', function: 'shop-prod-audit' },
          ],
        },
      ])
      expect(model.warnings).to.deep.equal(['resources.Events: its email subscription is not emulated locally (sqs and lambda are)'])
    })

    it('bucket notifications per event with prefix and suffix; a bucket of the stack with its queue rules', () => {
      const model = modelOf(
        {
          thumbnails: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'shop-uploads', on: 'all', prefix: 'images/', suffix: '.png' } }] },
        },
        {
          Inbox: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'inbox' } },
          Archive: {
            Type: 'AWS::S3::Bucket',
            Properties: { BucketName: 'shop-archive', NotificationConfiguration: { QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Queue: { 'Fn::GetAtt': ['Inbox', 'Arn'] }, Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'in/' }] } } }] } },
          },
        },
      )
      expect(model.buckets).to.deep.equal([
        { name: 'shop-archive', notifications: [{ events: ['s3:ObjectCreated:*'], prefix: 'in/', target: { queue: 'inbox' } }] },
        {
          name: 'shop-uploads',
          notifications: [
            { events: ['s3:ObjectCreated:*'], prefix: 'images/', suffix: '.png', target: { function: 'shop-prod-thumbnails' } },
            { events: ['s3:ObjectRemoved:*'], prefix: 'images/', suffix: '.png', target: { function: 'shop-prod-thumbnails' } },
          ],
        },
      ])
    })

    it('schedules: a neutral cron as written and its rule as the plan names it (<service>-<stage>-<function>[-n]), native ones read back from AWS with the rules CloudFormation names', () => {
      const model = modelOf({
        report: { handler: 'handlers/report.default', events: [{ cron: '0 3 * * *' }, { cron: { schedule: 'rate(15 minutes)', enabled: false } }] },
        native: { handler: 'handlers/report.default', events: [{ schedule: { rate: ['cron(0 9 ? * MON-FRI *)', 'cron(30 18 ? * 2-6 *)'], input: '{"x":1}' } }, { schedule: { rate: 'rate(1 hour)', name: 'hourly' } }] },
        odd: { handler: 'handlers/report.default', events: [{ schedule: 'cron(0 12 L * ? *)' }] },
      })
      expect(model.schedules).to.deep.equal([
        { rule: 'shop-prod-report', function: 'shop-prod-report', expression: '0 3 * * *', enabled: true },
        { rule: 'shop-prod-report-2', function: 'shop-prod-report', expression: 'rate(15 minutes)', enabled: false },
        { rule: 'shop-prod-NativeEventsRuleSchedule1-1', function: 'shop-prod-native', expression: '0 9 * * MON-FRI', enabled: true, input: { x: 1 } },
        { rule: 'shop-prod-NativeEventsRuleSchedule1-2', function: 'shop-prod-native', expression: '30 18 * * MON-FRI', enabled: true, input: { x: 1 } },
        { rule: 'hourly', function: 'shop-prod-native', expression: 'rate(1 hour)', enabled: true },
      ])
      expect(model.warnings).to.deep.equal(["functions.odd.events[0]: cron(0 12 L * ? *) is left to serverless-offline's scheduler: L, W and # are not emulated locally"])
    })

    it('names what it cannot run: a queue by Fn::ImportValue, a stream', () => {
      const model = modelOf({
        imported: { handler: 'handlers/orders.default', events: [{ sqs: { arn: { 'Fn::ImportValue': 'shared-queue' } } }] },
        changes: { handler: 'handlers/orders.default', events: [{ changes: { arn: 'arn:aws:dynamodb:eu-west-1:1:table/t/stream/x' } }] },
      })
      expect(model.queueMappings).to.deep.equal([])
      expect(model.warnings).to.deep.equal([
        'functions.imported.events[0]: the queue {"Fn::ImportValue":"shared-queue"} is not emulated locally (give a queue ARN or one of the stack\'s queues)',
        'functions.changes.events[0]: streams are not emulated locally; run the function with serverless invoke local --path <a stream event>',
      ])
    })
  })

  describe('AWS schedule expressions read back to neutral ones', () => {
    it('reads AWS cron (weekdays numbered 1-7 from Sunday, ?, a year of *) as a standard cron; rates as they are', () => {
      expect(fromAwsCron('0 9 ? * 2-6 *')).to.deep.equal({ cron: '0 9 * * MON-FRI' })
      expect(fromAwsCron('0/15 * * * ? *')).to.deep.equal({ cron: '0/15 * * * *' })
      expect(fromAwsCron('0 0 1 JAN ? *')).to.deep.equal({ cron: '0 0 1 JAN *' })
      expect(fromAwsCron('0 0 ? * 1,7 *')).to.deep.equal({ cron: '0 0 * * SUN,SAT' })
      expect(fromAwsSchedule('rate(5 minutes)')).to.deep.equal({ expression: 'rate(5 minutes)' })
      expect(fromAwsSchedule('cron(0 3 * * ? *)')).to.deep.equal({ expression: '0 3 * * *' })
    })

    it('refuses what the local scheduler cannot run, saying why', () => {
      expect(fromAwsCron('0 9 ? * MON#2 *')).to.deep.equal({ problem: 'L, W and # are not emulated locally' })
      expect(fromAwsCron('0 9 * * ? 2030')).to.deep.equal({ problem: 'the year field (2030) is not emulated locally' })
      expect(fromAwsCron('0 9 * *')).to.deep.equal({ problem: 'an AWS cron has 6 fields, "0 9 * *" has 4' })
      expect(runsLocally('cron(0 9 ? * MON#2 *)')).to.equal(false)
      expect(runsLocally({ rate: ['rate(1 day)', 'cron(0 9 ? * MON *)'] })).to.equal(true)
    })
  })

  describe('settings and environment', () => {
    const plan = planFor(aws, { hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] } }, { command: 'offline' })

    it('the port and state folder: command line, then custom.polycloud.aws.offline, then 4566 and .polycloud/state/aws', () => {
      expect(servicesSettings(contextFor(plan, { servicePath: '/srv/shop' }))).to.deep.include({ port: 4566, state: '/srv/shop/.polycloud/state/aws' })
      const custom = planFor(aws, { hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] } }, { command: 'offline', custom: { offline: { servicesPort: 4600, stateDir: '/tmp/aws-state' } } })
      expect(servicesSettings(contextFor(custom))).to.deep.include({ port: 4600, state: '/tmp/aws-state' })
      expect(servicesSettings(contextFor(custom, { options: { servicesPort: '0', stateDir: 'local' }, servicePath: '/srv/shop' }))).to.deep.include({ port: 0, state: '/srv/shop/local' })
      expect(() => servicesSettings(contextFor(plan, { options: { servicesPort: '70000' } }))).to.throw(ConfigError, '--servicesPort: "70000" is not a port (0-65535)')
    })

    it('the endpoints each function reaches the services at, and local credentials only when none are set', () => {
      expect(localEnvironment('http://127.0.0.1:4566', {})).to.deep.equal({
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566',
        AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:4566',
        AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:4566',
        AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4566',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      })
      expect(localEnvironment('http://127.0.0.1:4566', { AWS_PROFILE: 'dev' })).to.not.have.property('AWS_ACCESS_KEY_ID')
      expect(localEnvironment('http://127.0.0.1:4566', { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' })).to.not.have.property('AWS_ACCESS_KEY_ID')
    })

    it("serverless-offline's Lambda endpoint, as it reads its options; a wildcard host reached on the loopback", () => {
      expect(lambdaEndpoint({}, undefined)).to.deep.equal({ host: 'localhost', port: 3002 })
      expect(lambdaEndpoint({}, { host: '127.0.0.1', lambdaPort: 3102 })).to.deep.equal({ host: '127.0.0.1', port: 3102 })
      expect(lambdaEndpoint({ lambdaPort: '4000', host: '0.0.0.0' }, { lambdaPort: 3102 })).to.deep.equal({ host: '127.0.0.1', port: 4000 })
    })

    it('POLYCLOUD_OFFLINE_RETRY_SECONDS: a whole number of seconds, or a message naming it', () => {
      expect(localRetrySeconds({})).to.equal(undefined)
      expect(localRetrySeconds({ POLYCLOUD_OFFLINE_RETRY_SECONDS: '2' })).to.equal(2)
      expect(localRetrySeconds({ POLYCLOUD_OFFLINE_RETRY_SECONDS: '0' })).to.equal(0)
      for (const bad of ['1.5', '-1', 'soon', '50000']) {
        expect(() => localRetrySeconds({ POLYCLOUD_OFFLINE_RETRY_SECONDS: bad })).to.throw(ConfigError, `POLYCLOUD_OFFLINE_RETRY_SECONDS: ${JSON.stringify(bad)} is not a whole number of seconds from 0 to 43200`)
      }
    })
  })

  describe('the hand-over under serverless offline', () => {
    const functions = (): Record<string, FunctionConfig> => ({
      report: { handler: 'handlers/report.default', events: [{ cron: '0 3 * * *' }] },
      odd: { handler: 'handlers/report.default', events: [{ schedule: 'cron(0 12 L * ? *)' }] },
    })
    const frameworkOf = (plan: AwsPlan) => ({
      service: {
        provider: {},
        functions: Object.fromEntries(plan.functions.map((fn) => [fn.name, { handler: fn.handlerText }])) as Record<string, { events?: unknown[] }>,
      },
    })

    it("keeps the schedules the local scheduler fires from serverless-offline's own, and only under offline", () => {
      const offline = planFor(aws, functions(), { command: 'offline' })
      const framework = frameworkOf(offline)
      handOver(contextFor(offline, { command: 'offline', servicePath: ROOT, workDir: `${ROOT}.polycloud/aws-offline` }), framework)
      expect(framework.service.functions.report?.events).to.deep.equal([])
      expect(framework.service.functions.odd?.events).to.deep.equal([{ schedule: 'cron(0 12 L * ? *)' }])
      const packaged = planFor(aws, functions(), { command: 'package' })
      const deployed = frameworkOf(packaged)
      handOver(contextFor(packaged, { command: 'package', servicePath: ROOT, workDir: `${ROOT}.polycloud/aws` }), deployed)
      expect(deployed.service.functions.report?.events).to.deep.equal([{ schedule: { rate: ['cron(0 3 * * ? *)'], enabled: true, name: 'shop-prod-report' } }])
    })
  })
})
