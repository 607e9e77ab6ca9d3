/**
 * Managed identity tokens on App Service and Functions (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference):
 * `GET $IDENTITY_ENDPOINT?resource=<audience>&api-version=2019-08-01` with the `X-IDENTITY-HEADER` secret, as
 * @azure/identity's App Service source does; kept until five minutes before it expires.
 */
import { DriverError } from '@polycloud/resources/driver'
import { request } from '@polycloud/resources/node-http'

type Env = Readonly<Record<string, string | undefined>>

interface Cached {
  readonly token: Promise<{ value: string; expires: number }>
}

const cache = new Map<string, Cached>()

export const STORAGE_AUDIENCE = 'https://storage.azure.com/'
export const SERVICE_BUS_AUDIENCE = 'https://servicebus.azure.net'

/** A bearer token for the audience from the function app's managed identity (user-assigned with `clientId`). */
export async function identityToken(env: Env, audience: string, clientId: string | undefined, signal: AbortSignal | undefined): Promise<string> {
  const key = `${audience}\u0000${clientId ?? ''}`
  let entry = cache.get(key)
  if (entry !== undefined) {
    const token = await entry.token.catch(() => undefined)
    if (token !== undefined && token.expires - 300_000 > Date.now()) return token.value
  }
  entry = { token: fetchToken(env, audience, clientId, signal) }
  cache.set(key, entry)
  try {
    return (await entry.token).value
  } catch (error) {
    if (cache.get(key) === entry) cache.delete(key)
    throw error
  }
}

async function fetchToken(env: Env, audience: string, clientId: string | undefined, signal: AbortSignal | undefined): Promise<{ value: string; expires: number }> {
  const endpoint = env.IDENTITY_ENDPOINT
  const secret = env.IDENTITY_HEADER
  if (!endpoint || !secret) throw new DriverError('Denied', 'no managed identity: IDENTITY_ENDPOINT and IDENTITY_HEADER are not set (turn on the function app\'s identity, or give the connection a connection string)')
  const url = new URL(endpoint)
  url.searchParams.set('resource', audience)
  url.searchParams.set('api-version', '2019-08-01')
  if (clientId !== undefined) url.searchParams.set('client_id', clientId)
  const response = await request({ method: 'GET', url, headers: { 'x-identity-header': secret }, signal })
  const text = await response.text()
  if (response.status !== 200) throw new DriverError(response.status >= 500 ? 'Unavailable' : 'Denied', `the managed identity endpoint answered ${response.status}: ${text.slice(0, 200)}`, { status: response.status })
  let body: { access_token?: unknown; expires_on?: unknown }
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    throw new DriverError('Unavailable', 'the managed identity endpoint answered something that is not JSON')
  }
  if (typeof body.access_token !== 'string') throw new DriverError('Unavailable', 'the managed identity endpoint answered no access_token')
  const expires = Number(body.expires_on) * 1000
  return { value: body.access_token, expires: Number.isFinite(expires) ? expires : Date.now() + 600_000 }
}
