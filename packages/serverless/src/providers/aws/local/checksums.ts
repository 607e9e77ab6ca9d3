/**
 * The checksums S3 verifies and stores with an object (flexible checksums: CRC32, CRC32C, SHA-1, SHA-256, sent
 * base64 in `x-amz-checksum-<algorithm>` or as a trailer of an aws-chunked body), and the decoder of aws-chunked
 * bodies (`Content-Encoding: aws-chunked`, `x-amz-content-sha256: STREAMING-...`) that the current SDKs send for
 * streams: `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` ... `0\r\n<trailer: value>\r\n\r\n`.
 */
import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { crc32 } from 'node:zlib'
import { AwsError } from './http.js'

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256' | 'CRC64NVME'

export const ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME']

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

function crc32c(data: Uint8Array, previous: number): number {
  let c = ~previous >>> 0
  for (let i = 0; i < data.length; i++) c = (CRC32C_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8)
  return ~c >>> 0
}

/** A running checksum of one algorithm; `digest()` is the base64 value S3 compares. CRC64NVME is not computed (undefined). */
export class Checksum {
  private crc = 0
  private readonly hash: Hash | undefined

  constructor(readonly algorithm: ChecksumAlgorithm) {
    this.hash = algorithm === 'SHA1' ? createHash('sha1') : algorithm === 'SHA256' ? createHash('sha256') : undefined
  }

  update(data: Uint8Array): void {
    if (this.hash) this.hash.update(data)
    else if (this.algorithm === 'CRC32') this.crc = crc32(data, this.crc)
    else if (this.algorithm === 'CRC32C') this.crc = crc32c(data, this.crc)
  }

  digest(): string | undefined {
    if (this.hash) return this.hash.digest('base64')
    if (this.algorithm === 'CRC64NVME') return undefined
    const out = Buffer.alloc(4)
    out.writeUInt32BE(this.crc >>> 0)
    return out.toString('base64')
  }
}

/** The checksum of some bytes at once. */
export function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): string | undefined {
  const sum = new Checksum(algorithm)
  sum.update(data)
  return sum.digest()
}

/** The algorithm a checksum header or trailer names (`x-amz-checksum-crc32` -> CRC32). */
export function algorithmOfHeader(header: string): ChecksumAlgorithm | undefined {
  const match = /^x-amz-checksum-(crc32c|crc32|sha1|sha256|crc64nvme)$/i.exec(header.trim())
  return match ? (match[1] as string).toUpperCase() as ChecksumAlgorithm : undefined
}

/** Decodes an aws-chunked body as it streams; `trailers` holds the trailing headers once it ends. */
export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {}
  private pending: Buffer = Buffer.alloc(0)
  private remaining = -1
  private state: 'size' | 'data' | 'crlf' | 'trailer' | 'done' = 'size'

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
      this.consume()
      callback()
    } catch (error) {
      callback(error as Error)
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.state === 'done' ? null : new AwsError('IncompleteBody', 'The aws-chunked body ended before its final chunk.'))
  }

  private consume(): void {
    for (;;) {
      if (this.state === 'data') {
        if (this.pending.length === 0) return
        const take = Math.min(this.remaining, this.pending.length)
        this.push(this.pending.subarray(0, take))
        this.pending = this.pending.subarray(take)
        this.remaining -= take
        if (this.remaining > 0) return
        this.state = 'crlf'
        continue
      }
      if (this.state === 'done') {
        if (this.pending.length > 0 && this.pending.toString('latin1').trim() !== '') throw new AwsError('InvalidRequest', 'Bytes follow the end of the aws-chunked body.')
        this.pending = Buffer.alloc(0)
        return
      }
      const end = this.pending.indexOf('\r\n')
      if (end === -1) {
        if (this.pending.length > 8192) throw new AwsError('InvalidRequest', 'An aws-chunked chunk header is longer than 8 KiB.')
        return
      }
      const line = this.pending.subarray(0, end).toString('latin1')
      this.pending = this.pending.subarray(end + 2)
      if (this.state === 'crlf') {
        if (line !== '') throw new AwsError('InvalidRequest', 'An aws-chunked chunk does not end with CRLF.')
        this.state = 'size'
      } else if (this.state === 'size') {
        const size = /^([0-9a-fA-F]+)(;.*)?$/.exec(line)?.[1]
        if (size === undefined) throw new AwsError('InvalidRequest', `An aws-chunked chunk header is malformed: ${JSON.stringify(line.slice(0, 40))}`)
        this.remaining = Number.parseInt(size, 16)
        this.state = this.remaining === 0 ? 'trailer' : 'data'
      } else if (line === '') {
        this.state = 'done'
      } else {
        const colon = line.indexOf(':')
        if (colon === -1) throw new AwsError('InvalidRequest', 'An aws-chunked trailer is not a header.')
        this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
    }
  }
}
