import { HttpError, binary, http, json } from '@polycloud/core'

const MAX_BYTES = 5 * 1024 * 1024

/** Magic numbers of common file types: the content type the bytes say, whatever the client claimed. */
const SIGNATURES: Array<{ type: string; bytes: number[] }> = [
  { type: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { type: 'image/gif', bytes: [0x47, 0x49, 0x46, 0x38] },
  { type: 'application/pdf', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { type: 'application/zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { type: 'application/gzip', bytes: [0x1f, 0x8b] },
]

function detectType(bytes: Uint8Array): string | undefined {
  return SIGNATURES.find(({ bytes: signature }) => signature.every((byte, i) => bytes[i] === byte))?.type
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
}

/**
 * POST /uploads: reads a binary body and reports its size, SHA-256 and type (from its first bytes). With
 * `?echo=true` it sends the bytes back unchanged, with the digest in a header, so a client can check the round trip.
 * Nothing is stored: keeping files needs a bucket, which portable handlers reach through the provider's SDK.
 */
export default http(async (request) => {
  const bytes = await request.bytes()
  if (bytes.byteLength === 0) throw new HttpError(400, 'empty upload')
  if (bytes.byteLength > MAX_BYTES) throw new HttpError(413, `upload larger than ${MAX_BYTES} bytes`)
  const digest = await sha256(bytes)
  const declared = request.headers.get('content-type') ?? undefined
  const detected = detectType(bytes)
  if (request.query.get('echo') === 'true') {
    return binary(bytes, { contentType: declared ?? 'application/octet-stream', headers: { 'x-content-sha256': digest } })
  }
  return json({ size: bytes.byteLength, sha256: digest, declaredType: declared ?? null, detectedType: detected ?? null })
})
