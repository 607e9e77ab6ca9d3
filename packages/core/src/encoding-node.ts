/** Node's `#encoding`: the functions of encoding.ts on Buffer, which is several times faster than the web APIs. */

/** The part of Node's Buffer used here (core is typed without @types/node: it also runs on Workers). */
type NodeBuffer = Uint8Array & { toString(encoding: 'base64' | 'utf8'): string }
const Buffer = (globalThis as unknown as {
  Buffer: { from(value: string, encoding: 'base64' | 'utf8'): NodeBuffer; from(value: ArrayBufferLike, offset: number, length: number): NodeBuffer }
}).Buffer

export { isBase64, utf8DecodeStrict } from './encoding.js'
export { toArrayBuffer, isTextContentType } from './content.js'

const view = (bytes: Uint8Array): NodeBuffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

export function base64ToBytes(text: string): Uint8Array {
  return Buffer.from(text, 'base64')
}

export function bytesToBase64(bytes: Uint8Array): string {
  return view(bytes).toString('base64')
}

export function utf8Encode(text: string): Uint8Array {
  return Buffer.from(text, 'utf8')
}

export function utf8Decode(bytes: Uint8Array): string {
  return view(bytes).toString('utf8')
}
