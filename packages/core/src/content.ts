/**
 * Copies a view into a standalone ArrayBuffer (what Fetch's `arrayBuffer()` returns). Not `bytes.slice()`: on a
 * Node Buffer that is a view of the shared pool, not a copy.
 */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy.buffer
}

const TEXT_TYPE = /^(text\/|application\/(json|javascript|xml|x-www-form-urlencoded|graphql|x-ndjson)|[^;]*\+(json|xml)\b|image\/svg\+xml)/i

/**
 * Whether a body of this content type is text. Text bodies travel as strings; anything else travels as bytes
 * (base64 where the provider's wire format is JSON).
 */
export function isTextContentType(contentType: string | null | undefined): boolean {
  return contentType != null && TEXT_TYPE.test(contentType)
}
