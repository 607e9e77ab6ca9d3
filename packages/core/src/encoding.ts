/**
 * Byte/text conversions with web APIs only (Workers, browsers, any runtime). Node resolves `#encoding` to
 * encoding-node.ts instead, which uses Buffer (several times faster there); both export the same functions.
 */

let encoder: TextEncoder | undefined
let strictDecoder: TextDecoder | undefined

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** True when `text` is standard base64 (RFC 4648 section 4), padded or not, without whitespace. */
export function isBase64(text: string): boolean {
  return text.length % 4 !== 1 && BASE64.test(text) && (!text.includes('=') || text.length % 4 === 0)
}

/** Decodes standard base64. The caller checks validity with {@link isBase64} first where input is untrusted. */
export function base64ToBytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0))
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

export function utf8Encode(text: string): Uint8Array {
  return (encoder ??= new TextEncoder()).encode(text)
}

/** Decodes UTF-8, replacing malformed sequences with U+FFFD (what Fetch's `text()` does). */
export function utf8Decode(bytes: Uint8Array): string {
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

export { toArrayBuffer, isTextContentType } from './content.js'
