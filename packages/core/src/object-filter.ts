import type { StorageEvent } from './events.js'
import type { StorageHandler } from './handlers.js'

/** The objects a function's storage events are about: a bucket, a key prefix and suffix, optionally event types. */
export interface ObjectRule {
  readonly bucket: string
  /** The key starts with it (`''`: any key). */
  readonly prefix: string
  /** The key ends with it (`''`: any key). */
  readonly suffix: string
  /** The event types taken; every type when absent. */
  readonly types?: ReadonlyArray<StorageEvent['type']>
}

/** Whether a rule takes an event. */
export function takesObject(rule: ObjectRule, event: StorageEvent): boolean {
  const key = event.key ?? ''
  return event.bucket === rule.bucket && key.startsWith(rule.prefix) && key.endsWith(rule.suffix) && (rule.types === undefined || rule.types.includes(event.type))
}

/**
 * A storage handler that runs only for the events one of the rules takes, for triggers that deliver more than the
 * function asked for: Eventarc filters Cloud Storage events by bucket only, and an Azure Event Grid trigger (or a
 * manual or local delivery) can carry any blob. Other events are skipped with a debug log line, never failed.
 * Generated entries wrap a handler with it; the rules are the bucket events of the function's serverless.yml.
 */
export function onlyObjects(handler: StorageHandler, rules: readonly ObjectRule[]): StorageHandler {
  return {
    ...handler,
    handle: (event, context) => {
      if (rules.some((rule) => takesObject(rule, event))) return handler.handle(event, context)
      context.log.debug("storage event outside the function's bucket, prefix and suffix filters: skipped", { bucket: event.bucket, key: event.key, type: event.type })
    },
  }
}
