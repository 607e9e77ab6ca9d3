/**
 * A small PNG codec for the demo's thumbnails, on the web platform only: `DecompressionStream('deflate')` and
 * `CompressionStream('deflate')` (zlib streams, which PNG's image data is) exist on Node 20+ and on workerd, so the
 * same code runs on every provider without native modules, `node:` imports or WebAssembly.
 *
 * - {@link decodePng}: every standard PNG (grey, RGB, palette, grey with alpha, RGBA; bit depths 1-16; `tRNS`
 *   transparency; Adam7 interlacing), checked as it is read: the signature, each chunk's length and CRC, the header,
 *   the pixel count against `maxPixels` before anything is inflated, and the inflated size against what the header
 *   says (a compressed bomb stops at the first byte too many). Colour profiles and gamma are not applied; 16-bit
 *   samples keep their high byte. Anything else (another format, a damaged file) is an {@link ImageError} naming it.
 * - {@link resize}: area averaging with alpha weighting (transparent pixels do not darken their neighbours), never
 *   larger than the source.
 * - {@link encodePng}: 8-bit RGBA, or RGB when every pixel is opaque; each row with the filter that leaves the
 *   smallest sum (libpng's heuristic), one IDAT chunk.
 */

/** An image as RGBA bytes, 4 per pixel, rows top to bottom. */
export interface Image {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

/** The input is not a PNG this codec reads (or is too large to): the message says which and why. */
export class ImageError extends Error {
  override readonly name = 'ImageError'
}

export interface DecodeOptions {
  /** The most pixels an image may have: larger ones are refused before their data is inflated. Default 16 M. */
  readonly maxPixels?: number
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
export const DEFAULT_MAX_PIXELS = 16_000_000
/** The PNG specification's bound on width and height. */
const MAX_DIMENSION = 2 ** 31 - 1

/** Channels per colour type, and the bit depths each allows (PNG specification, table 11.1). */
const COLOUR_TYPES: Readonly<Record<number, { readonly channels: number; readonly depths: readonly number[]; readonly name: string }>> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16], name: 'greyscale' },
  2: { channels: 3, depths: [8, 16], name: 'RGB' },
  3: { channels: 1, depths: [1, 2, 4, 8], name: 'palette' },
  4: { channels: 2, depths: [8, 16], name: 'greyscale with alpha' },
  6: { channels: 4, depths: [8, 16], name: 'RGBA' },
}

/** Adam7's passes: the first column and row of each, and the steps between them. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const ascii = (bytes: Uint8Array): string => String.fromCharCode(...bytes)

interface Header {
  readonly width: number
  readonly height: number
  readonly depth: number
  readonly colour: number
  readonly interlaced: boolean
}

/** Whether the bytes start with PNG's signature. */
export function isPng(bytes: Uint8Array): boolean {
  return SIGNATURE.every((byte, index) => bytes[index] === byte)
}

