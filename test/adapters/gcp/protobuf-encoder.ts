/**
 * A small protobuf writer for tests: encodes DocumentEventData (google-cloudevents firestore/v1/data.proto field
 * numbers) from its JSON form, independently of the adapter's reader, so the reader can be checked against it.
 */
import type { DocumentEventData, FirestoreDocument, FirestoreValue } from '@polycloud/gcp'

export function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value))
  const out: number[] = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) byte |= 0x80
    out.push(byte)
  } while (v !== 0n)
  return out
}

export function key(field: number, wireType: number): number[] {
  return varint((field << 3) | wireType)
}

export function lengthDelimited(field: number, bytes: number[] | Uint8Array): number[] {
  return [...key(field, 2), ...varint(bytes.length), ...bytes]
}

export function stringField(field: number, text: string): number[] {
  return lengthDelimited(field, [...Buffer.from(text, 'utf8')])
}

export function doubleField(field: number, value: number): number[] {
  const buffer = Buffer.alloc(8)
  buffer.writeDoubleLE(value)
  return [...key(field, 1), ...buffer]
}

function timestamp(iso: string): number[] {
  const match = /^(.*?)(?:\.(\d+))?Z$/.exec(iso)
  if (!match) throw new Error(`bad timestamp ${iso}`)
  const seconds = Math.floor(Date.parse(`${match[1]}Z`) / 1000)
  const nanos = match[2] ? Number(match[2].padEnd(9, '0')) : 0
  return [...(seconds ? [...key(1, 0), ...varint(seconds)] : []), ...(nanos ? [...key(2, 0), ...varint(nanos)] : [])]
}

export function encodeValue(value: FirestoreValue): number[] {
  if (value.booleanValue !== undefined) return [...key(1, 0), ...varint(value.booleanValue ? 1 : 0)]
  if (value.integerValue !== undefined) return [...key(2, 0), ...varint(BigInt(value.integerValue))]
  if (value.doubleValue !== undefined) return doubleField(3, Number(value.doubleValue))
  if (value.referenceValue !== undefined) return stringField(5, value.referenceValue)
  if (value.mapValue !== undefined) return lengthDelimited(6, encodeMap(1, value.mapValue.fields ?? {}))
  if (value.geoPointValue !== undefined) {
    const { latitude = 0, longitude = 0 } = value.geoPointValue
    return lengthDelimited(8, [...doubleField(1, latitude), ...doubleField(2, longitude)])
  }
  if (value.arrayValue !== undefined) {
    return lengthDelimited(9, (value.arrayValue.values ?? []).flatMap((item) => lengthDelimited(1, encodeValue(item))))
  }
  if (value.timestampValue !== undefined) return lengthDelimited(10, timestamp(value.timestampValue))
  if ('nullValue' in value) return [...key(11, 0), 0]
  if (value.stringValue !== undefined) return stringField(17, value.stringValue)
  if (value.bytesValue !== undefined) return lengthDelimited(18, [...Buffer.from(value.bytesValue, 'base64')])
  throw new Error(`cannot encode ${JSON.stringify(value)}`)
}

function encodeMap(field: number, fields: Record<string, FirestoreValue>): number[] {
  return Object.entries(fields).flatMap(([name, value]) =>
    lengthDelimited(field, [...stringField(1, name), ...lengthDelimited(2, encodeValue(value))]),
  )
}

export function encodeDocument(document: FirestoreDocument): number[] {
  return [
    ...(document.name ? stringField(1, document.name) : []),
    ...encodeMap(2, document.fields ?? {}),
    ...(document.createTime ? lengthDelimited(3, timestamp(document.createTime)) : []),
    ...(document.updateTime ? lengthDelimited(4, timestamp(document.updateTime)) : []),
  ]
}

export function encodeDocumentEventData(data: DocumentEventData): Uint8Array<ArrayBuffer> {
  const isPresent = (document: FirestoreDocument | undefined): document is FirestoreDocument =>
    document !== undefined && Object.keys(document).length > 0
  return Uint8Array.from([
    ...(isPresent(data.value) ? lengthDelimited(1, encodeDocument(data.value)) : []),
    ...(isPresent(data.oldValue) ? lengthDelimited(2, encodeDocument(data.oldValue)) : []),
    ...(data.updateMask?.fieldPaths?.length ? lengthDelimited(3, data.updateMask.fieldPaths.flatMap((path) => stringField(1, path))) : []),
  ])
}
