import { queue } from '@polycloud/core'
import { asObject, shown } from './json-shape.js'

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
  const value = message.json<unknown>()
  const order = asObject(value) as Order | undefined
  if (order === undefined) throw new Error(`message ${message.id}: an order must be a JSON object, got ${shown(value)}`)
  if (typeof order.id !== 'string' || order.id === '') throw new Error(`message ${message.id}: order has no id`)
  if (!Array.isArray(order.items) || order.items.length === 0) throw new Error(`order ${order.id}: no items`)
  if (typeof order.total !== 'number' || order.total <= 0) throw new Error(`order ${order.id}: total must be positive`)
  context.log.info('order accepted', { orderId: order.id, items: order.items.length, total: order.total, attempt: message.attempt, queue: message.queue })
})
