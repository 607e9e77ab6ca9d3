// Bare handlers for the demo's uploads flow: POST /uploads stores the bytes in the uploads bucket under
// images/<sha256>.<ext>, GET /uploads/{key} and GET /thumbnails/{key} send them back, and the bucket's
// ObjectCreated event on images/ makes a PNG thumbnail (the demo's own codec, handlers/lib/png.ts) under thumbnails/.
import { createHash } from 'node:crypto'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { ImageError, thumbnail } from '../../../handlers/lib/png.js'
import { env, json, s3, type HttpEvent } from './aws.js'


const SIGNATURES: Array<[string, number[]]> = [
  ['image/png', [0x89, 0x50, 0x4e, 0x47]],
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/gif', [0x47, 0x49, 0x46, 0x38]],
]
const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif' }
const KEY = /^[0-9a-f]{64}\.[a-z]{1,8}$/

function detect(bytes: Buffer): string | undefined {
  return SIGNATURES.find(([, magic]) => magic.every((byte, i) => bytes[i] === byte))?.[0]
}

export const uploads = async (event: HttpEvent) => {
  const bytes = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8')
  if (bytes.length === 0) return json(400, { error: 'empty upload' })
  const digest = createHash('sha256').update(bytes).digest('hex')
  const detected = detect(bytes)
  const key = `${digest}.${detected ? EXTENSIONS[detected] : 'bin'}`
  const declared = event.headers?.['content-type'] ?? null
  const contentType = detected ?? declared ?? 'application/octet-stream'
  await s3.send(new PutObjectCommand({ Bucket: env('UPLOADS_BUCKET'), Key: `images/${key}`, Body: bytes, ContentType: contentType }))
  return json(200, { key, size: bytes.length, sha256: digest, contentType, declaredType: declared, detectedType: detected ?? null })
}

export const downloads = async (event: HttpEvent) => {
  const key = event.pathParameters?.key ?? ''
  if (!KEY.test(key)) return json(404, { error: `no upload ${JSON.stringify(key)}` })
  const thumbnailOf = (event.rawPath ?? '').includes('/thumbnails/')
  const target = thumbnailOf ? `thumbnails/${key.replace(/\.[a-z]+$/, '.png')}` : `images/${key}`
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: env('UPLOADS_BUCKET'), Key: target }))
    const bytes = await object.Body?.transformToByteArray()
    return {
      statusCode: 200,
      headers: { 'content-type': object.ContentType ?? 'application/octet-stream', etag: object.ETag ?? '', 'x-content-type-options': 'nosniff' },
      body: Buffer.from(bytes ?? new Uint8Array()).toString('base64'),
      isBase64Encoded: true,
    }
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return json(404, { error: `no ${thumbnailOf ? 'thumbnail' : 'upload'} ${JSON.stringify(key)}` })
    throw error
  }
}

interface S3Event {
  Records: Array<{ eventName: string; s3: { bucket: { name: string }; object: { key: string } } }>
}

export const thumbnails = async (event: S3Event) => {
  for (const record of event.Records) {
    const bucket = record.s3.bucket.name
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '))
    if (!record.eventName.startsWith('ObjectCreated') || !/\.(png|jpe?g|gif|webp)$/i.test(key)) continue
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    const bytes = await object.Body?.transformToByteArray()
    if (bytes === undefined) continue
    try {
      const made = await thumbnail(bytes, { maxSide: 128, maxPixels: 16_000_000 })
      const target = `thumbnails/${key.slice(key.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '.png')}`
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: target, Body: made.png, ContentType: 'image/png' }))
      console.log(JSON.stringify({ message: 'thumbnail written', key, target, width: made.width, height: made.height }))
    } catch (error) {
      if (!(error instanceof ImageError)) throw error
      console.log(JSON.stringify({ message: 'thumbnail skipped', key, reason: error.message }))
    }
  }
}
