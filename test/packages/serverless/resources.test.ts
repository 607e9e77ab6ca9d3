/**
 * Resources declared once (`custom.polycloud.resources`) and used by functions (`uses`): what each provider's plan
 * makes of them (addressing, bindings, what it refuses) and how the generated entries wire them (`withResources`
 * with the provider's driver), functions without `uses` untouched.
 */
import { expect } from 'chai'
import { join } from 'node:path'
import { ConfigError } from 'serverless-polycloud/errors'
import type { FunctionConfig } from 'serverless-polycloud/provider'
import { aws } from 'serverless-polycloud/providers/aws/index'
import { lambdaEntry } from 'serverless-polycloud/providers/aws/entry'
import { azure } from 'serverless-polycloud/providers/azure/index'
import { appEntry } from 'serverless-polycloud/providers/azure/entry'
import { cloudflare } from 'serverless-polycloud/providers/cloudflare/index'
import { workerEntries } from 'serverless-polycloud/providers/cloudflare/entry'
import { uploadMetadata, wranglerConfig } from 'serverless-polycloud/providers/cloudflare/package'
import { google } from 'serverless-polycloud/providers/google/index'
import { googleEntries } from 'serverless-polycloud/providers/google/entry'
import { ROOT } from '../../helpers/serverless.ts'
import { contextFor, planFor, silent } from './support.ts'
import { handOver as awsHandOver } from 'serverless-polycloud/providers/aws/hand-over'
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { startLocalAws, type LocalAws } from 'serverless-polycloud/providers/aws/local/index'
import { removeBuckets, s3Remover, type BucketRemover } from 'serverless-polycloud/providers/aws/resources'
import { REGION, rejection, s3Client } from './providers/aws-local/support.ts'

const RESOURCES = { uploads: 'bucket', orders: 'queue', alerts: { kind: 'topic', excludeFrom: ['cloudflare'] }, archive: { kind: 'bucket', name: 'acme-archive', existing: true } }
const FUNCTIONS: Record<string, FunctionConfig> = {
  upload: { handler: 'handlers/uploads.default', uses: ['uploads', 'orders'], events: [{ route: 'POST /uploads' }] },
  thumbnails: { handler: 'handlers/thumbnails.default', uses: ['uploads'], events: [{ bucket: { name: 'uploads', prefix: 'images/' } }] },
  orders: { handler: 'handlers/orders.default', uses: ['alerts'], events: [{ fromQueue: 'orders' }] },
  hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
}
const options = { service: 'shop', stage: 'dev', resources: RESOURCES }
const workDir = join(ROOT, '.polycloud', 'test')

