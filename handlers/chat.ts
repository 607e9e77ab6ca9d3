import { HttpError, http, json, type Context } from '@polycloud/core'
import { store } from '@polycloud/resources'
import { asObject, shown } from './json-shape.js'

/**
 * POST /chat/{conversation}: a chat platform's webhook, signed as Slack signs its requests
 * (https://api.slack.com/authentication/verifying-requests-from-slack), with neutral header names:
 *
 *   x-chat-timestamp: <Unix seconds when the platform sent it>
 *   x-chat-signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>" with the shared secret>
 *
 * The secret is `CHAT_SIGNING_SECRET` in the function's environment. A request without both headers, with another
 * signature (compared in constant time), sent more than 5 minutes ago or more than 30 seconds ahead of this clock (a
 * replay, or a clock too far off) is answered 401 with the reason, before anything is read or stored. The body is
 * `{ "text": "...", "user"?: "..." }`; the answer `{ "reply", "turns", "conversation" }`.
 *
 * Each conversation's state (turns so far, first and last message time, the current rate window, the signatures of
 * the messages still inside the replay window) is one entry of the `sessions` store, under `conversation:<id>`, living `CHAT_TTL_SECONDS`
 * (a day by default) after its last message. It is changed with `update` (a conditional write, retried on a
 * conflict), so two messages arriving at once both count. A delivery the platform sends again (the same signature)
 * is answered without counting twice; more than `CHAT_RATE_LIMIT` messages (20 by default) in a minute get 429.
 */

/** One conversation's state, as the store keeps it. */
export interface Conversation {
  readonly turns: number
  readonly first: string
  readonly last: string
  /** The current rate window: when it started (Unix seconds) and the messages counted in it. */
  readonly window: { readonly start: number; readonly count: number }
  /**
   * The messages counted within the replay window (a signature's first 32 hex digits, and the signed time): a
   * delivery sent again is recognised for as long as its signature is accepted; older ones are refused as replays.
   */
  readonly recent: ReadonlyArray<{ readonly delivery: string; readonly signed: number }>
}

const sessions = store<Conversation>('sessions')

/** Requests older than this are refused (Slack's window). */
export const MAX_AGE_SECONDS = 300
/** Requests from a clock this far ahead are still taken (a sender's second can start before ours). */
export const MAX_SKEW_SECONDS = 30
const RATE_WINDOW_SECONDS = 60
const CONVERSATION = /^[A-Za-z0-9_-]{1,128}$/
const MAX_TEXT = 4000

const encoder = new TextEncoder()
const keys = new Map<string, Promise<CryptoKey>>()

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret)
  if (key === undefined) keys.set(secret, (key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])))
  return key
}

function unauthorized(reason: string): HttpError {
  return new HttpError(401, 'Unauthorized', { details: { reason } })
}

/** Equal-length byte arrays compared without an early exit. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number)
  return difference === 0
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** The signature of a body at a timestamp, as the platform computes it (`v0=<hex>`). */
export async function signature(secret: string, timestamp: string, body: Uint8Array | string): Promise<string> {
  const bytes = typeof body === 'string' ? encoder.encode(body) : body
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), concat(encoder.encode(`v0:${timestamp}:`), bytes)))
  let hex = ''
  for (const byte of mac) hex += byte.toString(16).padStart(2, '0')
  return `v0=${hex}`
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** Checks the request's signature and age; answers the delivery's identity (its signature) and signed time. */
async function verify(headers: { get(name: string): string | null }, body: Uint8Array, context: Context, now: number): Promise<{ delivery: string; signed: number }> {
  const secret = context.env.CHAT_SIGNING_SECRET
  if (secret === undefined || secret === '') throw new Error('CHAT_SIGNING_SECRET is not set: the chat webhook cannot check signatures')
  const timestamp = headers.get('x-chat-timestamp')
  const given = headers.get('x-chat-signature')
  if (timestamp === null || given === null) throw unauthorized('the x-chat-timestamp and x-chat-signature headers are required')
  if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized('x-chat-timestamp is not a Unix time in seconds')
  const age = now - Number(timestamp)
  if (age > MAX_AGE_SECONDS) throw unauthorized(`the request was signed ${age} seconds ago, more than ${MAX_AGE_SECONDS}: replays are refused`)
  if (age < -MAX_SKEW_SECONDS) throw unauthorized(`the request is signed ${-age} seconds in the future: check the sender's clock`)
  if (!/^v0=[0-9a-f]{64}$/i.test(given)) throw unauthorized('x-chat-signature is not v0=<64 hex digits>')
  const expected = await signature(secret, timestamp, body)
  if (!same(hexBytes(given.slice(3).toLowerCase()), hexBytes(expected.slice(3)))) throw unauthorized('the signature does not match the body and timestamp')
  return { delivery: expected.slice(3, 35), signed: Number(timestamp) }
}

