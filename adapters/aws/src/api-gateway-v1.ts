import {
  BaseRequest,
  PortableHeaders,
  PortableQuery,
  isRecord,
  normalizePath,
  queryFromRecord,
  queryString,
  type BodySource,
  type HttpSource,
  type OutgoingResponse,
} from '@polycloud/core/adapter'
import { checkMethod, encodeBody, origin, type Multi, type Single } from './http.js'

/** API Gateway REST API proxy integration event (payload format 1.0). */
export interface ApiGatewayV1Event {
  resource: string
  path: string
  httpMethod: string
  headers?: Single | null
  multiValueHeaders?: Multi | null
  queryStringParameters?: Single | null
  multiValueQueryStringParameters?: Multi | null
  pathParameters?: Single | null
  requestContext?: {
    path?: string
    domainName?: string
    requestId?: string
    identity?: { sourceIp?: string | null; [key: string]: unknown }
    [key: string]: unknown
  }
  body?: string | null
  isBase64Encoded?: boolean
  [key: string]: unknown
}

export interface ApiGatewayV1Result {
  statusCode: number
  headers: Record<string, string>
  multiValueHeaders?: Record<string, string[]>
  body: string
  isBase64Encoded: boolean
}

/** A REST API request: repeated headers and query keys from the multi-value maps, which hold every value. */
export class ApiGatewayV1Request extends BaseRequest<ApiGatewayV1Event> {
  readonly method: string

  constructor(event: ApiGatewayV1Event) {
    super(event)
    this.method = checkMethod(event.httpMethod, 'httpMethod')
  }

  override get params(): Readonly<Record<string, string>> {
    return (this.native.pathParameters as Record<string, string> | null | undefined) ?? super.params
  }

  /** The address API Gateway saw the request come from (`requestContext.identity.sourceIp`), never a header. */
  override get ip(): string | undefined {
    const ip: unknown = this.native.requestContext?.identity?.sourceIp
    return typeof ip === 'string' && ip !== '' ? ip : undefined
  }

  protected readUrl(): string {
    const event = this.native
    const headers = this.headers
    // requestContext.path is the path the client called (with the stage); `path` is relative to the stage.
    const contextPath = event.requestContext?.path
    const path = typeof contextPath === 'string' ? contextPath : event.path
    return `${origin(headers.get('x-forwarded-proto'), headers.get('host') ?? event.requestContext?.domainName, 'https')}${normalizePath(path)}${queryString(this.query)}`
  }

  protected readHeaders(): PortableHeaders {
    return PortableHeaders.from(this.native.headers, this.native.multiValueHeaders)
  }

  protected readQuery(): PortableQuery {
    const event = this.native
    return queryFromRecord(event.multiValueQueryStringParameters ?? event.queryStringParameters)
  }

  protected readBody(): BodySource {
    const { body, isBase64Encoded } = this.native
    if (body == null) return null
    return isBase64Encoded ? { base64: body } : body
  }
}

export function v1Response(response: OutgoingResponse): ApiGatewayV1Result {
  const { body, isBase64Encoded } = encodeBody(response)
  const result: ApiGatewayV1Result = { statusCode: response.status, headers: response.headers, body, isBase64Encoded }
  if (response.cookies.length > 0) result.multiValueHeaders = { 'set-cookie': response.cookies }
  return result
}

export const apiGatewayV1: HttpSource<ApiGatewayV1Event, ApiGatewayV1Result> = {
  name: 'aws:api-gateway-v1',
  kind: 'http',
  canHandle(input): input is ApiGatewayV1Event {
    if (!isRecord(input)) return false
    if (typeof input.httpMethod !== 'string' || typeof input.path !== 'string') return false
    // REQUEST authorizer events look alike but carry a methodArn; ALB events carry requestContext.elb.
    if ('methodArn' in input) return false
    const context = input.requestContext
    if (isRecord(context) && ('elb' in context || 'connectionId' in context)) return false
    return typeof input.resource === 'string'
  },
  getRequest: (event) => new ApiGatewayV1Request(event),
  getResponse: v1Response,
}
