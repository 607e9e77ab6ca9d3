/** What SQS and SNS messages share: text bodies in XML's character set, at most ten String attributes. */
import { ENCODING_ATTRIBUTE, TRACEPARENT_ATTRIBUTE, TRACESTATE_ATTRIBUTE, bytesToBase64, xrayTraceId } from '@polycloud/core/adapter'
import { DriverError, utf8Length, type OutgoingMessage } from '@polycloud/resources/driver'
import { isXmlText } from '@polycloud/resources/driver'

/**
 * The body as SQS/SNS text: the text itself when it is XML-safe UTF-8, else base64 with Polycloud's encoding
 * attribute (which the receiving sources take off). Refuses more attributes than the service carries.
 */
export function textBody(message: OutgoingMessage, service: string, maxAttributes: number): { body: string; attributes: Readonly<Record<string, string>> } {
  const plain = message.text !== undefined && isXmlText(message.text)
  let attributes = plain ? message.attributes : { ...message.attributes, [ENCODING_ATTRIBUTE]: 'base64' }
  let count = Object.keys(attributes).length
  // The trace attributes give way to the others: over the limit, the message goes untraced rather than refused.
  for (const name of [TRACESTATE_ATTRIBUTE, TRACEPARENT_ATTRIBUTE]) {
    if (count > maxAttributes && Object.hasOwn(attributes, name)) {
      const { [name]: _dropped, ...rest } = attributes
      attributes = rest
      count--
    }
  }
  if (count > maxAttributes) {
    const marker = plain ? '' : ` (one is Polycloud's ${ENCODING_ATTRIBUTE}, as the body is not text ${service} carries)`
    throw new DriverError('Invalid', `${count} attributes, more than the ${maxAttributes} ${service} carries${marker}`)
  }
  return { body: plain ? (message.text as string) : bytesToBase64(message.bytes), attributes }
}

/** Size as SQS and SNS count it: the body and each attribute's name, type (`String`) and value, in UTF-8 bytes. */
export function messageSize(body: string, attributes: Readonly<Record<string, string>>): number {
  let size = utf8Length(body)
  for (const name of Object.keys(attributes)) size += utf8Length(name) + 6 + utf8Length(attributes[name] as string)
  return size
}

const TRACEPARENT = /^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/

/**
 * The X-Ray trace header (`Root=1-...;Parent=...;Sampled=...`) of the `traceparent` a write carries, for AWS's own
 * propagation: SQS's `AWSTraceHeader` system attribute (not counted in the ten attributes), and the `X-Amzn-Trace-Id`
 * header of SNS Publish and S3 PutObject, which SNS passes to its subscribers and S3 to its event notifications'
 * Lambda, SQS and SNS destinations (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html). So the
 * trace continues where no attribute or metadata reaches the receiver: a function an S3 event invokes reads it from
 * `_X_AMZN_TRACE_ID`. Undefined without a version-00 `traceparent`.
 */
export function xrayOf(traceparent: string | undefined): string | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent)
  if (match === null) return undefined
  return `Root=${xrayTraceId(match[1] as string)};Parent=${match[2] as string};Sampled=${Number.parseInt(match[3] as string, 16) & 1}`
}
