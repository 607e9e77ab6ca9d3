import {
  BaseRequest,
  PortableHeaders,
  PortableQuery,
  isRecord,
  normalizePath,
  queryFromRecord,
  jwtCaller,
  type BodySource,
  type Caller,
  type HttpSource,
  type OutgoingResponse,
} from '@polycloud/core/adapter'
import { checkMethod, encodeBody, origin } from './http.js'

/** API Gateway HTTP API payload format 2.0 (also the Function URL format). */
export interface ApiGatewayV2Event {
  version: '2.0'
  routeKey?: string
  rawPath: string
  rawQueryString?: string
  cookies?: string[]
  headers?: Record<string, string>
  queryStringParameters?: Record<string, string> | null
  pathParameters?: Record<string, string> | null
  requestContext: {
    domainName?: string
    requestId?: string
    http: { method: string; path?: string; sourceIp?: string }
    [key: string]: unknown
  }
  body?: string | null
  isBase64Encoded?: boolean
  [key: string]: unknown
}

export interface ApiGatewayV2Result {
  statusCode: number
  headers: Record<string, string>
  cookies?: string[]
  body: string
  isBase64Encoded: boolean
}

/** A 2.0-format request: cookies come as an array (API Gateway removes the Cookie header), query as a raw string. */
export class ApiGatewayV2Request extends BaseRequest<ApiGatewayV2Event> {
  readonly method: string

  constructor(event: ApiGatewayV2Event) {
    super(event)
    this.method = checkMethod(event.requestContext.http.method, 'requestContext.http.method')
  }

  override get params(): Readonly<Record<string, string>> {
    return this.native.pathParameters ?? super.params
  }

  /** The address API Gateway (or the Function URL) saw the request come from; never a header the client sent. */
  override get ip(): string | undefined {
    const ip: unknown = this.native.requestContext.http.sourceIp
    return typeof ip === 'string' && ip !== '' ? ip : undefined
  }

  /** The claims and scopes an HTTP API JWT authorizer verified (`requestContext.authorizer.jwt`). */
  protected override readAuth(): Caller | undefined {
    const jwt = (this.native.requestContext.authorizer as { jwt?: { claims?: unknown; scopes?: unknown } } | undefined)?.jwt
    if (!isRecord(jwt) || !isRecord(jwt.claims)) return undefined
    const scopes = Array.isArray(jwt.scopes) ? jwt.scopes.filter((scope): scope is string => typeof scope === 'string') : undefined
    return jwtCaller(jwt.claims, scopes !== undefined && scopes.length > 0 ? scopes : undefined)
  }

  protected readUrl(): string {
    const event = this.native
    const headers = this.headers
    const query = event.rawQueryString
    return `${origin(headers.get('x-forwarded-proto'), headers.get('host') ?? event.requestContext.domainName, 'https')}${normalizePath(event.rawPath)}${query ? `?${query}` : ''}`
  }

  protected readHeaders(): PortableHeaders {
    const { headers, cookies } = this.native
    if (!Array.isArray(cookies) || cookies.length === 0) return PortableHeaders.from(headers)
    const cookie = (cookies as unknown[]).filter((item): item is string => typeof item === 'string').join('; ')
    return PortableHeaders.from({ ...headers, cookie })
  }

  /** One header read in place (the trace's), except `cookie`, which the `cookies` array makes. */
  protected override readHeader(name: string): string | null {
    return name === 'cookie' ? this.headers.get(name) : PortableHeaders.lookup(this.native.headers, name)
  }

  protected readQuery(): PortableQuery {
    const event = this.native
    if (typeof event.rawQueryString === 'string') return PortableQuery.parse(event.rawQueryString)
    // No raw query: the parsed one joins repeated values with commas, which cannot be split back safely.
    return queryFromRecord(event.queryStringParameters)
  }

  protected readBody(): BodySource {
    const { body, isBase64Encoded } = this.native
    if (body == null) return null
    return isBase64Encoded ? { base64: body } : body
  }
}

/** Whether an input is in payload format 2.0 with an HTTP request context. */
export function isV2Http(input: unknown): input is ApiGatewayV2Event {
  if (!isRecord(input) || input.version !== '2.0' || typeof input.rawPath !== 'string') return false
  const context = input.requestContext
  return isRecord(context) && isRecord(context.http)
}

export function v2Response(response: OutgoingResponse): ApiGatewayV2Result {
  const { body, isBase64Encoded } = encodeBody(response)
  const result: ApiGatewayV2Result = { statusCode: response.status, headers: response.headers, body, isBase64Encoded }
  if (response.cookies.length > 0) result.cookies = response.cookies
  return result
}

const LAMBDA_URL = '.lambda-url.'

export const apiGatewayV2: HttpSource<ApiGatewayV2Event, ApiGatewayV2Result> = {
  name: 'aws:api-gateway-v2',
  kind: 'http',
  canHandle(input): input is ApiGatewayV2Event {
    if (!isV2Http(input)) return false
    const domain = input.requestContext.domainName
    return typeof domain !== 'string' || !domain.includes(LAMBDA_URL)
  },
  getRequest: (event) => new ApiGatewayV2Request(event),
  getResponse: v2Response,
}
