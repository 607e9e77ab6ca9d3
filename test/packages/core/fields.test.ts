/**
 * The declared types of the neutral event fields (`NEUTRAL_FIELDS`) and the typed readers adapters parse fields with.
 * The table's type checks run under `tsc -p test`: each @ts-expect-error must be an error.
 */
import { expect } from 'chai'
import type { QueueMessage, StorageEvent } from '@polycloud/core'
import {
  EventError,
  NEUTRAL_FIELDS,
  PortableQueueMessage,
  fieldProblems,
  fits,
  readCount,
  readEpochTime,
  readId,
  readObject,
  readSize,
  readString,
  readStrings,
  readTime,
  typeOf,
  type FieldRules,
  type RuleFor,
} from '@polycloud/core/adapter'

// The table follows the interfaces: a field left out, or a rule that does not fit its field's type, is an error.
const { groupId: _groupId, ...withoutGroupId } = NEUTRAL_FIELDS.queue
// @ts-expect-error groupId is missing
export const missing: FieldRules<QueueMessage> = withoutGroupId
// @ts-expect-error an attempt is a count, not a string
export const wrongRule: RuleFor<QueueMessage['attempt']> = 'string'
// @ts-expect-error every member of a literal union is listed
export const partial: RuleFor<StorageEvent['type']> = { oneOf: { created: true, deleted: true } }
export const complete: RuleFor<StorageEvent['type']> = { oneOf: { created: true, deleted: true, other: true } }

function message(fields: Partial<Record<string, unknown>> = {}): QueueMessage {
  const event = new PortableQueueMessage({ id: 'm', time: '2024-05-01T10:00:00Z', source: 'q', native: null, payload: { text: 'b' }, queue: 'q', attempt: 1 })
  for (const [name, value] of Object.entries(fields)) Object.defineProperty(event, name, { value })
  return event
}

describe('core/fields: the declared type of every neutral field', () => {
  it('has a rule for every field of every kind, methods left out', () => {
    expect(Object.keys(NEUTRAL_FIELDS).sort()).to.deep.equal(['changes', 'cloudEvent', 'queue', 'schedule', 'storage', 'topic'])
    expect(Object.keys(NEUTRAL_FIELDS.queue).sort()).to.deep.equal(['attempt', 'attributes', 'body', 'groupId', 'id', 'kind', 'native', 'queue', 'source', 'time'])
  })

  it('finds no problem in a well-formed event, and names each wrong field with what it holds', () => {
    expect(fieldProblems(message())).to.deep.equal([])
    expect(fieldProblems(message({ id: 5, time: 'lunchtime', attempt: 0, attributes: { k: 1 }, groupId: null }))).to.deep.equal([
      'id: the number 5',
      'time: the string "lunchtime"',
      'attributes: an object',
      'attempt: the number 0',
      'groupId: null',
    ])
    expect(fieldProblems({ kind: 'nothing' } as never)).to.deep.equal(['kind: nothing is no event kind'])
  })

  it('counts a body whose read fails (base64 that is not) as of its type: the read names the message', () => {
    const event = new PortableQueueMessage({ id: 'm', time: '', source: 'q', native: null, payload: { base64: '!!' }, queue: 'q', attempt: 1 })
    expect(fieldProblems(event)).to.deep.equal([])
    expect(() => event.body).to.throw(SyntaxError, 'message m: data is not valid base64')
  })

  it('holds each rule to its values', () => {
    expect([fits('id', 'x'), fits('id', ''), fits('id', 1)]).to.deep.equal([true, false, false])
    expect([fits('time', ''), fits('time', '2024-05-01T10:00:00.123456789+02:00'), fits('time', '2024-02-30T00:00:00Z'), fits('time', '+010000-01-01T00:00:00.000Z')]).to.deep.equal([true, true, false, false])
    expect([fits('count', 1), fits('count', 0), fits('count', 2 ** 53), fits('size?', 0), fits('size?', undefined), fits('size?', -1), fits('size?', 1.5)]).to.deep.equal([true, false, false, true, true, false, false])
    expect([fits('strings', {}), fits('strings', { a: 'b' }), fits('strings', { a: 1 }), fits('strings', ['a'])]).to.deep.equal([true, true, false, false])
    expect([fits('extensions', { a: true, b: 2, c: 'x' }), fits('extensions', { a: 2 ** 31 }), fits('extensions', { a: null })]).to.deep.equal([true, false, false])
    expect([fits('object', {}), fits('object', []), fits('object?', undefined), fits('object?', null)]).to.deep.equal([true, false, true, false])
    expect([fits({ oneOf: { a: true } }, 'a'), fits({ oneOf: { a: true } }, 'toString')]).to.deep.equal([true, false])
  })
})

