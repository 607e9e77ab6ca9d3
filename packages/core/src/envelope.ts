/**
 * Polycloud's message envelope and encoding markers: how `send`/`publish` of @polycloud/resources carry a body's
 * bytes, its attributes and its subject across clouds whose messages cannot hold them natively, and how the adapters'
 * queue and topic sources take them off again, so a handler receives exactly what was sent. Used only when needed:
 *
 * - `polycloud.encoding: base64` (a message attribute; SQS, SNS): the body is the base64 of bytes that are not text
 *   the service accepts (SQS and SNS bodies are XML-safe Unicode text).
 * - `polycloud.subject: <subject>` (a message attribute; Pub/Sub, which has no subject): the publisher's subject.
 * - the envelope `{"polycloud.message":1,"body":"<text>"|"base64":"<bytes>","attributes":{...},"subject":"..."}`
 *   (Azure Storage queues and Cloudflare Queues, which have no attributes; Azure Service Bus when the Functions
 *   library would not hand the body over unchanged): the whole message as JSON, the marker first.
 *
 * A message from any other producer is received exactly as before: the markers are recognised only in exactly
 * these shapes, and a malformed one is left as it came.
 */
import { isBase64 } from '#encoding'
import type { Payload } from './events.js'
import { setOwn } from './own.js'
import { isRecord } from './source.js'
import type { TraceCarrier } from './trace.js'

/** The attribute marking a base64 body. */
export const ENCODING_ATTRIBUTE = 'polycloud.encoding'
/** The attribute carrying a subject where the service has none. */
export const SUBJECT_ATTRIBUTE = 'polycloud.subject'
/** The envelope's first key; its value is the envelope version, 1. */
export const ENVELOPE_MARKER = 'polycloud.message'

const ENVELOPE_PREFIX = `{"${ENVELOPE_MARKER}":1`
const ENVELOPE_KEYS = new Set([ENVELOPE_MARKER, 'body', 'base64', 'attributes', 'subject'])
const NONE: Readonly<Record<string, string>> = Object.freeze({})

/** A message as the handler receives it: its payload, attributes and subject with Polycloud's markers removed. */
export interface ReceivedMessage {
  readonly payload: Payload
  readonly attributes: Readonly<Record<string, string>>
  readonly subject: string | undefined
  /**
   * The trace context the message carried (its `traceparent` and `tracestate` attributes, taken out of `attributes`:
   * the receiving function continues that trace), or undefined.
   */
  readonly trace: TraceCarrier | undefined
}

/** The attributes that carry a message's trace context (W3C names, as OpenTelemetry's messaging instrumentations use). */
export const TRACEPARENT_ATTRIBUTE = 'traceparent'
export const TRACESTATE_ATTRIBUTE = 'tracestate'

/** The envelope of a message (as a value: JSON text for the clouds that carry text). */
export interface MessageEnvelope {
  readonly [ENVELOPE_MARKER]: 1
  readonly body?: string
  readonly base64?: string
  readonly attributes?: Readonly<Record<string, string>>
  readonly subject?: string
}

/** The envelope of a body (text, or base64 of bytes), with its attributes and subject when it has any. */
export function messageEnvelope(
  body: { readonly text: string } | { readonly base64: string },
  attributes?: Readonly<Record<string, string>>,
  subject?: string,
): MessageEnvelope {
  const envelope: Record<string, unknown> = { [ENVELOPE_MARKER]: 1 }
  if ('text' in body) envelope.body = body.text
  else envelope.base64 = body.base64
  if (attributes !== undefined && Object.keys(attributes).length > 0) envelope.attributes = attributes
  if (subject !== undefined) envelope.subject = subject
  return envelope as unknown as MessageEnvelope
}

/**
 * The message a queue or topic source hands to the handler, from the payload, attributes and subject it read natively:
 * an envelope is opened, the encoding and subject attributes are applied and removed. Everything else passes through
 * untouched (the same objects).
 */
export function unwrapMessage(payload: Payload, attributes: Readonly<Record<string, string>> | undefined, subject?: string): ReceivedMessage {
  let body = payload
  let attrs = attributes ?? NONE
  let subj = subject
  const envelope = envelopeOf(payload)
  if (envelope !== undefined) {
    body = envelope.base64 !== undefined ? { base64: envelope.base64 } : { text: envelope.body ?? '' }
    if (envelope.attributes !== undefined) {
      const merged: Record<string, string> = {}
      for (const name of Object.keys(attrs)) setOwn(merged, name, attrs[name] as string)
      for (const name of Object.keys(envelope.attributes)) setOwn(merged, name, envelope.attributes[name] as string)
      attrs = merged
    }
    subj ??= envelope.subject
  }
  const encoding = Object.hasOwn(attrs, ENCODING_ATTRIBUTE) ? attrs[ENCODING_ATTRIBUTE] : undefined
  const marked = encoding === 'base64' && 'text' in body && isBase64(body.text)
  const subjectMark = Object.hasOwn(attrs, SUBJECT_ATTRIBUTE) && subj === undefined ? attrs[SUBJECT_ATTRIBUTE] : undefined
  const traceparent = Object.hasOwn(attrs, TRACEPARENT_ATTRIBUTE) ? attrs[TRACEPARENT_ATTRIBUTE] : undefined
  const tracestate = Object.hasOwn(attrs, TRACESTATE_ATTRIBUTE) ? attrs[TRACESTATE_ATTRIBUTE] : undefined
  let trace: TraceCarrier | undefined
  if (marked || subjectMark !== undefined || traceparent !== undefined || tracestate !== undefined) {
    if (marked) body = { base64: (body as { text: string }).text }
    if (subjectMark !== undefined) subj = subjectMark
    if (traceparent !== undefined) trace = { traceparent, tracestate }
    const rest: Record<string, string> = {}
    for (const name of Object.keys(attrs)) {
      if ((marked && name === ENCODING_ATTRIBUTE) || (subjectMark !== undefined && name === SUBJECT_ATTRIBUTE)) continue
      if (name === TRACEPARENT_ATTRIBUTE || name === TRACESTATE_ATTRIBUTE) continue
      setOwn(rest, name, attrs[name] as string)
    }
    attrs = rest
  }
  return { payload: body, attributes: attrs, subject: subj, trace }
}

/** The envelope a payload holds: a parsed value (Azure's JSON, a Workers json body) or text starting with the marker. */
function envelopeOf(payload: Payload): MessageEnvelope | undefined {
  let value: unknown
  if ('value' in payload) value = payload.value
  else if ('text' in payload && payload.text.startsWith(ENVELOPE_PREFIX)) {
    try {
      value = JSON.parse(payload.text)
    } catch {
      return undefined
    }
  } else return undefined
  if (!isRecord(value) || value[ENVELOPE_MARKER] !== 1) return undefined
  for (const key of Object.keys(value)) if (!ENVELOPE_KEYS.has(key)) return undefined
  const { body, base64, attributes, subject } = value
  if ((body === undefined) === (base64 === undefined)) return undefined
  if (body !== undefined && typeof body !== 'string') return undefined
  if (base64 !== undefined && (typeof base64 !== 'string' || !isBase64(base64))) return undefined
  if (subject !== undefined && typeof subject !== 'string') return undefined
  if (attributes !== undefined) {
    if (!isRecord(attributes)) return undefined
    for (const name of Object.keys(attributes)) if (typeof attributes[name] !== 'string') return undefined
  }
  return value as unknown as MessageEnvelope
}
