import { queue } from '@polycloud/core'

interface Order {
  id?: unknown
  items?: unknown
  total?: unknown
}

/**
 * The order queue's worker. Each message is checked on its own: a malformed order throws, and only that message
 * goes back to the queue (and, after its receives run out, to the dead-letter queue); the rest of the batch is done.
 */
export default queue((message, context) => {
  const order = message.json<Order>()
  if (typeof order.id !== 'string' || order.id === '') throw new Error(`message ${message.id}: order has no id`)
  if (!Array.isArray(order.items) || order.items.length === 0) throw new Error(`order ${order.id}: no items`)
  if (typeof order.total !== 'number' || order.total <= 0) throw new Error(`order ${order.id}: total must be positive`)
  context.log.info('order accepted', { orderId: order.id, items: order.items.length, total: order.total, attempt: message.attempt })
})
