/**
 * The demo's PNG codec (handlers/lib/png.ts) against PngSuite, the PNG test images (test/fixtures/images/pngsuite,
 * with their provenance), and pngjs as the reference decoder: every valid image decodes to pngjs's pixels, every
 * broken one is refused with an ImageError, what it encodes reads back the same in pngjs, and hostile sizes stop
 * before memory is spent.
 */
import { expect } from 'chai'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { PNG } from 'pngjs'
import { ImageError, decodePng, encodePng, isPng, resize, thumbnail, type Image } from '../../handlers/lib/png.ts'
import { ROOT } from '../helpers/serverless.ts'

const SUITE = join(ROOT, 'test/fixtures/images/pngsuite')
const files = readdirSync(SUITE).filter((name) => name.endsWith('.png'))
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(SUITE, name)))

/** pngjs's RGBA of a PNG. */
function reference(bytes: Uint8Array): Image {
  const png = PNG.sync.read(Buffer.from(bytes))
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) }
}

/** A PNG written here, independently of the codec: one IDAT of zlib data, filter 0 on each row. */
function handmade(width: number, height: number, colour: number, depth: number, rows: Uint8Array[], extra: Array<[string, Uint8Array]> = []): Uint8Array {
  const chunk = (type: string, body: Uint8Array): Buffer => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(body.length)
    head.write(type, 4, 'latin1')
    const crcInput = Buffer.concat([Buffer.from(type, 'latin1'), body])
    const tail = Buffer.alloc(4)
    tail.writeUInt32BE(crc(crcInput))
    return Buffer.concat([head, body, tail])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width)
  header.writeUInt32BE(height, 4)
  header.set([depth, colour, 0, 0, 0], 8)
  const raw = Buffer.concat(rows.map((row) => Buffer.concat([Buffer.from([0]), row])))
  return new Uint8Array(
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), ...extra.map(([type, body]) => chunk(type, body)), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]),
  )
}

function crc(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const byte of bytes) {
    c ^= byte
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}

/** An RGBA image of solid quadrants: red, green, blue, half-transparent white. */
function quadrants(width: number, height: number): Image {
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = y < height / 2 ? (x < width / 2 ? [255, 0, 0, 255] : [0, 255, 0, 255]) : x < width / 2 ? [0, 0, 255, 255] : [255, 255, 255, 128]
      data.set(colour, (y * width + x) * 4)
    }
  }
  return { width, height, data }
}

