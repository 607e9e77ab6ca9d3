import { expect } from 'chai'
import { ProtoReader } from '@polycloud/gcp/protobuf'
import { doubleField, key, lengthDelimited, stringField, varint } from './protobuf-encoder.ts'

function reader(bytes: number[]): ProtoReader {
  return new ProtoReader(Uint8Array.from(bytes), 'test message')
}

describe('gcp/protobuf', () => {
  it('reads int64 varints as exact decimal strings, negatives and values past 2^53 included', () => {
    for (const value of [0n, 1n, 127n, 128n, 300n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 63n), -300n]) {
      const r = reader(varint(value))
      expect(r.int64(), String(value)).to.equal(value.toString())
      expect(r.done).to.equal(true)
    }
    // Hand-encoded: 300 is ac 02; -1 is ten bytes, nine ff and 01.
    expect(reader([0xac, 0x02]).int64()).to.equal('300')
    expect(reader([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).int64()).to.equal('-1')
  })

  it('reads uint32, int32 (sign-extended) and bools', () => {
    expect(reader([0xac, 0x02]).uint32()).to.equal(300)
    expect(reader(varint(0xffffffff)).uint32()).to.equal(0xffffffff)
    expect(reader(varint(-5)).int32()).to.equal(-5)
    expect(reader([0x01]).bool()).to.equal(true)
    expect(reader([0x00]).bool()).to.equal(false)
  })

  it('reads tags, doubles, strings, bytes and sub-messages, and skips every wire type', () => {
    const bytes = [
      ...key(1, 0), ...varint(7), // varint to skip
      ...doubleField(2, -0.9781),
      ...key(3, 5), 1, 2, 3, 4, // fixed32 to skip
      ...stringField(4, 'héllo'),
      ...lengthDelimited(5, [...key(1, 0), 42]),
      ...doubleField(6, 1), // fixed64 to skip
      ...lengthDelimited(7, [0xde, 0xad]),
    ]
    const r = reader(bytes)
    const seen: Record<number, unknown> = {}
    while (!r.done) {
      const tag = r.tag()
      switch (tag >>> 3) {
        case 2:
          seen[2] = r.double()
          break
        case 4:
          seen[4] = r.string()
          break
        case 5: {
          const sub = r.message('sub')
          expect(sub.tag()).to.equal(8)
          seen[5] = sub.uint32()
          expect(sub.done).to.equal(true)
          break
        }
        case 7:
          seen[7] = r.base64()
          break
        default:
          r.skip(tag & 7)
      }
    }
    expect(seen).to.deep.equal({ 2: -0.9781, 4: 'héllo', 5: 42, 7: '3q0=' })
  })

  it('names the message, the problem and the offset for malformed input', () => {
    expect(() => reader([0x80]).uint32()).to.throw(/^test message: malformed protobuf \(truncated varint at byte 1\)$/)
    const short = reader([...key(1, 2), 5, 1])
    short.tag()
    expect(() => short.skip(2)).to.throw(/field of 5 bytes runs past the end at byte 2/)
    expect(() => reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).int64()).to.throw(/varint longer than 10 bytes/)
    expect(() => reader([0x00]).tag()).to.throw(/field number 0/)
    expect(() => reader([]).skip(3)).to.throw(/unsupported wire type 3/)
    expect(() => reader([0x02, 0xff, 0xfe]).string()).to.throw(/not valid UTF-8/)
    const r = reader(key(1, 0))
    expect(() => r.expect(r.tag(), 2)).to.throw(/field 1 has wire type 0, expected 2/)
    expect(() => reader([1, 2, 3]).double()).to.throw(/field of 8 bytes runs past the end/)
  })
})
