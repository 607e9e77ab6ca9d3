import type { Payload } from '@polycloud/core/adapter'

// What the single-message triggers (Storage queue, Service Bus, blob) share.

/**
 * The message's payload. Text stays text. JSON was already parsed by the library, and the original text is gone
 * (a Storage queue's `queueTrigger` metadata copy is parsed and camel-cased too), so the value itself is kept: `json()` returns
 * it, `body` is its JSON serialisation.
 */
export function messagePayload(value: unknown): Payload {
  if (typeof value === 'string') return { text: value }
  if (value instanceof Uint8Array) return { bytes: value }
  return { value }
}
