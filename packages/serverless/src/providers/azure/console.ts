/**
 * The local console's view of azurite's Storage queues (what the Storage queue triggers read): every queue of the
 * account with the messages visible in it (Storage's Peek Messages: at most 32; a message being processed is
 * invisible and not shown), and each `<queue>-poison` queue, whose message the console can send back to `<queue>`.
 * The host's own queues (`azure-webjobs-*`) are left out.
 */
import type { MessageView, QueueSource, QueueView } from '../../console/model.js'
import { traceIdOf } from '../../console/model.js'
import type { LocalServiceBus, ServiceBusMessage } from './local/service-bus.js'

const POISON = '-poison'
const PEEK_LIMIT = 32

/** A message's text as the handler reads it (base64, the host's default encoding), else as stored. */
function text(stored: string): string {
  const bytes = Buffer.from(stored, 'base64')
  const decoded = bytes.toString('utf8')
  return bytes.length > 0 && bytes.toString('base64') === stored && Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : stored
}

/** A `traceparent` the message's JSON body carries (Storage queue messages have no attributes). */
function bodyTrace(body: string): string | undefined {
  const match = /"traceparent"\s*:\s*"([^"]{55})"/.exec(body)
  return traceIdOf(match?.[1])
}

export function storageQueues(connectionString: string): QueueSource {
  const client = async () => {
    const { QueueServiceClient } = await import('@azure/storage-queue')
    return QueueServiceClient.fromConnectionString(connectionString)
  }
  return {
    description:
      'azurite Storage queues: the messages visible in each queue (at most 32 per queue; a message being processed is invisible), and the poison queues, whose messages can be sent back to their queue.',
    async list(): Promise<QueueView[]> {
      const service = await client()
      const names: string[] = []
      for await (const queue of service.listQueues()) if (!queue.name.startsWith('azure-webjobs-')) names.push(queue.name)
      const all = new Set(names)
      return Promise.all(
        names.sort().map(async (name) => {
          const { peekedMessageItems } = await service.getQueueClient(name).peekMessages({ numberOfMessages: PEEK_LIMIT })
          const messages: MessageView[] = peekedMessageItems.map((message) => {
            const body = text(message.messageText)
            const traceId = bodyTrace(body)
            return { id: message.messageId, body, attributes: { dequeueCount: String(message.dequeueCount), expiresOn: message.expiresOn.toISOString() }, sentAt: message.insertedOn.getTime(), receiveCount: message.dequeueCount, ...(traceId === undefined ? {} : { traceId }) }
          })
          const source = name.endsWith(POISON) ? name.slice(0, -POISON.length) : undefined
          return source === undefined
            ? { name, role: 'queue' as const, messages, redeliver: false }
            : { name, role: 'dead-letter' as const, source, messages, redeliver: all.has(source) }
        }),
      )
    },
    async redeliver(queue, id) {
      if (!queue.endsWith(POISON)) throw new Error(`${queue} is not a poison queue`)
      const source = queue.slice(0, -POISON.length)
      const service = await client()
      const poison = service.getQueueClient(queue)
      // Storage deletes a message by its pop receipt: received (hidden a second), the others reappear at once after.
      const { receivedMessageItems } = await poison.receiveMessages({ numberOfMessages: PEEK_LIMIT, visibilityTimeout: 1 })
      const message = receivedMessageItems.find((candidate) => candidate.messageId === id)
      if (message === undefined) throw new Error(`no message ${id} is visible in ${queue}`)
      await service.getQueueClient(source).sendMessage(message.messageText)
      await poison.deleteMessage(message.messageId, message.popReceipt)
      return `Message ${id} sent back from ${queue} to ${source}.`
    },
  }
}

/** Service Bus's name for an entity's dead-letter queue. */
const DEAD_LETTER = '/$DeadLetterQueue'

/**
 * The local console's view of the Service Bus stand-in (`local/service-bus.ts`): under `npm start` it hands each
 * message straight to the subscribed function, so an entity holds a message only while nothing delivers it (the
 * stand-in started without a delivery), and its `$DeadLetterQueue` the messages that failed every delivery, which the
 * console can send back.
 */
export function serviceBusQueues(bus: Pick<LocalServiceBus, 'entities' | 'messages' | 'deadLetters' | 'redeliver'>): QueueSource {
  const view = (message: ServiceBusMessage): MessageView => {
    const body = message.body.toString('utf8')
    const traceparent = message.applicationProperties.traceparent ?? message.applicationProperties['Diagnostic-Id']
    const traceId = typeof traceparent === 'string' ? traceIdOf(traceparent) : bodyTrace(body)
    const attributes: Record<string, string> = { deliveryCount: String(message.deliveryCount), ...(message.label === undefined ? {} : { label: message.label }) }
    for (const [name, value] of Object.entries(message.applicationProperties)) attributes[name] = String(value)
    return { id: message.messageId, body, attributes, receiveCount: message.deliveryCount, sentAt: message.enqueuedTimeUtc.getTime(), ...(traceId === undefined ? {} : { traceId }) }
  }
  return {
    description:
      'Service Bus (the local stand-in, in memory): it hands each message to its function at once, so nothing waits in an entity; each $DeadLetterQueue shows the messages that failed every delivery, which can be sent back.',
    async list(): Promise<QueueView[]> {
      return bus.entities().flatMap((entity) => [
        { name: entity, role: 'queue' as const, messages: bus.messages(entity).map(view), redeliver: false },
        { name: `${entity}${DEAD_LETTER}`, role: 'dead-letter' as const, source: entity, messages: bus.deadLetters(entity).map(view), redeliver: true },
      ])
    },
    async redeliver(queue, id) {
      if (!queue.endsWith(DEAD_LETTER)) throw new Error(`${queue} is not a dead-letter queue`)
      const entity = queue.slice(0, -DEAD_LETTER.length)
      bus.redeliver(entity, id)
      return `Message ${id} sent back from ${queue} to ${entity}.`
    },
  }
}
