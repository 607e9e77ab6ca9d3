import { queue as onQueue, type Context } from '@polycloud/core'
import { store, topic } from '@polycloud/resources'
import { applyReading, deviceKey, parseReading, type Alert, type DeviceState, type Thresholds } from './reading.js'

const devices = store<DeviceState>('devices')
const alerts = topic('alerts')

function threshold(value: string | undefined, fallback: number | undefined, name: string): number | undefined {
  if (value === undefined) return fallback
  if (value === '') return undefined
  const number = Number(value)
  if (!Number.isFinite(number)) throw new Error(`${name} must be a number, got ${JSON.stringify(value)}`)
  return number
}

/**
 * Tells of an alert: published to the `alerts` topic (whose subscriber, alerts.ts, logs it by severity). Cloudflare
 * has no topics: there the worker logs the same `alert` line itself.
 */
async function raise(alert: Alert, context: Context): Promise<void> {
  const subject = `${alert.device} ${alert.kind === 'high' ? 'above' : 'below'} ${alert.threshold}`
  if (context.provider === 'cloudflare') {
    context.log.warn('alert', { subject, body: alert, attributes: { severity: 'warning', device: alert.device } })
    return
  }
  await alerts.publish(alert, { subject, attributes: { severity: 'warning', device: alert.device } })
}

/**
 * The `readings` queue's worker: keeps each device's state (latest reading, minimum, maximum, count) in the `devices`
 * store, idempotently by reading id, and raises an alert when a reading crosses `ALERT_HIGH` (30 by default) or
 * `ALERT_LOW` (0; an empty value turns one off). A malformed message throws with the reason: it is redelivered, then
 * goes to the queue's dead-letter queue, and the reason is logged each time.
 */
export default onQueue(async (message, context) => {
  let reading
  let body: unknown
  try {
    body = message.json()
    reading = parseReading(body)
  } catch (error) {
    // The reading's id, when the body has one, names it in the failure (a queue without message ids, as Workers
    // Queues' producers have, recognises it by that).
    const id = (body as { id?: unknown } | undefined)?.id
    const named = typeof id === 'string' && id.length <= 128 ? ` (reading ${JSON.stringify(id)})` : ''
    context.log.error('reading refused', { messageId: message.id, attempt: message.attempt, reason: (error as Error).message })
    throw new Error(`message ${message.id}${named}: ${(error as Error).message}`, { cause: error })
  }
  const thresholds: Thresholds = {
    high: threshold(context.env.ALERT_HIGH, 30, 'ALERT_HIGH'),
    low: threshold(context.env.ALERT_LOW, 0, 'ALERT_LOW'),
  }
  const key = deviceKey(reading.device)
  let counted = false
  const state = await devices.update(key, (current) => {
    const next = applyReading(current, reading, thresholds, new Date().toISOString())
    counted = next !== undefined
    return next
  })
  context.log.info(counted ? 'reading counted' : 'reading seen before', { device: reading.device, reading: reading.id, count: state?.count ?? 0, attempt: message.attempt })
  // Publish what is pending (this reading's alert, or one an earlier run decided but could not publish), then forget it.
  const pending = state?.pending ?? []
  if (pending.length === 0) return
  for (const alert of pending) await raise(alert, context)
  const sent = new Set(pending.map((alert) => `${alert.reading}:${alert.kind}`))
  await devices.update(key, (current) => (current === null ? undefined : { ...current, pending: current.pending.filter((alert) => !sent.has(`${alert.reading}:${alert.kind}`)) }))
})
