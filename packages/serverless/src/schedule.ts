/**
 * Neutral schedules: standard 5-field cron (minute hour day-of-month month day-of-week, as in crontab(5)), the
 * @hourly/@daily/... shortcuts, and `rate(N minutes|hours|days)`. Parsed and checked here, once, so every provider
 * gets a valid expression and a bad one fails at package time with the field named.
 */

export interface CronSchedule {
  readonly kind: 'cron'
  /** minute, hour, day-of-month, month, day-of-week, normalised (names upper-case). */
  readonly fields: readonly [string, string, string, string, string]
  /** The days of week the cron runs on (0 = Sunday), or undefined for every day. */
  readonly weekdays: readonly number[] | undefined
}

export interface RateSchedule {
  readonly kind: 'rate'
  readonly value: number
  readonly unit: 'minute' | 'hour' | 'day'
}

export type Schedule = CronSchedule | RateSchedule

export class ScheduleError extends Error {
  override readonly name = 'ScheduleError'
}

const SHORTCUTS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
export const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']

interface FieldSpec {
  name: string
  min: number
  max: number
  names?: readonly string[]
  /** Value of the first name (JAN = 1, SUN = 0). */
  nameBase?: number
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS, nameBase: 0 },
]

const RATE = /^rate\((\d+) (minute|hour|day)s?\)$/

/** Parses a schedule, or throws a ScheduleError saying which part is wrong and what is allowed. */
export function parseSchedule(expression: string): Schedule {
  const text = expression.trim()
  const rate = RATE.exec(text)
  if (rate) {
    const value = Number(rate[1])
    if (value < 1) throw new ScheduleError(`rate must be at least 1, got ${JSON.stringify(text)}`)
    return { kind: 'rate', value, unit: rate[2] as RateSchedule['unit'] }
  }
  if (text.startsWith('rate(')) {
    throw new ScheduleError(`${JSON.stringify(text)} is not a rate: write rate(<N> minute[s]|hour[s]|day[s])`)
  }
  const cron = SHORTCUTS[text.toLowerCase()] ?? text
  const parts = cron.split(/\s+/)
  if (parts.length !== 5) {
    throw new ScheduleError(
      `${JSON.stringify(text)} has ${parts.length} field(s); a cron needs 5 (minute hour day-of-month month day-of-week), or use rate(...) or @daily/@hourly/...`,
    )
  }
  const fields = parts.map((part, i) => normaliseField(part, FIELDS[i] as FieldSpec)) as [string, string, string, string, string]
  const weekdays = fields[4] === '*' ? undefined : [...new Set(expand(fields[4], FIELDS[4] as FieldSpec).map((day) => day % 7))].sort()
  return { kind: 'cron', fields, weekdays }
}

/** Checks one cron field (lists, ranges, steps, names) and returns it with names upper-cased. */
function normaliseField(field: string, spec: FieldSpec): string {
  if (field === '') throw new ScheduleError(`${spec.name} is empty`)
  expand(field, spec)
  return field.toUpperCase()
}

/** Every value a cron field selects; throws a ScheduleError naming the field for anything out of range. */
function expand(field: string, spec: FieldSpec): number[] {
  const values: number[] = []
  for (const item of field.split(',')) {
    const [range, stepText, extra] = item.split('/')
    if (extra !== undefined || range === undefined || range === '') throw new ScheduleError(`${spec.name}: ${JSON.stringify(item)} is not a value, range or step`)
    const step = stepText === undefined ? 1 : parseNumber(stepText, spec, 'step')
    if (step < 1) throw new ScheduleError(`${spec.name}: step must be at least 1 in ${JSON.stringify(item)}`)
    let low: number
    let high: number
    if (range === '*') {
      low = spec.min
      high = spec.max === 7 ? 6 : spec.max
    } else {
      const [from, to, more] = range.split('-')
      if (more !== undefined || from === undefined || from === '') throw new ScheduleError(`${spec.name}: ${JSON.stringify(item)} is not a value or range`)
      low = parseValue(from, spec)
      // "5/15" means from 5 to the end, every 15, as most cron implementations read it.
      high = to !== undefined ? parseValue(to, spec) : stepText !== undefined ? spec.max : low
      if (high < low) throw new ScheduleError(`${spec.name}: range ${JSON.stringify(range)} runs backwards`)
    }
    for (let value = low; value <= high; value += step) values.push(value)
  }
  return values
}

function parseValue(text: string, spec: FieldSpec): number {
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1
  if (index !== -1) return index + (spec.nameBase ?? 0)
  return parseNumber(text, spec, 'value')
}

function parseNumber(text: string, spec: FieldSpec, what: 'value' | 'step'): number {
  if (!/^\d+$/.test(text)) {
    const names = spec.names ? ` or a name (${spec.names[0]}-${spec.names[spec.names.length - 1]})` : ''
    throw new ScheduleError(`${spec.name}: ${JSON.stringify(text)} is not a number${what === 'value' ? names : ''}`)
  }
  const value = Number(text)
  if (what === 'value' && (value < spec.min || value > spec.max)) {
    throw new ScheduleError(`${spec.name}: ${value} is out of range (${spec.min}-${spec.max})`)
  }
  return value
}

/**
 * The schedule as an EventBridge expression. AWS cron has six fields (a year, and `?` in day-of-month or
 * day-of-week) and numbers weekdays 1-7 from Sunday, so weekdays are written as names, which every reader agrees
 * on. A cron restricting both day-of-month and day-of-week (standard cron runs when either matches) has no AWS
 * equivalent and is refused.
 */
export function toAwsSchedule(schedule: Schedule): string {
  if (schedule.kind === 'rate') {
    return `rate(${schedule.value} ${schedule.unit}${schedule.value === 1 ? '' : 's'})`
  }
  const [minute, hour, dayOfMonth, month] = schedule.fields
  const days = schedule.weekdays
  if (days === undefined || days.length === 7) return `cron(${minute} ${hour} ${dayOfMonth} ${month} ? *)`
  if (dayOfMonth !== '*') {
    throw new ScheduleError(
      'restricts both day-of-month and day-of-week; standard cron runs when either matches, which AWS cannot express: use two cron events',
    )
  }
  return `cron(${minute} ${hour} ? ${month} ${days.map((day) => DAYS[day]).join(',')} *)`
}
