/**
 * The local console's view of the local Pub/Sub (`emulator.ts`): each push subscription with the messages it has not
 * had acknowledged (being pushed, or waiting for a retry), and each dead-letter topic's pull subscription with the
 * messages it keeps, which the console can push again to the subscription they came from.
 */
import type { QueueSource, QueueView } from '../../console/model.js'
import { traceIdOf } from '../../console/model.js'
import type { Emulator } from './emulator.js'

/** A message's data as text when it is UTF-8, else its base64 as Pub/Sub carries it. */
function dataText(data: string): string {
  const bytes = Buffer.from(data, 'base64')
  const text = bytes.toString('utf8')
  return Buffer.from(text, 'utf8').equals(bytes) ? text : `(base64) ${data}`
}

export function pubSubQueues(emulator: Pick<Emulator, 'waiting' | 'redeliver'>): QueueSource {
  return {
    description:
      'Local Pub/Sub: each push subscription with the messages not yet acknowledged (being pushed or waiting for a retry), each dead-letter subscription with the messages it keeps; a dead-lettered message can be pushed again to the subscription it came from.',
    async list(): Promise<QueueView[]> {
      return emulator.waiting().map(({ subscription, topic, deadLetter, messages }) => {
        const views = messages.map((message) => {
          const traceId = traceIdOf(message.attributes.traceparent)
          return { id: message.messageId, body: dataText(message.data), attributes: { ...message.attributes }, sentAt: Date.parse(message.publishTime), ...(traceId === undefined ? {} : { traceId }) }
        })
        return deadLetter
          ? { name: subscription, role: 'dead-letter' as const, source: `topic ${topic}`, messages: views, redeliver: true }
          : { name: subscription, role: 'queue' as const, note: `push subscription of topic ${topic}`, messages: views, redeliver: false }
      })
    },
    async redeliver(queue, id) {
      const source = emulator.redeliver(queue, id)
      return `Message ${id} pushed again to ${source}.`
    },
  }
}
