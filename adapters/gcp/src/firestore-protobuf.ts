import { EventError, setOwn } from '@polycloud/core/adapter'
import { FIXED64, LENGTH_DELIMITED, ProtoReader, VARINT } from './protobuf.js'
import type { DocumentEventData, FirestoreDocument, FirestoreValue } from './firestore.js'

// Field numbers from googleapis/google-cloudevents proto/google/events/cloud/firestore/v1/data.proto (the
// numbering Eventarc uses; firebase-functions' compiled protobufjs decoder has the same ids):
//   DocumentEventData { Document value = 1; Document old_value = 2; DocumentMask update_mask = 3; }
//   DocumentMask      { repeated string field_paths = 1; }
//   Document          { string name = 1; map<string, Value> fields = 2; Timestamp create_time = 3;
//                       Timestamp update_time = 4; }
//   Value oneof       { bool boolean_value = 1; int64 integer_value = 2; double double_value = 3;
//                       string reference_value = 5; MapValue map_value = 6; LatLng geo_point_value = 8;
//                       ArrayValue array_value = 9; Timestamp timestamp_value = 10; NullValue null_value = 11;
//                       string string_value = 17; bytes bytes_value = 18; }
//   ArrayValue { repeated Value values = 1; }   MapValue { map<string, Value> fields = 1; }
//   LatLng { double latitude = 1; double longitude = 2; }   Timestamp { int64 seconds = 1; int32 nanos = 2; }
// A map field is a repeated entry message { key = 1; value = 2; }.

const WHAT = 'gcp:firestore: DocumentEventData'

/**
 * Decodes a protobuf DocumentEventData (what Eventarc sends with `application/protobuf`, the default for Firestore
 * triggers) into its proto3 JSON form, the same shape as an `application/json` event's data. Unknown fields are
 * skipped; malformed bytes throw an EventError.
 */
export function decodeDocumentEventData(bytes: Uint8Array): DocumentEventData {
  const reader = new ProtoReader(bytes, WHAT)
  const out: DocumentEventData = {}
  while (!reader.done) {
    const tag = reader.tag()
    switch (tag >>> 3) {
      case 1:
        reader.expect(tag, LENGTH_DELIMITED)
        out.value = readDocument(reader.message(`${WHAT}.value`))
        break
      case 2:
        reader.expect(tag, LENGTH_DELIMITED)
        out.oldValue = readDocument(reader.message(`${WHAT}.old_value`))
        break
      case 3: {
        reader.expect(tag, LENGTH_DELIMITED)
        const mask = reader.message(`${WHAT}.update_mask`)
        const fieldPaths: string[] = []
        while (!mask.done) {
          const maskTag = mask.tag()
          if (maskTag >>> 3 === 1) {
            mask.expect(maskTag, LENGTH_DELIMITED)
            fieldPaths.push(mask.string())
          } else mask.skip(maskTag & 7)
        }
        out.updateMask = { fieldPaths }
        break
      }
      default:
        reader.skip(tag & 7)
    }
  }
  return out
}

function readDocument(reader: ProtoReader): FirestoreDocument {
  const document: FirestoreDocument = {}
  const fields: Record<string, FirestoreValue> = {}
  while (!reader.done) {
    const tag = reader.tag()
    switch (tag >>> 3) {
      case 1:
        reader.expect(tag, LENGTH_DELIMITED)
        document.name = reader.string()
        break
      case 2:
        reader.expect(tag, LENGTH_DELIMITED)
        readMapEntry(reader.message('gcp:firestore: Document.fields'), fields)
        break
      case 3:
        reader.expect(tag, LENGTH_DELIMITED)
        document.createTime = readTimestamp(reader.message('gcp:firestore: Document.create_time'))
        break
      case 4:
        reader.expect(tag, LENGTH_DELIMITED)
        document.updateTime = readTimestamp(reader.message('gcp:firestore: Document.update_time'))
        break
      default:
        reader.skip(tag & 7)
    }
  }
  document.fields = fields
  return document
}

/** Values nested deeper than this are refused before the decoder's recursion could exhaust the stack. */
const MAX_VALUE_DEPTH = 100

function readMapEntry(reader: ProtoReader, into: Record<string, FirestoreValue>, depth = 0): void {
  let key = ''
  let value: FirestoreValue = { nullValue: null }
  while (!reader.done) {
    const tag = reader.tag()
    const field = tag >>> 3
    if (field === 1) {
      reader.expect(tag, LENGTH_DELIMITED)
      key = reader.string()
    } else if (field === 2) {
      reader.expect(tag, LENGTH_DELIMITED)
      value = readValue(reader.message(`gcp:firestore: Value of field ${JSON.stringify(key)}`), depth)
    } else reader.skip(tag & 7)
  }
  setOwn(into, key, value)
}

