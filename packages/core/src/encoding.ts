/**
 * Byte/text conversions that work on every runtime Polycloud targets. Node's Buffer is used when present (it is
 * several times faster than TextEncoder/atob there); Workers and browsers fall back to the web APIs.
 */

interface BufferLike extends Uint8Array {
  toString(encoding?: string): string
}
interface BufferStatic {
  from(value: string, encoding: string): BufferLike
  from(value: ArrayBufferLike, offset?: number, length?: number): BufferLike
}

const NodeBuffer = (globalThis as { Buffer?: BufferStatic }).Buffer

let encoder: TextEncoder | undefined
let strictDecoder: TextDecoder | undefined

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** True when `text` is standard base64 (RFC 4648 section 4), padded or not, without whitespace. */
export function isBase64(text: string): boolean {
  return text.length % 4 !== 1 && BASE64.test(text) && (text.indexOf('=') === -1 || text.length % 4 === 0)
}

/** Decodes standard base64. The caller checks validity with {@link isBase64} first where input is untrusted. */
export function base64ToBytes(text: string): Uint8Array {
  if (NodeBuffer) return NodeBuffer.from(text, 'base64')
  const binary = atob(text)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

export function bytesToBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

export function utf8Encode(text: string): Uint8Array {
  if (NodeBuffer) return NodeBuffer.from(text, 'utf8')
  return (encoder ??= new TextEncoder()).encode(text)
}

/** Decodes UTF-8, replacing malformed sequences with U+FFFD (what Fetch's `text()` does). */
export function utf8Decode(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  return new TextDecoder().decode(bytes)
}

/** Decodes UTF-8, or returns undefined when the bytes are not valid UTF-8 (nothing is replaced). */
export function utf8DecodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return (strictDecoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })).decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * Copies a view into a standalone ArrayBuffer (what Fetch's `arrayBuffer()` returns). Not `bytes.slice()`: on a
 * Node Buffer that is a view of the shared pool, not a copy.
 */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy.buffer
}

const TEXT_TYPE = /^(?:text\/|application\/(?:json|javascript|ecmascript|xml|x-www-form-urlencoded|graphql|x-ndjson|ld\+json|manifest\+json|problem\+json|problem\+xml)|[^;]*\+(?:json|xml)\s*(?:;|$)|image\/svg\+xml)/i

/**
 * Whether a body of this content type is text. Text bodies travel as strings; anything else travels as bytes
 * (base64 where the provider's wire format is JSON). A missing content type counts as text only when the body
 * itself is a string.
 */
export function isTextContentType(contentType: string | null | undefined): boolean {
  return contentType != null && TEXT_TYPE.test(contentType)
}
