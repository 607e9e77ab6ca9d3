import type { Source } from '@polycloud/core/adapter'
import { workersFetch } from './fetch.js'
import { queueBatch } from './queue.js'
import { r2Notification } from './r2-notification.js'
import { scheduled } from './scheduled.js'

/**
 * Every Cloudflare format. A batch of R2 notifications fits `cloudflare:queue` and `cloudflare:r2-notification`:
 * the handler's kind decides (a queue handler gets the messages, a storage handler the object events).
 */
export const cloudflareSources: readonly Source[] = [workersFetch, scheduled, queueBatch, r2Notification]
