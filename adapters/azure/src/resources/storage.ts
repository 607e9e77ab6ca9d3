/**
 * Requests to the Storage services (Blob, Queue): Shared Key signing
 * (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key), a SAS token, or a managed
 * identity's bearer token; `x-ms-version` 2025-11-05; errors by Storage's error codes.
 */
import { createHmac } from 'node:crypto'
import { CloudError, DriverError, statusCode, xmlValue, type ResourceErrorCode } from '@polycloud/resources/driver'
import { request, type HttpResponse } from '@polycloud/resources/node-http'
import type { StorageConnection } from './connection.js'
import { STORAGE_AUDIENCE, identityToken } from './identity.js'

export const STORAGE_VERSION = '2025-11-05'

type Env = Readonly<Record<string, string | undefined>>

/** RFC 3986 encoding of a path, `/` kept (blob names are paths). */
export function encodePath(path: string): string {
  return encodeURIComponent(path).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`).replaceAll('%2F', '/')
}

const SIGNED = ['content-encoding', 'content-language', 'content-length', 'content-md5', 'content-type', 'date', 'if-modified-since', 'if-match', 'if-none-match', 'if-unmodified-since', 'range']

/** The Shared Key `Authorization` of a request (version 2015-02-21 and later: an empty Content-Length when 0). */
export function sharedKey(method: string, url: URL, headers: Readonly<Record<string, string>>, account: string, key: Buffer): string {
  const standard = SIGNED.map((name) => {
    const value = headers[name] ?? ''
    return name === 'content-length' && value === '0' ? '' : value
  })
  const canonicalHeaders = Object.keys(headers)
    .filter((name) => name.startsWith('x-ms-'))
    .sort()
    .map((name) => `${name}:${(headers[name] as string).replace(/\s+/g, ' ').trim()}\n`)
    .join('')
  let resource = `/${account}${url.pathname}`
  const params = new Map<string, string[]>()
  for (const [name, value] of url.searchParams) {
    const lower = name.toLowerCase()
    params.set(lower, [...(params.get(lower) ?? []), value])
  }
  for (const name of [...params.keys()].sort()) resource += `\n${name}:${(params.get(name) as string[]).sort().join(',')}`
  const toSign = `${method}\n${standard.join('\n')}\n${canonicalHeaders}${resource}`
  return `SharedKey ${account}:${createHmac('sha256', key).update(toSign, 'utf8').digest('base64')}`
}

export interface StorageRequest {
  readonly method: string
  /** The path after the endpoint (`/container/blob`), encoded. */
  readonly path: string
  readonly query?: ReadonlyArray<readonly [string, string]>
  readonly headers?: Record<string, string>
  readonly body?: Uint8Array | string
}

/** Sends a request to a Storage service, authorised as its connection says. */
export async function storageRequest(connection: StorageConnection, env: Env, input: StorageRequest, signal: AbortSignal | undefined): Promise<HttpResponse> {
  const url = new URL(`${connection.endpoint}${input.path}`)
  for (const [name, value] of input.query ?? []) url.searchParams.append(name, value)
  const headers: Record<string, string> = { ...input.headers, 'x-ms-version': STORAGE_VERSION, 'x-ms-date': new Date().toUTCString() }
  const body = input.body
  if (body !== undefined) headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length)
  const { auth } = connection
  if (auth.type === 'sharedKey') headers.authorization = sharedKey(input.method, url, headers, auth.account, auth.key)
  else if (auth.type === 'sas') url.search = url.search === '' ? `?${auth.token}` : `${url.search}&${auth.token}`
  else headers.authorization = `Bearer ${await identityToken(env, STORAGE_AUDIENCE, auth.clientId, signal)}`
  return request({ method: input.method, url, headers, body, signal })
}

const CODES: Readonly<Record<string, ResourceErrorCode>> = {
  ContainerNotFound: 'NotFound',
  QueueNotFound: 'NotFound',
  ResourceNotFound: 'NotFound',
  BlobNotFound: 'NotFound',
  AuthenticationFailed: 'Denied',
  AuthorizationFailure: 'Denied',
  AuthorizationPermissionMismatch: 'Denied',
  AuthorizationResourceTypeMismatch: 'Denied',
  AuthorizationServiceMismatch: 'Denied',
  InsufficientAccountPermissions: 'Denied',
  NoAuthenticationInformation: 'Denied',
  InvalidAuthenticationInfo: 'Denied',
  AccountIsDisabled: 'Denied',
  ServerBusy: 'Throttled',
  OperationTimedOut: 'Timeout',
  InternalError: 'Unavailable',
  RequestBodyTooLarge: 'TooLarge',
  MessageTooLarge: 'TooLarge',
}

/** The DriverError of a failed Storage answer (its `x-ms-error-code`, or the `<Code>` of its body). */
export async function storageError(service: string, response: HttpResponse): Promise<DriverError> {
  const text = response.status === 0 ? '' : await response.text().catch(() => '')
  const code = response.header('x-ms-error-code') ?? xmlValue(text, 'Code') ?? ''
  const message = (xmlValue(text, 'Message') ?? text.trim()) || `HTTP ${response.status}`
  const mapped = CODES[code] ?? statusCode(response.status)
  return new DriverError(mapped, `${service} answered ${response.status}${code === '' ? '' : ` ${code}`}: ${message.split('\n')[0]}`, {
    status: response.status,
    cause: new CloudError(service, code, message, response.status),
  })
}
