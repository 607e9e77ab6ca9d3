/**
 * Topics on SNS over its Query protocol (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html): `Publish`
 * with String message attributes and the subject, signed with SigV4, to the endpoint override
 * (`AWS_ENDPOINT_URL_SNS`) or `sns.<region>.amazonaws.com`. Bodies as SQS's (see message.ts).
 */
import { type Call, type MessageBackend, type MessageLimits, type OutgoingMessage, xmlValue } from '@polycloud/resources/driver'
import { request } from '@polycloud/resources/node-http'
import { awsError } from './errors.js'
import { messageSize, textBody, xrayOf } from './message.js'
import { canonicalQuery, sha256Hex, sign, type Credentials } from './sigv4.js'

/** SNS delivers at most 10 attributes to an SQS queue with raw delivery (more are dropped as client errors). */
export const MAX_ATTRIBUTES = 10

export interface SnsConfig {
  readonly topicArn: string
  readonly region: string
  readonly credentials: Credentials
  readonly endpoint: string
  readonly limits: MessageLimits
}

export interface SnsMessage {
  readonly size: number
  readonly body: string
  readonly attributes: Readonly<Record<string, string>>
  readonly subject: string | undefined
  /** The X-Ray header of its trace: `X-Amzn-Trace-Id` of the Publish request. */
  readonly trace: string | undefined
}

export function openSns(config: SnsConfig): MessageBackend<SnsMessage> {
  const url = new URL(config.endpoint)
  return {
    limits: config.limits,
    encode(message: OutgoingMessage): SnsMessage {
      const { body, attributes } = textBody(message, 'SNS', MAX_ATTRIBUTES)
      return { size: messageSize(body, attributes), body, attributes, subject: message.subject, trace: xrayOf(message.attributes.traceparent) }
    },
    async send(messages: readonly SnsMessage[], _batch: boolean, call: Call): Promise<void> {
      const message = messages[0] as SnsMessage
      const params: Array<[string, string]> = [['Action', 'Publish'], ['Version', '2010-03-31'], ['TopicArn', config.topicArn], ['Message', message.body]]
      if (message.subject !== undefined) params.push(['Subject', message.subject])
      Object.keys(message.attributes).forEach((name, index) => {
        const prefix = `MessageAttributes.entry.${index + 1}`
        params.push([`${prefix}.Name`, name], [`${prefix}.Value.DataType`, 'String'], [`${prefix}.Value.StringValue`, message.attributes[name] as string])
      })
      const body = canonicalQuery(params)
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }
      if (message.trace !== undefined) headers['x-amzn-trace-id'] = message.trace
      sign({ method: 'POST', url, headers, payloadHash: sha256Hex(body), region: config.region, service: 'sns', credentials: config.credentials })
      const response = await request({ method: 'POST', url, headers, body, signal: call.signal })
      const text = await response.text()
      if (response.status !== 200) throw awsError('SNS', response.status, xmlValue(text, 'Code') ?? '', xmlValue(text, 'Message') ?? (text.trim() || `HTTP ${response.status}`))
    },
  }
}