/** A small rule-based bot: the plumbing is the point. */
export function reply(text: string, turns: number, now: Date): string {
  const words = text.toLowerCase().trim()
  if (/^(hi|hello|hey)\b/.test(words)) return turns === 1 ? 'Hello! Say "help" to see what I can do.' : 'Hello again!'
  if (words === 'help') return 'Try "hello", "count" or "time"; anything else I repeat.'
  if (words === 'count') return `This conversation has ${turns} message${turns === 1 ? '' : 's'}.`
  if (words === 'time') return `It is ${now.toISOString()} (UTC).`
  return `You said: ${text.trim().slice(0, 200)}`
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new Error(`${name} must be a whole number of at least 1, got ${JSON.stringify(value)}`)
  return number
}

export default http(async (request, context) => {
  const conversation = request.params.conversation ?? ''
  const body = await request.bytes()
  const now = new Date()
  const seconds = Math.floor(now.getTime() / 1000)
  const { delivery, signed } = await verify(request.headers, body, context, seconds)
  if (!CONVERSATION.test(conversation)) throw new HttpError(400, 'the conversation id is 1-128 letters, digits, "_" and "-"')
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(body))
  } catch {
    throw new HttpError(400, 'the body must be JSON: { "text": "..." }')
  }
  const message = asObject(parsed)
  if (message === undefined) throw new HttpError(400, `the body must be a JSON object { "text": "..." }, got ${shown(parsed)}`)
  const { text, user } = message
  if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_TEXT) {
    throw new HttpError(400, `text must be a string of 1-${MAX_TEXT} characters, not only spaces${text === undefined ? ' (it is missing)' : ''}`)
  }
  if (user !== undefined && typeof user !== 'string') throw new HttpError(400, `user, when given, must be a string, got ${shown(user)}`)
  const limit = positive(context.env.CHAT_RATE_LIMIT, 20, 'CHAT_RATE_LIMIT')
  const ttlSeconds = positive(context.env.CHAT_TTL_SECONDS, 86_400, 'CHAT_TTL_SECONDS')

  // The decision of the last attempt of `update` (it may run the function more than once).
  let outcome = 'counted' as 'counted' | 'duplicate' | 'limited'
  const state = await sessions.update(
    `conversation:${conversation}`,
    (current) => {
      if (current?.recent.some((seen) => seen.delivery === delivery)) {
        outcome = 'duplicate'
        return undefined
      }
      const fresh = current === null || seconds - current.window.start >= RATE_WINDOW_SECONDS
      const window = fresh ? { start: seconds, count: 1 } : { start: current.window.start, count: current.window.count + 1 }
      if (window.count > limit) {
        outcome = 'limited'
        return undefined
      }
      outcome = 'counted'
      return {
        turns: (current?.turns ?? 0) + 1,
        first: current?.first ?? now.toISOString(),
        last: now.toISOString(),
        window,
        recent: [...(current?.recent ?? []).filter((seen) => seen.signed >= seconds - MAX_AGE_SECONDS), { delivery, signed }],
      }
    },
    { ttlSeconds },
  )
  const turns = state?.turns ?? 0
  if (outcome === 'limited') {
    const retry = Math.max(1, (state?.window.start ?? seconds) + RATE_WINDOW_SECONDS - seconds)
    context.log.warn('chat rate limited', { conversation, limit })
    throw new HttpError(429, `more than ${limit} messages a minute in this conversation`, { headers: { 'retry-after': String(retry) } })
  }
  if (outcome === 'duplicate') {
    context.log.info('chat delivery seen before', { conversation, turns })
    return json({ reply: null, duplicate: true, turns, conversation })
  }
  const answer = reply(text, turns, now)
  context.log.info('chat message', { conversation, turns, user: user ?? null })
  return json({ reply: answer, turns, conversation })
})
