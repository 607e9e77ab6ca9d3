import { expect } from 'chai'
import { EventError } from '@polycloud/core/adapter'
import { decodeDocumentEventData, type DocumentEventData } from '@polycloud/gcp'
import { formatTimestamp } from '@polycloud/gcp/firestore-protobuf'
import { fixture } from '../../helpers/fixtures.ts'
import { encodeDocumentEventData, key, lengthDelimited, stringField } from './protobuf-encoder.ts'

describe('gcp/firestore-protobuf', () => {
  it('decodes hand-assembled bytes: value { name "a", fields { n: integer_value -1 } }, skipping an unknown field', () => {
    const value = [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] // Value.integer_value = -1
    const entry = [0x0a, 0x01, 0x6e, 0x12, value.length, ...value] // { key: "n", value }
    const document = [0x0a, 0x01, 0x61, 0x12, entry.length, ...entry] // Document { name: "a", fields: [entry] }
    const bytes = Uint8Array.from([0x0a, document.length, ...document, 0x98, 0x06, 0x01]) // + unknown field 99 = 1
    expect(decodeDocumentEventData(bytes)).to.deep.equal({ value: { name: 'a', fields: { n: { integerValue: '-1' } } } })
  })

  for (const name of ['gce__DocumentEventData-complex.json', 'gce__DocumentEventData-simple.json']) {
    it(`decodes ${name} encoded as protobuf back to its JSON form`, () => {
      const json = fixture<DocumentEventData>(`gcp/firestore/${name}`)
      const decoded = decodeDocumentEventData(encodeDocumentEventData(json))
      expect(decoded.value).to.deep.equal(json.value)
      // Empty messages ({} in JSON) are not on the wire at all.
      if (Object.keys(json.oldValue ?? {}).length > 0) expect(decoded.oldValue).to.deep.equal(json.oldValue)
      else expect(decoded.oldValue).to.equal(undefined)
      if (json.updateMask?.fieldPaths) expect(decoded.updateMask).to.deep.equal(json.updateMask)
      else expect(decoded.updateMask).to.equal(undefined)
    })
  }

  it('decodes every Value kind, edge values included', () => {
    const fields = {
      big: { integerValue: '9007199254740993' },
      negative: { integerValue: '-42' },
      zero: { doubleValue: 0 },
      nan: { doubleValue: Number.NaN },
      no: { booleanValue: false },
      nothing: { nullValue: null },
      when: { timestampValue: '1969-12-31T23:59:59.000000001Z' },
      epoch: { timestampValue: '1970-01-01T00:00:00Z' },
      bytes: { bytesValue: 'AP8=' },
      ref: { referenceValue: 'projects/p/databases/(default)/documents/a/b' },
      point: { geoPointValue: { latitude: 0, longitude: -180 } },
      empty: { arrayValue: { values: [] } },
      nested: { mapValue: { fields: { deep: { mapValue: { fields: { s: { stringValue: '' } } } } } } },
      ['__proto__']: { stringValue: 'own key' },
    }
    const decoded = decodeDocumentEventData(encodeDocumentEventData({ value: { name: 'x', fields: JSON.parse(JSON.stringify(fields, (_k, v) => (Number.isNaN(v) ? 'NaN' : v))) } }))
    const out = decoded.value?.fields as Record<string, unknown>
    expect(Object.prototype.hasOwnProperty.call(out, '__proto__')).to.equal(true)
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype)
    expect(out.big).to.deep.equal({ integerValue: '9007199254740993' })
    expect(out.negative).to.deep.equal({ integerValue: '-42' })
    expect(out.zero).to.deep.equal({ doubleValue: 0 })
    expect(Number.isNaN((out.nan as { doubleValue: number }).doubleValue)).to.equal(true)
    expect(out.no).to.deep.equal({ booleanValue: false })
    expect(out.nothing).to.deep.equal({ nullValue: null })
    expect(out.when).to.deep.equal({ timestampValue: '1969-12-31T23:59:59.000000001Z' })
    expect(out.epoch).to.deep.equal({ timestampValue: '1970-01-01T00:00:00Z' })
    expect(out.bytes).to.deep.equal({ bytesValue: 'AP8=' })
    expect(out.ref).to.deep.equal({ referenceValue: 'projects/p/databases/(default)/documents/a/b' })
    expect(out.point).to.deep.equal({ geoPointValue: { latitude: 0, longitude: -180 } })
    expect(out.empty).to.deep.equal({ arrayValue: { values: [] } })
    expect(out.nested).to.deep.equal({ mapValue: { fields: { deep: { mapValue: { fields: { s: { stringValue: '' } } } } } } })
    expect((out as Record<string, { stringValue: string }>)['__proto__']?.stringValue).to.equal('own key')
  })

  it('formats timestamps as proto3 JSON does (0, 3, 6 or 9 fraction digits)', () => {
    expect(formatTimestamp(1587651905, 349632000)).to.equal('2020-04-23T14:25:05.349632Z')
    expect(formatTimestamp(1587651833, 241000000)).to.equal('2020-04-23T14:23:53.241Z')
    expect(formatTimestamp(1587651833, 5)).to.equal('2020-04-23T14:23:53.000000005Z')
    expect(formatTimestamp(0, 0)).to.equal('1970-01-01T00:00:00Z')
    expect(() => formatTimestamp(0, 1_000_000_000)).to.throw(RangeError)
  })

  it('refuses malformed bytes with an EventError naming DocumentEventData', () => {
    const truncated = Uint8Array.from([0x0a, 0x10, 0x0a])
    expect(() => decodeDocumentEventData(truncated)).to.throw(EventError, /^gcp:firestore: DocumentEventData: malformed protobuf \(field of 16 bytes runs past the end/)
    const wrongWire = Uint8Array.from([...key(1, 0), 1])
    expect(() => decodeDocumentEventData(wrongWire)).to.throw(EventError, /field 1 has wire type 0, expected 2/)
    const badValue = Uint8Array.from(lengthDelimited(1, lengthDelimited(2, [...stringField(1, 'f'), ...lengthDelimited(2, [...key(17, 0), 1])])))
    expect(() => decodeDocumentEventData(badValue)).to.throw(/Value of field "f": malformed protobuf \(field 17 has wire type 0, expected 2/)
  })
})
