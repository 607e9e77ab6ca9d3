import { asObject, shown } from './json-shape.js'

/**
 * The IoT flow's data, shared by its three functions (telemetry.ts, readings.ts, devices.ts): a device's reading as
 * devices send it, checked once into typed data, and a device's state as the `devices` store keeps it.
 */

/** A reading: `{ "device": "thermo-1", "id": "r-42", "time": "2026-12-07T10:00:00Z", "value": 21.5, "unit"?: "C" }`. */
// Type aliases (not interfaces): JSON values to the resource clients, which take object types with string keys.
export type Reading = {
  readonly device: string
  /** Unique per device: a redelivered reading is recognised by it. */
  readonly id: string
  /** When it was measured (ISO 8601). */
  readonly time: string
  readonly value: number
  readonly unit?: string
}

/** A device's state: its latest reading (by measurement time), the extremes and the count of distinct readings. */
export interface DeviceState {
  readonly device: string
  readonly count: number
  readonly last: { readonly id: string; readonly time: string; readonly value: number }
  readonly min: number
  readonly max: number
  readonly unit: string | null
  readonly updated: string
  /** The ids of the latest readings (at most RECENT_READINGS): a reading seen again is not counted twice. */
  readonly recent: readonly string[]
  /** Alerts decided but not yet published (published, then removed: none is lost if the function stops between). */
  readonly pending: readonly Alert[]
}

/** A threshold crossed by a reading. */
export type Alert = {
  readonly device: string
  readonly reading: string
  readonly time: string
  readonly value: number
  readonly kind: 'high' | 'low'
  readonly threshold: number
}

/** An alert's claim (handlers/readings.ts): being published by one delivery (for a lease), or published. */
export type AlertClaim = {
  readonly state: 'publishing' | 'published'
  readonly at: string
}

/** The store key of an alert's claim: one per reading and threshold. */
export function alertKey(alert: Alert): string {
  return `alert:${alert.device}:${alert.reading}:${alert.kind}`
}

export const RECENT_READINGS = 100
const ID = /^[A-Za-z0-9_.:-]{1,128}$/
const DEVICE = /^[A-Za-z0-9_-]{1,64}$/
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:\d\d)$/
/** Readings may come from a clock this far ahead. */
const MAX_AHEAD_MS = 5 * 60_000

/** The store key of a device's state. */
export function deviceKey(device: string): string {
  return `device:${device}`
}

export function isDeviceId(value: string): boolean {
  return DEVICE.test(value)
}

/** A reading checked field by field, or an Error naming what is wrong (the reason a malformed one is refused). */
export function parseReading(value: unknown, now = Date.now()): Reading {
  const fields = asObject(value)
  if (fields === undefined) throw new Error(`a reading is a JSON object { device, id, time, value, unit? }, got ${shown(value)}`)
  const { device, id, time, value: measured, unit } = fields
  if (typeof device !== 'string' || !DEVICE.test(device)) throw new Error('device must be 1-64 letters, digits, "_" and "-"')
  if (typeof id !== 'string' || !ID.test(id)) throw new Error('id must be 1-128 letters, digits, "_", ".", ":" and "-"')
  if (typeof time !== 'string' || !ISO_TIME.test(time) || Number.isNaN(Date.parse(time))) throw new Error('time must be an ISO 8601 date and time with a zone (2026-12-07T10:00:00Z)')
  if (Date.parse(time) > now + MAX_AHEAD_MS) throw new Error('time is more than 5 minutes in the future')
  if (typeof measured !== 'number' || !Number.isFinite(measured)) throw new Error('value must be a finite number')
  if (unit !== undefined && (typeof unit !== 'string' || unit.length === 0 || unit.length > 16)) throw new Error('unit, when given, is 1-16 characters')
  return { device, id, time: new Date(time).toISOString(), value: measured, ...(unit === undefined ? {} : { unit }) }
}

export interface Thresholds {
  readonly high: number | undefined
  readonly low: number | undefined
}

/**
 * The state after a reading, or undefined when the reading was counted already. An alert is pending when the value
 * crosses a threshold: above `high` (or below `low`) while the device's latest reading before it was not.
 */
export function applyReading(state: DeviceState | null, reading: Reading, thresholds: Thresholds, now: string): DeviceState | undefined {
  if (state?.recent.includes(reading.id)) return undefined
  const later = state === null || reading.time >= state.last.time
  const previous = state === null ? undefined : state.last.value
  const alerts: Alert[] = []
  if (later) {
    const base = { device: reading.device, reading: reading.id, time: reading.time, value: reading.value }
    if (thresholds.high !== undefined && reading.value > thresholds.high && !(previous !== undefined && previous > thresholds.high)) alerts.push({ ...base, kind: 'high', threshold: thresholds.high })
    if (thresholds.low !== undefined && reading.value < thresholds.low && !(previous !== undefined && previous < thresholds.low)) alerts.push({ ...base, kind: 'low', threshold: thresholds.low })
  }
  return {
    device: reading.device,
    count: (state?.count ?? 0) + 1,
    last: later ? { id: reading.id, time: reading.time, value: reading.value } : (state as DeviceState).last,
    min: Math.min(state?.min ?? reading.value, reading.value),
    max: Math.max(state?.max ?? reading.value, reading.value),
    unit: reading.unit ?? state?.unit ?? null,
    updated: now,
    recent: [...(state?.recent ?? []), reading.id].slice(-RECENT_READINGS),
    pending: [...(state?.pending ?? []), ...alerts],
  }
}

/** What `GET /devices/{id}` shows of a state (the bookkeeping left out). */
export function publicState(state: DeviceState): Omit<DeviceState, 'recent' | 'pending'> {
  const { recent: _recent, pending: _pending, ...shown } = state
  return shown
}
