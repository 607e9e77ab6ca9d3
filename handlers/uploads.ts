import { HttpError, binary, http, json } from '@polycloud/core'
import { detectType, objectKey, sha256, uploadKey, uploads } from './lib/uploads.js'

const MAX_BYTES = 5 * 1024 * 1024

/**
 * POST /uploads: keeps the body in the uploads bucket and answers 201 with its `key` (its SHA-256 and an extension
 * from the type its first bytes say), to fetch it back at `GET /uploads/{key}`. Images go under `images/`, where
 * the bucket's event makes `thumbnails` write a smaller copy. With `?echo=true` nothing is kept: the bytes come back
 * unchanged, with their digest in a header, so a client can check the round trip.
 */
export default http(async (request, context) => {
  const bytes = await request.bytes()
  if (bytes.byteLength === 0) throw new HttpError(400, 'empty upload')
  if (bytes.byteLength > MAX_BYTES) throw new HttpError(413, `upload larger than ${MAX_BYTES} bytes`)
  const digest = await sha256(bytes)
  const declared = request.headers.get('content-type') ?? undefined
  if (request.query.get('echo') === 'true') {
    return binary(bytes, { contentType: declared ?? 'application/octet-stream', headers: { 'x-content-sha256': digest } })
  }
  const detected = detectType(bytes)
  const key = uploadKey(digest, detected)
  const contentType = detected ?? declared ?? 'application/octet-stream'
  const stored = objectKey(key) as string
  await uploads.put(stored, bytes, { contentType, metadata: { sha256: digest } })
  context.log.info('upload stored', { key, object: stored, size: bytes.byteLength, contentType })
  return json({ key, size: bytes.byteLength, sha256: digest, contentType, declaredType: declared ?? null, detectedType: detected ?? null }, { status: 201, headers: { location: `/uploads/${key}` } })
})