/** Reads a PNG into RGBA pixels. */
export async function decodePng(bytes: Uint8Array, options: DecodeOptions = {}): Promise<Image> {
  if (!isPng(bytes)) throw new ImageError('not a PNG (its first bytes are not the PNG signature)')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let header: Header | undefined
  let palette: Uint8Array | undefined
  let transparency: Uint8Array | undefined
  const data: Uint8Array[] = []
  let position = SIGNATURE.length
  let ended = false
  while (!ended) {
    if (position + 12 > bytes.length) throw new ImageError('PNG truncated: it ends before its IEND chunk')
    const length = view.getUint32(position)
    if (length > 0x7fffffff || position + 12 + length > bytes.length) throw new ImageError(`PNG truncated: a chunk of ${length} bytes runs past the end`)
    const typeAndData = bytes.subarray(position + 4, position + 8 + length)
    const type = ascii(typeAndData.subarray(0, 4))
    if (crc32(typeAndData) !== view.getUint32(position + 8 + length)) throw new ImageError(`PNG damaged: the ${JSON.stringify(type)} chunk's CRC does not match`)
    const body = typeAndData.subarray(4)
    if (header === undefined && type !== 'IHDR') throw new ImageError('PNG damaged: the first chunk is not IHDR')
    switch (type) {
      case 'IHDR':
        header = readHeader(body, options.maxPixels ?? DEFAULT_MAX_PIXELS)
        break
      case 'PLTE':
        if (body.length % 3 !== 0 || body.length === 0 || body.length > 768) throw new ImageError(`PNG damaged: a palette of ${body.length} bytes`)
        palette = body
        break
      case 'tRNS':
        transparency = body
        break
      case 'IDAT':
        data.push(body)
        break
      case 'IEND':
        ended = true
        break
      default:
        // Bit 5 of the first letter clear: a critical chunk this decoder does not know must not be skipped.
        if (((typeAndData[0] as number) & 0x20) === 0) throw new ImageError(`PNG uses the critical chunk ${JSON.stringify(type)}, which this decoder does not know`)
    }
    position += 12 + length
  }
  const png = header as Header
  if (data.length === 0) throw new ImageError('PNG damaged: it has no image data (IDAT)')
  if (png.colour === 3 && palette === undefined) throw new ImageError('PNG damaged: a palette image without a palette (PLTE)')
  const bitsPerPixel = COLOUR_TYPES[png.colour]!.channels * png.depth
  const passes = png.interlaced ? ADAM7.map(([x0, y0, dx, dy]) => ({ x0, y0, dx, dy, width: Math.ceil((png.width - x0) / dx), height: Math.ceil((png.height - y0) / dy) })) : [{ x0: 0, y0: 0, dx: 1, dy: 1, width: png.width, height: png.height }]
  const expected = passes.reduce((total, pass) => total + (pass.width === 0 ? 0 : (Math.ceil((pass.width * bitsPerPixel) / 8) + 1) * pass.height), 0)
  const raw = await inflate(data, expected)
  const rgba = new Uint8Array(png.width * png.height * 4)
  const pixel = pixelReader(png, palette, transparency)
  let offset = 0
  for (const pass of passes) {
    if (pass.width === 0 || pass.height === 0) continue
    const stride = Math.ceil((pass.width * bitsPerPixel) / 8)
    const rows = unfilter(raw.subarray(offset, offset + (stride + 1) * pass.height), stride, pass.height, Math.max(1, bitsPerPixel >> 3))
    offset += (stride + 1) * pass.height
    for (let y = 0; y < pass.height; y++) {
      const row = rows.subarray(y * stride, (y + 1) * stride)
      const target = pass.y0 + y * pass.dy
      for (let x = 0; x < pass.width; x++) pixel(row, x, rgba, (target * png.width + pass.x0 + x * pass.dx) * 4)
    }
  }
  return { width: png.width, height: png.height, data: rgba }
}

function readHeader(body: Uint8Array, maxPixels: number): Header {
  if (body.length !== 13) throw new ImageError(`PNG damaged: an IHDR of ${body.length} bytes (13 expected)`)
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const width = view.getUint32(0)
  const height = view.getUint32(4)
  const [depth, colour, compression, filter, interlace] = body.subarray(8) as unknown as number[]
  if (width === 0 || height === 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) throw new ImageError(`PNG damaged: ${width} x ${height} pixels`)
  const type = COLOUR_TYPES[colour as number]
  if (type === undefined) throw new ImageError(`PNG damaged: colour type ${colour}`)
  if (!type.depths.includes(depth as number)) throw new ImageError(`PNG damaged: bit depth ${depth} with ${type.name} (allowed: ${type.depths.join(', ')})`)
  if (compression !== 0 || filter !== 0 || (interlace !== 0 && interlace !== 1)) throw new ImageError('PNG damaged: unknown compression, filter or interlace method')
  if (width * height > maxPixels) throw new ImageError(`PNG of ${width} x ${height} pixels is larger than the ${maxPixels} pixels this function decodes`)
  return { width, height, depth: depth as number, colour: colour as number, interlaced: interlace === 1 }
}

/** The zlib stream of the IDAT chunks inflated, exactly `expected` bytes (stopping at the first byte too many). */
async function inflate(chunks: readonly Uint8Array[], expected: number): Promise<Uint8Array> {
  const out = new Uint8Array(expected)
  let length = 0
  const reader = new Blob(chunks as Uint8Array<ArrayBuffer>[]).stream().pipeThrough(new DecompressionStream('deflate')).getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (length + value.length > expected) throw new ImageError(`PNG damaged: more image data than its ${expected} bytes`)
      out.set(value, length)
      length += value.length
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined)
    if (error instanceof ImageError) throw error
    throw new ImageError(`PNG damaged: its image data does not inflate (${error instanceof Error ? error.message : String(error)})`)
  }
  if (length < expected) throw new ImageError(`PNG truncated: ${length} bytes of image data, ${expected} expected`)
  return out
}

