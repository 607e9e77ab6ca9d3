/**
 * AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
 * with node:crypto's synchronous HMAC: credentials from the Lambda environment, the signing key cached per day,
 * region and service.
 */
import { createHash, createHmac } from 'node:crypto'
import { DriverError } from '@polycloud/resources/driver'

export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string | undefined
}

/** The credentials Lambda gives the function (its role's), or the given ones. */
export function credentialsFrom(env: Readonly<Record<string, string | undefined>>, given: Credentials | undefined): Credentials {
  if (given !== undefined) return given
  const accessKeyId = env.AWS_ACCESS_KEY_ID
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY
  if (!accessKeyId || !secretAccessKey) {
    throw new DriverError('Denied', 'no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function\'s role)')
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The SHA-256 of an empty payload. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** RFC 3986 percent-encoding of everything but unreserved characters (and `/` when `keepSlash`), as SigV4 wants. */
export function uriEncode(text: string, keepSlash = false): string {
  const encoded = encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
  return keepSlash ? encoded.replaceAll('%2F', '/') : encoded
}

/** `a=1&b=2` from pairs, keys sorted, both sides encoded: the canonical query string and the one to send. */
export function canonicalQuery(params: ReadonlyArray<readonly [string, string]>): string {
  return params
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&')
}

const keys = new Map<string, Buffer>()

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\u0000${date}\u0000${region}\u0000${service}`
  let key = keys.get(id)
  if (key === undefined) {
    const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest()
    const kRegion = createHmac('sha256', kDate).update(region).digest()
    const kService = createHmac('sha256', kRegion).update(service).digest()
    key = createHmac('sha256', kService).update('aws4_request').digest()
    if (keys.size > 16) keys.clear()
    keys.set(id, key)
  }
  return key
}

export interface SignInput {
  readonly method: string
  readonly url: URL
  /** Headers to send and sign (lower-case names); `host`, `x-amz-date` and the token are added. */
  readonly headers: Record<string, string>
  /** Hex SHA-256 of the payload (or UNSIGNED-PAYLOAD). */
  readonly payloadHash: string
  readonly region: string
  readonly service: string
  readonly credentials: Credentials
  readonly now?: Date
}

/** Adds `host`, `x-amz-date`, `x-amz-security-token` and `authorization` to the headers; returns them. */
/**
 * Headers SigV4 leaves unsigned, as the AWS SDK's signer does (@smithy/signature-v4's ALWAYS_UNSIGNABLE_HEADERS and
 * `proxy-*`/`sec-*`): hops may change them, and AWS's X-Ray propagation adds `x-amzn-trace-id` after signing.
 */
const UNSIGNABLE = new Set(['authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id'])

function signable(name: string): boolean {
  return !UNSIGNABLE.has(name) && !name.startsWith('proxy-') && !name.startsWith('sec-')
}

export function sign(input: SignInput): Record<string, string> {
  const { url, headers, credentials } = input
  const stamp = (input.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
  const date = stamp.slice(0, 8)
  headers.host = url.host
  headers['x-amz-date'] = stamp
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken
  const names = Object.keys(headers).filter(signable).sort()
  const canonicalHeaders = names.map((name) => `${name}:${(headers[name] as string).trim().replace(/\s+/g, ' ')}\n`).join('')
  const signedHeaders = names.join(';')
  const canonical = [input.method, url.pathname, url.search.slice(1), canonicalHeaders, signedHeaders, input.payloadHash].join('\n')
  const scope = `${date}/${input.region}/${input.service}/aws4_request`
  const toSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${sha256Hex(canonical)}`
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, date, input.region, input.service)).update(toSign).digest('hex')
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
  return headers
}
