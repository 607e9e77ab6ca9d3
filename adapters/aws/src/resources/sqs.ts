/**
 * Queues on SQS over its JSON protocol (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/):
 * `AmazonSQS.SendMessage` and `SendMessageBatch`, signed with SigV4, to the endpoint override (`AWS_ENDPOINT_URL_SQS`)
 * or the queue URL's own host. The body MD5 SQS answers is checked. A body that is not XML-safe UTF-8 text goes
 * base64 with the attribute `polycloud.encoding: base64`, which the SQS and SNS sources of @polycloud/aws take off.
 */
import { createHash } from 'node:crypto'
import { DriverError, type Call, type MessageBackend, type MessageLimits, type OutgoingMessage } from '@polycloud/resources/driver'
import { request } from '@polycloud/resources/node-http'
import { awsError } from './errors.js'
import { sha256Hex, sign, type Credentials } from './sigv4.js'
import { messageSize, textBody, xrayOf } from './message.js'

/** Message attributes SQS carries (and SNS delivers to an SQS queue with raw delivery). */
export const MAX_ATTRIBUTES = 10

export interface SqsConfig {
  readonly queueUrl: string
  readonly region: string
  readonly credentials: Credentials
  /** The endpoint requests go to: the override, or the queue URL's origin. */
  readonly endpoint: string
  readonly limits: MessageLimits
}

export interface SqsMessage {
  readonly size: number
  readonly body: string
  readonly attributes: Readonly<Record<string, string>>
  readonly delaySeconds: number
  /** The X-Ray header of its trace: the `AWSTraceHeader` system attribute. */
  readonly trace: string | undefined
}

export function openSqs(config: SqsConfig): MessageBackend<SqsMessage> {
  const url = new URL(config.endpoint)
  return {
    limits: config.limits,
    encode(message: OutgoingMessage): SqsMessage {
      const { body, attributes } = textBody(message, 'SQS', MAX_ATTRIBUTES)
      return { size: messageSize(body, attributes), body, attributes, delaySeconds: message.delaySeconds, trace: xrayOf(message.attributes.traceparent) }
    },
    async send(messages: readonly SqsMessage[], batch: boolean, call: Call): Promise<void> {
      const payload = batch
        ? { QueueUrl: config.queueUrl, Entries: messages.map((message, index) => ({ Id: String(index), ...entry(message) })) }
        : { QueueUrl: config.queueUrl, ...entry(messages[0] as SqsMessage) }
      const body = JSON.stringify(payload)
      const headers: Record<string, string> = {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': batch ? 'AmazonSQS.SendMessageBatch' : 'AmazonSQS.SendMessage',
      }
      sign({ method: 'POST', url, headers, payloadHash: sha256Hex(body), region: config.region, service: 'sqs', credentials: config.credentials })
      const response = await request({ method: 'POST', url, headers, body, signal: call.signal })
      const text = await response.text()
      const answer = parse(text)
      if (response.status !== 200) {
        const type = String(answer.__type ?? '')
        const query = response.header('x-amzn-query-error')?.split(';')[0]
        throw awsError('SQS', response.status, type.slice(type.indexOf('#') + 1) || query || '', String(answer.message ?? answer.Message ?? text))
      }
      if (!batch) return checkMd5(messages[0] as SqsMessage, answer.MD5OfMessageBody, 0)
      const failed = Array.isArray(answer.Failed) ? (answer.Failed as Array<Record<string, unknown>>) : []
      const sent = Array.isArray(answer.Successful) ? (answer.Successful as Array<Record<string, unknown>>) : []
      for (const item of sent) {
        const index = Number(item.Id)
        checkMd5(messages[index] as SqsMessage, item.MD5OfMessageBody, index)
      }
      if (failed.length > 0) {
        const indexes = failed.map((item) => Number(item.Id)).sort((a, b) => a - b)
        const first = failed[0] as Record<string, unknown>
        const error = awsError('SQS', 400, String(first.Code ?? ''), String(first.Message ?? ''))
        const code = failed.every((item) => item.SenderFault === false) ? 'Unavailable' : error.code
        throw new DriverError(code, `SQS did not take messages ${indexes.join(', ')} of the batch (${error.message})`, { status: 200, cause: error.cause, failed: indexes })
      }
    },
  }
}

function entry(message: SqsMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { MessageBody: message.body }
  if (message.delaySeconds > 0) out.DelaySeconds = message.delaySeconds
  const names = Object.keys(message.attributes)
  if (names.length > 0) {
    const attributes: Record<string, unknown> = {}
    for (const name of names) attributes[name] = { DataType: 'String', StringValue: message.attributes[name] }
    out.MessageAttributes = attributes
  }
  if (message.trace !== undefined) out.MessageSystemAttributes = { AWSTraceHeader: { DataType: 'String', StringValue: message.trace } }
  return out
}

function parse(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/** SQS answers the MD5 of the body it stored: a different one means the message changed on the way. */
function checkMd5(message: SqsMessage, md5: unknown, index: number): void {
  if (typeof md5 !== 'string') return
  if (createHash('md5').update(message.body, 'utf8').digest('hex') !== md5) {
    throw new DriverError('Unavailable', `SQS stored message ${index} with another MD5 (${md5}): the body changed on the way`)
  }
}

