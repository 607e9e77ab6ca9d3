/**
 * Documents fetched from the identity provider (its OpenID configuration, its JWKS), kept for the life of the
 * instance, and their failures remembered: after a failed fetch the next one waits 1 s, then 2, 4, ... up to 30 s,
 * and every request meanwhile is answered from memory, so a flood of requests while the provider is down does not
 * become a flood of fetches. Concurrent requests share one fetch.
 */
import type { Logger } from '@polycloud/core'

/** How long one fetch may take. */
export const FETCH_TIMEOUT_MS = 5_000

const FIRST_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 30_000

/** The identity provider could not be reached (or answered nothing usable): the route refuses tokens meanwhile. */
export class Unreachable extends Error {
  override readonly name = 'Unreachable'
  constructor(
    readonly url: string,
    readonly reason: string,
    /** When the next fetch may be tried (ms since the epoch). */
    readonly retryAt: number,
  ) {
    super(`${url}: ${reason}`)
  }
}

interface Entry<T> {
  value?: { readonly data: T; readonly at: number }
  pending?: Promise<T>
  failure?: { readonly attempts: number; readonly until: number; readonly reason: string }
}

/** A JSON document by URL, parsed by `read` (which throws an Error naming what is wrong with it). */
export class Remote<T> {
  readonly #entries = new Map<string, Entry<T>>()
  constructor(private readonly read: (json: unknown, url: string) => T) {}

  /** The document as last fetched, and when (ms since the epoch). */
  cached(url: string): { readonly data: T; readonly at: number } | undefined {
    return this.#entries.get(url)?.value
  }

  /** Whether a fetch may be tried now (none failed recently). */
  mayFetch(url: string, now = Date.now()): boolean {
    const failure = this.#entries.get(url)?.failure
    return failure === undefined || now >= failure.until
  }

  /**
   * Fetches the document (or joins the fetch under way). Rejects with {@link Unreachable} without fetching while an
   * earlier failure's backoff lasts, and with the failure itself when this fetch fails; either is logged on `log`
   * (the failure once, as an error; a refusal from memory at debug level).
   */
  fetch(url: string, log: Logger | undefined): Promise<T> {
    let entry = this.#entries.get(url)
    if (entry === undefined) this.#entries.set(url, (entry = {}))
    if (entry.pending !== undefined) return entry.pending
    const now = Date.now()
    const { failure } = entry
    if (failure !== undefined && now < failure.until) {
      log?.debug('token refused: the identity provider could not be reached', { url, reason: failure.reason, retryInSeconds: Math.ceil((failure.until - now) / 1000) })
      return Promise.reject(new Unreachable(url, failure.reason, failure.until))
    }
    const current = entry
    const pending = (async () => {
      try {
        const data = this.read(await fetchJson(url), url)
        current.value = { data, at: Date.now() }
        current.failure = undefined
        return data
      } catch (error) {
        const attempts = (current.failure?.attempts ?? 0) + 1
        const backoff = Math.min(FIRST_BACKOFF_MS * 2 ** (attempts - 1), MAX_BACKOFF_MS)
        const reason = error instanceof Error ? error.message : String(error)
        const until = Date.now() + backoff
        current.failure = { attempts, until, reason }
        log?.error('the identity provider could not be reached: its tokens are refused until it answers', { url, reason, attempts, retryInSeconds: backoff / 1000 })
        throw new Unreachable(url, reason, until)
      } finally {
        current.pending = undefined
      }
    })()
    current.pending = pending
    return pending
  }
}

async function fetchJson(url: string): Promise<unknown> {
  let response: Response
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    if ((error as Error).name === 'TimeoutError') throw new Error(`no answer in ${FETCH_TIMEOUT_MS} ms`, { cause: error })
    throw new Error(cause?.code ?? cause?.message ?? (error as Error).message, { cause: error })
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new Error(`answered ${response.status}`)
  }
  try {
    return await response.json()
  } catch (error) {
    throw new Error('answered something other than JSON', { cause: error })
  }
}
