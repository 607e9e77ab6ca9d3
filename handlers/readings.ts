import { queue as onQueue, type Context } from '@polycloud/core'
import { ResourceError, store, topic } from '@polycloud/resources'
import { alertKey, applyReading, deviceKey, parseReading, type Alert, type AlertClaim, type DeviceState, type Thresholds } from './reading.js'

const devices = store<DeviceState>('devices')
/** The alerts' claims live in the devices' store too, under `alert:` keys (alertKey). */
const claims = store<AlertClaim>('devices')
const alerts = topic('alerts')

/** How long a claim holds an alert for the delivery publishing it: after that, another delivery may publish it. */
const ALERT_LEASE_SECONDS = 300
/** How long a published alert's claim is kept (a redelivery later than that could publish it again). */
const ALERT_KEPT_SECONDS = 7 * 24 * 3600

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
 * Publishes a pending alert unless a delivery did already: claims it first (a conditional write of `alert:<device>:
 * <reading>:<kind>`, only if absent, for ALERT_LEASE_SECONDS), publishes, then marks the claim published (kept
 * ALERT_KEPT_SECONDS). A failed publish releases the claim and fails the message (redelivered: published then).
 * Answers whether the alert is done with (`published`, or `sent before`) or must stay pending (`held`: another
 * delivery claimed it and has not marked it published yet; the delivery that finds it pending after the lease, a
 * redelivery or the device's next reading, publishes it).
 */
async function publishOnce(alert: Alert, context: Context): Promise<'published' | 'sent before' | 'held'> {
  const key = alertKey(alert)
  let claim
  try {
    claim = await claims.put(key, { state: 'publishing', at: new Date().toISOString() }, { ifAbsent: true, ttlSeconds: ALERT_LEASE_SECONDS })
  } catch (error) {
    if (!(error instanceof ResourceError) || error.code !== 'Conflict') throw error
    const held = await claims.get(key)
    return held?.state === 'published' ? 'sent before' : 'held'
  }
  try {
    await raise(alert, context)
  } catch (error) {
    try {
      await claims.delete(key, { ifVersion: claim.version })
    } catch (release) {
      context.log.warn('alert claim not released', { alert: key, reason: (release as Error).message, leaseSeconds: ALERT_LEASE_SECONDS })
    }
    throw error
  }
  try {
    await claims.put(key, { state: 'published', at: new Date().toISOString() }, { ifVersion: claim.version, ttlSeconds: ALERT_KEPT_SECONDS })
  } catch (error) {
    // Published all the same: the alert leaves the pending list, and the claim lapses after its lease.
    context.log.warn('alert claim not marked published', { alert: key, reason: (error as Error).message })
  }
  return 'published'
}

/**
 * The `readings` queue's worker: keeps each device's state (latest reading, minimum, maximum, count) in the `devices`
 * store, idempotently by reading id, and raises an alert when a reading crosses `ALERT_HIGH` (30 by default) or
 * `ALERT_LOW` (0; an empty value turns one off), once per reading however often it is delivered (publishOnce; what
 * remains: a crash between the publish and the claim's mark, then a delivery after the lease, publishes it again). A malformed message throws with the reason: it is redelivered, then
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
  // Publish what is pending (this reading's alert, or one an earlier run decided but could not publish), each once
  // whatever the deliveries (publishOnce), then forget what is done with.
  const pending = state?.pending ?? []
  const done: Alert[] = []
  let published = 0
  for (const alert of pending) {
    const outcome = await publishOnce(alert, context)
    if (outcome === 'published') published++
    else context.log.info(outcome === 'held' ? 'alert held by another delivery' : 'alert sent before', { alert: alertKey(alert), attempt: message.attempt })
    if (outcome !== 'held') done.push(alert)
  }
  if (done.length > 0) {
    const sent = new Set(done.map((alert) => `${alert.reading}:${alert.kind}`))
    await devices.update(key, (current) => (current === null ? undefined : { ...current, pending: current.pending.filter((alert) => !sent.has(`${alert.reading}:${alert.kind}`)) }))
  }
  // Once the delivery is done with: the alerts it published with it.
  context.log.info(counted ? 'reading counted' : 'reading seen before', { device: reading.device, reading: reading.id, count: state?.count ?? 0, attempt: message.attempt, alertsPublished: published })
})
