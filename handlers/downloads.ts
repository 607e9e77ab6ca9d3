import { HttpError, http, stream } from '@polycloud/core'
import { objectKey, thumbnailKey, uploads } from './lib/uploads.js'

/**
 * GET /uploads/{key}: the upload, streamed with its content type, byte for byte; GET /thumbnails/{key}: its
 * thumbnail (a PNG, once `thumbnails` has written it). A key no upload has is a 404.
 */
/** A thumbnail's route: its path ends `/thumbnails/{key}` (on Azure the host's `/api` prefix comes before it). */
const THUMBNAIL = /\/thumbnails\/[^/]+$/

export default http(async (request) => {
  const key = request.params.key ?? ''
  const upload = objectKey(key)
  const thumbnail = THUMBNAIL.test(request.path)
  const wanted = upload === undefined ? undefined : thumbnail ? thumbnailKey(upload) : upload
  const object = wanted === undefined ? null : await uploads.get(wanted)
  if (object === null) throw new HttpError(404, thumbnail ? `no thumbnail of ${JSON.stringify(key)} (yet)` : `no upload ${JSON.stringify(key)}`)
  return stream(object.body, {
    contentType: object.contentType ?? 'application/octet-stream',
    headers: { etag: `"${object.etag}"`, 'x-content-type-options': 'nosniff', 'cache-control': 'public, max-age=31536000, immutable' },
  })
})
