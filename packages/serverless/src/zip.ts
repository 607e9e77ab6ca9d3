/**
 * Deployment zips: unix file modes on every entry (Azure's Flex Consumption loads no function from a zip without
 * them), a fixed timestamp so the same input gives the same bytes, deflate.
 */
import { createWriteStream, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
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