/** The Paeth predictor (PNG specification, 9.4). */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/** The scanlines of one image (or pass) without their filter bytes, unfiltered; `bpp` bytes per pixel (at least 1). */
function unfilter(raw: Uint8Array, stride: number, height: number, bpp: number): Uint8Array {
  const out = new Uint8Array(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const row = y * stride
    const up = row - stride
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? (out[row + x - bpp] as number) : 0
      const b = y > 0 ? (out[up + x] as number) : 0
      const c = x >= bpp && y > 0 ? (out[up + x - bpp] as number) : 0
      const value = line[x] as number
      switch (filter) {
        case 0:
          out[row + x] = value
          break
        case 1:
          out[row + x] = value + a
          break
        case 2:
          out[row + x] = value + b
          break
        case 3:
          out[row + x] = value + ((a + b) >> 1)
          break
        case 4:
          out[row + x] = value + paeth(a, b, c)
          break
        default:
          throw new ImageError(`PNG damaged: filter type ${filter} on row ${y}`)
      }
    }
  }
  return out
}

type PixelReader = (row: Uint8Array, x: number, out: Uint8Array, at: number) => void

/** Reads pixel `x` of an unfiltered row into `out` as RGBA, for the image's colour type and bit depth. */
function pixelReader(png: Header, palette: Uint8Array | undefined, transparency: Uint8Array | undefined): PixelReader {
  const { depth, colour } = png
  const channels = COLOUR_TYPES[colour]!.channels
  // A sample: the full value (for tRNS) and its 8-bit form.
  const max = (1 << depth) - 1
  const sample = (row: Uint8Array, index: number): number => {
    if (depth === 16) return ((row[index * 2] as number) << 8) | (row[index * 2 + 1] as number)
    if (depth === 8) return row[index] as number
    const bit = index * depth
    return ((row[bit >> 3] as number) >> (8 - depth - (bit & 7))) & max
  }
  const eight = (value: number): number => (depth === 16 ? value >> 8 : depth === 8 ? value : Math.round((value * 255) / max))
  const key = (index: number): number | undefined => (transparency !== undefined && transparency.length >= index * 2 + 2 ? ((transparency[index * 2] as number) << 8) | (transparency[index * 2 + 1] as number) : undefined)
  switch (colour) {
    case 0: {
      const transparent = key(0)
      return (row, x, out, at) => {
        const value = sample(row, x)
        const grey = eight(value)
        out[at] = out[at + 1] = out[at + 2] = grey
        out[at + 3] = value === transparent ? 0 : 255
      }
    }
    case 2: {
      const [r, g, b] = [key(0), key(1), key(2)]
      return (row, x, out, at) => {
        const red = sample(row, x * 3)
        const green = sample(row, x * 3 + 1)
        const blue = sample(row, x * 3 + 2)
        out[at] = eight(red)
        out[at + 1] = eight(green)
        out[at + 2] = eight(blue)
        out[at + 3] = red === r && green === g && blue === b ? 0 : 255
      }
    }
    case 3: {
      const colours = (palette as Uint8Array).length / 3
      return (row, x, out, at) => {
        const index = sample(row, x)
        if (index >= colours) throw new ImageError(`PNG damaged: palette index ${index} of ${colours} colours`)
        out[at] = (palette as Uint8Array)[index * 3] as number
        out[at + 1] = (palette as Uint8Array)[index * 3 + 1] as number
        out[at + 2] = (palette as Uint8Array)[index * 3 + 2] as number
        out[at + 3] = transparency !== undefined && index < transparency.length ? (transparency[index] as number) : 255
      }
    }
    default:
      // Grey with alpha (4), RGBA (6).
      return (row, x, out, at) => {
        const base = x * channels
        if (channels === 2) {
          out[at] = out[at + 1] = out[at + 2] = eight(sample(row, base))
          out[at + 3] = eight(sample(row, base + 1))
        } else {
          for (let channel = 0; channel < 4; channel++) out[at + channel] = eight(sample(row, base + channel))
        }
      }
  }
}

/**
 * The image scaled to fit a `maxSide` square, its aspect kept (each side at least 1 pixel), never enlarged: each
 * target pixel is the alpha-weighted average of the source pixels that fall in it.
 */
