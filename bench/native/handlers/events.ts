// Bare event handlers doing what the demo's portable event handlers do, for the bench's baseline (thumbnails is in
// storage.ts, readings in iot.ts).
import { PublishCommand } from '@aws-sdk/client-sns'
import { env, sns } from './aws.js'

interface SqsEvent {
  Records: Array<{ messageId: string; body: string }>
}

export const report = async () => {
  console.log(JSON.stringify({ message: 'nightly report' }))
}

export const orders = async (event: SqsEvent) => {
  const batchItemFailures: Array<{ itemIdentifier: string }> = []
  for (const record of event.Records) {
    try {
      const order = JSON.parse(record.body) as { id?: string; total?: number }
      if (!order.id) throw new Error('no id')
      if (typeof order.total === 'number' && order.total >= Number(process.env.ALERT_THRESHOLD ?? 1000)) {
        await sns.send(new PublishCommand({ TopicArn: env('ALERTS_TOPIC_ARN'), Subject: 'Large order', Message: `order ${order.id} totals ${order.total}` }))
      }
    } catch {
      batchItemFailures.push({ itemIdentifier: record.messageId })
    }
  }
  return { batchItemFailures }
}

export const alerts = async (event: { Records: Array<{ Sns: { Message: string } }> }) => {
  for (const record of event.Records) console.log(JSON.stringify({ message: 'alert', body: record.Sns.Message }))
}
