/**
 * The local console's view of the local SQS (`local/sqs.ts`): every queue with the messages it holds, the
 * dead-letter queues (a queue another one's redrive policy names) with a redrive of one message to its source.
 */
import type { QueueSource, QueueView } from '../../console/model.js'
import { traceIdOf } from '../../console/model.js'
import type { LocalSqs } from './local/sqs.js'

export function sqsQueues(sqs: LocalSqs): QueueSource {
  return {
    description: 'Local SQS: every message a queue holds, those being delivered marked; a dead-lettered message can be sent back to its queue (SQS redrive of one message).',
    async list(): Promise<QueueView[]> {
      return sqs.names().map((name) => {
        const sources = sqs.deadLetterSources(name)
        const messages = sqs.peek(name).map((message) => {
          const attributes = Object.fromEntries(Object.entries(message.attributes).map(([key, value]) => [key, value.StringValue ?? `(${value.DataType})`]))
          if (message.inFlight) attributes['(local)'] = 'in flight or delayed'
          const traceId = traceIdOf(message.attributes.traceparent?.StringValue)
          return { id: message.id, body: message.body, attributes, receiveCount: message.receiveCount, sentAt: message.sent, ...(traceId === undefined ? {} : { traceId }) }
        })
        return sources.length > 0
          ? { name, role: 'dead-letter' as const, source: sources.join(', '), messages, redeliver: true }
          : { name, role: 'queue' as const, messages, redeliver: false }
      })
    },
    async redeliver(queue, id) {
      const source = sqs.redrive(queue, id)
      return `Message ${id} sent back from ${queue} to ${source}.`
    },
  }
}
