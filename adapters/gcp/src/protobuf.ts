import { EventError, bytesToBase64, utf8DecodeStrict } from '@polycloud/core/adapter'

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/). */
export const VARINT = 0
export const FIXED64 = 1
export const LENGTH_DELIMITED = 2
export const FIXED32 = 5

/**
 * A minimal protobuf wire-format reader: just what decoding Google's event payloads needs (varints, int64 as exact
 * decimal strings, doubles, strings, bytes and sub-messages; unknown fields skipped). Malformed input throws an
 * {@link EventError} naming what was wrong and where.
 */
export class ProtoReader {
  #pos: number
  readonly #end: number
  readonly #bytes: Uint8Array
  readonly #what: string

  /** `what` names the message in errors, e.g. `gcp:firestore: DocumentEventData`. */
  constructor(bytes: Uint8Array, what: string, start = 0, end = bytes.byteLength) {
    this.#bytes = bytes
    this.#pos = start
    this.#end = end
    this.#what = what
  }

  get done(): boolean {
    return this.#pos >= this.#end
  }

  /** The next field's tag: field number in the high bits, wire type in the low 3 (`tag >>> 3`, `tag & 7`). */
  tag(): number {
    const tag = this.uint32()
    if (tag >>> 3 === 0) this.#fail('field number 0')
    return tag
  }

  /** A varint's low 32 bits as an unsigned number (tags, lengths, bools, enums). */
  uint32(): number {
    let value = 0
    for (let shift = 0, i = 0; i < 10; i++, shift += 7) {
      const byte = this.#byte()
      if (shift < 32) value |= (byte & 0x7f) << shift
      if (byte < 0x80) return value >>> 0
    }
    return this.#fail('varint longer than 10 bytes')
  }

  /** An int64 varint (two's complement) as an exact decimal string, the proto3 JSON form of int64. */
  int64(): string {
    let lo = 0
    let hi = 0
    for (let i = 0; i < 10; i++) {
      const byte = this.#byte()
      const bits = byte & 0x7f
      if (i < 4) lo |= bits << (7 * i)
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28
        hi |= bits >> 4
      } else hi |= bits << (7 * i - 32)
      if (byte < 0x80) {
        lo >>>= 0
        hi >>>= 0
        if (hi === 0) return String(lo)
        if (hi < 0x200000) return String(hi * 0x100000000 + lo)
        return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString()
      }
    }
    return this.#fail('varint longer than 10 bytes')
  }

  /** An int32 varint (negative values are sign-extended to 10 bytes on the wire). */
  int32(): number {
    return this.uint32() | 0
  }

  bool(): boolean {
    return this.uint32() !== 0
  }

  double(): number {
    const start = this.#take(8)
    const view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset + start, 8)
    return view.getFloat64(0, true)
  }

  bytes(): Uint8Array {
    const length = this.uint32()
    const start = this.#take(length)
    return this.#bytes.subarray(start, start + length)
  }

  base64(): string {
    return bytesToBase64(this.bytes())
  }

  string(): string {
    const text = utf8DecodeStrict(this.bytes())
    return text ?? this.#fail('string field is not valid UTF-8')
  }

  /** A reader over the next length-delimited field (an embedded message). */
  message(what: string): ProtoReader {
    const length = this.uint32()
    const start = this.#take(length)
    return new ProtoReader(this.#bytes, what, start, start + length)
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.uint32()
        return
      case FIXED64:
        this.#take(8)
        return
      case LENGTH_DELIMITED:
        this.#take(this.uint32())
        return
      case FIXED32:
        this.#take(4)
        return
      default:
        this.#fail(`unsupported wire type ${wireType}`)
    }
  }

  /** Checks that a field arrived with the wire type its schema says, so a wrong schema fails loudly. */
  expect(tag: number, wireType: number): void {
    if ((tag & 7) !== wireType) {
      this.#fail(`field ${tag >>> 3} has wire type ${tag & 7}, expected ${wireType}`)
    }
  }

  #byte(): number {
    if (this.#pos >= this.#end) this.#fail('truncated varint')
    return this.#bytes[this.#pos++] as number
  }

  #take(length: number): number {
    const start = this.#pos
    if (length > this.#end - start) this.#fail(`field of ${length} bytes runs past the end`)
    this.#pos = start + length
    return start
  }

  #fail(problem: string): never {
    throw new EventError(`${this.#what}: malformed protobuf (${problem} at byte ${this.#pos})`)
  }
}
