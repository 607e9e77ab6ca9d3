/**
 * AWS: `serverless offline` with the local AWS services the plugin starts beside it. HTTP goes through
 * serverless-offline's API Gateway emulation (HTTP API, payload 2.0); every other kind through the local services
 * with the official SDK clients, as a producer would on AWS: SendMessageBatch to the SQS queue, Publish to the SNS
 * topic, PutObject to the S3 bucket, and the EventBridge rule fired on demand (`POST /polycloud/schedules/<name>`).
 * They deliver to the functions as Lambda does (an SQS event source mapping's batches, asynchronous invocations),
 * through serverless-offline's Lambda Invoke API. Each delivery and its outcome is read from the services' own log
 * (`GET /polycloud/deliveries`): a message is redelivered when its first batch reported it failed. Failed messages
 * return after 1 s (`POLYCLOUD_OFFLINE_RETRY_SECONDS`) instead of the queue's 60 s visibility timeout; the receives
 * before the dead-letter queue stay as deployed (5).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { ListTopicsCommand, PublishCommand } from '@aws-sdk/client-sns'
import { DeleteMessageBatchCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs'
import { startOffline } from '../../helpers/serverless.ts'
import { s3Client, snsClient, sqsClient } from '../../packages/serverless/providers/aws-local/support.ts'
import { logLines, quiet, waitFor, type LocalTarget, type Outcome, type Trigger } from '../target.ts'

const SERVICE = 'polycloud-demo-dev'

interface Delivery {
  source: string
  function: string
  ids: string[]
  attempt: number
  outcome: 'pending' | 'succeeded' | 'partial' | 'failed' | 'retrying' | 'dropped'
  failed?: string[]
}

/** The key S3 puts in a notification (URL-encoded, spaces as `+`) read back. */
const decodeKey = (key: string): string => decodeURIComponent(key.replaceAll('+', ' '))

export async function startAws(): Promise<LocalTarget> {
  const offline = await startOffline({ routes: 'http-api' }, 90_000, undefined, undefined, { POLYCLOUD_OFFLINE_RETRY_SECONDS: '1' })
  if (offline.services === '') {
    await offline.stop()
    throw new Error('serverless offline printed no local AWS endpoint')
  }
  const sqs = sqsClient(offline.services)
  const sns = snsClient(offline.services)
  const s3 = s3Client(offline.services)
  const queueUrl = async (name: string): Promise<string> => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl as string
  const deliveries = async (): Promise<Delivery[]> => (await (await fetch(`${offline.services}/polycloud/deliveries`)).json()) as Delivery[]

  /** The first delivery of each id to the function, once every one has an outcome. */
  const firstDeliveries = (fn: string, ids: readonly string[], match: (recorded: string, id: string) => boolean = (a, b) => a === b): Promise<Delivery[]> =>
    waitFor(`the deliveries of ${ids.join(', ')} to ${fn}`, async () => {
      const all = (await deliveries()).filter((delivery) => delivery.function === fn)
      const first = ids.map((id) => all.find((delivery) => delivery.ids.some((recorded) => match(recorded, id))))
      return first.every((delivery) => delivery !== undefined && delivery.outcome !== 'pending') ? (first as Delivery[]) : undefined
    })

  const fire = async (trigger: Trigger): Promise<Outcome> => {
    const fn = `${SERVICE}-${trigger.function}`
    const from = offline.stdout().length
    let redelivered: number[] = []
    switch (trigger.kind) {
      case 'schedule': {
        const response = await fetch(`${offline.services}/polycloud/schedules/${fn}`, { method: 'POST' })
        if (response.status !== 202) throw new Error(`firing the schedule of ${fn} answered ${response.status}: ${await response.text()}`)
        const { fired } = (await response.json()) as { fired: Array<{ id: string }> }
        await firstDeliveries(fn, fired.map(({ id }) => id))
        break
      }
      case 'queue': {
        const sent = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: await queueUrl(`${SERVICE}-${trigger.queue}`), Entries: trigger.messages.map((body, index) => ({ Id: `m${index}`, MessageBody: body })) }),
        )
        if ((sent.Failed ?? []).length > 0) throw new Error(`SendMessageBatch failed: ${JSON.stringify(sent.Failed)}`)
        const ids = trigger.messages.map((_, index) => sent.Successful?.find((entry) => entry.Id === `m${index}`)?.MessageId as string)
        const first = await firstDeliveries(fn, ids)
        redelivered = ids.flatMap((id, index) => ((first[index] as Delivery).outcome === 'failed' || (first[index] as Delivery).failed?.includes(id) ? [index] : []))
        break
      }
      case 'topic': {
        const topics = (await sns.send(new ListTopicsCommand({}))).Topics ?? []
        const topicArn = topics.find((topic) => topic.TopicArn?.endsWith(`:${trigger.topic}`))?.TopicArn
        if (topicArn === undefined) throw new Error(`no topic ${trigger.topic} among ${JSON.stringify(topics)}`)
        const attributes = Object.fromEntries(Object.entries(trigger.attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]))
        const { MessageId } = await sns.send(new PublishCommand({ TopicArn: topicArn, Message: trigger.body, MessageAttributes: attributes }))
        await firstDeliveries(fn, [MessageId as string])
        break
      }
      case 'storage': {
        for (const key of [...(trigger.ignored ?? []), trigger.key]) {
          await s3.send(new PutObjectCommand({ Bucket: trigger.bucket, Key: key, Body: new Uint8Array(trigger.size), ContentType: 'image/png' }))
        }
        // An S3 notification's id here is `<key as S3 encodes it>@<sequencer>`.
        await firstDeliveries(fn, [trigger.key], (recorded, key) => decodeKey(recorded.slice(0, recorded.lastIndexOf('@'))) === key)
        break
      }
    }
    await quiet(offline.stdout)
    return { redelivered, logs: logLines(offline.stdout().slice(from)) }
  }

  return {
    provider: 'aws',
    url: (path) => `${offline.url}${path}`,
    httpLogs: () => logLines(offline.stdout()),
    logs: () => logLines(offline.stdout()),
    fire,
    async deadLetters(queue) {
      const url = await queueUrl(`${SERVICE}-${queue}-dlq`)
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
      if (Messages.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle as string })) }))
      }
      return Messages.map((message) => message.Body as string)
    },
    async stop() {
      for (const client of [sqs, sns, s3]) client.destroy()
      await offline.stop()
    },
  }
}
