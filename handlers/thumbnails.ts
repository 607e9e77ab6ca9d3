import { storage } from '@polycloud/core'
import { ImageError, thumbnail } from './lib/png.js'
import { thumbnailKey, uploads } from './lib/uploads.js'

const IMAGE = /\.(png|jpe?g|gif|webp)$/i
/** Images beyond this many pixels are not decoded (a 16 MP PNG needs 64 MB of RGBA). */
const MAX_PIXELS = 16_000_000

/**
 * Storage listener for images/ in the uploads bucket: reads each new image and writes its thumbnail (at most 128
 * pixels a side, PNG) under thumbnails/, with the demo's own PNG codec (lib/png.ts: web compression streams, no
 * native module; the same bytes on Node and on workerd). Only PNGs are decoded: another image type, or a PNG that
 * does not decode, is logged and skipped (a retry would not change it).
 */
export default storage(async (event, context) => {
  if (event.type !== 'created') return
  if (!IMAGE.test(event.key)) {
    context.log.info('not an image, skipped', { bucket: event.bucket, key: event.key })
    return
  }
  const target = thumbnailKey(event.key)
  context.log.info('thumbnail needed', { bucket: event.bucket, key: event.key, size: event.size ?? null, etag: event.etag ?? null, target })
  const image = await uploads.get(event.key)
  if (image === null) {
    context.log.warn('image gone before its thumbnail', { key: event.key })
    return
  }
  let made
  try {
    made = await thumbnail(await image.bytes(), { maxSide: 128, maxPixels: MAX_PIXELS })
  } catch (error) {
    if (!(error instanceof ImageError)) throw error
    context.log.warn('thumbnail skipped', { key: event.key, contentType: image.contentType ?? null, reason: error.message })
    return
  }
  await uploads.put(target, made.png, { contentType: 'image/png', metadata: { source: event.key.slice(0, 200).replace(/[^\x21-\x7e]/g, '_') } })
  context.log.info('thumbnail written', { key: event.key, target, width: made.width, height: made.height, bytes: made.png.length, source: made.source })
})
