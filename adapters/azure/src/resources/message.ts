/**
 * Messages the Azure Functions Node library hands over unchanged, and Polycloud's envelope for the others
 * (core's envelope.ts). The library gives a trigger's text to the handler through `JSON.parse` when it parses
 * (`tryJsonParse` in @azure/functions' fromRpcTypedData), and the host decodes message bytes as UTF-8: a body
 * survives when it is UTF-8 and either is not JSON, or is JSON whose value JSON.stringify writes back as the same
 * text (and is not a string, which would lose its quotes).
 */
import { ENVELOPE_MARKER, bytesToBase64, jsonText, messageEnvelope } from '@polycloud/core/adapter'
import type { OutgoingMessage } from '@polycloud/resources/driver'

/** Whether the Functions library gives the handler exactly these bytes back. */
export function survivesHost(message: OutgoingMessage): boolean {
  const text = message.text
  if (text === undefined) return false
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return true
  }
  if (typeof value === 'string') return false
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, ENVELOPE_MARKER)) return false
  return jsonText(value) === text
}

/** The envelope's JSON text for a message, carrying its body and the attributes given. */
export function envelopeText(message: OutgoingMessage, attributes: Readonly<Record<string, string>> | undefined): string {
  const body = message.text !== undefined ? { text: message.text } : { base64: bytesToBase64(message.bytes) }
  return JSON.stringify(messageEnvelope(body, attributes))
}

/** The content type of a message's body as sent. */
export function contentTypeOf(message: OutgoingMessage): string {
  if (message.source === 'json') return 'application/json'
  return message.source === 'text' ? 'text/plain; charset=utf-8' : 'application/octet-stream'
}
