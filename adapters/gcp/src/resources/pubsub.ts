/**
 * Queues and topics on Pub/Sub over its REST API (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics/publish):
 * `POST /v1/projects/<project>/topics/<topic>:publish` with the data base64 and the attributes; the subject, which
 * Pub/Sub does not have, as the attribute `polycloud.subject` (the Pub/Sub source of @polycloud/gcp takes it off).
 * Pub/Sub has no per-message delay. An emulator (`PUBSUB_EMULATOR_HOST`) gets no credentials.
 */
import { SUBJECT_ATTRIBUTE, bytesToBase64 } from '@polycloud/core/adapter'
import { DriverError, utf8Length, type Call, type MessageBackend, type MessageLimits, type OutgoingMessage } from '@polycloud/resources/driver'
import { request } from '@polycloud/resources/node-http'
import type { GoogleAuth } from './auth.js'
import { googleError } from './errors.js'

export const MAX_ATTRIBUTES = 100
const MAX_ATTRIBUTE_KEY_BYTES = 256
const MAX_ATTRIBUTE_VALUE_BYTES = 1024

export interface PubSubConfig {
  readonly topic: string
  /** The topic's project, or undefined for the function's. */
  readonly project: string | undefined
  readonly origin: string
  readonly auth: GoogleAuth
  readonly limits: MessageLimits
}

export interface PubSubMessage {
  readonly size: number
  readonly data: string
  readonly attributes: Readonly<Record<string, string>>
}

export function openPubSub(config: PubSubConfig): MessageBackend<PubSubMessage> {
  let path: Promise<string> | undefined
  const topicPath = (signal: AbortSignal | undefined): Promise<string> => {
    if (path === undefined) {
      const started = (path = (config.project === undefined ? config.auth.project(signal) : Promise.resolve(config.project)).then(
        (project) => `/v1/projects/${encodeURIComponent(project)}/topics/${encodeURIComponent(config.topic)}:publish`,
      ))
      started.catch(() => {
        if (path === started) path = undefined
      })
    }
    return path
  }
  return {
    limits: config.limits,
    encode(message: OutgoingMessage): PubSubMessage {
      const attributes = message.subject === undefined ? message.attributes : { ...message.attributes, [SUBJECT_ATTRIBUTE]: message.subject }
      const names = Object.keys(attributes)
      if (names.length > MAX_ATTRIBUTES) throw new DriverError('Invalid', `${names.length} attributes, more than the ${MAX_ATTRIBUTES} Pub/Sub carries`)
      let size = message.bytes.length
      for (const name of names) {
        const value = attributes[name] as string
        if (utf8Length(name) > MAX_ATTRIBUTE_KEY_BYTES) throw new DriverError('Invalid', `attribute ${name}: Pub/Sub takes names of at most ${MAX_ATTRIBUTE_KEY_BYTES} bytes`)
        if (utf8Length(value) > MAX_ATTRIBUTE_VALUE_BYTES) throw new DriverError('Invalid', `attribute ${name}: Pub/Sub takes values of at most ${MAX_ATTRIBUTE_VALUE_BYTES} bytes`)
        size += utf8Length(name) + utf8Length(value)
      }
      return { size, data: bytesToBase64(message.bytes), attributes }
    },
    async send(messages: readonly PubSubMessage[], _batch: boolean, call: Call): Promise<void> {
      const url = new URL(`${config.origin}${await topicPath(call.signal)}`)
      const body = JSON.stringify({ messages: messages.map((message) => (Object.keys(message.attributes).length > 0 ? { data: message.data, attributes: message.attributes } : { data: message.data })) })
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      const authorization = await config.auth.authorization(call.signal)
      if (authorization !== undefined) headers.authorization = authorization
      const response = await request({ method: 'POST', url, headers, body, signal: call.signal })
      const text = await response.text()
      if (response.status !== 200) throw await googleError('Pub/Sub', response, text)
      // A publish is all or nothing: the answer has one id per message.
      const ids = (JSON.parse(text) as { messageIds?: unknown[] }).messageIds
      if (!Array.isArray(ids) || ids.length !== messages.length) throw new DriverError('Unavailable', `Pub/Sub answered ${Array.isArray(ids) ? ids.length : 'no'} message ids for ${messages.length} messages`)
    },
  }
}
