import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import {
  base64ToBytes,
  bytesToBase64,
  isBase64,
  isTextContentType,
  toArrayBuffer,
  utf8Decode,
  utf8DecodeStrict,
  utf8Encode,
} from '@polycloud/core/adapter'

describe('core/encoding', () => {
  it('round-trips random bytes through base64', () => {
    for (const size of [0, 1, 2, 3, 100, 70_000]) {
      const bytes = new Uint8Array(randomBytes(size))
      const text = bytesToBase64(bytes)
      expect(text).to.equal(Buffer.from(bytes).toString('base64'))
      expect(isBase64(text)).to.equal(true)
      expect(new Uint8Array(base64ToBytes(text))).to.deep.equal(bytes)
    }
  })

  it('recognises only standard base64', () => {
    for (const valid of ['', 'PGlkay8+', 'AQIDBA==', 'AQIDBA', 'YQ==', 'YWI=']) expect(isBase64(valid), valid).to.equal(true)
    for (const invalid of ['{{{body}}}', 'Hello from Lambda', 'a', 'ab=c', 'a===', 'YQ=', 'PGlk ay8+', '-_-_']) {
      expect(isBase64(invalid), invalid).to.equal(false)
    }
  })

  it('decodes UTF-8 leniently or strictly', () => {
    const bytes = utf8Encode('héllo ✓ 😀')
    expect(utf8Decode(bytes)).to.equal('héllo ✓ 😀')
    expect(utf8DecodeStrict(bytes)).to.equal('héllo ✓ 😀')
    expect(utf8DecodeStrict(new Uint8Array([0xc3, 0x28]))).to.equal(undefined)
    expect(utf8Decode(new Uint8Array([0xc3, 0x28]))).to.equal('\uFFFD(')
  })

  it('copies views into standalone ArrayBuffers', () => {
    const pooled = Buffer.from('abc')
    const copy = toArrayBuffer(pooled)
    expect(copy.byteLength).to.equal(3)
    expect(new TextDecoder().decode(copy)).to.equal('abc')
  })

  it('classifies text content types', () => {
    for (const type of ['text/plain', 'application/json', 'application/json; charset=utf-8', 'application/vnd.api+json', 'image/svg+xml', 'application/xml', 'application/x-www-form-urlencoded']) {
      expect(isTextContentType(type), type).to.equal(true)
    }
    for (const type of ['image/png', 'application/octet-stream', 'application/pdf', 'idk', undefined, null, '']) {
      expect(isTextContentType(type), String(type)).to.equal(false)
    }
  })
})
