import { HttpError, quote, isTextContentType, utf8DecodeStrict, bytesToBase64, type OutgoingResponse } from '@polycloud/core/adapter'

/** Header or query maps of the 1.0 payload formats (REST API, ALB): single values, and every value. */
export type Single = Record<string, string | undefined>
export type Multi = Record<string, string[] | undefined>

/** The body fields of every Lambda HTTP response format. */
export interface LambdaBody {
  body: string
  isBase64Encoded: boolean
}

/**
 * Encodes a buffered body for a Lambda HTTP response: strings go as they are; bytes go as text when the content
 * type is textual and the bytes are valid UTF-8, else as base64 (so binary survives byte for byte).
 */
export function encodeBody(response: OutgoingResponse): LambdaBody {
  const body = response.body
  if (body === null) return { body: '', isBase64Encoded: false }
  if (typeof body === 'string') return { body, isBase64Encoded: false }
  if (!(body instanceof Uint8Array)) throw new TypeError('response body must be buffered before encoding')
  if (isTextContentType(response.headers['content-type'])) {
    const text = utf8DecodeStrict(body)
    if (text !== undefined) return { body: text, isBase64Encoded: false }
  }
  return { body: bytesToBase64(body), isBase64Encoded: true }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const STANDARD = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])

/** A request method must be an HTTP token; anything else (an unfilled template, say) is refused with a 400. */
export function checkMethod(method: unknown, field: string): string {
  // The standard methods skip the regular expression (and its compilation on a cold start).
  if (typeof method === 'string' && (method === 'GET' || STANDARD.has(method) || TOKEN.test(method))) return method
  throw new HttpError(400, `Invalid HTTP method in ${field}: ${quote(method)}`)
}

/** Scheme and host for a request URL from the forwarding headers, as the client saw them. */
export function origin(proto: string | null, host: string | null | undefined, fallbackProto: string): string {
  return `${proto ?? fallbackProto}://${host || 'localhost'}`
}

/** The last path segment of an ARN-like name (`arn:aws:sqs:eu-west-1:1234:orders` -> `orders`). */
export function arnName(arn: string): string {
  const slash = arn.lastIndexOf('/')
  const colon = arn.lastIndexOf(':')
  return arn.slice(Math.max(slash, colon) + 1)
}
