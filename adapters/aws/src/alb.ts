import {
  BaseRequest,
  PortableHeaders,
  lastForwardedFor,
  PortableQuery,
  isRecord,
  queryFromRecord,
  normalizePath,
  queryString,
  setOwn,
  type BodySource,
  type HttpSource,
  type OutgoingResponse,
} from '@polycloud/core/adapter'
import { checkMethod, encodeBody, origin, type Multi, type Single } from './http.js'
import { reasonPhrase } from './status.js'

/** Application Load Balancer target event, single-value or multi-value-headers mode. */
export interface AlbEvent {
  requestContext: { elb: { targetGroupArn?: string } }
  httpMethod: string
  path: string
  headers?: Single
  multiValueHeaders?: Multi
  queryStringParameters?: Single
  multiValueQueryStringParameters?: Multi
  body?: string | null
  isBase64Encoded?: boolean
  [key: string]: unknown
}

export interface AlbResult {
  statusCode: number
  statusDescription: string
  headers?: Record<string, string>
  multiValueHeaders?: Record<string, string[]>
  body: string
  isBase64Encoded: boolean
}

/**
 * An ALB request. Unlike API Gateway, ALB passes query strings without decoding them, so keys and values are
 * percent-decoded here (a malformed escape is kept as sent).
 */
export class AlbRequest extends BaseRequest<AlbEvent> {
  readonly method: string

  constructor(event: AlbEvent) {
    super(event)
    this.method = checkMethod(event.httpMethod, 'httpMethod')
  }

  /** The address the load balancer saw: the last X-Forwarded-For entry, the one it appended (earlier ones are the client's). */
  override get ip(): string | undefined {
    return lastForwardedFor(this.headers.get('x-forwarded-for'))
  }

  protected readUrl(): string {
    const headers = this.headers
    return `${origin(headers.get('x-forwarded-proto'), headers.get('host'), 'http')}${normalizePath(this.native.path)}${queryString(this.query)}`
  }

  protected readHeaders(): PortableHeaders {
    const event = this.native
    return event.multiValueHeaders ? PortableHeaders.from(null, event.multiValueHeaders) : PortableHeaders.from(event.headers)
  }

  protected readQuery(): PortableQuery {
    const event = this.native
    return queryFromRecord(event.multiValueQueryStringParameters ?? event.queryStringParameters, true)
  }

  protected readBody(): BodySource {
    const { body, isBase64Encoded } = this.native
    if (body == null) return null
    return isBase64Encoded ? { base64: body } : body
  }
}

/**
 * The response must use the mode of the request. In single-value mode a header can appear once, so several
 * Set-Cookie values are sent under differently-cased names (set-cookie, Set-cookie, ...): HTTP header names are
 * case-insensitive, and the load balancer passes each through as its own header.
 */
export function albResponse(response: OutgoingResponse, event: AlbEvent): AlbResult {
  const { body, isBase64Encoded } = encodeBody(response)
  const result: AlbResult = {
    statusCode: response.status,
    statusDescription: `${response.status} ${reasonPhrase(response.status) ?? 'Unknown'}`,
    body,
    isBase64Encoded,
  }
  if (event.multiValueHeaders) {
    const multi: Record<string, string[]> = {}
    for (const name of Object.keys(response.headers)) setOwn(multi, name, [response.headers[name] as string])
    if (response.cookies.length > 0) multi['set-cookie'] = response.cookies
    result.multiValueHeaders = multi
  } else {
    const headers = { ...response.headers }
    response.cookies.forEach((cookie, index) => {
      headers[caseVariant('set-cookie', index)] = cookie
    })
    result.headers = headers
  }
  return result
}

/** The index-th distinct upper/lower-case spelling of a header name. */
export function caseVariant(name: string, index: number): string {
  let out = ''
  let bit = 0
  for (const char of name) {
    if (char.toLowerCase() !== char.toUpperCase()) {
      out += (index >> bit) & 1 ? char.toUpperCase() : char
      bit++
    } else {
      out += char
    }
  }
  return out
}

export const alb: HttpSource<AlbEvent, AlbResult> = {
  name: 'aws:alb',
  kind: 'http',
  canHandle(input): input is AlbEvent {
    return (
      isRecord(input) &&
      typeof input.httpMethod === 'string' &&
      typeof input.path === 'string' &&
      isRecord(input.requestContext) &&
      isRecord(input.requestContext.elb)
    )
  },
  getRequest: (event) => new AlbRequest(event),
  getResponse: albResponse,
}
