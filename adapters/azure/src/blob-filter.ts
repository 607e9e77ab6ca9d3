import type { StorageEvent, StorageHandler } from '@polycloud/core'
import { onlyObjects } from '@polycloud/core/object-filter'

/** The blobs a function's Event Grid trigger is for: a container, a name prefix and suffix, the event types. */
export interface BlobFilter {
  readonly container: string
  readonly prefix: string
  readonly suffix: string
  readonly types: ReadonlyArray<StorageEvent['type']>
}

/**
 * A storage handler that runs only for the blob events its filter takes: an Event Grid trigger's subscription
 * filters on the prefix and suffix, but a manual or local delivery can carry any blob. Other events are skipped
 * with a debug log line. The generated entry of a bucket event with `on: deleted|all` wraps its handler with it.
 */
export function onlyBlobs(handler: StorageHandler, filter: BlobFilter): StorageHandler {
  return onlyObjects(handler, [{ bucket: filter.container, prefix: filter.prefix, suffix: filter.suffix, types: filter.types }])
}
