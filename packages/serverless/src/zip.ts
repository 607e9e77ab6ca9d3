/**
 * Deployment zips: unix file modes on every entry (Azure's Flex Consumption loads no function from a zip without
 * them), a fixed timestamp so the same input gives the same bytes, deflate.
 */
import { createWriteStream, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { inflateRawSync } from 'node:zlib'
import yazl from 'yazl'

export interface ZipEntry {
  /** Path inside the zip, with `/`. */
  readonly name: string
  readonly data: Uint8Array | string
  /** Unix mode bits (default 0o644: a regular file, rw-r--r--). */
  readonly mode?: number
}

/** 1980-01-01, the earliest time a zip can hold: the same files always give the same zip. */
const EPOCH = new Date(1980, 0, 1, 0, 0, 0)

/** Writes a zip of the entries to `path`; resolves with its size in bytes. */
export function writeZip(path: string, entries: readonly ZipEntry[]): Promise<number> {
  mkdirSync(dirname(path), { recursive: true })
  const zip = new yazl.ZipFile()
  for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength)
    zip.addBuffer(data, entry.name, { mode: 0o100000 | (entry.mode ?? 0o644), mtime: EPOCH, compress: true })
  }
  return new Promise((resolve, reject) => {
    let size = 0
    const out = createWriteStream(path)
    zip.outputStream.on('data', (chunk: Buffer) => (size += chunk.length))
    zip.outputStream.on('error', reject)
    out.on('error', reject)
    out.on('close', () => resolve(size))
    zip.outputStream.pipe(out)
    zip.end()
  })
}

/** An entry read back from a zip: its name, bytes and unix mode bits (without the file type). */
export interface ZipFileEntry {
  readonly name: string
  readonly data: Buffer
  readonly mode: number
}

/**
 * Reads a zip's files (stored or deflated, as `writeZip` and most tools write them): the local emulation serves an
 * artifact from its zip, and tests check what one holds. Throws on anything that is not a well-formed zip.
 */
export function readZip(zip: Buffer): ZipFileEntry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  if (end === -1 || end + 22 > zip.length) throw new Error('not a zip file (no end of central directory)')
  const count = zip.readUInt16LE(end + 10)
  let offset = zip.readUInt32LE(end + 16)
  const entries: ZipFileEntry[] = []
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`zip central directory entry ${i} is damaged`)
    const method = zip.readUInt16LE(offset + 10)
    const compressedSize = zip.readUInt32LE(offset + 20)
    const nameLength = zip.readUInt16LE(offset + 28)
    const extraLength = zip.readUInt16LE(offset + 30)
    const commentLength = zip.readUInt16LE(offset + 32)
    const external = zip.readUInt32LE(offset + 38)
    const local = zip.readUInt32LE(offset + 42)
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength)
    offset += 46 + nameLength + extraLength + commentLength
    if (name.endsWith('/')) continue
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
    const raw = zip.subarray(start, start + compressedSize)
    if (method !== 0 && method !== 8) throw new Error(`zip entry ${name} uses compression method ${method} (only stored and deflated are read)`)
    entries.push({ name, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw), mode: (external >>> 16) & 0o7777 })
  }
  return entries
}
