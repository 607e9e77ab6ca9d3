/**
 * Queues and topics on Azure Service Bus over its HTTPS send API (https://learn.microsoft.com/rest/api/servicebus/send-message-to-queue,
 * https://learn.microsoft.com/rest/api/servicebus/send-message-batch): `POST <namespace>/<entity>/messages`, authorised
 * with a SAS token from the connection string's key or a managed identity's bearer token. The body is the message's
 * bytes; attributes are application properties (each a header whose value is a JSON string); the subject is the
 * `Label`, a delay the `ScheduledEnqueueTimeUtc`. Polycloud's envelope carries what the Functions library would not
 * hand over unchanged: a body it would change, an attribute name it would change (it lower-cases the first letter of
 * every property name) or a value a header cannot carry (non-ASCII).
 */
import { createHmac } from 'node:crypto'
import { CloudError, DriverError, statusCode, utf8Length, type Call, type MessageBackend, type MessageLimits, type OutgoingMessage } from '@polycloud/resources/driver'
import { request } from '@polycloud/resources/node-http'
import type { BusConnection } from './connection.js'
import { SERVICE_BUS_AUDIENCE, identityToken } from './identity.js'
import { contentTypeOf, envelopeText, survivesHost } from './message.js'

export interface ServiceBusConfig {
  readonly entity: string
  readonly connection: BusConnection
  readonly env: Readonly<Record<string, string | undefined>>
  readonly limits: MessageLimits
}

export interface ServiceBusMessage {
  readonly size: number
  readonly body: string
  readonly contentType: string
  readonly broker: Readonly<Record<string, string>>
  readonly properties: Readonly<Record<string, string>>
}

/** Header names the request already uses or HTTP reserves: such an attribute goes in the envelope. */
const RESERVED = new Set(['authorization', 'brokerproperties', 'content-type', 'content-length', 'host', 'connection', 'transfer-encoding', 'expect', 'date', 'keep-alive', 'te', 'trailer', 'upgrade', 'accept', 'user-agent'])
/** A property name the library keeps as is (its first letter not upper-case) and a header can carry. */
const NATIVE_NAME = /^[a-z0-9_][A-Za-z0-9_.-]*$/
const ASCII = /^[\u0020-\u007e]*$/

function nativeProperty(name: string, value: string): boolean {
  const lower = name.toLowerCase()
  return NATIVE_NAME.test(name) && !RESERVED.has(lower) && !lower.startsWith('x-ms-') && ASCII.test(value)
}

/** A SAS token for a resource URI (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-sas#generate-a-shared-access-signature-token). */
export function sasToken(uri: string, keyName: string, key: string, expiry: number): string {
  const resource = encodeURIComponent(uri)
  const signature = createHmac('sha256', key).update(`${resource}\n${expiry}`, 'utf8').digest('base64')
  return `SharedAccessSignature sr=${resource}&sig=${encodeURIComponent(signature)}&se=${expiry}&skn=${encodeURIComponent(keyName)}`
}

export function openServiceBus(config: ServiceBusConfig): MessageBackend<ServiceBusMessage> {
  const { connection, env } = config
  const entityUri = `${connection.endpoint}/${encodeURIComponent(config.entity)}`
  const url = new URL(`${entityUri}/messages`)
  let sas: { value: string; until: number } | undefined

  const authorization = async (signal: AbortSignal | undefined): Promise<string> => {
    const { auth } = connection
    if (auth.type === 'identity') return `Bearer ${await identityToken(env, SERVICE_BUS_AUDIENCE, auth.clientId, signal)}`
    const now = Math.floor(Date.now() / 1000)
    if (sas === undefined || sas.until - 300 < now) sas = { value: sasToken(entityUri, auth.keyName, auth.key, now + 3600), until: now + 3600 }
    return sas.value
  }

  return {
    limits: config.limits,
    encode(message: OutgoingMessage): ServiceBusMessage {
      const native: Record<string, string> = {}
      const enveloped: Record<string, string> = {}
      for (const name of Object.keys(message.attributes)) {
        const value = message.attributes[name] as string
        if (nativeProperty(name, value)) native[name] = value
        else enveloped[name] = value
      }
      const plain = Object.keys(enveloped).length === 0 && survivesHost(message)
      const body = plain ? (message.text as string) : envelopeText(message, enveloped)
      const broker: Record<string, string> = {}
      if (message.subject !== undefined) broker.Label = message.subject
      // An HTTP date has whole seconds: rounded up, so the message never becomes visible before the delay.
      if (message.delaySeconds > 0) broker.ScheduledEnqueueTimeUtc = new Date(Math.ceil((Date.now() + message.delaySeconds * 1000) / 1000) * 1000).toUTCString()
      let size = utf8Length(body) + utf8Length(JSON.stringify(broker))
      for (const name of Object.keys(native)) size += utf8Length(name) + utf8Length(native[name] as string) + 2
      return { size, body, contentType: plain ? contentTypeOf(message) : 'application/json', broker, properties: native }
    },
    async send(messages: readonly ServiceBusMessage[], batch: boolean, call: Call): Promise<void> {
      const headers: Record<string, string> = { authorization: await authorization(call.signal) }
      let body: string
      if (batch) {
        headers['content-type'] = 'application/vnd.microsoft.servicebus.json'
        body = JSON.stringify(messages.map((message) => ({ Body: message.body, BrokerProperties: { ...message.broker, ContentType: message.contentType }, UserProperties: message.properties })))
      } else {
        const message = messages[0] as ServiceBusMessage
        headers['content-type'] = message.contentType
        if (Object.keys(message.broker).length > 0) headers.brokerproperties = JSON.stringify(message.broker)
        for (const name of Object.keys(message.properties)) headers[name] = JSON.stringify(message.properties[name])
        body = message.body
      }
      const response = await request({ method: 'POST', url, headers, body, signal: call.signal })
      const text = await response.text()
      if (response.status === 201) return
      throw busError(response.status, text)
    },
  }
}

/** Service Bus's answers (https://learn.microsoft.com/rest/api/servicebus/send-message-to-queue#response-codes). */
function busError(status: number, text: string): DriverError {
  const detail = /<Detail>([\s\S]*?)<\/Detail>/.exec(text)?.[1] ?? text.trim()
  const cause = new CloudError('Service Bus', String(status), detail || `HTTP ${status}`, status)
  // 403 is "quota exceeded or message too large"; 410 "the entity does not exist".
  const code = status === 403 && /too large|size/i.test(detail) ? 'TooLarge' : status === 403 && /quota/i.test(detail) ? 'Throttled' : statusCode(status)
  return new DriverError(code, `Service Bus answered ${status}: ${(detail || 'no details').split('\n')[0]}`, { status, cause })
}
