import { expect } from 'chai'
import { ENCODING_ATTRIBUTE, ENVELOPE_MARKER, SUBJECT_ATTRIBUTE, messageEnvelope, unwrapMessage, type Payload } from '@polycloud/core/adapter'

const text = (value: string): Payload => ({ text: value })

describe('core: the message envelope and markers (unwrapMessage)', () => {
  it('passes a message from any other producer through untouched (the same objects)', () => {
    const attributes = { a: 'b' }
    const payloads: Payload[] = [text('hello'), text('{"polycloud.message":2,"body":"x"}'), { value: { order: 1 } }, { bytes: new Uint8Array([1]) }, { base64: 'AQ==' }]
    for (const payload of payloads) {
      const received = unwrapMessage(payload, attributes, 'subject')
      expect(received.payload).to.equal(payload)
      expect(received.attributes).to.equal(attributes)
      expect(received.subject).to.equal('subject')
    }
  })

  it('opens an envelope given as a parsed value (Azure, Workers json) or as text, merging its attributes', () => {
    const envelope = messageEnvelope({ text: '"quoted"' }, { k: 'v' }, 'S')
    expect(Object.keys(envelope)[0]).to.equal(ENVELOPE_MARKER)
    const fromValue = unwrapMessage({ value: JSON.parse(JSON.stringify(envelope)) }, { native: '1' })
    expect(fromValue).to.deep.equal({ payload: { text: '"quoted"' }, attributes: { native: '1', k: 'v' }, subject: 'S', trace: undefined })
    const fromText = unwrapMessage(text(JSON.stringify(messageEnvelope({ base64: '/wA=' }))), undefined)
    expect(fromText.payload).to.deep.equal({ base64: '/wA=' })
    expect(fromText.attributes).to.deep.equal({})
  })

  it('keeps a malformed envelope as it came (unknown keys, both or no body, wrong types, bad base64)', () => {
    const bad: unknown[] = [
      { [ENVELOPE_MARKER]: 1, body: 'x', extra: 1 },
      { [ENVELOPE_MARKER]: 1, body: 'x', base64: 'AA==' },
      { [ENVELOPE_MARKER]: 1 },
      { [ENVELOPE_MARKER]: 1, body: 1 },
      { [ENVELOPE_MARKER]: 1, base64: 'not base64!' },
      { [ENVELOPE_MARKER]: 1, body: 'x', attributes: { a: 1 } },
      { [ENVELOPE_MARKER]: '1', body: 'x' },
    ]
    for (const value of bad) {
      const payload = { value }
      expect(unwrapMessage(payload, undefined).payload).to.equal(payload)
    }
  })

  it('applies the base64 encoding attribute and the subject attribute, and takes them off', () => {
    const received = unwrapMessage(text('AP8='), { [ENCODING_ATTRIBUTE]: 'base64', [SUBJECT_ATTRIBUTE]: 'Hi', keep: 'me' })
    expect(received.payload).to.deep.equal({ base64: 'AP8=' })
    expect(received.attributes).to.deep.equal({ keep: 'me' })
    expect(received.subject).to.equal('Hi')
    // A native subject wins; the attribute then stays. An encoding marker on text that is not base64 stays too.
    expect(unwrapMessage(text('x'), { [SUBJECT_ATTRIBUTE]: 'Hi' }, 'Native')).to.deep.equal({ payload: text('x'), attributes: { [SUBJECT_ATTRIBUTE]: 'Hi' }, subject: 'Native', trace: undefined })
    expect(unwrapMessage(text('not base64!'), { [ENCODING_ATTRIBUTE]: 'base64' }).attributes).to.deep.equal({ [ENCODING_ATTRIBUTE]: 'base64' })
  })

  it('takes the traceparent and tracestate attributes off into the trace carrier', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const received = unwrapMessage(text('x'), { traceparent, tracestate: 'congo=t61rcWkgMzE', keep: 'me' })
    expect(received.attributes).to.deep.equal({ keep: 'me' })
    expect(received.trace).to.deep.equal({ traceparent, tracestate: 'congo=t61rcWkgMzE' })
    // A tracestate without a traceparent is no trace: it is taken off all the same (it means nothing alone).
    expect(unwrapMessage(text('x'), { tracestate: 'a=b' })).to.deep.include({ attributes: {}, trace: undefined })
  })

  it('keeps __proto__ attribute names as own keys', () => {
    const attributes = JSON.parse('{"__proto__":"x","polycloud.subject":"s"}') as Record<string, string>
    const received = unwrapMessage(text('b'), attributes)
    expect(Object.keys(received.attributes)).to.deep.equal(['__proto__'])
    expect(Object.getPrototypeOf(received.attributes)).to.equal(Object.prototype)
  })
})
