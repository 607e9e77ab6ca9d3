/**
 * A small client of Cloudflare's REST API v4 (https://developers.cloudflare.com/api/): bearer-token requests, the
 * `{ success, errors, messages, result }` envelope unwrapped, list pagination, and API refusals turned into a
 * ProviderError that carries Cloudflare's own message and what to do about it (no stack trace reaches the user).
 * `CLOUDFLARE_API_BASE_URL` points it elsewhere (as it does wrangler): tests use a stand-in on 127.0.0.1.
 */
import { ProviderError } from '../../errors.js'

export const DEFAULT_BASE_URL = 'https://api.cloudflare.com/client/v4'

interface Envelope<T> {
  success?: boolean
  errors?: Array<{ code?: number; message?: string }>
  result?: T
  result_info?: { page?: number; total_pages?: number; count?: number; per_page?: number; cursor?: string }
}

/** A refusal of the API: its HTTP status and Cloudflare's error codes (10000 authentication, 10007 not found, ...). */
export class CloudflareApiError extends ProviderError {
  constructor(
    message: string,
    hint: string,
    readonly status: number,
    readonly codes: readonly number[],
  ) {
    super(message, hint)
  }
}

export interface CloudflareApi {
  /** The account all `/accounts/:account` paths use. */
  readonly account: string
  /** Sends a request and returns its `result`; a refusal is a ProviderError. */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>
  /** Like `request`, but a 404 gives `undefined` instead of an error. */
  find<T = unknown>(path: string): Promise<T | undefined>
  /** Every item of a paged list (`page` / `per_page`). */
  list<T = unknown>(path: string): Promise<T[]>
  /** Every item of a list paged by cursor (`cursor` / `per_page`, the next cursor in `result_info.cursor`). */
  listByCursor<T = unknown>(path: string, perPage: number): Promise<T[]>
}

/** The credentials deploy, remove and info need, from the environment; a clear error when one is missing. */
export function credentials(env: NodeJS.ProcessEnv = process.env): { token: string; account: string; baseUrl: string | undefined } {
  const token = env.CLOUDFLARE_API_TOKEN
  const account = env.CLOUDFLARE_ACCOUNT_ID
  const missing = [token ? undefined : 'CLOUDFLARE_API_TOKEN', account ? undefined : 'CLOUDFLARE_ACCOUNT_ID'].filter(Boolean)
  if (missing.length > 0) {
    throw new ProviderError(
      `Cloudflare credentials missing: ${missing.join(' and ')}`,
      'create an API token (My Profile > API Tokens) with Workers Scripts, Workers Routes, Queues and Workers R2 Storage edit permissions, and export CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID',
    )
  }
  return { token: token as string, account: account as string, baseUrl: env.CLOUDFLARE_API_BASE_URL }
}

/** What a user can do about a refusal, by status. */
function hintFor(status: number): string {
  if (status === 401 || status === 403) {
    return 'check CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID: the token must belong to the account and allow Workers Scripts, Workers Routes, Queues and Workers R2 Storage edits'
  }
  if (status === 429) return 'Cloudflare is rate limiting this account: wait a minute and run the command again'
  if (status >= 500) return 'Cloudflare could not complete the request: run the command again; it continues where it stopped'
  return 'fix what the message names and run the command again; it continues where it stopped'
}

export function cloudflareApi(options: { readonly token: string; readonly account: string; readonly baseUrl?: string | undefined }): CloudflareApi {
  const base = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')
  const send = async <T>(method: string, path: string, body: unknown, allow404: boolean): Promise<Envelope<T> | undefined> => {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}` }
    let payload: BodyInit | undefined
    if (body instanceof FormData) payload = body
    else if (body !== undefined) {
      headers['content-type'] = 'application/json'
      payload = JSON.stringify(body)
    }
    let response: Response
    try {
      response = await fetch(`${base}${path}`, { method, headers, body: payload })
    } catch (error) {
      const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)
      throw new ProviderError(`cannot reach the Cloudflare API at ${base}: ${cause}`, 'check the network connection (and CLOUDFLARE_API_BASE_URL if set)')
    }
    const text = await response.text()
    let envelope: Envelope<T>
    try {
      envelope = text === '' ? {} : (JSON.parse(text) as Envelope<T>)
    } catch {
      envelope = { success: false, errors: [{ message: `HTTP ${response.status}, not a JSON answer: ${text.slice(0, 200)}` }] }
    }
    if (response.status === 404 && allow404) return undefined
    if (!response.ok || envelope.success === false) {
      const errors = envelope.errors ?? []
      const messages = errors.map((error) => (error.code !== undefined ? `${error.message ?? 'error'} (code ${error.code})` : (error.message ?? 'error')))
      const codes = errors.flatMap((error) => (typeof error.code === 'number' ? [error.code] : []))
      throw new CloudflareApiError(`Cloudflare API ${method} ${path.replace(/\?.*$/, '')} failed (HTTP ${response.status}): ${messages.join('; ') || response.statusText}`, hintFor(response.status), response.status, codes)
    }
    return envelope
  }
  return {
    account: options.account,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      return (await send<T>(method, path, body, false))?.result as T
    },
    async find<T>(path: string): Promise<T | undefined> {
      return (await send<T>('GET', path, undefined, true))?.result
    },
    async list<T>(path: string): Promise<T[]> {
      const items: T[] = []
      for (let page = 1; page <= 1000; page++) {
        const separator = path.includes('?') ? '&' : '?'
        const answer = await send<T[]>('GET', `${path}${separator}page=${page}&per_page=100`, undefined, false)
        const result = answer?.result ?? []
        items.push(...result)
        const info = answer?.result_info
        if (result.length === 0 || info?.total_pages === undefined || page >= info.total_pages) break
      }
      return items
    },
    async listByCursor<T>(path: string, perPage: number): Promise<T[]> {
      const items: T[] = []
      let cursor: string | undefined
      for (let page = 0; page < 100_000; page++) {
        const separator = path.includes('?') ? '&' : '?'
        const answer = await send<T[]>('GET', `${path}${separator}per_page=${perPage}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, undefined, false)
        items.push(...(answer?.result ?? []))
        cursor = answer?.result_info?.cursor || undefined
        if (cursor === undefined) break
      }
      return items
    },
  }
}
