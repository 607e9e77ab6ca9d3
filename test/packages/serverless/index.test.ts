/**
 * The plugin inside the real framework (osls): `serverless package` of the demo and of a test service, asserting
 * on the CloudFormation template and the generated entries, and configuration errors that name the function and
 * the field.
 */
import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, serverless } from '../../helpers/serverless.ts'

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>; Outputs?: Record<string, unknown> }

async function packageService(cwd: string, args: string[] = []): Promise<{ template: Template; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'polycloud-package-'))
  const run = await serverless(['package', '--package', dir, ...args], { cwd, timeoutMs: 120_000 })
  expect(run.code, run.stderr).to.equal(0)
  return { template: JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template, dir }
}

function ofType(template: Template, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => [id, resource.Properties])
}

function zipText(zip: string): string {
  return execFileSync('unzip', ['-p', zip], { maxBuffer: 64 * 1024 * 1024 }).toString('latin1')
}

describe('serverless/plugin: serverless package', function () {
  this.timeout(180_000)

  describe('the demo, HTTP API', () => {
    let template: Template
    let dir: string
    before(async () => {
      ;({ template, dir } = await packageService(ROOT))
    })

    it('maps every route to an HTTP API route on a payload 2.0 integration', () => {
      const routes = ofType(template, 'AWS::ApiGatewayV2::Route').map(([, properties]) => properties.RouteKey).sort()
      // The demo's CORS route has an OPTIONS route for its preflights, answered by its entry; every GET route a HEAD
      // route (an HTTP API routes no HEAD request to a GET route).
      expect(routes).to.deep.equal([
        'GET /devices/{id}',
        'GET /fail',
        'GET /greetings/{name}',
        'GET /hello',
        'GET /me',
        'GET /thumbnails/{key}',
        'GET /uploads/{key}',
        'HEAD /devices/{id}',
        'HEAD /fail',
        'HEAD /greetings/{name}',
        'HEAD /hello',
        'HEAD /me',
        'HEAD /thumbnails/{key}',
        'HEAD /uploads/{key}',
        'OPTIONS /greetings/{name}',
        'POST /chat/{conversation}',
        'POST /quotes',
        'POST /telemetry',
        'POST /uploads',
        'PUT /preferences',
      ])
      for (const [, integration] of ofType(template, 'AWS::ApiGatewayV2::Integration')) {
        expect(integration).to.include({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' })
      }
    })

    it('routes HEAD as GET: the same function, integration and authorizer', () => {
      const routes = new Map(ofType(template, 'AWS::ApiGatewayV2::Route').map(([, properties]) => [properties.RouteKey as string, properties]))
      for (const path of ['/fail', '/greetings/{name}', '/hello', '/me']) {
        const get = routes.get(`GET ${path}`) as Record<string, unknown>
        const head = routes.get(`HEAD ${path}`) as Record<string, unknown>
        expect(head.Target, path).to.deep.equal(get.Target)
        expect([head.AuthorizationType, head.AuthorizerId, head.AuthorizationScopes], path).to.deep.equal([get.AuthorizationType, get.AuthorizerId, get.AuthorizationScopes])
      }
      expect((routes.get('HEAD /me') as Record<string, unknown>).AuthorizationType).to.equal('JWT')
    })

    it('maps cron to an EventBridge rule in AWS cron syntax, named for the function; the entry declares the schedule', () => {
      const rules = ofType(template, 'AWS::Events::Rule')
      expect(rules.map(([, rule]) => rule.ScheduleExpression)).to.deep.equal(['cron(0 3 * * ? *)'])
      expect(rules[0]?.[1].State).to.equal('ENABLED')
      expect(rules[0]?.[1].Name).to.equal('polycloud-demo-dev-report')
      const entry = readFileSync(join(ROOT, '.polycloud/aws/report.js'), 'utf8')
      expect(entry).to.include("import { declareSchedules } from '@polycloud/core/schedule'")
      expect(entry).to.include('[declareSchedules(eventBridgeSchedule, [{"name":"report","schedule":"0 3 * * *","trigger":"polycloud-demo-dev-report"}])]')
    })

    it('creates the queue with a dead-letter queue and maps it with partial batch failures on', () => {
      const queues = Object.fromEntries(ofType(template, 'AWS::SQS::Queue'))
      expect(queues.PolycloudQueueOrders).to.deep.equal({
        QueueName: 'polycloud-demo-dev-orders',
        VisibilityTimeout: 60,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['PolycloudQueueOrdersDlq', 'Arn'] }, maxReceiveCount: 5 },
      })
      expect(queues.PolycloudQueueOrdersDlq).to.deep.equal({ QueueName: 'polycloud-demo-dev-orders-dlq', MessageRetentionPeriod: 1209600 })
      const [[, mapping]] = ofType(template, 'AWS::Lambda::EventSourceMapping') as [[string, Record<string, unknown>]]
      expect(mapping).to.deep.include({
        BatchSize: 10,
        EventSourceArn: { 'Fn::GetAtt': ['PolycloudQueueOrders', 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      })
    })

    it('subscribes the topic and notifies on the bucket prefix', () => {
      const [[, topic]] = ofType(template, 'AWS::SNS::Topic') as [[string, Record<string, unknown>]]
      expect(topic.TopicName).to.equal('polycloud-demo-dev-alerts')
      expect(topic.Subscription).to.deep.equal([{ Endpoint: { 'Fn::GetAtt': ['AlertsLambdaFunction', 'Arn'] }, Protocol: 'lambda' }])
      const bucket = Object.fromEntries(ofType(template, 'AWS::S3::Bucket')).S3BucketPolyclouddemodevuploads as Record<string, unknown>
      expect(bucket.BucketName).to.equal('polycloud-demo-dev-uploads')
      expect(bucket.NotificationConfiguration).to.deep.equal({
        LambdaConfigurations: [
          {
            Event: 's3:ObjectCreated:*',
            Function: { 'Fn::GetAtt': ['ThumbnailsLambdaFunction', 'Arn'] },
            Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'images/' }] } },
          },
        ],
      })
    })

    it('points every function at its generated entry', () => {
      const handlers = Object.fromEntries(
        ofType(template, 'AWS::Lambda::Function').map(([id, properties]) => [id, properties.Handler]),
      )
      expect(handlers.HelloLambdaFunction).to.equal('.polycloud/aws/hello.handler')
      expect(handlers.OrdersLambdaFunction).to.equal('.polycloud/aws/orders.handler')
      const entry = readFileSync(join(ROOT, '.polycloud/aws/hello.js'), 'utf8')
      expect(entry).to.include("import { createLambdaHttpHandler } from '@polycloud/aws/lambda'")
      expect(entry).to.include("import { apiGatewayV2 } from '@polycloud/aws/api-gateway-v2'")
      expect(entry).to.include('createLambdaHttpHandler(portable, [apiGatewayV2], "handlers/hello.default")')
      const orders = readFileSync(join(ROOT, '.polycloud/aws/orders.js'), 'utf8')
      expect(orders).to.include('createLambdaEventHandler(withResources(portable, awsResources(), ["alerts"]), [sqs], "handlers/orders.default")')
    })

    it("gives each function that uses resources a role of its own, scoped to its resources' ARNs; the others osls's shared role, which no longer reads the queue", () => {
      const resources = template.Resources
      const role = (fn: string) => (resources[`${fn}LambdaFunction`]?.Properties as { Role: unknown }).Role
      expect(role('Hello')).to.deep.equal({ 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] })
      expect(role('Orders')).to.deep.equal({ 'Fn::GetAtt': ['PolycloudRoleOrders', 'Arn'] })
      const statements = (id: string) => (resources[id]?.Properties as { Policies: Array<{ PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown[] }> } }> }).Policies[0]!.PolicyDocument.Statement
      const actions = (id: string) => statements(id).flatMap((statement) => statement.Action.map((action) => `${action} ${JSON.stringify(statement.Resource)}`))
      const uploads = '[{"Fn::Sub":"arn:${AWS::Partition}:s3:::polycloud-demo-dev-uploads/*"}]'
      expect(actions('PolycloudRoleOrders').filter((action) => !action.startsWith('logs:'))).to.deep.equal([
        'sns:Publish [{"Ref":"SNSTopicPolyclouddemodevalerts"}]',
        'sqs:ReceiveMessage [{"Fn::GetAtt":["PolycloudQueueOrders","Arn"]}]',
        'sqs:DeleteMessage [{"Fn::GetAtt":["PolycloudQueueOrders","Arn"]}]',
        'sqs:GetQueueAttributes [{"Fn::GetAtt":["PolycloudQueueOrders","Arn"]}]',
      ])
      for (const fn of ['Uploads', 'Downloads', 'Thumbnails']) {
        expect(actions(`PolycloudRole${fn}`).filter((action) => !action.startsWith('logs:')), fn).to.deep.equal([
          `s3:GetObject ${uploads}`,
          `s3:PutObject ${uploads}`,
          `s3:DeleteObject ${uploads}`,
          's3:ListBucket [{"Fn::Sub":"arn:${AWS::Partition}:s3:::polycloud-demo-dev-uploads"}]',
        ])
      }
      expect(actions('PolycloudRoleThumbnails').filter((action) => action.startsWith('logs:PutLogEvents'))).to.deep.equal([
        'logs:PutLogEvents [{"Fn::Sub":"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/polycloud-demo-dev-thumbnails:*:*"}]',
      ])
      // The shared role: the log groups, nothing of the queue, the topic or the bucket.
      expect(actions('IamRoleLambdaExecution').every((action) => action.startsWith('logs:'))).to.equal(true)
    })

    it("hands each function its resources' addresses in POLYCLOUD_RESOURCES, as CloudFormation resolves them", () => {
      const variables = (fn: string) => ((template.Resources[`${fn}LambdaFunction`]?.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables)
      expect(variables('Orders')).to.deep.include({ ALERT_THRESHOLD: '1000', POLYCLOUD_RESOURCES: { 'Fn::Sub': ['{"alerts":{"kind":"topic","arn":"${R0}"}}', { R0: { Ref: 'SNSTopicPolyclouddemodevalerts' } }] } })
      expect(variables('Thumbnails').POLYCLOUD_RESOURCES).to.equal('{"uploads":{"kind":"bucket","name":"polycloud-demo-dev-uploads"}}')
      expect(variables('Hello')).to.not.have.property('POLYCLOUD_RESOURCES')
    })

    it('runs on nodejs22.x with source maps: a .map beside each bundle, read when a stack is formatted, not by --enable-source-maps', () => {
      for (const [id, fn] of ofType(template, 'AWS::Lambda::Function')) {
        expect(fn.Runtime, id).to.equal('nodejs22.x')
        const variables = (fn.Environment as { Variables: Record<string, string> }).Variables
        expect(variables, id).to.include({ LOG_LEVEL: 'info' })
        expect(variables, id).to.not.have.property('NODE_OPTIONS')
      }
      const entry = readFileSync(join(ROOT, '.polycloud/aws/hello.js'), 'utf8')
      expect(entry.split('\n').find((line) => line.startsWith('import')), 'the first import').to.equal("import './lib/map-stack-traces.js'")
      // The mapper compiled on demand: its module, beside the entries, hands it over as text.
      const mapper = readFileSync(join(ROOT, '.polycloud/aws/lib/map-stack-traces.js'), 'utf8')
      expect(mapper).to.include("import { mapStackTracesOnDemand } from '@polycloud/core/stack-traces-on-demand'")
      expect(mapper).to.match(/mapStackTracesOnDemand\(".*return polycloudSourceMaps"\)/)
      expect(zipText(join(dir, 'hello.zip'))).to.include('var polycloudSourceMaps=')
      const files = execFileSync('unzip', ['-Z1', join(dir, 'hello.zip')]).toString().trim().split('\n').sort()
      expect(files).to.deep.equal(['.polycloud/aws/hello.cjs', '.polycloud/aws/hello.cjs.map'])
      const map = JSON.parse(execFileSync('unzip', ['-p', join(dir, 'hello.zip'), '.polycloud/aws/hello.cjs.map']).toString()) as { sources: string[]; sourcesContent?: unknown }
      expect(map.sources.some((source) => source.endsWith('handlers/hello.ts'))).to.equal(true)
      expect(map.sourcesContent, 'names and positions only').to.equal(undefined)
    })

    it("bundles each function alone, with no other cloud's code", () => {
      const hello = zipText(join(dir, 'hello.zip'))
      for (const marker of ['@azure/functions', 'azure:', 'functions-framework', 'gcp:', 'cloudflare:', 'google.cloud', 'Microsoft.Storage']) {
        expect(hello, marker).to.not.include(marker)
      }
      expect(hello).to.include('aws:api-gateway-v2')
      expect(hello).to.not.include('aws:sqs')
    })
  })

  it('the demo with REST API routes: a REST API that accepts binary bodies', async () => {
    const { template } = await packageService(ROOT, ['--param=routes=rest-api'])
    const [[, api]] = ofType(template, 'AWS::ApiGateway::RestApi') as [[string, Record<string, unknown>]]
    expect(api.BinaryMediaTypes).to.deep.equal(['*/*'])
    const methods = ofType(template, 'AWS::ApiGateway::Method').map(([, method]) => method.HttpMethod).sort()
    // A REST API answers HEAD on a GET-only resource with 403: every GET method has a HEAD method too.
    expect(methods).to.deep.equal(['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD', 'HEAD', 'HEAD', 'HEAD', 'HEAD', 'HEAD', 'HEAD', 'OPTIONS', 'POST', 'POST', 'POST', 'POST', 'PUT'])
    expect(ofType(template, 'AWS::ApiGatewayV2::Api')).to.have.length(0)
  })

  it('a change stream, native events, a Function URL, a function without events, a native function', async () => {
    const cwd = join(ROOT, 'test/fixtures/services/mixed')
    const { template } = await packageService(cwd)
    const table = Object.fromEntries(ofType(template, 'AWS::DynamoDB::Table')).NotesTable as Record<string, unknown>
    expect(table.StreamSpecification).to.deep.equal({ StreamViewType: 'NEW_AND_OLD_IMAGES' })
    const mappings = Object.fromEntries(ofType(template, 'AWS::Lambda::EventSourceMapping'))
    expect(mappings.AuditEventSourceMappingDynamodbNotesTable).to.deep.include({
      EventSourceArn: { 'Fn::GetAtt': ['NotesTable', 'StreamArn'] },
      StartingPosition: 'LATEST',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    })
    const entries = join(cwd, '.polycloud/aws')
    expect(readFileSync(join(entries, 'audit.js'), 'utf8')).to.include('createLambdaEventHandler(portable, [dynamodbStreams], "handlers/audit.default")')
    expect(readFileSync(join(entries, 'uploadsViaQueue.js'), 'utf8')).to.include('[sqs, sqsSns, sqsS3]')
    expect(readFileSync(join(entries, 'viaUrl.js'), 'utf8')).to.include('createLambdaHttpHandler(portable, [functionUrl], "handlers/ping.default")')
    expect(readFileSync(join(entries, 'direct.js'), 'utf8')).to.include('createLambdaHandler(portable, awsSources, "handlers/ping.default")')
    const handlers = Object.fromEntries(ofType(template, 'AWS::Lambda::Function').map(([id, properties]) => [id, properties.Handler]))
    expect(handlers.LegacyLambdaFunction).to.equal('handlers/native.handler')
    expect(ofType(template, 'AWS::Lambda::Url')).to.have.length(1)
  })

  describe('configuration errors name the function and the field', () => {
    const base = join(ROOT, 'test/fixtures/services/.tmp')

    function service(name: string, functions: string, providerName = 'aws'): string {
      const dir = join(base, name)
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(join(dir, 'handlers'), { recursive: true })
      writeFileSync(join(dir, 'handlers/h.ts'), "import { http, json } from '@polycloud/core'\nexport default http(() => json({}))\n")
      writeFileSync(
        join(dir, 'serverless.yml'),
        `service: broken\nframeworkVersion: '4'\nprovider:\n  name: ${providerName}\n  runtime: nodejs22.x\nplugins:\n  - serverless-polycloud\nfunctions:\n${functions}`,
      )
      return dir
    }

    after(() => rmSync(base, { recursive: true, force: true }))

    const cases: Array<{ name: string; functions: string; provider?: string; message: RegExp }> = [
      {
        name: 'bad-cron',
        functions: "  nightly:\n    handler: handlers/h.default\n    events:\n      - cron: '0 3 * * 9'\n",
        message: /serverless-polycloud: functions\.nightly\.events\[0\]\.cron: day-of-week: 9 is out of range \(0-7\)/,
      },
      {
        name: 'cron-fields',
        functions: "  nightly:\n    handler: handlers/h.default\n    events:\n      - cron: '0 3 * *'\n",
        message: /Configuration error at 'functions\.nightly\.events\.0\.cron': "0 3 \* \*" has 4 fields, but cron takes 5/,
      },
      {
        name: 'unknown-field',
        functions: '  thumbs:\n    handler: handlers/h.default\n    events:\n      - bucket:\n          name: up-loads\n          when: created\n',
        message: /Configuration error at 'functions\.thumbs\.events\.0\.bucket': bucket has no field "when" \(its fields: name, on, prefix, suffix, existing\)/,
      },
      {
        name: 'no-method',
        functions: '  api:\n    handler: handlers/h.default\n    events:\n      - route: /notes\n',
        message: /Configuration error at 'functions\.api\.events\.0\.route': "\/notes" has no method: write the method before the path, e\.g\. "GET \/notes"/,
      },
      {
        name: 'six-field-cron',
        functions: "  nightly:\n    handler: handlers/h.default\n    events:\n      - cron: '0 0 3 * * *'\n",
        message: /'functions\.nightly\.events\.0\.cron': "0 0 3 \* \* \*" has 6 fields, but cron takes 5: .*drop it, i\.e\. "0 3 \* \* \*"/,
      },
      {
        name: 'misspelt-event',
        functions: '  api:\n    handler: handlers/h.default\n    events:\n      - rout: GET /x\n',
        message: /'functions\.api\.events\.0': "rout" is not an event Polycloud or AWS knows; did you mean "route"\? The neutral events, for every provider, are route, cron, fromQueue, topic, bucket, changes/,
      },
      {
        name: 'bad-method',
        functions: '  api:\n    handler: handlers/h.default\n    events:\n      - route: FETCH /notes\n',
        message: /functions\.api\.events\[0\]\.route: method "FETCH" is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY/,
      },
      {
        name: 'foreign-event',
        functions: "  nightly:\n    handler: handlers/h.default\n    events:\n      - timer:\n          schedule: '0 0 3 * * *'\n",
        message: /functions\.nightly\.events\[0\]: "timer" is a native azure event, which provider aws cannot run; use a neutral event/,
      },
      {
        name: 'mixed-kinds',
        functions: "  both:\n    handler: handlers/h.default\n    events:\n      - route: GET /x\n      - cron: '@daily'\n",
        message: /functions\.both\.events: these events cannot share one portable handler: route \(http\), cron \(schedule\)/,
      },
      {
        name: 'missing-module',
        functions: '  api:\n    handler: handlers/nope.default\n    events:\n      - route: GET /x\n',
        message: /functions\.api\.handler: module handlers\/nope not found/,
      },
      {
        name: 'azure-unhonoured-field',
        provider: 'azure',
        functions: '  jobs:\n    handler: handlers/h.default\n    events:\n      - fromQueue:\n          name: jobs\n          fifo: true\n',
        message: /serverless-polycloud: functions\.jobs\.events\[0\]\.fromQueue: fifo cannot be honoured by a Storage queue \(no ordering\): set serviceBus: true/,
      },
      {
        name: 'unknown-provider',
        provider: 'oracle',
        functions: '  api:\n    handler: handlers/h.default\n    events:\n      - route: GET /x\n',
        message: /serverless-polycloud: provider "oracle" is not one Polycloud deploys to: use aws, azure, google, cloudflare/,
      },
    ]

    it('a deprecated runtime: a warning at package naming the dates and the runtime to move to, a refusal at deploy', async () => {
      const dir = service('old-runtime', '  api:\n    handler: handlers/h.default\n    events:\n      - route: GET /x\n')
      writeFileSync(join(dir, 'serverless.yml'), readFileSync(join(dir, 'serverless.yml'), 'utf8').replace('nodejs22.x', 'nodejs20.x'))
      const packaged = await serverless(['package'], { cwd: dir, timeoutMs: 60_000 })
      expect(packaged.code, packaged.stdout + packaged.stderr).to.equal(0)
      expect(packaged.stdout + packaged.stderr).to.match(
        /provider\.runtime: nodejs20\.x is deprecated since 2026-04-30 on AWS Lambda \(creating functions on it blocked since 2026-08-31, updating them blocked since 2026-09-30\); move to nodejs/,
      )
      const deployed = await serverless(['deploy'], { cwd: dir, timeoutMs: 60_000 })
      expect(deployed.code).to.equal(1)
      expect(deployed.stdout + deployed.stderr).to.match(/serverless-polycloud: provider\.runtime: nodejs20\.x is deprecated[^\n]*\nNot deploying: change the runtime in serverless\.yml\./)
    })

    for (const { name, functions, provider, message } of cases) {
      it(name, async () => {
        const run = await serverless(['package'], { cwd: service(name, functions, provider), timeoutMs: 60_000 })
        expect(run.code).to.equal(1)
        expect(run.stdout + run.stderr).to.match(message)
      })
    }
  })
})
