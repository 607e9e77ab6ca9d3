import { expect } from 'chai'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import type { ScheduleEvent } from '@polycloud/core'
import { scheduled, type ScheduledControllerLike } from '@polycloud/cloudflare'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { fakeBatch } from './helpers.ts'

function controller(cron: string, scheduledTime: number): ScheduledControllerLike {
  return { cron, scheduledTime, noRetry: () => {} }
}

describe('cloudflare:scheduled', () => {
  describe('canHandle', () => {
    it('accepts a ScheduledController (cron string, scheduledTime in ms)', () => {
      expect(scheduled.canHandle(controller('*/5 * * * *', 1700000000000))).to.equal(true)
      expect(scheduled.canHandle(controller('', 1700000000000))).to.equal(true)
    })

    it('rejects other shapes and every JSON fixture of the other clouds', () => {
      expect(scheduled.canHandle({ cron: '* * * * *', scheduledTime: '2024-01-01T00:00:00Z' })).to.equal(false)
      expect(scheduled.canHandle({ cron: 5, scheduledTime: 1 })).to.equal(false)
      expect(scheduled.canHandle(fakeBatch('q', [{ id: 'm', body: 1 }]).batch)).to.equal(false)
      expect(scheduled.canHandle(new Request('https://example.com/'))).to.equal(false)
      for (const path of fixturePaths()) expect(scheduled.canHandle(fixture(path)), path).to.equal(false)
    })
  })

  describe('getEvents', () => {
    it('gives one schedule event named by the cron and the scheduled time', () => {
      const input = controller('*/5 * * * *', 1700000000000)
      const events = scheduled.getEvents(input)
      expect(events).to.have.length(1)
      const event = events[0] as ScheduleEvent
      expect(event).to.deep.equal({
        kind: 'schedule',
        id: '*/5 * * * *@2023-11-14T22:13:20.000Z',
        time: '2023-11-14T22:13:20.000Z',
        source: '*/5 * * * *',
        native: input,
        schedule: '*/5 * * * *',
        name: undefined,
      })
      expect(event.native).to.equal(input)
    })

    it('keeps the ms of the scheduled time', () => {
      const [event] = scheduled.getEvents(controller('0 15 1 * *', 1717254000123)) as ScheduleEvent[]
      expect(event?.time).to.equal('2024-06-01T15:00:00.123Z')
      expect(event?.id).to.equal('0 15 1 * *@2024-06-01T15:00:00.123Z')
    })

    it('has no schedule when the cron is empty (a test call without one)', () => {
      const [event] = scheduled.getEvents(controller('', 1700000000000)) as ScheduleEvent[]
      expect(event?.schedule).to.equal(undefined)
      expect(event?.id).to.equal('2023-11-14T22:13:20.000Z')
      expect(event?.source).to.equal('scheduled')
    })

    it('turns an invalid scheduledTime into an InvalidRecord naming it', () => {
      for (const time of [NaN, Infinity, 8.64e15 + 1]) {
        const [record] = scheduled.getEvents(controller('* * * * *', time))
        expect(record).to.be.instanceOf(InvalidRecord)
        expect((record as InvalidRecord).error.message).to.equal(
          `cloudflare:scheduled: event "* * * * *": scheduledTime must be a time in milliseconds since the epoch (from year 0 to 9999), got the number ${String(time)}`,
        )
      }
    })
  })

  describe('getResult', () => {
    it('returns nothing when the event succeeded', () => {
      const input = controller('* * * * *', 0)
      expect(scheduled.getResult(input, [])).to.equal(undefined)
    })

    it('throws a BatchFailedError naming the tick when it failed, so Workers record an exception', () => {
      const input = controller('* * * * *', 0)
      const events = scheduled.getEvents(input)
      expect(() => scheduled.getResult(input, events)).to.throw(BatchFailedError, '* * * * *@1970-01-01T00:00:00.000Z')
    })
  })
})
