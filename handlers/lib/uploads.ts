/**
 * What the upload functions share: the `uploads` bucket (declared in serverless.yml, each function's `uses` grants
 * it), the type an upload's first bytes say it is, and the keys. An upload's key is its content's SHA-256 and an
 * extension from its type, one URL path segment (`GET /uploads/{key}`); images live under `images/` (which the
 * `thumbnails` function listens to), other files under `files/`, thumbnails under `thumbnails/`.
 */
import { bucket } from '@polycloud/resources'

export const uploads = bucket('uploads')

/** Magic numbers of common file types: the content type the bytes say, whatever the client claimed. */
const SIGNATURES: ReadonlyArray<{ readonly type: string; readonly extension: string; readonly bytes: readonly number[] }> = [
  { type: 'image/png', extension: 'png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/jpeg', extension: 'jpg', bytes: [0xff, 0xd8, 0xff] },
  { type: 'image/gif', extension: 'gif', bytes: [0x47, 0x49, 0x46, 0x38] },
  { type: 'application/pdf', extension: 'pdf', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { type: 'application/zip', extension: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { type: 'application/gzip', extension: 'gz', bytes: [0x1f, 0x8b] },
]
const IMAGES = new Set(['png', 'jpg', 'gif'])
const KEY = new RegExp(`^[0-9a-f]{64}\\.(${[...SIGNATURES.map((signature) => signature.extension), 'bin'].join('|')})$`)

/** The type the first bytes say, if they are one of the known signatures. */
export function detectType(bytes: Uint8Array): string | undefined {
  return SIGNATURES.find(({ bytes: signature }) => signature.every((byte, i) => bytes[i] === byte))?.type
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** An upload's key: `<sha256>.<extension of its detected type>` (`.bin` for unknown types). */
export function uploadKey(digest: string, detected: string | undefined): string {
  return `${digest}.${SIGNATURES.find((signature) => signature.type === detected)?.extension ?? 'bin'}`
}

/** Where an upload's object is in the bucket (`images/<key>` or `files/<key>`), or undefined for a key no upload has. */
export function objectKey(key: string): string | undefined {
  const match = KEY.exec(key)
  if (match === null) return undefined
  return `${IMAGES.has(match[1] as string) ? 'images' : 'files'}/${key}`
}

/** Where the thumbnail of an image is: `images/<name>.<ext>` -> `thumbnails/<name>.png`. */
export function thumbnailKey(imageKey: string): string {
  return imageKey.replace(/^images\//, 'thumbnails/').replace(/\.[^./]*$/, '') + '.png'
}
