import { expect } from 'chai'
import { ScheduleError, nextRun, parseSchedule, toAwsSchedule } from 'serverless-polycloud/schedule'

const aws = (expression: string) => toAwsSchedule(parseSchedule(expression))

describe('serverless/schedule', () => {
  it('converts 5-field cron to AWS 6-field cron with ? and a year', () => {
    expect(aws('0 3 * * *')).to.equal('cron(0 3 * * ? *)')
    expect(aws('*/15 8-18 1,15 * *')).to.equal('cron(*/15 8-18 1,15 * ? *)')
    expect(aws('30 6 * jan-mar *')).to.equal('cron(30 6 * JAN-MAR ? *)')
    expect(aws('5/10 * * * *')).to.equal('cron(5/10 * * * ? *)')
  })

  it('writes weekdays as names, which AWS (1 = Sunday) and crontab (0 = Sunday) read alike', () => {
    expect(aws('0 9 * * 1-5')).to.equal('cron(0 9 ? * MON,TUE,WED,THU,FRI *)')
    expect(aws('0 9 * * 0')).to.equal('cron(0 9 ? * SUN *)')
    expect(aws('0 9 * * 7')).to.equal('cron(0 9 ? * SUN *)')
    expect(aws('0 9 * * 5-7')).to.equal('cron(0 9 ? * SUN,FRI,SAT *)')
    expect(aws('0 9 * * sat,sun')).to.equal('cron(0 9 ? * SUN,SAT *)')
    expect(aws('0 9 * * */2')).to.equal('cron(0 9 ? * SUN,TUE,THU,SAT *)')
    expect(aws('0 9 * * 0-6')).to.equal('cron(0 9 * * ? *)')
  })

  it('expands the shortcuts', () => {
    expect(aws('@daily')).to.equal('cron(0 0 * * ? *)')
    expect(aws('@hourly')).to.equal('cron(0 * * * ? *)')
    expect(aws('@weekly')).to.equal('cron(0 0 ? * SUN *)')
    expect(aws('@monthly')).to.equal('cron(0 0 1 * ? *)')
    expect(aws('@yearly')).to.equal('cron(0 0 1 1 ? *)')
  })

  it('keeps rates, with the singular AWS wants for 1', () => {
    expect(aws('rate(5 minutes)')).to.equal('rate(5 minutes)')
    expect(aws('rate(1 minutes)')).to.equal('rate(1 minute)')
    expect(aws('rate(1 hour)')).to.equal('rate(1 hour)')
    expect(aws('rate(2 day)')).to.equal('rate(2 days)')
  })

  const invalid: Array<[string, RegExp]> = [
    ['0 3 * *', /^"0 3 \* \*" has 4 fields, but cron takes 5: minute hour day-of-month month day-of-week, e\.g\. "0 3 \* \* \*"/],
    ['0 0 3 * * *', /has 6 fields, but cron takes 5: .* without seconds or a year; the first field reads like seconds, .*: drop it, i\.e\. "0 3 \* \* \*"/],
    ['0 3 ? * MON-FRI *', /has 6 fields, .* reads like an AWS cron: drop the year and write "\?" as "\*", i\.e\. "0 3 \* \* MON-FRI"/],
    ['60 3 * * *', /^minute: 60 is out of range \(0-59\)$/],
    ['0 24 * * *', /^hour: 24 is out of range \(0-23\)$/],
    ['0 3 0 * *', /^day-of-month: 0 is out of range \(1-31\)$/],
    ['0 3 * 13 *', /^month: 13 is out of range \(1-12\)$/],
    ['0 3 * * 8', /^day-of-week: 8 is out of range \(0-7\)$/],
    ['0 3 * * MON#2', /^day-of-week: "MON#2" is not a number or a name \(SUN-SAT\)$/],
    ['0 3 ? * *', /^day-of-month: "\?" is not a number/],
    ['0 3 L * *', /^day-of-month: "L" is not a number/],
    ['*/0 * * * *', /^minute: step must be at least 1/],
    ['5-1 * * * *', /^minute: range "5-1" runs backwards$/],
    ['1,,2 * * * *', /^minute: "" is not a value/],
    ['rate(0 minutes)', /rate must be at least 1/],
    ['rate(5 weeks)', /is not a rate/],
    ['every 5 minutes', /has 3 fields, but cron takes 5/],
  ]
  for (const [expression, message] of invalid) {
    it(`refuses ${JSON.stringify(expression)}, naming the problem`, () => {
      expect(() => parseSchedule(expression)).to.throw(ScheduleError, message)
    })
  }

  it('refuses a cron restricting both day-of-month and day-of-week for AWS', () => {
    expect(() => aws('0 3 1 * MON')).to.throw(ScheduleError, /restricts both day-of-month and day-of-week/)
  })
})

describe('serverless/schedule: nextRun', () => {
  const at = (iso: string) => new Date(iso)
  const next = (expression: string, after: string) => nextRun(parseSchedule(expression), at(after)).toISOString()

  it('the next matching minute, in UTC', () => {
    expect(next('* * * * *', '2026-11-28T08:30:15Z')).to.equal('2026-11-28T08:31:00.000Z')
    expect(next('0 3 * * *', '2026-11-28T08:30:00Z')).to.equal('2026-11-29T03:00:00.000Z')
    expect(next('*/15 * * * *', '2026-11-28T08:30:00Z')).to.equal('2026-11-28T08:45:00.000Z')
    expect(next('0 0 1 1 *', '2026-11-28T08:30:00Z')).to.equal('2027-01-01T00:00:00.000Z')
  })

  it('weekdays from Sunday = 0 (7 too), and day-of-month OR day-of-week when both are restricted', () => {
    // 2026-11-28 is a Saturday.
    expect(next('0 9 * * 1-5', '2026-11-28T08:30:00Z')).to.equal('2026-11-30T09:00:00.000Z')
    expect(next('0 9 * * 7', '2026-11-28T10:00:00Z')).to.equal('2026-11-29T09:00:00.000Z')
    expect(next('0 9 15 * 1', '2026-11-28T10:00:00Z')).to.equal('2026-11-30T09:00:00.000Z')
    expect(next('0 9 1 * 3', '2026-11-28T10:00:00Z')).to.equal('2026-12-01T09:00:00.000Z')
  })

  it('rates from the given time, and a cron that never fires is refused', () => {
    expect(next('rate(5 minutes)', '2026-11-28T08:30:15Z')).to.equal('2026-11-28T08:35:15.000Z')
    expect(() => nextRun(parseSchedule('0 0 31 2 *'), at('2026-11-28T00:00:00Z'))).to.throw(ScheduleError, /never fires/)
  })
})
