import { expect } from 'chai'
import type { ScheduleEvent } from '@polycloud/core'
import { EventError, InvalidRecord, failureRef, oneEvent, type EventSource } from '@polycloud/core/adapter'
import { declareSchedules } from '@polycloud/core/schedule'

/** A schedule source in a platform's own terms: the tick names its rule (`name`) and, for some, its native cron. */
interface Tick {
  readonly id: string
  readonly rule: string
  readonly cron?: string
}

const native: EventSource<Tick, ScheduleEvent, void> = {
  name: 'test:tick',
  kind: 'schedule',
  canHandle: (input): input is Tick => typeof input === 'object' && input !== null && 'rule' in input,
  getEvents: (tick) =>
    oneEvent('test:tick', tick, (record) => {
      if (record.id === '') throw new EventError('id must be a non-empty string')
      return { kind: 'schedule', id: record.id, time: '2026-01-01T03:00:00Z', source: record.rule, native: record, schedule: record.cron, name: record.rule }
    }),
  getResult: () => undefined,
}

const events = (source: EventSource<Tick, ScheduleEvent, void>, tick: Tick): Array<ScheduleEvent | InvalidRecord> => source.getEvents(tick)

describe('core/declared-schedule: schedule events in serverless.yml terms on every provider', () => {
  it('gives every event of a function with one schedule its expression as written and the function name, native kept', () => {
    const source = declareSchedules(native, [{ name: 'report', schedule: '0 9 * * 1-5' }])
    const [event] = events(source, { id: 't-1', rule: 'shop-prod-report', cron: '0 9 * * MON-FRI' }) as [ScheduleEvent]
    expect(event).to.include({ kind: 'schedule', id: 't-1', source: 'shop-prod-report', schedule: '0 9 * * 1-5', name: 'report' })
    expect(event.native).to.deep.equal({ id: 't-1', rule: 'shop-prod-report', cron: '0 9 * * MON-FRI' })
    expect([source.name, source.kind, source.canHandle, source.getResult]).to.deep.equal([native.name, native.kind, native.canHandle, native.getResult])
  })

  it('tells several schedules apart by the trigger the platform names; an unnamed firing has no schedule', () => {
    const source = declareSchedules(native, [
      { name: 'report', schedule: '0 3 * * *', trigger: 'shop-prod-report' },
      { name: 'report', schedule: '@weekly', trigger: 'shop-prod-report-2' },
    ])
    expect(events(source, { id: 'a', rule: 'shop-prod-report' })[0]).to.include({ schedule: '0 3 * * *', name: 'report' })
    expect(events(source, { id: 'b', rule: 'shop-prod-report-2' })[0]).to.include({ schedule: '@weekly', name: 'report' })
    const [unnamed] = events(source, { id: 'c', rule: 'aws.events' }) as [ScheduleEvent]
    expect([unnamed.schedule, unnamed.name]).to.deep.equal([undefined, 'report'])
    // Several crons of one expression need no trigger.
    const same = declareSchedules(native, [{ name: 'r', schedule: '@daily' }, { name: 'r', schedule: '@daily' }])
    expect(events(same, { id: 'd', rule: 'x' })[0]).to.include({ schedule: '@daily', name: 'r' })
  })

  it('passes invalid records through, keeps failure references, and leaves a source without declarations as it is', () => {
    const source = declareSchedules(native, [{ name: 'report', schedule: '0 3 * * *' }])
    const [invalid] = events(source, { id: '', rule: 'r' })
    expect(invalid).to.be.instanceOf(InvalidRecord)
    expect((invalid as InvalidRecord).error.message).to.match(/id must be a non-empty string/)
    const tick = { id: 't', rule: 'r' }
    const [event] = events(source, tick) as [ScheduleEvent]
    expect(failureRef(event)).to.equal(tick)
    expect(Object.keys(event)).to.not.include('failureRef')
    expect(declareSchedules(native, [])).to.equal(native)
  })
})
