/**
 * Conformance on real AWS payloads (test/fixtures/events/aws, provenance in MANIFEST.tsv): every fixture of a
 * supported kind is translated and its neutral form checked field by field against values read off the payload.
 * Unsupported kinds (WebSocket, Kafka/MQ, plain Kinesis, direct invocations) must be refused with a clear error.
 */
import { expect } from 'chai'
import type { SourceKind } from '@polycloud/core/adapter'
import { inspect, type Inspection } from '@polycloud/testing'
import { fixture, fixturePaths } from '../helpers/fixtures.ts'

type Described = Record<string, unknown>

async function only(path: string, kind?: SourceKind): Promise<Inspection> {
  return inspect('aws', fixture(path), kind === undefined ? {} : { kind })
}

async function first(path: string): Promise<Described> {
  const result = await only(path)
  expect(result.events).to.have.length(1)
  return result.events[0] as Described
}

function header(event: Described, name: string): string | undefined {
  return (event.headers as Array<[string, string]>).find(([key]) => key === name)?.[1]
}

const HTTP_V2 = 'aws/apigw-http'
const REST = 'aws/apigw-rest'

describe('conformance: AWS', () => {
  describe('API Gateway HTTP API (payload 2.0)', () => {
    for (const name of ['lgo__apigw-v2-request-iam.json', 'lgo__apigw-v2-request-jwt-authorizer.json', 'lgo__apigw-v2-request-lambda-authorizer.json']) {
      it(`${name}: GET /my/path with repeated query keys, cookies array and a body`, async () => {
        const result = await only(`${HTTP_V2}/${name}`)
        expect(result.adapter).to.equal('aws:api-gateway-v2')
        const event = result.events[0] as Described
        expect(event).to.deep.include({
          kind: 'http',
          method: 'GET',
          url: 'https://id.execute-api.us-east-1.amazonaws.com/my/path?parameter1=value1&parameter1=value2&parameter2=value',
          path: '/my/path',
          query: [
            ['parameter1', 'value1'],
            ['parameter1', 'value2'],
            ['parameter2', 'value'],
          ],
          params: { proxy: 'hello/world' },
          ip: 'IP',
          // A GET with a body: kept readable on the portable request (toRequest() cannot carry it).
          body: '{\r\n\t"a": 1\r\n}',
        })
        // API Gateway moves Cookie into `cookies`; it is rebuilt as the header. Its pairs have no "=", so the
        // cookie map is empty (the header keeps them).
        expect(header(event, 'cookie')).to.equal('cookie1; cookie2')
        expect(event.cookies).to.deep.equal({})
        expect(header(event, 'header1')).to.equal('value1')
        expect(header(event, 'header2')).to.equal('value2')
      })
    }

    it('lgo__apigw-v2-request-no-authorizer.json: GET / with every header', async () => {
      const raw = fixture<{ headers: Record<string, string> }>(`${HTTP_V2}/lgo__apigw-v2-request-no-authorizer.json`)
      const event = await first(`${HTTP_V2}/lgo__apigw-v2-request-no-authorizer.json`)
      expect(event).to.deep.include({
        method: 'GET',
        url: 'https://aaaaaaaaaa.execute-api.us-west-2.amazonaws.com/',
        path: '/',
        query: [],
        params: {},
        ip: '1.2.3.4',
        body: '',
      })
      expect(event.headers).to.deep.equal(Object.entries(raw.headers).sort(([a], [b]) => a.localeCompare(b)))
      expect(header(event, 'user-agent')).to.equal('curl/7.58.0')
    })

    it('ptts__no-auth.json: POST /lambda with a bearer token and no body', async () => {
      const event = await first(`${HTTP_V2}/ptts__no-auth.json`)
      expect(event).to.deep.include({
        method: 'POST',
        url: 'https://lsw1ro4ipb.execute-api.eu-west-1.amazonaws.com/lambda',
        path: '/lambda',
        ip: '15.248.3.126',
        body: '',
      })
      expect(header(event, 'authorization')).to.equal('Bearer foo')
      expect(event.headers).to.have.length(10)
    })

    it('sam__HttpApi.json: an unfilled template method is refused with a clear error', async () => {
      const error = await only(`${HTTP_V2}/sam__HttpApi.json`).catch((e: unknown) => e as Error)
      expect(error).to.be.instanceOf(Error)
      expect((error as Error).message).to.equal(
        'aws:api-gateway-v2: Invalid HTTP method in requestContext.http.method: "{{{method}}}"',
      )
    })

    it('sam__HttpApi.json with a real method: capitalised header names, base64 flag on a non-base64 body', async () => {
      const event = fixture<{ requestContext: { http: { method: string } } }>(`${HTTP_V2}/sam__HttpApi.json`)
      event.requestContext.http.method = 'POST'
      const error = await inspect('aws', event).catch((e: unknown) => e as Error)
      // The body says base64 but "{{{body}}}" is not: reading it is a 400, nothing is guessed.
      expect((error as Error).message).to.equal('aws:api-gateway-v2: Request body is marked base64-encoded but is not valid base64')
      const { lambda } = await import('@polycloud/aws')
      const { http, json } = await import('@polycloud/core')
      const handler = lambda(
        http((request) =>
          json({
            header1: request.headers.get('header1'),
            header2: request.headers.get('HEADER2'),
            all: request.query.getAll('parameter1'),
          }),
        ),
      )
      const out = (await handler(event, { awsRequestId: 'r', functionName: 'f', getRemainingTimeInMillis: () => 1000 })) as { body: string }
      expect(JSON.parse(out.body)).to.deep.equal({ header1: 'value1', header2: 'value1,value2', all: ['value1', 'value2'] })
    })
  })

  describe('Lambda Function URLs', () => {
    it('lgo__function-url-domain-only-get-request-trailing-slash.json', async () => {
      const result = await only('aws/function-url/lgo__function-url-domain-only-get-request-trailing-slash.json')
      expect(result.adapter).to.equal('aws:function-url')
      expect(result.events[0]).to.deep.include({
        method: 'GET',
        url: 'https://lambda-url-id.lambda-url.us-west-2.on.aws/',
        path: '/',
        query: [],
        ip: '127.0.0.1',
        body: '',
      })
      expect(header(result.events[0] as Described, 'accept')).to.equal('application/xml')
    })

    it('lgo__function-url-domain-only-request-with-base64-encoded-body.json: content type "idk", base64 body', async () => {
      const event = await first('aws/function-url/lgo__function-url-domain-only-request-with-base64-encoded-body.json')
      expect(event).to.deep.include({ method: 'POST', bodyBase64: 'PGlkay8+' })
      expect(Buffer.from(event.bodyBase64 as string, 'base64').toString()).to.equal('<idk/>')
      expect(header(event, 'content-type')).to.equal('idk')
      expect(header(event, 'content-length')).to.equal('6')
    })

    it('lgo__function-url-request-with-headers-and-cookies-and-text-body.json', async () => {
      const event = await first('aws/function-url/lgo__function-url-request-with-headers-and-cookies-and-text-body.json')
      expect(event).to.deep.include({
        method: 'POST',
        url: 'https://lambda-url-id.lambda-url.us-west-2.on.aws/hello?hello=world&foo=bar',
        path: '/hello',
        query: [
          ['hello', 'world'],
          ['foo', 'bar'],
        ],
        cookies: { foo: 'bar', hello: 'hello' },
        body: '{"hello": "world"}',
      })
      expect(header(event, 'header2')).to.equal('h1,h2')
    })

    it('lgo__lambda-urls-request.json: placeholder host passed through as given', async () => {
      const event = await first('aws/function-url/lgo__lambda-urls-request.json')
      expect(event).to.deep.include({
        method: 'POST',
        url: 'https://<url-id>.lambda-url.us-west-2.on.aws/my/path?parameter1=value1&parameter1=value2&parameter2=value',
        path: '/my/path',
        ip: '123.123.123.123',
        body: 'Hello from client!',
      })
    })

    it('ptts__base.json and ptts__get-request.json', async () => {
      const base = await first('aws/function-url/ptts__base.json')
      expect(base).to.deep.include({ method: 'POST', path: '/', body: '', ip: '123.123.123.123' })
      expect(header(base, 'cookie')).to.equal('cookie1; cookie2')
      const get = await first('aws/function-url/ptts__get-request.json')
      expect(get).to.deep.include({ method: 'GET', url: 'https://<url-id>.lambda-url.us-east-1.on.aws/', body: '' })
      expect(header(get, 'accept-language')).to.equal('pt-BR,pt;q=0.9')
      expect(get.headers).to.have.length(20)
    })
  })

  describe('API Gateway REST API (payload 1.0)', () => {
    for (const name of ['lgo__apigw-request.json', 'lgo__apigw-restapi-openapi-request.json']) {
      it(`${name}: POST /hello/world with multi-value headers and query`, async () => {
        const result = await only(`${REST}/${name}`)
        expect(result.adapter).to.equal('aws:api-gateway-v1')
        const event = result.events[0] as Described
        expect(event).to.deep.include({
          method: 'POST',
          url: 'https://gy415nuibc.execute-api.us-east-1.amazonaws.com/hello/world?name=me',
          path: '/hello/world',
          query: [['name', 'me']],
          params: { proxy: 'hello/world' },
          ip: '192.168.196.186',
          body: '{\r\n\t"a": 1\r\n}',
        })
        expect(header(event, 'headername')).to.equal('headerValue')
        expect(header(event, 'x-forwarded-for')).to.equal('54.240.196.186, 54.182.214.83')
        expect(event.headers).to.have.length(19)
      })
    }

    it('ptts__advanced_binary_req_json64.json: only resource, path and method; host falls back to localhost', async () => {
      expect(await first(`${REST}/ptts__advanced_binary_req_json64.json`)).to.deep.equal({
        kind: 'http',
        method: 'GET',
        url: 'https://localhost/json64',
        path: '/json64',
        query: [],
        params: {},
        headers: [],
        cookies: {},
        body: '',
      })
    })

    it('ptts__console-test-ui.json: console test invocation with null headers and body', async () => {
      expect(await first(`${REST}/ptts__console-test-ui.json`)).to.deep.include({
        method: 'POST',
        url: 'https://testPrefix.testDomainName/no-auth',
        headers: [],
        ip: 'test-invoke-source-ip',
        body: '',
      })
    })

    it('ptts__jwt-authorizer-auth.json and ptts__no-auth.json: stage in the client path', async () => {
      const jwt = await first(`${REST}/ptts__jwt-authorizer-auth.json`)
      expect(jwt).to.deep.include({
        method: 'POST',
        url: 'https://puhdx84jy9.execute-api.eu-west-1.amazonaws.com/prod/cognito',
        path: '/prod/cognito',
        ip: '15.248.3.126',
      })
      expect(header(jwt, 'authorization')).to.match(/^Bearer eyJraWQiOiJadVla/)
      const noAuth = await first(`${REST}/ptts__no-auth.json`)
      expect(noAuth).to.deep.include({ path: '/prod/no-auth', body: '' })
      expect(header(noAuth, 'cloudfront-viewer-asn')).to.equal('7224')
    })

    it('sam__event.json: the sam init hello-world event', async () => {
      expect(await first(`${REST}/sam__event.json`)).to.deep.include({
        method: 'POST',
        url: 'https://1234567890.execute-api.us-east-1.amazonaws.com/prod/path/to/resource?foo=bar',
        path: '/prod/path/to/resource',
        query: [['foo', 'bar']],
        params: { proxy: '/path/to/resource' },
        ip: '127.0.0.1',
        body: '{"message": "hello world"}',
      })
    })
  })

  describe('Application Load Balancer', () => {
    it('single-value mode', async () => {
      const result = await only('aws/alb/lgo__alb-lambda-target-request-headers-only.json')
      expect(result.adapter).to.equal('aws:alb')
      const event = result.events[0] as Described
      expect(event).to.deep.include({
        method: 'GET',
        url: 'http://lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com/?key=hello',
        query: [['key', 'hello']],
        ip: '25.12.198.67',
        body: '',
      })
      expect(header(event, 'x-myheader')).to.equal('123')
    })

    it('multi-value mode', async () => {
      const event = await first('aws/alb/lgo__alb-lambda-target-request-multivalue-headers.json')
      expect(event).to.deep.include({
        url: 'http://lambda-test-alb-1234567.us-east-1.elb.amazonaws.com/?key=hello',
        query: [['key', 'hello']],
        ip: '72.21.198.67',
      })
      expect(event.headers).to.have.length(10)
    })

    it('ptts__multi-fields.json: GET /lambda with a body', async () => {
      expect(await first('aws/alb/ptts__multi-fields.json')).to.deep.include({
        method: 'GET',
        url: 'http://alb-c-LoadB-14POFKYCLBNSF-1815800096.eu-central-1.elb.amazonaws.com/lambda',
        path: '/lambda',
        query: [],
        ip: '123.123.123.123',
        body: 'Test',
      })
    })
  })

  describe('SQS', () => {
    it('lgo__sqs-event.json: string, number and binary attributes; receive count 2', async () => {
      const result = await only('aws/sqs/lgo__sqs-event.json')
      expect(result.adapter).to.equal('aws:sqs')
      expect(result.events).to.deep.equal([
        {
          kind: 'queue',
          id: 'MessageID_1',
          time: new Date(1520621625029).toISOString(),
          source: 'arn:aws:sqs:us-west-2:123456789012:SQSQueue',
          queue: 'SQSQueue',
          attempt: 2,
          attributes: { Attribute3: 'MTEwMA==', Attribute2: '123', Attribute1: 'AttributeValue1' },
          body: 'Message Body',
        },
      ])
    })

    it('ptts__base.json: two messages in order', async () => {
      const result = await only('aws/sqs/ptts__base.json')
      expect(result.events.map((event) => [event.id, event.body, event.attributes])).to.deep.equal([
        ['059f36b4-87a3-44ab-83d2-661975830a7d', 'Test message.', { testAttr: '100' }],
        ['2e1424d4-f796-459a-8184-9c92662be6da', '{"message": "foo1"}', {}],
      ])
      expect(result.events[0]?.time).to.equal(new Date(1545082649183).toISOString())
    })

    it('ptts__sns-body.json: a queue message to a queue handler, the SNS notification to a topic handler', async () => {
      const asQueue = await only('aws/sqs/ptts__sns-body.json')
      expect(asQueue.adapter).to.equal('aws:sqs')
      expect(JSON.parse(asQueue.events[0]?.body as string).Type).to.equal('Notification')
      const asTopic = await only('aws/sqs/ptts__sns-body.json', 'topic')
      expect(asTopic.adapter).to.equal('aws:sqs-sns')
      expect(asTopic.events).to.deep.equal([
        {
          kind: 'topic',
          id: 'd88d4479-6ec0-54fe-b63f-1cf9df4bb16e',
          time: '2021-01-19T10:07:07.287Z',
          source: 'arn:aws:sns:eu-west-1:231436140809:powertools265',
          topic: 'powertools265',
          attributes: {},
          body: '{"message": "hello world"}',
        },
      ])
    })
  })

  describe('SNS', () => {
    it('lgo__sns-event.json and ptts__base.json', async () => {
      const lgo = await only('aws/sns/lgo__sns-event.json')
      expect(lgo.adapter).to.equal('aws:sns')
      expect(lgo.events).to.deep.equal([
        {
          kind: 'topic',
          id: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
          time: '2015-06-03T17:43:27.123Z',
          source: 'arn:aws:sns:EXAMPLE',
          topic: 'EXAMPLE',
          subject: 'TestInvoke',
          attributes: { Test: 'TestString', TestBinary: 'TestBinary' },
          body: 'Hello from SNS!',
        },
      ])
      const base = await first('aws/sns/ptts__base.json')
      expect(base).to.deep.include({
        source: 'arn:aws:sns:us-east-2:123456789012:ExampleTopic',
        topic: 'ExampleTopic',
        time: '2019-01-02T12:45:07.000Z',
      })
    })
  })

  describe('S3', () => {
    it('lgo__s3-event.json: URL-encoded key decoded', async () => {
      expect(await only('aws/s3/lgo__s3-event.json')).to.deep.include({
        adapter: 'aws:s3',
        events: [
          {
            kind: 'storage',
            id: 'sourcebucket/Happy%20Face.jpg@Happy Sequencer',
            time: '1970-01-01T00:00:00.123Z',
            source: 'arn:aws:s3:::mybucket',
            type: 'created',
            action: 'ObjectCreated:Put',
            bucket: 'sourcebucket',
            key: 'Happy Face.jpg',
            size: 1024,
            etag: 'd41d8cd98f00b204e9800998ecf8427e',
            versionId: 'version',
          },
        ],
      })
    })

    it('replication and restore notifications are storage events of type "other"', async () => {
      expect(await first('aws/s3/lgo__s3-replication-event.json')).to.deep.include({
        type: 'other',
        action: 's3:Replication:OperationFailedReplication',
        bucket: 'amzn-s3-demo-bucket1',
        key: 'replication-test.png',
        size: 520080,
      })
      expect(await first('aws/s3/lgo__s3-restore-event.json')).to.deep.include({
        type: 'other',
        action: 's3:ObjectRestore:Completed',
        bucket: 'example-bucket',
        key: 'glacier-test.txt',
      })
    })

    it('deletes carry no size or etag', async () => {
      const deleted = await first('aws/s3/ptts__delete-object.json')
      expect(deleted).to.deep.include({ type: 'deleted', action: 'ObjectRemoved:Delete', key: 'b21b84d653bb07b05b1e6b33684dc11b' })
      expect(deleted).to.not.have.any.keys('size', 'etag')
      // Template placeholders are opaque names: passed through as given.
      expect(await first('aws/s3/sam__S3Delete.json')).to.deep.include({ type: 'deleted', bucket: '{{{bucket}}}', key: '{{{key}}}' })
    })

    it('ptts__eventbridge-object-created.json: S3 through EventBridge', async () => {
      const result = await only('aws/s3/ptts__eventbridge-object-created.json', 'storage')
      expect(result.adapter).to.equal('aws:s3-eventbridge')
      expect(result.events).to.deep.equal([
        {
          kind: 'storage',
          id: 'f5f1e65c-dc3a-93ca-6c1e-b1647eac7963',
          time: '2023-03-08T17:50:14Z',
          source: 'arn:aws:s3:::example-bucket',
          type: 'created',
          action: 'Object Created',
          bucket: 'example-bucket',
          key: 'IMG_m7fzo3.jpg',
          size: 184662,
          etag: '4e68adba0abe2dc8653dc3354e14c01d',
        },
      ])
    })

    it('ptts__sqs-event.json: S3 through SQS, a queue message or (storage handlers) the object event', async () => {
      expect((await only('aws/s3/ptts__sqs-event.json')).adapter).to.equal('aws:sqs')
      const result = await only('aws/s3/ptts__sqs-event.json', 'storage')
      expect(result.adapter).to.equal('aws:sqs-s3')
      expect(result.events).to.deep.equal([
        {
          kind: 'storage',
          id: 'xxx/test.pdf@00643717F9F8B85354',
          time: '2023-04-12T20:43:38.021Z',
          source: 'arn:aws:s3:::xxx',
          type: 'created',
          action: 'ObjectCreated:Put',
          bucket: 'xxx',
          key: 'test.pdf',
          size: 104681,
          etag: '2e3ad1e983318bbd8e73b080e2997980',
          versionId: 'yd3d4HaWOT2zguDLvIQLU6ptDTwKBnQV',
        },
      ])
    })
  })

  describe('EventBridge', () => {
    it('sam__ScheduledEvent.json: a schedule tick named after its rule', async () => {
      expect(await only('aws/schedule/sam__ScheduledEvent.json')).to.deep.include({
        adapter: 'aws:eventbridge-schedule',
        events: [
          {
            kind: 'schedule',
            id: 'cdc73f9d-aea9-11e3-9d5a-835b769c0d9c',
            time: '1970-01-01T00:00:00Z',
            source: 'arn:{{{partition}}}:events:{{{region}}}:{{{account_id}}}:rule/{{{rule}}}',
            name: '{{{rule}}}',
          },
        ],
      })
    })

    it('ptts__base.json: a custom event as a CloudEvent', async () => {
      expect(await first('aws/eventbridge/ptts__base.json')).to.deep.equal({
        kind: 'cloudEvent',
        id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
        time: '2017-12-22T18:43:48Z',
        source: 'aws.ec2',
        specversion: '1.0',
        type: 'EC2 Instance State-change Notification',
        subject: undefined,
        datacontenttype: 'application/json',
        dataschema: undefined,
        extensions: {
          account: '111122223333',
          region: 'us-west-1',
          // A CloudEvents extension is a string, boolean or integer: the list travels as its JSON text.
          resources: '["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]',
        },
        data: { instance_id: 'i-1234567890abcdef0', state: 'terminated' },
      })
    })
  })

  describe('DynamoDB Streams', () => {
    it('lgo__dynamodb-event.json: every attribute type as plain JSON', async () => {
      const result = await only('aws/dynamodb-stream/lgo__dynamodb-event.json')
      expect(result.adapter).to.equal('aws:dynamodb-streams')
      expect(result.events).to.have.length(2)
      expect(result.events[1]).to.deep.equal({
        kind: 'changes',
        id: 'f07f8ca4b0b26cb9c4e5e77e42f274ee',
        time: '2016-12-02T01:27:00.000Z',
        source: 'arn:aws:dynamodb:us-east-1:123456789012:table/Example-Table/stream/2016-12-01T00:00:00.000',
        type: 'insert',
        table: 'Example-Table',
        keys: { val: 'data', key: 'binary' },
        newImage: {
          val: 'data',
          asdf1: 'AAEqQQ==',
          b2: 'test',
          asdf2: ['AAEqQQ==', 'QSoBAA==', 'AAEqQQ=='],
          key: 'binary',
          Binary: 'AAEqQQ==',
          Boolean: true,
          BinarySet: ['AAEqQQ==', 'AAEqQQ=='],
          List: ['Cookies', 'Coffee', 3.14159],
          Map: { Name: 'Joe', Age: 35 },
          FloatNumber: 123.45,
          IntegerNumber: 123,
          NumberSet: [1234, 567.8],
          Null: null,
          String: 'Hello',
          StringSet: ['Giraffe', 'Zebra'],
          EmptyStringSet: [],
        },
      })
    })

    it('lgo__dynamodb-time-window-event.json: insert, modify and remove in order (window state not modelled)', async () => {
      const result = await only('aws/dynamodb-stream/lgo__dynamodb-time-window-event.json')
      expect(result.events.map((event) => [event.id, event.type, event.newImage, event.oldImage])).to.deep.equal([
        ['1', 'insert', { Message: 'New item!', Id: 101 }, undefined],
        ['2', 'modify', { Message: 'This item has changed', Id: 101 }, { Message: 'New item!', Id: 101 }],
        ['3', 'remove', undefined, { Message: 'This item has changed', Id: 101 }],
      ])
      // "stream-ARN" is not an ARN: the table name cannot be read off it and the value is kept as given.
      expect(result.events[0]).to.deep.include({ source: 'stream-ARN', table: 'stream-ARN', keys: { Id: 101 } })
    })

    it('ptts__base.json: a record without ApproximateCreationDateTime has an empty time', async () => {
      const result = await only('aws/dynamodb-stream/ptts__base.json')
      expect(result.events.map((event) => [event.id, event.type, event.time])).to.deep.equal([
        ['1', 'insert', new Date(1693997155000).toISOString()],
        ['2', 'modify', ''],
      ])
    })

    it('ptts__dynamodb-stream.json: changes carried by Kinesis Data Streams (times in milliseconds)', async () => {
      const result = await only('aws/dynamodb-stream/ptts__dynamodb-stream.json')
      expect(result.adapter).to.equal('aws:dynamodb-kinesis')
      expect(result.events[0]).to.deep.equal({
        kind: 'changes',
        id: 'd9428029-0f63-4056-86da-ce10d545b1b9',
        time: new Date(1731924555370).toISOString(),
        source: 'arn:aws:kinesis:eu-west-1:1234567789012:stream/PowertoolsEventsStack-KinesisStream46752A3E-u0C9B3ZKjgG0',
        type: 'insert',
        table: 'PowertoolsEventsStack-DynamoDBTable59784FC0-8NKAMTERTAXY',
        keys: { id: 'record-1qit2y819gi' },
        newImage: { id: 'record-1qit2y819gi', data: 'data-x6aq7ckdpgk' },
      })
      expect(result.events[1]?.id).to.equal('aa56cad4-311a-46c8-ab5f-c7a13a7a6298')
    })
  })

  describe('refused payloads', () => {
    const unsupported = [
      ...fixturePaths('aws/apigw-websocket'),
      ...fixturePaths('aws/broker-queue'),
      ...fixturePaths('aws/kinesis'),
      ...fixturePaths('aws/direct-invoke'),
      ...fixturePaths('aws/http-response'),
    ]
    for (const path of unsupported) {
      it(`${path}: refused, naming the provider and the keys seen`, async () => {
        const payload = fixture<Record<string, unknown>>(path)
        const error = await inspect('aws', payload).catch((e: unknown) => e as Error)
        expect(error).to.be.instanceOf(Error)
        expect((error as Error).message).to.match(/^aws: no adapter recognises this input/)
        expect((error as Error).message).to.include(`keys: ${Object.keys(payload).slice(0, 20).join(', ')}`)
      })
    }
  })

  it('covers every AWS fixture', () => {
    // Each fixture folder above is either translated or refused; a new folder must be placed in one of them.
    const known = [
      'alb', 'apigw-http', 'apigw-rest', 'apigw-websocket', 'broker-queue', 'direct-invoke', 'dynamodb-stream',
      'eventbridge', 'function-url', 'http-response', 'kinesis', 's3', 'schedule', 'sns', 'sqs',
    ]
    const folders = new Set(fixturePaths('aws').map((path) => path.split('/')[1]))
    expect([...folders].sort()).to.deep.equal(known)
  })
})