describe('serverless/resources', () => {
  describe('AWS', () => {
    const plan = planFor(aws, FUNCTIONS, options)

    it('creates what is declared and not existing, with the ids osls gives the events\' own', () => {
      // Kept when the stack is deleted (CloudFormation fails on a bucket that holds objects): `remove` deletes it after.
      expect(plan.resources.S3BucketShopdevuploads).to.deep.equal({ Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { BucketName: 'shop-dev-uploads' } })
      expect(plan.resources.SNSTopicShopdevalerts).to.deep.equal({ Type: 'AWS::SNS::Topic', Properties: { TopicName: 'shop-dev-alerts' } })
      // The queue its consumer created: six times the consumer's timeout (osls's default, 6 s: the 30 s minimum).
      expect(plan.resources.PolycloudQueueOrders).to.deep.include({ Type: 'AWS::SQS::Queue' })
      expect((plan.resources.PolycloudQueueOrders as { Properties: Record<string, unknown> }).Properties).to.include({ QueueName: 'shop-dev-orders', VisibilityTimeout: 36 })
      expect(plan.resources.PolycloudQueueOrdersDlq).to.deep.include({ Properties: { QueueName: 'shop-dev-orders-dlq', MessageRetentionPeriod: 1209600 } })
      expect(Object.keys(plan.resources).some((id) => id.includes('Acmearchive'))).to.equal(false)
    })

    it('fills POLYCLOUD_RESOURCES with intrinsics: a queue\'s URL and a topic\'s ARN by Ref, a bucket by name', () => {
      expect(plan.addressing.get('upload')).to.deep.equal({
        'Fn::Sub': ['{"uploads":{"kind":"bucket","name":"shop-dev-uploads"},"orders":{"kind":"queue","url":"${R0}"}}', { R0: { Ref: 'PolycloudQueueOrders' } }],
      })
      expect(plan.addressing.get('thumbnails')).to.equal('{"uploads":{"kind":"bucket","name":"shop-dev-uploads"}}')
      expect(plan.addressing.get('orders')).to.deep.equal({ 'Fn::Sub': ['{"alerts":{"kind":"topic","arn":"${R0}"}}', { R0: { Ref: 'SNSTopicShopdevalerts' } }] })
      expect(plan.addressing.has('hello')).to.equal(false)
      const existing = planFor(aws, { a: { handler: 'handlers/hello.default', uses: ['archive', 'jobs', 'news'] } }, { ...options, resources: { archive: RESOURCES.archive, jobs: { kind: 'queue', existing: true }, news: { kind: 'topic', name: 'company-news', existing: true } } })
      expect(existing.addressing.get('a')).to.deep.equal({
        'Fn::Sub': [
          '{"archive":{"kind":"bucket","name":"acme-archive"},"jobs":{"kind":"queue","url":"${R0}"},"news":{"kind":"topic","arn":"${R1}"}}',
          {
            R0: { 'Fn::Sub': 'https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/shop-dev-jobs' },
            R1: { 'Fn::Sub': 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:company-news' },
          },
        ],
      })
      expect(Object.keys(existing.resources)).to.deep.equal(['PolycloudRoleA'])
    })

    it('links events to the declared resources: the same deployed names', () => {
      const events = (name: string) => plan.functions.find((fn) => fn.name === name)?.events.flatMap((event) => event.native)
      expect(events('thumbnails')).to.deep.equal([{ s3: { bucket: 'shop-dev-uploads', event: 's3:ObjectCreated:*', rules: [{ prefix: 'images/' }] } }])
      expect(events('orders')).to.deep.equal([{ sqs: { arn: { 'Fn::GetAtt': ['PolycloudQueueOrders', 'Arn'] }, batchSize: 10, functionResponseType: 'ReportBatchItemFailures' } }])
    })

    it('gives each function with uses a role of its own: its log group, its resources scoped to their ARNs, its queue', () => {
      expect([...plan.roles.keys()]).to.deep.equal(['upload', 'thumbnails', 'orders'])
      const orders = plan.roles.get('orders')!
      expect(orders.id).to.equal('PolycloudRoleOrders')
      expect(plan.resources.PolycloudRoleOrders).to.equal(orders.role)
      const properties = orders.role.Properties as { Policies: Array<{ PolicyName: string; PolicyDocument: { Statement: unknown[] } }>; Path: string }
      expect(properties.Path).to.equal('/')
      expect(properties.Policies[0]?.PolicyName).to.equal('shop-dev-orders')
      expect(properties.Policies[0]?.PolicyDocument.Statement).to.deep.equal([
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/shop-dev-orders:*' }] },
        { Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/shop-dev-orders:*:*' }] },
        { Effect: 'Allow', Action: ['sns:Publish'], Resource: [{ Ref: 'SNSTopicShopdevalerts' }] },
        { Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: [{ 'Fn::GetAtt': ['PolycloudQueueOrders', 'Arn'] }] },
      ])
      const upload = (plan.roles.get('upload')!.role.Properties as { Policies: Array<{ PolicyDocument: { Statement: unknown[] } }> }).Policies[0]!.PolicyDocument.Statement.slice(2)
      expect(upload).to.deep.equal([
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::shop-dev-uploads/*' }] },
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::shop-dev-uploads' }] },
        { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [{ 'Fn::GetAtt': ['PolycloudQueueOrders', 'Arn'] }] },
      ])
      expect(plan.roles.has('hello')).to.equal(false)
      expect(plan.sharedConsumes).to.deep.equal([])
      expect(plan.notes).to.deep.equal([])
    })

    it("carries what the service gives every role; leaves a role the service manages alone, saying what it must allow", () => {
      const provider = { iam: { role: { statements: [{ Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: ['*'] }], managedPolicies: ['arn:aws:iam::aws:policy/ReadOnly'], permissionsBoundary: 'arn:aws:iam::1:policy/b', path: '/app/' } }, tracing: { lambda: true } }
      const custom = planFor(aws, { a: { handler: 'handlers/hello.default', uses: ['uploads'], vpc: { subnetIds: ['s'] } } }, { ...options, provider })
      const properties = custom.roles.get('a')!.role.Properties as Record<string, unknown> & { Policies: Array<{ PolicyDocument: { Statement: unknown[] } }> }
      expect(properties).to.deep.include({ Path: '/app/', PermissionsBoundary: 'arn:aws:iam::1:policy/b' })
      expect(properties.ManagedPolicyArns).to.deep.equal(['arn:aws:iam::aws:policy/ReadOnly', { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']] }])
      expect(properties.Policies[0]?.PolicyDocument.Statement.slice(-2)).to.deep.equal([
        { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: ['*'] },
        { Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: ['*'] },
      ])
      const managed = planFor(aws, { a: { handler: 'handlers/hello.default', uses: ['orders'], role: 'arn:aws:iam::1:role/mine' } }, options)
      expect(managed.roles.size).to.equal(0)
      expect(managed.notes).to.deep.equal([
        'functions.a uses resources and runs with the role the service gives it ("arn:aws:iam::1:role/mine"): Polycloud adds nothing to it; it must allow sqs:SendMessage on [{"Fn::GetAtt":["PolycloudQueueOrders","Arn"]}]',
      ])
      expect(() => planFor(aws, { a: { handler: 'handlers/hello.default', uses: ['orders'], events: [{ stream: { type: 'kinesis', arn: 'arn:aws:kinesis:eu-west-1:1:stream/s' } }] } }, options)).to.throw(ConfigError, /^functions\.a\.events\[0\]\.stream: a function with uses gets a role of its own/)
    })

    it("takes the queues of functions with their own roles out of osls's shared role, unless a function on it consumes them too", async () => {
      const { narrowSharedRole } = await import('serverless-polycloud/providers/aws/resources')
      const queue = { 'Fn::GetAtt': ['PolycloudQueueOrders', 'Arn'] }
      const other = { 'Fn::GetAtt': ['PolycloudQueueJobs', 'Arn'] }
      const template = () => ({
        Resources: {
          IamRoleLambdaExecution: {
            Properties: { Policies: [{ PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: [] }, { Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: [queue, other] }] } }] },
          },
        },
      })
      const statements = (value: ReturnType<typeof template>) => value.Resources.IamRoleLambdaExecution.Properties.Policies[0]!.PolicyDocument.Statement
      const narrowed = template()
      narrowSharedRole(narrowed, plan.roles.values(), [])
      expect(statements(narrowed)[1]?.Resource).to.deep.equal([other])
      const kept = template()
      narrowSharedRole(kept, plan.roles.values(), [queue])
      expect(statements(kept)[1]?.Resource).to.deep.equal([queue, other])
    })

    it('wires the driver into the entry of a function with uses; the others are as before', () => {
      const upload = plan.functions.find((fn) => fn.name === 'upload')!
      const source = lambdaEntry(upload, workDir, ROOT)
      expect(source).to.include("import { withResources } from '@polycloud/resources'\nimport { awsResources } from '@polycloud/aws/resources'")
      expect(source).to.include('export const handler = createLambdaHttpHandler(withResources(portable, awsResources(), ["uploads","orders"]), [apiGatewayV2], "handlers/uploads.default")')
      const hello = plan.functions.find((fn) => fn.name === 'hello')!
      const without = planFor(aws, { hello: FUNCTIONS.hello! }, { service: 'shop', stage: 'dev' }).functions[0]!
      expect(lambdaEntry(hello, workDir, ROOT)).to.equal(lambdaEntry(without, workDir, ROOT))
      expect(lambdaEntry(hello, workDir, ROOT)).to.not.include('resources')
    })
    describe('remove: the buckets the stack kept, through the official S3 client on the local S3', () => {
      let local: LocalAws
      let s3: S3Client
      let remover: BucketRemover
      const warnings: string[] = []
      const sdk = { ListObjectsV2Command, DeleteObjectsCommand, DeleteBucketCommand }

      before(async () => {
        local = await startLocalAws({ port: 0, region: REGION, buckets: [{ name: 'shop-dev-empty' }, { name: 'shop-dev-uploads' }], invoke: async () => ({}) })
        s3 = s3Client(local.endpoint)
        remover = s3Remover(sdk, s3)
      })
      after(async () => {
        s3?.destroy()
        await local?.stop()
      })
      beforeEach(() => warnings.splice(0))

      const keys = async (bucket: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((object) => object.Key)

      it('deletes an empty bucket, passes over one that is gone, and keeps one that holds objects, saying so and how to delete it', async () => {
        await s3.send(new PutObjectCommand({ Bucket: 'shop-dev-uploads', Key: 'images/cat.png', Body: 'x' }))
        const removed = await removeBuckets(['shop-dev-empty', 'shop-dev-gone', 'shop-dev-uploads'], remover, false, (line) => warnings.push(line))
        expect(removed).to.deep.equal(['S3 bucket shop-dev-empty'])
        expect(warnings).to.deep.equal(['S3 bucket shop-dev-uploads was kept: it still holds 1 object(s); serverless remove --deleteObjects deletes them with the bucket'])
        expect((await rejection(s3.send(new ListObjectsV2Command({ Bucket: 'shop-dev-empty' })))).name).to.equal('NoSuchBucket')
        expect(await keys('shop-dev-uploads')).to.deep.equal(['images/cat.png'])
      })

      it('runs after `serverless remove` removed the stack, with osls\'s S3 client and credentials, --deleteObjects read from the options', async () => {
        // The bucket the stack kept, holding one object.
        await removeBuckets(['shop-dev-uploads'], remover, true, () => undefined)
        await s3.send(new CreateBucketCommand({ Bucket: 'shop-dev-uploads' }))
        await s3.send(new PutObjectCommand({ Bucket: 'shop-dev-uploads', Key: 'images/dog.png', Body: 'x' }))
        const remove = planFor(aws, FUNCTIONS, { ...options, command: 'remove' })
        const hooks: Record<string, Array<{ pluginName: string; hook: () => unknown }>> = {}
        const sdkConfig = { endpoint: local.endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, forcePathStyle: true }
        const framework = () => ({
          service: { service: 'shop', provider: { region: REGION }, functions: {}, custom: {}, resources: { Resources: {} } },
          config: { serverlessPath: join(ROOT, 'node_modules/serverless/lib') },
          getProvider: () => ({ getAwsSdkV3Config: async () => sdkConfig }),
          pluginManager: { hooks },
        })
        const lines: string[] = []
        const log = { ...silent, notice: (line: string) => lines.push(line), warning: (line: string) => lines.push(line) }
        awsHandOver(contextFor(remove, { command: 'remove', log }), framework())
        expect(hooks['after:remove:remove']?.map((hook) => hook.pluginName)).to.deep.equal(['PolycloudPlugin'])
        await hooks['after:remove:remove']![0]!.hook()
        expect(lines).to.deep.equal(['serverless-polycloud: S3 bucket shop-dev-uploads was kept: it still holds 1 object(s); serverless remove --deleteObjects deletes them with the bucket'])
        lines.splice(0)
        delete hooks['after:remove:remove']
        awsHandOver(contextFor(remove, { command: 'remove', log, options: { deleteObjects: true } }), framework())
        await hooks['after:remove:remove']![0]!.hook()
        expect(lines).to.deep.equal(['serverless-polycloud: removed S3 bucket shop-dev-uploads and its 1 object(s)'])
        expect((await rejection(s3.send(new ListObjectsV2Command({ Bucket: 'shop-dev-uploads' })))).name).to.equal('NoSuchBucket')
        // Other commands register nothing.
        delete hooks['after:remove:remove']
        awsHandOver(contextFor(planFor(aws, FUNCTIONS, options), { command: 'package' }), framework())
        expect(hooks).to.not.have.property('after:remove:remove')
      })

      it('with deleteObjects, deletes every object, page by page (1000 keys a page), then the bucket', async function () {
        this.timeout(120_000)
        await s3.send(new CreateBucketCommand({ Bucket: 'shop-dev-uploads' }))
        for (let start = 0; start < 1001; start += 50) {
          const keys = Array.from({ length: Math.min(50, 1001 - start) }, (_, i) => `images/${String(start + i).padStart(4, '0')} a.png`)
          await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'shop-dev-uploads', Key, Body: 'x' }))))
        }
        const removed = await removeBuckets(['shop-dev-uploads'], remover, true, (line) => warnings.push(line))
        expect(warnings).to.deep.equal([])
        expect(removed).to.deep.equal(['S3 bucket shop-dev-uploads and its 1001 object(s)'])
        expect((await rejection(s3.send(new ListObjectsV2Command({ Bucket: 'shop-dev-uploads' })))).name).to.equal('NoSuchBucket')
      })
    })
  })

  describe('Cloudflare', () => {
    const plan = planFor(cloudflare, Object.fromEntries(Object.entries(FUNCTIONS).filter(([name]) => name !== 'orders')), options)

    it('refuses a topic by name: no pub/sub on Cloudflare (unless excluded from it)', () => {
      expect(() => planFor(cloudflare, {}, { ...options, resources: { alerts: 'topic' } })).to.throw(
        ConfigError,
        /^custom\.polycloud\.resources\.alerts: Cloudflare has no pub\/sub topics .* "excludeFrom: \[cloudflare\]"/,
      )
    })

    it('binds what the functions use (R2 bucket, Queue producer), names the bindings in a var, adds nodejs_als', () => {
      const manifest = plan.manifest()
      expect(plan.vars.POLYCLOUD_RESOURCES).to.equal('{"uploads":{"kind":"bucket","binding":"BUCKET_UPLOADS"},"orders":{"kind":"queue","binding":"QUEUE_ORDERS"}}')
      expect(manifest.settings.compatibilityFlags).to.deep.equal(['nodejs_als'])
      expect(manifest.buckets.map((bucket) => [bucket.name, bucket.binding, bucket.notifications.length])).to.deep.equal([['shop-dev-uploads', 'BUCKET_UPLOADS', 1]])
      expect(manifest.producers).to.deep.equal([{ name: 'shop-dev-orders', binding: 'QUEUE_ORDERS', existing: false }])
      const metadata = uploadMetadata(manifest)
      expect(metadata.compatibility_flags).to.deep.equal(['nodejs_als'])
      expect(metadata.bindings).to.deep.include.members([
        { type: 'queue', name: 'QUEUE_ORDERS', queue_name: 'shop-dev-orders' },
        { type: 'r2_bucket', name: 'BUCKET_UPLOADS', bucket_name: 'shop-dev-uploads' },
        { type: 'plain_text', name: 'POLYCLOUD_RESOURCES', text: plan.vars.POLYCLOUD_RESOURCES },
      ])
      expect(wranglerConfig(manifest)).to.deep.include({ compatibility_flags: ['nodejs_als'] })
      expect((wranglerConfig(manifest).queues as Record<string, unknown>).producers).to.deep.equal([{ binding: 'QUEUE_ORDERS', queue: 'shop-dev-orders' }])
      // A flag that already gives AsyncLocalStorage is kept alone.
      expect(planFor(cloudflare, { upload: FUNCTIONS.upload! }, { ...options, custom: { compatibilityFlags: ['nodejs_compat'] } }).manifest().settings.compatibilityFlags).to.deep.equal(['nodejs_compat'])
      // Nothing of it without uses.
      const bare = planFor(cloudflare, { hello: FUNCTIONS.hello! }, options)
      expect(bare.vars).to.deep.equal({})
      expect(bare.manifest().settings.compatibilityFlags).to.deep.equal([])
    })

    it('wires one driver for the Worker, each function with its own uses', () => {
      const [entry] = workerEntries(plan, { workDir, servicePath: ROOT })
      expect(entry?.source).to.include('const resources = cloudflareResources()')
      expect(entry?.source).to.match(/const fn0 = \{ name: "upload", handler: withResources\(handler0, resources, \["uploads","orders"\]\),/)
      expect(entry?.source).to.match(/const fn2 = \{ name: "hello", handler: handler2, /)
    })
  })

  describe('Azure', () => {
    const plan = planFor(azure, FUNCTIONS, options)

    it('puts every used resource in the app settings, each function\'s uses in the entry', () => {
      expect(JSON.parse(plan.environment().POLYCLOUD_RESOURCES as string)).to.deep.equal({
        uploads: { kind: 'bucket', name: 'shop-dev-uploads', connection: 'AzureWebJobsStorage' },
        orders: { kind: 'queue', service: 'storage', name: 'shop-dev-orders', connection: 'AzureWebJobsStorage' },
        alerts: { kind: 'topic', service: 'serviceBus', name: 'shop-dev-alerts', connection: 'ServiceBusConnection' },
      })
      const source = appEntry(plan, workDir, ROOT)
      expect(source).to.include("import { azureResources } from '@polycloud/azure/resources'")
      expect(source).to.include('const handler0Wrapped = withResources(handler0, resources, ["uploads","orders"])')
      expect(source).to.include('registerHttp("hello", handler3, ')
    })
  })

  describe('Google Cloud', () => {
    const plan = planFor(google, FUNCTIONS, options)

    it("gives each function its own resources' addresses, the routing function its routes'", () => {
      const env = (id: string) => plan.entryLayout.functions.find((spec) => spec.id === id)?.environment.POLYCLOUD_RESOURCES
      expect(env('shop-dev-thumbnails')).to.equal('{"uploads":{"kind":"bucket","name":"shop-dev-uploads"}}')
      expect(env('shop-dev-orders')).to.equal('{"alerts":{"kind":"topic","topic":"shop-dev-alerts"}}')
      expect(env('shop-dev')).to.equal('{"uploads":{"kind":"bucket","name":"shop-dev-uploads"},"orders":{"kind":"queue","topic":"shop-dev-orders"}}')
      expect(env('shop-dev-hello')).to.equal(undefined)
      const entries = googleEntries(plan, { workDir, servicePath: ROOT })
      expect(entries.find((entry) => entry.file.endsWith('thumbnails.ts'))?.source).to.include('withResources(filtered, gcpResources(), ["uploads"])')
      const router = entries.find((entry) => entry.file.endsWith('polycloudRoutes.ts'))?.source
      expect(router).to.include('const handler0Wrapped = withResources(handler0, resources, ["uploads","orders"])')
    })
  })
})
