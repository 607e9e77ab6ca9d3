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
  if (parts.length !== 5) throw new ScheduleError(fieldCountProblem(text, parts))
  const fields = parts.map((part, i) => normaliseField(part, FIELDS[i] as FieldSpec)) as [string, string, string, string, string]
  const weekdays = fields[4] === '*' ? undefined : [...new Set(expand(fields[4], FIELDS[4] as FieldSpec).map((day) => day % 7))].sort()
  return { kind: 'cron', fields, weekdays }
}

/**
 * Why a cron with the wrong number of fields is refused, with the 5-field cron it most likely means: six fields are
 * either AWS's (minute ... day-of-week year, with `?`) or seconds first (Azure's NCRONTAB, Quartz, node-cron).
 */
function fieldCountProblem(text: string, parts: readonly string[]): string {
  const head = `${JSON.stringify(text)} has ${parts.length} field${parts.length === 1 ? '' : 's'}, but cron takes 5: minute hour day-of-month month day-of-week`
  const others = '@hourly, @daily, @weekly, @monthly and rate(<N> minutes|hours|days) work too'
  if (parts.length === 6) {
    // AWS always has a "?" (in day-of-month or day-of-week) and may end with a year.
    const aws = parts.includes('?') || /^\d{4}/.test(parts[5] as string)
    const meant = aws ? parts.slice(0, 5).map((part) => (part === '?' ? '*' : part)).join(' ') : parts.slice(1).join(' ')
    const reading = aws ? 'it reads like an AWS cron: drop the year and write "?" as "*"' : 'the first field reads like seconds, which schedules do not have: drop it'
    return `${head}, without seconds or a year; ${reading}, i.e. "${meant}" (${others})`
  }
  return `${head}, e.g. "0 3 * * *" for 03:00 UTC every day (${others})`
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

/** The values of each cron field, expanded (minutes, hours, days of month, months 1-12, weekdays 0-6). */
function fieldSets(schedule: CronSchedule): { minutes: Set<number>; hours: Set<number>; days: Set<number>; months: Set<number>; weekdays: Set<number> } {
  const [minute, hour, day, month, weekday] = schedule.fields
  return {
    minutes: new Set(expand(minute, FIELDS[0] as FieldSpec)),
    hours: new Set(expand(hour, FIELDS[1] as FieldSpec)),
    days: new Set(expand(day, FIELDS[2] as FieldSpec)),
    months: new Set(expand(month, FIELDS[3] as FieldSpec)),
    weekdays: new Set(expand(weekday, FIELDS[4] as FieldSpec).map((value) => value % 7)),
  }
}

/**
 * When a schedule fires next after `after`, in UTC (as every provider runs them unless told otherwise). A cron
 * restricting both day-of-month and day-of-week fires when either matches, as crontab(5) says. A rate fires every
 * interval from `after`. Local emulators use this to fire schedules on time.
 */
export function nextRun(schedule: Schedule, after: Date): Date {
  if (schedule.kind === 'rate') {
    const minutes = schedule.value * (schedule.unit === 'minute' ? 1 : schedule.unit === 'hour' ? 60 : 1440)
    return new Date(after.getTime() + minutes * 60_000)
  }
  const sets = fieldSets(schedule)
  const dayRestricted = schedule.fields[2] !== '*'
  const weekdayRestricted = schedule.fields[4] !== '*'
  const time = new Date(after.getTime())
  time.setUTCSeconds(0, 0)
  time.setUTCMinutes(time.getUTCMinutes() + 1)
  // At most eight years of minutes, day by day where the day does not match: every valid cron fires in that time.
  const limit = after.getTime() + 8 * 366 * 86_400_000
  while (time.getTime() <= limit) {
    const dayMatches = dayRestricted && weekdayRestricted
      ? sets.days.has(time.getUTCDate()) || sets.weekdays.has(time.getUTCDay())
      : sets.days.has(time.getUTCDate()) && sets.weekdays.has(time.getUTCDay())
    if (!sets.months.has(time.getUTCMonth() + 1) || !dayMatches) {
      time.setUTCDate(time.getUTCDate() + 1)
      time.setUTCHours(0, 0, 0, 0)
      continue
    }
    if (!sets.hours.has(time.getUTCHours())) {
      time.setUTCHours(time.getUTCHours() + 1, 0, 0, 0)
      continue
    }
    if (sets.minutes.has(time.getUTCMinutes())) return time
    time.setUTCMinutes(time.getUTCMinutes() + 1)
  }
  throw new ScheduleError(`${schedule.fields.join(' ')} never fires (no date matches its day-of-month and month)`)
}
