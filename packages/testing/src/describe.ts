import type { MessageBody, NeutralEvent, PortableRequest } from '@polycloud/core'
import { bytesToBase64, isTextContentType, utf8DecodeStrict, type InvalidRecord } from '@polycloud/core/adapter'

/** Bytes as text when they are UTF-8 without control characters (tab, CR, LF aside), else undefined. */
export function printableText(bytes: Uint8Array): string | undefined {
  const text = utf8DecodeStrict(bytes)
  // eslint-disable-next-line no-control-regex
  return text !== undefined && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? text : undefined
}

/** `{ body }` when the bytes read as text, else `{ bodyBase64 }`. */
export function describeBody(bytes: Uint8Array, textual = true): { body: string } | { bodyBase64: string } {
  const text = textual ? printableText(bytes) : undefined
  return text !== undefined ? { body: text } : { bodyBase64: bytesToBase64(bytes) }
}

/** What stands for a body whose bytes cannot be read: the error the handler's read would throw. */
export interface UndecodableBody {
  readonly bodyUndecodable: string
}

function undecodable(error: unknown): UndecodableBody {
  return { bodyUndecodable: error instanceof Error ? error.message : String(error) }
}

/**
 * A portable request as plain JSON: what a handler would read. Bodies are text when the content type is textual
 * (or absent) and the bytes are printable UTF-8, else base64. A body that cannot be read fails the inspection, with
 * the error the read answers (a 400 for a body flagged base64 that is not).
 */
export async function describeRequest(request: PortableRequest): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    kind: 'http',
    method: request.method,
    url: request.url,
    path: request.path,
    query: [...request.query],
    params: { ...request.params },
    headers: [...request.headers],
    cookies: Object.fromEntries(request.cookies),
  }
  if (request.ip !== undefined) out.ip = request.ip
  const bytes = await request.bytes()
  const type = request.headers.get('content-type')
  Object.assign(out, describeBody(bytes, type === null || isTextContentType(type)))
  return out
}

/**
 * A message's body described; one that cannot be decoded (flagged base64 but not base64) is marked `bodyUndecodable`
 * with the error the handler's read throws: the runtime defers that failure to the read, and the rest of the event
 * is what the handler receives.
 */
function messageBody(event: MessageBody): { body: string } | { bodyBase64: string } | UndecodableBody {
  try {
    return describeBody(event.bytes())
  } catch (error) {
    return undecodable(error)
  }
}

/** A neutral event as plain JSON, without `native`; message bodies as text or base64 (or marked undecodable). */
export function describeEvent(event: NeutralEvent): Record<string, unknown> {
  const base = { kind: event.kind, id: event.id, time: event.time, source: event.source }
  switch (event.kind) {
    case 'queue':
      return {
        ...base,
        queue: event.queue,
        attempt: event.attempt,
        ...(event.groupId === undefined ? {} : { groupId: event.groupId }),
        attributes: { ...event.attributes },
        ...messageBody(event),
      }
    case 'topic':
      return {
        ...base,
        topic: event.topic,
        ...(event.subject === undefined ? {} : { subject: event.subject }),
        attributes: { ...event.attributes },
        ...messageBody(event),
      }
    case 'cloudEvent': {
      const { native: _native, data, ...rest } = event
      return data instanceof Uint8Array ? { ...rest, dataBase64: bytesToBase64(data) } : { ...rest, data }
    }
    default: {
      const { native: _native, ...rest } = event
      return dropUndefined(rest)
    }
  }
}

/** A record that could not be translated, as JSON. */
export function describeInvalid(record: InvalidRecord): Record<string, unknown> {
  return { invalid: true, id: record.id, error: record.error.message }
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key in value) if (value[key] !== undefined) out[key] = value[key]
  return out
}