describe('core/readers: one rule for every field an adapter reads', () => {
  const refusal = (read: () => unknown): string => {
    try {
      read()
    } catch (error) {
      expect(error).to.be.instanceOf(EventError)
      return (error as Error).message
    }
    throw new Error('expected a refusal')
  }

  it('describes what a value is', () => {
    expect([null, undefined, [], {}, '', 'x', 5, true, new Date(0), new Date(Number.NaN), 1n].map(typeOf)).to.deep.equal([
      'null', 'nothing', 'an array', 'an object', 'the empty string', 'the string "x"', 'the number 5', 'the boolean true', 'a Date', 'an invalid Date', 'a bigint',
    ])
    expect(typeOf('x'.repeat(100))).to.equal(`the string "${'x'.repeat(40)}..."`)
  })

  it('readId: a non-empty string, absent or not', () => {
    expect(readId('a', 'id')).to.equal('a')
    expect(refusal(() => readId(undefined, 'message.messageId'))).to.equal('message.messageId must be a non-empty string, got nothing')
    expect(refusal(() => readId(7, 'message.messageId'))).to.equal('message.messageId must be a non-empty string, got the number 7')
  })

  it('readString: undefined when absent (null too), else a string', () => {
    expect([readString('x', 's'), readString('', 's'), readString(null, 's'), readString(undefined, 's')]).to.deep.equal(['x', '', undefined, undefined])
    expect(refusal(() => readString({}, 'subject'))).to.equal('subject must be a string, got an object')
  })

  it('readTime: RFC 3339, UTC kept as sent, other offsets converted; empty when absent', () => {
    expect(readTime('2024-05-01T10:00:00.123456789Z', 't')).to.equal('2024-05-01T10:00:00.123456789Z')
    expect(readTime('2024-05-01T12:00:00+02:00', 't')).to.equal('2024-05-01T10:00:00.000Z')
    expect(readTime('2016-12-31T23:59:60Z', 't')).to.equal('2016-12-31T23:59:60Z')
    expect([readTime(undefined, 't'), readTime(null, 't'), readTime('', 't')]).to.deep.equal(['', '', ''])
    for (const [value, shown] of [[5, 'the number 5'], ['2024-13-01T00:00:00Z', 'the string "2024-13-01T00:00:00Z"'], ['2024-05-01T10:00:00Z\r\n', 'the string "2024-05-01T10:00:00Z\\r\\n"'], [['t'], 'an array']] as const) {
      expect(refusal(() => readTime(value, 'publishTime'))).to.equal(`publishTime must be an RFC 3339 timestamp, got ${shown}`)
    }
  })

  it('readEpochTime: milliseconds or seconds (a number, its decimal string or a Date) within years 0 to 9999', () => {
    expect(readEpochTime('1714557600123', 't')).to.equal('2024-05-01T10:00:00.123Z')
    expect(readEpochTime(1714557600, 't', 1000)).to.equal('2024-05-01T10:00:00.000Z')
    expect(readEpochTime(new Date(0), 't')).to.equal('1970-01-01T00:00:00.000Z')
    expect(readEpochTime(undefined, 't')).to.equal('')
    expect(refusal(() => readEpochTime(8.64e15, 'scheduledTime'))).to.equal('scheduledTime must be a time in milliseconds since the epoch (from year 0 to 9999), got the number 8640000000000000')
    expect(refusal(() => readEpochTime('soon', '_ts', 1000))).to.equal('_ts must be a time in seconds since the epoch (from year 0 to 9999), got the string "soon"')
    expect(refusal(() => readEpochTime(new Date(Number.NaN), 'timestamp'))).to.equal('timestamp must be a valid Date (from year 0 to 9999), got an invalid Date')
  })

  it('readSize and readCount: integers (or their decimal strings) of at least 0 and 1', () => {
    expect([readSize(0, 's'), readSize('352', 's'), readSize(undefined, 's'), readCount(3, 'c'), readCount('2', 'c'), readCount(null, 'c')]).to.deep.equal([0, 352, undefined, 3, 2, undefined])
    expect(refusal(() => readSize(-1, 'size'))).to.equal('size must be a non-negative integer, got the number -1')
    expect(refusal(() => readSize(2 ** 53, 'size'))).to.equal('size must be a non-negative integer, got the number 9007199254740992')
    expect(refusal(() => readCount(0, 'attempts'))).to.equal('attempts must be an integer of 1 or more, got the number 0')
    expect(refusal(() => readCount('1.5', 'attempts'))).to.equal('attempts must be an integer of 1 or more, got the string "1.5"')
  })

  it('readStrings: a map of names to strings, own keys, each entry checked (or what pick takes from it)', () => {
    const attributes = readStrings(JSON.parse('{"__proto__":"p","a":"b"}'), 'attributes')
    expect(Object.entries(attributes)).to.deep.equal([['__proto__', 'p'], ['a', 'b']])
    expect(readStrings(undefined, 'attributes')).to.deep.equal({})
    expect(readStrings({ k: { Value: 'v' } }, 'a', (entry) => (entry as { Value: unknown }).Value)).to.deep.equal({ k: 'v' })
    expect(refusal(() => readStrings({ k: 1 }, 'attributes'))).to.equal('attributes["k"] must be a string, got the number 1')
    expect(refusal(() => readStrings({ k: {} }, 'm', (entry) => (entry as { Value?: unknown }).Value))).to.equal('m["k"] must be an entry with a string value, got nothing')
    expect(refusal(() => readStrings('x', 'attributes'))).to.equal('attributes must be an object, got the string "x"')
  })

  it('readObject: an empty record when absent, else an object', () => {
    expect(readObject(undefined, 'attributes')).to.deep.equal({})
    expect(readObject({ a: 1 }, 'attributes')).to.deep.equal({ a: 1 })
    expect(refusal(() => readObject([], 'attributes'))).to.equal('attributes must be an object, got an array')
  })
})
