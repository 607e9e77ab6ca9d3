/**
 * AWS: HTTP through `serverless offline` (API Gateway HTTP API emulation, payload 2.0), every other kind through
 * `serverless invoke local` with the native payload Lambda would receive, built from the trigger.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serverless, startOffline } from '../../helpers/serverless.ts'
import { logLines, type LocalTarget, type Outcome, type Trigger } from '../target.ts'

const REGION = 'eu-west-1'
const ACCOUNT = '123456789012'

function nativeEvent(trigger: Trigger): unknown {
  const time = new Date().toISOString()
  switch (trigger.kind) {
    case 'schedule':
      return {
        version: '0',
        id: crypto.randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: ACCOUNT,
        time,
        region: REGION,
        resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/${trigger.function}`],
        detail: {},
      }
    case 'queue':
      return {
        Records: trigger.messages.map((body, index) => ({
          messageId: `m-${index}`,
          receiptHandle: `r-${index}`,
          body,
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: ACCOUNT, ApproximateFirstReceiveTimestamp: String(Date.now()) },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:${trigger.queue}`,
          awsRegion: REGION,
        })),
      }
    case 'topic': {
      const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:${trigger.topic}`
      return {
        Records: [
          {
            EventSource: 'aws:sns',
            EventVersion: '1.0',
            EventSubscriptionArn: `${topicArn}:sub`,
            Sns: {
              Type: 'Notification',
              MessageId: crypto.randomUUID(),
              TopicArn: topicArn,
              Subject: null,
              Message: trigger.body,
              Timestamp: time,
              SignatureVersion: '1',
              Signature: '',
              SigningCertUrl: '',
              UnsubscribeUrl: '',
              MessageAttributes: Object.fromEntries(Object.entries(trigger.attributes).map(([name, value]) => [name, { Type: 'String', Value: value }])),
            },
          },
        ],
      }
    }
    case 'storage':
      return {
        Records: [
          {
            eventVersion: '2.1',
            eventSource: 'aws:s3',
            awsRegion: REGION,
            eventTime: time,
            eventName: 'ObjectCreated:Put',
            userIdentity: { principalId: 'AWS:EXAMPLE' },
            requestParameters: { sourceIPAddress: '127.0.0.1' },
            responseElements: { 'x-amz-request-id': 'EXAMPLE', 'x-amz-id-2': 'EXAMPLE' },
            s3: {
              s3SchemaVersion: '1.0',
              configurationId: 'polycloud',
              bucket: { name: trigger.bucket, ownerIdentity: { principalId: 'EXAMPLE' }, arn: `arn:aws:s3:::${trigger.bucket}` },
              object: { key: encodeURIComponent(trigger.key).replaceAll('%2F', '/'), size: trigger.size, eTag: '0123456789abcdef', sequencer: '0A1B2C3D4E5F678901' },
            },
          },
        ],
      }
  }
}

export async function startAws(): Promise<LocalTarget> {
  const scratch = mkdtempSync(join(tmpdir(), 'polycloud-portability-aws-'))
  const offline = await startOffline({ routes: 'http-api' })
  return {
    provider: 'aws',
    url: (path) => `${offline.url}${path}`,
    httpLogs: () => logLines(offline.stdout()),
    async fire(trigger): Promise<Outcome> {
      const path = join(scratch, `${trigger.function}.json`)
      writeFileSync(path, JSON.stringify(nativeEvent(trigger)))
      const run = await serverless(['invoke', 'local', '-f', trigger.function, '--path', path], { timeoutMs: 90_000 })
      if (run.code !== 0) throw new Error(`invoke local -f ${trigger.function} exited with ${run.code}:\n${run.stdout}\n${run.stderr}`)
      const start = run.stdout.lastIndexOf('\n{\n')
      const result = start === -1 ? undefined : (JSON.parse(run.stdout.slice(start + 1)) as { batchItemFailures?: Array<{ itemIdentifier: string }> })
      const redelivered = (result?.batchItemFailures ?? []).map(({ itemIdentifier }) => Number(itemIdentifier.slice('m-'.length)))
      return { redelivered, logs: logLines(run.stdout) }
    },
    async stop() {
      await offline.stop()
      rmSync(scratch, { recursive: true, force: true })
    },
  }
}
