import { queue } from '@polycloud/core'

/** Accepts an order with items; one without fails (only that message is retried, then dead-lettered). */
export default queue((message, context) => {
  const order = message.json<{ id?: string; items?: unknown[] }>()
  if (!Array.isArray(order.items) || order.items.length === 0) throw new Error(`order ${order.id}: no items`)
  context.log.info('order accepted', { orderId: order.id, attempt: message.attempt, tenant: message.attributes.tenant ?? null })
})
