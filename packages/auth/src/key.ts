/**
 * API keys: the client sends a key in a header; the service knows its keys by name from the environment
 * (`POLYCLOUD_API_KEYS`, JSON `{ "<name>": "<key>" | "sha256:<hex digest of the key>" }`), which the plugin fills
 * from configuration or a secret: a key never sits in the bundle. Keys are compared by their SHA-256 digests in
 * constant time.
 */
import type { KeyCaller } from '@polycloud/core'

export const KEYS_VARIABLE = 'POLYCLOUD_API_KEYS'

/** The configured keys are unusable: the service's fault, not the caller's. */
export class KeyConfigError extends Error {
  override readonly name = 'KeyConfigError'
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  let hex = ''
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** `sha256:<hex>` as given, or the digest of a plain key. */
export async function keyDigest(value: string): Promise<string> {
  return /^sha256:[0-9a-f]{64}$/.test(value) ? value.slice('sha256:'.length) : sha256(value)
}

/** Parsed key sets by the variable's text: parsed once per instance. */
const parsed = new Map<string, Promise<ReadonlyArray<readonly [string, string]>>>()

function keysOf(text: string | undefined): Promise<ReadonlyArray<readonly [string, string]>> {
  if (text === undefined || text === '') return Promise.reject(new KeyConfigError(`${KEYS_VARIABLE} is not set: the route's API keys are missing from the environment`))
  let keys = parsed.get(text)
  if (keys === undefined) {
    keys = (async () => {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        throw new KeyConfigError(`${KEYS_VARIABLE} is not JSON`)
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new KeyConfigError(`${KEYS_VARIABLE} must be a JSON object of names to keys`)
      const entries = Object.entries(json as Record<string, unknown>)
      if (entries.some(([, value]) => typeof value !== 'string' || value === '')) throw new KeyConfigError(`${KEYS_VARIABLE}: every key must be a non-empty string`)
      return Promise.all(entries.map(async ([name, value]) => [name, await keyDigest(value as string)] as const))
    })()
    parsed.set(text, keys)
  }
  return keys
}

/** Compares two equal-length hex digests without an early exit. */
function same(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}

/** The caller a presented key belongs to, or undefined when it is none of the configured keys. */
export async function verifyKey(presented: string, env: Readonly<Record<string, string | undefined>>): Promise<KeyCaller | undefined> {
  const keys = await keysOf(env[KEYS_VARIABLE])
  const digest = await sha256(presented)
  let found: string | undefined
  // Every key is compared, whichever matches.
  for (const [name, key] of keys) if (same(digest, key) && found === undefined) found = name
  return found === undefined ? undefined : { kind: 'key', name: found }
}