export function resize(image: Image, maxSide: number): Image {
  if (!Number.isInteger(maxSide) || maxSide < 1) throw new RangeError(`maxSide must be a positive whole number, not ${maxSide}`)
  const scale = Math.min(1, maxSide / Math.max(image.width, image.height))
  const width = Math.max(1, Math.round(image.width * scale))
  const height = Math.max(1, Math.round(image.height * scale))
  if (width === image.width && height === image.height) return { width, height, data: image.data.slice() }
  // Per target pixel: the alpha-weighted colour sums, the alpha sum and the number of source pixels.
  const sums = new Float64Array(width * height * 5)
  const columns = new Uint32Array(image.width)
  for (let x = 0; x < image.width; x++) columns[x] = Math.min(width - 1, Math.floor((x * width) / image.width))
  for (let y = 0; y < image.height; y++) {
    const row = Math.min(height - 1, Math.floor((y * height) / image.height)) * width
    for (let x = 0; x < image.width; x++) {
      const source = (y * image.width + x) * 4
      const target = (row + (columns[x] as number)) * 5
      const alpha = image.data[source + 3] as number
      sums[target] = (sums[target] as number) + (image.data[source] as number) * alpha
      sums[target + 1] = (sums[target + 1] as number) + (image.data[source + 1] as number) * alpha
      sums[target + 2] = (sums[target + 2] as number) + (image.data[source + 2] as number) * alpha
      sums[target + 3] = (sums[target + 3] as number) + alpha
      sums[target + 4] = (sums[target + 4] as number) + 1
    }
  }
  const data = new Uint8Array(width * height * 4)
  for (let i = 0; i < width * height; i++) {
    const alpha = sums[i * 5 + 3] as number
    const count = sums[i * 5 + 4] as number
    for (let channel = 0; channel < 3; channel++) data[i * 4 + channel] = alpha === 0 ? 0 : Math.round((sums[i * 5 + channel] as number) / alpha)
    data[i * 4 + 3] = Math.round(alpha / count)
  }
  return { width, height, data }
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, body.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(body, 8)
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)))
  return out
}

/** The scanlines filtered, each with the filter whose output has the smallest sum of absolute values. */
function filterRows(pixels: Uint8Array, stride: number, height: number, bpp: number): Uint8Array {
  const out = new Uint8Array((stride + 1) * height)
  const candidate = new Uint8Array(stride)
  for (let y = 0; y < height; y++) {
    const row = y * stride
    let best = Infinity
    for (let filter = 0; filter < 5; filter++) {
      let sum = 0
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? (pixels[row + x - bpp] as number) : 0
        const b = y > 0 ? (pixels[row - stride + x] as number) : 0
        const c = x >= bpp && y > 0 ? (pixels[row - stride + x - bpp] as number) : 0
        const value = pixels[row + x] as number
        const predicted = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c)
        const filtered = (value - predicted) & 0xff
        candidate[x] = filtered
        sum += filtered < 128 ? filtered : 256 - filtered
      }
      if (sum < best) {
        best = sum
        out[y * (stride + 1)] = filter
        out.set(candidate, y * (stride + 1) + 1)
      }
    }
  }
  return out
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer())
}

/** A PNG of the image: 8-bit RGB when every pixel is opaque, RGBA otherwise. */
export async function encodePng(image: Image): Promise<Uint8Array> {
  const { width, height, data } = image
  if (data.length !== width * height * 4) throw new RangeError(`an image of ${width} x ${height} pixels has ${width * height * 4} bytes of RGBA, not ${data.length}`)
  let opaque = true
  for (let i = 3; i < data.length && opaque; i += 4) opaque = data[i] === 255
  const channels = opaque ? 3 : 4
  let pixels = data
  if (opaque) {
    pixels = new Uint8Array(width * height * 3)
    for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
      pixels[j] = data[i] as number
      pixels[j + 1] = data[i + 1] as number
      pixels[j + 2] = data[i + 2] as number
    }
  }
  const header = new Uint8Array(13)
  const view = new DataView(header.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  header.set([8, opaque ? 2 : 6, 0, 0, 0], 8)
  const compressed = await deflate(filterRows(pixels, width * channels, height, channels))
  const parts = [new Uint8Array(SIGNATURE), chunk('IHDR', header), chunk('IDAT', compressed), chunk('IEND', new Uint8Array(0))]
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

export interface Thumbnail {
  /** The thumbnail, a PNG. */
  readonly png: Uint8Array
  readonly width: number
  readonly height: number
  /** The source image's size. */
  readonly source: { readonly width: number; readonly height: number }
}

/** A PNG's thumbnail: decoded, scaled to fit `maxSide` (default 128), encoded as PNG. */
export async function thumbnail(bytes: Uint8Array, options: DecodeOptions & { readonly maxSide?: number } = {}): Promise<Thumbnail> {
  const image = await decodePng(bytes, options)
  const small = resize(image, options.maxSide ?? 128)
  return { png: await encodePng(small), width: small.width, height: small.height, source: { width: image.width, height: image.height } }
}
