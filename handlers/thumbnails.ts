import { storage } from '@polycloud/core'

const IMAGE = /\.(png|jpe?g|gif|webp)$/i

/**
 * Storage listener for images/ in the uploads bucket: decides which new objects need a thumbnail and logs it.
 * Making the thumbnail means reading and writing objects, which takes the provider's SDK; portable handlers do
 * not have one yet, so the demo stops at the decision.
 */
export default storage((event, context) => {
  if (event.type !== 'created') return
  if (!IMAGE.test(event.key)) {
    context.log.info('not an image, skipped', { bucket: event.bucket, key: event.key })
    return
  }
  const target = event.key.replace(/^images\//, 'thumbnails/')
  context.log.info('thumbnail needed', { bucket: event.bucket, key: event.key, size: event.size ?? null, etag: event.etag ?? null, target })
})
