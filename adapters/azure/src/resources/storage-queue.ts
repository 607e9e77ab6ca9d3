/**
 * Queues on Azure Storage queues over the REST API (https://learn.microsoft.com/rest/api/storageservices/put-message):
 * Put Message with `visibilitytimeout` as the delay. The message text is the base64 of the body (the Functions host's
 * default `messageEncoding`); attributes, or a body the host would not hand over unchanged, go in Polycloud's
 * envelope, which the Storage queue source of @polycloud/azure opens. Storage queues have no batch operation:
 * `sendBatch` sends each message in its own request, all at once.
 */
import { bytesToBase64, utf8Encode } from '@polycloud/core/adapter'
import { DriverError, base64Length, xmlEscape, type Call, type MessageBackend, type MessageLimits, type OutgoingMessage } from '@polycloud/resources/driver'
import type { StorageConnection } from './connection.js'
import { envelopeText, survivesHost } from './message.js'
import { encodePath, storageError, storageRequest } from './storage.js'

export interface StorageQueueConfig {
  readonly queue: string
  readonly connection: StorageConnection
  readonly env: Readonly<Record<string, string | undefined>>
  readonly limits: MessageLimits
}

export interface StorageQueueMessage {
  readonly size: number
  /** The message text: base64. */
  readonly text: string
  readonly delaySeconds: number
}

export function openStorageQueue(config: StorageQueueConfig): MessageBackend<StorageQueueMessage> {
  const path = `/${encodePath(config.queue)}/messages`
  const sendOne = async (message: StorageQueueMessage, call: Call): Promise<void> => {
    const query: Array<[string, string]> = message.delaySeconds > 0 ? [['visibilitytimeout', String(message.delaySeconds)]] : []
    const body = `<?xml version="1.0" encoding="utf-8"?><QueueMessage><MessageText>${xmlEscape(message.text)}</MessageText></QueueMessage>`
    const response = await storageRequest(config.connection, config.env, { method: 'POST', path, query, headers: { 'content-type': 'application/xml; charset=utf-8' }, body }, call.signal)
    if (response.status !== 201) throw await storageError('Storage queue', response)
    response.discard()
  }
  return {
    limits: config.limits,
    encode(message: OutgoingMessage): StorageQueueMessage {
      const plain = Object.keys(message.attributes).length === 0 && survivesHost(message)
      const bytes = plain ? message.bytes : utf8Encode(envelopeText(message, message.attributes))
      return { size: base64Length(bytes.length), text: bytesToBase64(bytes), delaySeconds: message.delaySeconds }
    },
    async send(messages: readonly StorageQueueMessage[], batch: boolean, call: Call): Promise<void> {
      if (!batch) return sendOne(messages[0] as StorageQueueMessage, call)
      const results = await Promise.allSettled(messages.map((message) => sendOne(message, call)))
      const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [index] : []))
      if (failed.length === 0) return
      const first = (results[failed[0] as number] as PromiseRejectedResult).reason as unknown
      // None sent: the first failure as it is (the whole batch may be tried again).
      if (failed.length === messages.length) throw first
      const code = first instanceof DriverError ? first.code : 'Unavailable'
      const reason = first instanceof Error ? first.message : String(first)
      throw new DriverError(code, `messages ${failed.join(', ')} of the batch were not sent (${reason})`, { cause: first, failed })
    },
  }
}