function readValue(reader: ProtoReader, depth: number): FirestoreValue {
  if (depth > MAX_VALUE_DEPTH) throw new EventError(`gcp:firestore: DocumentEventData nests values deeper than ${MAX_VALUE_DEPTH} levels`)
  // A Value with no field set is the default of its oneof: proto3 cannot tell it from null.
  let value: FirestoreValue = { nullValue: null }
  while (!reader.done) {
    const tag = reader.tag()
    switch (tag >>> 3) {
      case 1:
        reader.expect(tag, VARINT)
        value = { booleanValue: reader.bool() }
        break
      case 2:
        reader.expect(tag, VARINT)
        value = { integerValue: reader.int64() }
        break
      case 3:
        reader.expect(tag, FIXED64)
        value = { doubleValue: reader.double() }
        break
      case 5:
        reader.expect(tag, LENGTH_DELIMITED)
        value = { referenceValue: reader.string() }
        break
      case 6: {
        reader.expect(tag, LENGTH_DELIMITED)
        const map = reader.message('gcp:firestore: MapValue')
        const fields: Record<string, FirestoreValue> = {}
        while (!map.done) {
          const mapTag = map.tag()
          if (mapTag >>> 3 === 1) {
            map.expect(mapTag, LENGTH_DELIMITED)
            readMapEntry(map.message('gcp:firestore: MapValue.fields'), fields, depth + 1)
          } else map.skip(mapTag & 7)
        }
        value = { mapValue: { fields } }
        break
      }
      case 8: {
        reader.expect(tag, LENGTH_DELIMITED)
        const point = reader.message('gcp:firestore: LatLng')
        let latitude = 0
        let longitude = 0
        while (!point.done) {
          const pointTag = point.tag()
          const field = pointTag >>> 3
          if (field === 1 || field === 2) {
            point.expect(pointTag, FIXED64)
            if (field === 1) latitude = point.double()
            else longitude = point.double()
          } else point.skip(pointTag & 7)
        }
        value = { geoPointValue: { latitude, longitude } }
        break
      }
      case 9: {
        reader.expect(tag, LENGTH_DELIMITED)
        const array = reader.message('gcp:firestore: ArrayValue')
        const values: FirestoreValue[] = []
        while (!array.done) {
          const arrayTag = array.tag()
          if (arrayTag >>> 3 === 1) {
            array.expect(arrayTag, LENGTH_DELIMITED)
            values.push(readValue(array.message('gcp:firestore: ArrayValue.values'), depth + 1))
          } else array.skip(arrayTag & 7)
        }
        value = { arrayValue: { values } }
        break
      }
      case 10:
        reader.expect(tag, LENGTH_DELIMITED)
        value = { timestampValue: readTimestamp(reader.message('gcp:firestore: Value.timestamp_value')) }
        break
      case 11:
        reader.expect(tag, VARINT)
        reader.uint32()
        value = { nullValue: null }
        break
      case 17:
        reader.expect(tag, LENGTH_DELIMITED)
        value = { stringValue: reader.string() }
        break
      case 18:
        reader.expect(tag, LENGTH_DELIMITED)
        value = { bytesValue: reader.base64() }
        break
      default:
        reader.skip(tag & 7)
    }
  }
  return value
}

/** A google.protobuf.Timestamp in its JSON form: RFC 3339 UTC with 0, 3, 6 or 9 fractional digits. */
function readTimestamp(reader: ProtoReader): string {
  let seconds = '0'
  let nanos = 0
  while (!reader.done) {
    const tag = reader.tag()
    const field = tag >>> 3
    if (field === 1) {
      reader.expect(tag, VARINT)
      seconds = reader.int64()
    } else if (field === 2) {
      reader.expect(tag, VARINT)
      nanos = reader.int32()
    } else reader.skip(tag & 7)
  }
  return formatTimestamp(Number(seconds), nanos)
}

export function formatTimestamp(seconds: number, nanos: number): string {
  const date = new Date(seconds * 1000)
  if (Number.isNaN(date.getTime()) || nanos < 0 || nanos > 999_999_999) {
    throw new RangeError(`timestamp out of range: ${seconds}s ${nanos}ns`)
  }
  const iso = date.toISOString()
  const base = iso.slice(0, iso.length - 5)
  if (nanos === 0) return `${base}Z`
  const digits = String(nanos).padStart(9, '0')
  const fraction = nanos % 1_000_000 === 0 ? digits.slice(0, 3) : nanos % 1000 === 0 ? digits.slice(0, 6) : digits
  return `${base}.${fraction}Z`
}
