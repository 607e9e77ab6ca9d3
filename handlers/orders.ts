import { queue } from '@polycloud/core'
import { topic } from '@polycloud/resources'
import { asObject, shown } from './json-shape.js'

interface Order {
  id?: unknown
  items?: unknown
  total?: unknown
}

const alerts = topic('alerts')

/**
 * The order queue's worker. Each message is checked on its own: a malformed order throws, and only that message
 * goes back to the queue (and, after its receives run out, to the dead-letter queue); the rest of the batch is done.
 * An order whose total reaches ALERT_THRESHOLD (the function's environment) is published to the alerts topic, whose
 * subscriber logs it; where the service has no alerts topic (Cloudflare: no topics, `excludeFrom` in serverless.yml)
 * the order is logged as a large order instead.
 */
export default queue(async (message, context) => {
  const value = message.json<unknown>()
  const order = asObject(value) as Order | undefined
  if (order === undefined) throw new Error(`message ${message.id}: an order must be a JSON object, got ${shown(value)}`)
  if (typeof order.id !== 'string' || order.id === '') throw new Error(`message ${message.id}: order has no id`)
  if (!Array.isArray(order.items) || order.items.length === 0) throw new Error(`order ${order.id}: no items`)
  if (typeof order.total !== 'number' || order.total <= 0) throw new Error(`order ${order.id}: total must be positive`)
  const threshold = Number(context.env.ALERT_THRESHOLD ?? 1000)
  if (order.total >= threshold) {
    const fields = { orderId: order.id, total: order.total, threshold }
    if (alerts.declared()) {
      await alerts.publish(`order ${order.id} totals ${order.total}`, { subject: 'Large order', attributes: { severity: 'warning', orderId: order.id } })
      context.log.info('alert published', fields)
    } else {
      context.log.warn('large order', { ...fields, alert: 'not published: no alerts topic on this provider' })
    }
  }
  context.log.info('order accepted', { orderId: order.id, items: order.items.length, total: order.total, attempt: message.attempt, queue: message.queue })
})
