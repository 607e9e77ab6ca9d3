/**
 * Neutral schedules as Azure timer schedules: six-field NCRONTAB (`{second} {minute} {hour} {day} {month}
 * {day-of-week}`, UTC on Linux plans), and back to the five fields the local scheduler fires on.
 */
import { parseSchedule, ScheduleError, type Schedule } from '../../schedule.js'

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
const MAX: Readonly<Record<string, number>> = { minute: 59, hour: 23, day: 31, month: 12 }

/** `5/15` (from 5, every 15, as crontab reads it) written as the range NCRONTAB reads the same way: `5-59/15`. */
function explicitRanges(field: string, name: keyof typeof MAX): string {
  return field
    .split(',')
    .map((item) => {
      const match = /^(\w+)\/(\d+)$/.exec(item)
      return match ? `${match[1]}-${MAX[name]}/${match[2]}` : item
    })
    .join(',')
}

/**
 * The NCRONTAB of a neutral schedule. Weekdays are written as numbers 0-6 from Sunday (crontab's 7 becomes 0),
 * month names as numbers. NCRONTAB fires only when day-of-month AND day-of-week match, where crontab takes either:
 * a cron restricting both is refused. A rate becomes a cron on the clock when the interval divides the next unit
 * (every 15 minutes, every 6 hours, every day); any other rate has no timer equivalent on Flex Consumption (TimeSpan
 * schedules need an App Service plan) and is refused.
 */
export function toNcrontab(schedule: Schedule): string {
  if (schedule.kind === 'rate') {
    const { value, unit } = schedule
    if (unit === 'minute' && 60 % value === 0) return value === 1 ? '0 * * * * *' : `0 */${value} * * * *`
    if (unit === 'minute' && value % 60 === 0 && 24 % (value / 60) === 0) return `0 0 */${value / 60} * * *`
    if (unit === 'hour' && 24 % value === 0) return value === 1 ? '0 0 * * * *' : `0 0 */${value} * * *`
    if ((unit === 'hour' && value === 24) || (unit === 'day' && value === 1)) return '0 0 0 * * *'
    throw new ScheduleError(
      `rate(${value} ${unit}${value === 1 ? '' : 's'}) has no Azure timer equivalent: a timer runs on the clock, so the interval must divide an hour (minutes) or a day (hours); write a cron`,
    )
  }
  const [minute, hour, day, month] = schedule.fields
  const days = schedule.weekdays
  if (day !== '*' && days !== undefined && days.length < 7) {
    throw new ScheduleError(
      'restricts both day-of-month and day-of-week; standard cron runs when either matches, Azure (NCRONTAB) only when both do: use two cron events',
    )
  }
  const months = month.replace(/[A-Z]{3}/g, (name) => String(MONTHS.indexOf(name) + 1))
  const weekdays = days === undefined || days.length === 7 ? '*' : days.join(',')
  return ['0', explicitRanges(minute, 'minute'), explicitRanges(hour, 'hour'), explicitRanges(day, 'day'), explicitRanges(months, 'month'), weekdays].join(' ')
}

/** The NCRONTAB of a neutral expression (5-field cron, @daily, rate(...)); throws a ScheduleError. */
export function ncrontab(expression: string): string {
  return toNcrontab(parseSchedule(expression))
}

/**
 * The five-field cron a local scheduler fires an NCRONTAB on: the seconds field dropped (it must be 0; Polycloud
 * writes it so). Both day fields restricted keep NCRONTAB's AND only when one of them is `*`, which Polycloud's
 * schedules always have.
 */
export function fromNcrontab(schedule: string): string {
  const fields = schedule.trim().split(/\s+/)
  if (fields.length !== 6 || fields[0] !== '0') throw new ScheduleError(`timer schedule ${JSON.stringify(schedule)} is not a six-field NCRONTAB firing at second 0`)
  return fields.slice(1).join(' ')
}