describe('demo: the PNG codec', () => {
  it(`decodes every valid PngSuite image to pngjs's pixels (${files.filter((name) => !name.startsWith('x')).length} images: every colour type and bit depth, interlaced, filtered, transparent, odd sizes)`, async () => {
    for (const name of files.filter((file) => !file.startsWith('x'))) {
      const bytes = read(name)
      const ours = await decodePng(bytes)
      const theirs = reference(bytes)
      expect([ours.width, ours.height], name).to.deep.equal([theirs.width, theirs.height])
      // 16-bit samples: pngjs rounds to 8 bits, the codec keeps the high byte; at most 1 apart. The colour of a fully
      // transparent pixel is no colour (pngjs writes black, the codec the stored one).
      const tolerance = /16\.png$/.test(name) ? 1 : 0
      let worst = 0
      for (let i = 0; i < ours.data.length; i += 4) {
        if (ours.data[i + 3] === 0 && theirs.data[i + 3] === 0) continue
        for (let channel = 0; channel < 4; channel++) worst = Math.max(worst, Math.abs((ours.data[i + channel] as number) - (theirs.data[i + channel] as number)))
      }
      expect(worst, `${name}: the largest difference from pngjs`).to.be.at.most(tolerance)
    }
  })

  it('refuses every broken PngSuite image with an ImageError naming the problem', async () => {
    const broken = files.filter((file) => file.startsWith('x'))
    expect(broken.length).to.be.at.least(10)
    for (const name of broken) {
      let error: unknown
      try {
        await decodePng(read(name))
      } catch (caught) {
        error = caught
      }
      expect(error, name).to.be.instanceOf(ImageError)
      expect((error as Error).message, name).to.match(/^(not a PNG|PNG (damaged|truncated))/)
    }
  })

  it('refuses what is not a PNG, and says so', async () => {
    expect(isPng(read('basn2c08.png'))).to.equal(true)
    expect(isPng(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).to.equal(false)
    for (const bytes of [new Uint8Array(0), new Uint8Array(4096), new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])]) {
      await decodePng(bytes).then(
        () => expect.fail('decoded'),
        (error: unknown) => expect((error as Error).message).to.equal('not a PNG (its first bytes are not the PNG signature)'),
      )
    }
  })

  it('stops at the pixel limit before inflating, and at the first inflated byte beyond what the header allows', async () => {
    const wide = handmade(5000, 5000, 0, 8, [])
    await decodePng(wide).then(
      () => expect.fail('decoded'),
      (error: unknown) => expect((error as Error).message).to.equal('PNG of 5000 x 5000 pixels is larger than the 16000000 pixels this function decodes'),
    )
    await decodePng(handmade(4, 4, 0, 8, Array.from({ length: 4 }, () => new Uint8Array(4))), { maxPixels: 15 }).then(
      () => expect.fail('decoded'),
      (error: unknown) => expect((error as Error).message).to.match(/4 x 4 pixels is larger than the 15 pixels/),
    )
    // A 2 x 2 header over 10 MB of zeros (10 kB compressed).
    const bomb = handmade(2, 2, 0, 8, [new Uint8Array(10 * 1024 * 1024)])
    expect(bomb.length).to.be.below(20_000)
    await decodePng(bomb).then(
      () => expect.fail('decoded'),
      (error: unknown) => expect((error as Error).message).to.equal('PNG damaged: more image data than its 6 bytes'),
    )
    await decodePng(handmade(4, 4, 0, 8, [new Uint8Array(4)])).then(
      () => expect.fail('decoded'),
      (error: unknown) => expect((error as Error).message).to.equal('PNG truncated: 5 bytes of image data, 20 expected'),
    )
  })

  it('applies tRNS to greyscale, RGB and palette images', async () => {
    const grey = await decodePng(handmade(2, 1, 0, 8, [new Uint8Array([7, 8])], [['tRNS', new Uint8Array([0, 7])]]))
    expect([...grey.data]).to.deep.equal([7, 7, 7, 0, 8, 8, 8, 255])
    const palette = await decodePng(handmade(3, 1, 3, 2, [new Uint8Array([0b00011000])], [['PLTE', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])], ['tRNS', new Uint8Array([50])]]))
    expect([...palette.data]).to.deep.equal([1, 2, 3, 50, 4, 5, 6, 255, 7, 8, 9, 255])
    await decodePng(handmade(1, 1, 3, 8, [new Uint8Array([5])], [['PLTE', new Uint8Array([1, 2, 3])]])).then(
      () => expect.fail('decoded'),
      (error: unknown) => expect((error as Error).message).to.equal('PNG damaged: palette index 5 of 1 colours'),
    )
  })

  it('encodes what pngjs reads back pixel for pixel: RGB when opaque, RGBA otherwise', async () => {
    for (const name of ['basn6a08.png', 'basi3p04.png', 'tbrn2c08.png', 'basn0g16.png']) {
      const image = await decodePng(read(name))
      const encoded = await encodePng(image)
      const back = reference(encoded)
      expect([...back.data], name).to.deep.equal([...image.data])
      expect((await decodePng(encoded)).data).to.deep.equal(image.data)
    }
    const opaque = await encodePng({ width: 1, height: 1, data: new Uint8Array([1, 2, 3, 255]) })
    expect(opaque[25], 'colour type').to.equal(2)
    const translucent = await encodePng({ width: 1, height: 1, data: new Uint8Array([1, 2, 3, 4]) })
    expect(translucent[25], 'colour type').to.equal(6)
  })

  it('scales by area average, aspect kept, transparent pixels weighing nothing, never enlarging', () => {
    const small = resize(quadrants(300, 200), 128)
    expect([small.width, small.height]).to.deep.equal([128, 85])
    const at = (x: number, y: number) => [...small.data.subarray((y * small.width + x) * 4, (y * small.width + x) * 4 + 4)]
    expect(at(0, 0)).to.deep.equal([255, 0, 0, 255])
    expect(at(127, 0)).to.deep.equal([0, 255, 0, 255])
    expect(at(0, 84)).to.deep.equal([0, 0, 255, 255])
    expect(at(127, 84)).to.deep.equal([255, 255, 255, 128])
    // Half transparent black, half opaque red: red, half opaque (a plain average would give dark red).
    const mixed = resize({ width: 2, height: 1, data: new Uint8Array([0, 0, 0, 0, 200, 0, 0, 255]) }, 1)
    expect([...mixed.data]).to.deep.equal([200, 0, 0, 128])
    const tiny = { width: 3, height: 2, data: new Uint8Array(24).fill(9) }
    expect(resize(tiny, 128)).to.deep.equal(tiny)
    expect(resize({ width: 1000, height: 1, data: new Uint8Array(4000) }, 10)).to.include({ width: 10, height: 1 })
  })

  it('makes a thumbnail: a valid, smaller PNG of the right size', async () => {
    const source = await encodePng(quadrants(300, 200))
    const result = await thumbnail(source)
    expect(result).to.deep.include({ width: 128, height: 85, source: { width: 300, height: 200 } })
    const png = reference(result.png)
    expect([png.width, png.height]).to.deep.equal([128, 85])
    expect(result.png.length).to.be.below(source.length)
    expect(await thumbnail(source, { maxSide: 64 })).to.include({ width: 64, height: 43 })
  })
})
