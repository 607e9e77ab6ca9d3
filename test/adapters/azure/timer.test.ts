import { expect } from 'chai'
import type { Timer } from '@azure/functions'
import { schedule, type ScheduleEvent } from '@polycloud/core'
import { BatchFailedError } from '@polycloud/core/adapter'
import { azureTimer, createAzureHandler } from '@polycloud/azure'
import { azureFixtures, azureInput, invocation } from './support.ts'

const TIMER = { type: 'timerTrigger', schedule: '0 */5 * * * *' }

function timer(next: string | undefined, isPastDue = false): Timer {
  const status = next === undefined ? undefined : { last: '2024-05-01T09:55:00+00:00', next, lastUpdated: '2024-05-01T09:55:00+00:00' }
  return { isPastDue, schedule: { adjustForDST: true }, ...(status ? { scheduleStatus: status } : {}) } as Timer
}

function only(input: ReturnType<typeof azureInput<Timer>>): ScheduleEvent {
  const events = azureTimer.getEvents(input)
  expect(events).to.have.length(1)
  return events[0] as ScheduleEvent
}

describe('azure/timer', () => {
  it('recognises the Timer object with a timer trigger (or none stated) and nothing else', () => {
    expect(azureTimer.canHandle(azureInput(timer(undefined), TIMER))).to.equal(true)
    expect(azureTimer.canHandle(azureInput(timer(undefined)))).to.equal(true)
    expect(azureTimer.canHandle(azureInput(timer(undefined), { type: 'queueTrigger' }))).to.equal(false)
    expect(azureTimer.canHandle(azureInput({ IsPastDue: false }, TIMER))).to.equal(false)
    for (const [path, input] of azureFixtures()) expect(azureTimer.canHandle(input), path).to.equal(false)
  })

  it('times a tick by the occurrence it fired for, which also names it', () => {
    const input = azureInput(timer('2024-05-01T10:00:00+00:00'), TIMER, { functionName: 'cleanup' })
    const event = only(input)
    expect(event).to.deep.equal({
      kind: 'schedule',
      id: 'cleanup@2024-05-01T10:00:00.000Z',
      time: '2024-05-01T10:00:00.000Z',
      source: 'cleanup',
      native: input,
      schedule: '0 */5 * * * *',
      name: 'cleanup',
    })
  })

  it('keeps the missed occurrence of a past-due run', () => {
    expect(only(azureInput(timer('2024-05-01T10:00:00Z', true), TIMER)).time).to.equal('2024-05-01T10:00:00Z')
  })

  it('accepts an occurrence a little ahead (the host may fire early) but not a future one', () => {
    const soon = new Date(Date.now() + 2000).toISOString()
    expect(only(azureInput(timer(soon), TIMER)).time).to.equal(soon)
    const later = new Date(Date.now() + 3600_000).toISOString()
    const input = azureInput(timer(later), TIMER)
    const before = Date.now()
    const event = only(input)
    expect(event.id).to.equal(input.context.invocationId)
    expect(Date.parse(event.time)).to.be.within(before, Date.now())
  })

  it('uses the invocation when the schedule monitor is off (no scheduleStatus)', () => {
    const input = azureInput(timer(undefined), TIMER)
    expect(only(input).id).to.equal(input.context.invocationId)
  })

  it('resolves a %AppSetting% schedule as the host does', () => {
    process.env.POLYCLOUD_TEST_SCHEDULE = '0 0 * * * *'
    try {
      expect(only(azureInput(timer(undefined), { type: 'timerTrigger', schedule: '%POLYCLOUD_TEST_SCHEDULE%' })).schedule).to.equal('0 0 * * * *')
      expect(only(azureInput(timer(undefined), { type: 'timerTrigger', schedule: '%NOT_SET_ANYWHERE%' })).schedule).to.equal('%NOT_SET_ANYWHERE%')
    } finally {
      delete process.env.POLYCLOUD_TEST_SCHEDULE
    }
  })

  it('runs the handler and fails the invocation when it throws', async () => {
    const seen: ScheduleEvent[] = []
    const ok = createAzureHandler(schedule((event) => void seen.push(event)), [azureTimer])
    const run = invocation(TIMER)
    expect(await ok(timer('2024-05-01T10:00:00Z'), run.context)).to.equal(undefined)
    expect(seen.map((event) => event.time)).to.deep.equal(['2024-05-01T10:00:00Z'])

    const failing = createAzureHandler(
      schedule(() => {
        throw new Error('tick failed')
      }),
      [azureTimer],
    )
    const bad = invocation(TIMER, { functionName: 'nightly' })
    const error = await failing(timer('2024-05-01T10:00:00Z'), bad.context).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(BatchFailedError)
    expect((error as BatchFailedError).failedIds).to.deep.equal(['nightly@2024-05-01T10:00:00Z'])
    expect(bad.lines().map((line) => [line.azureLevel, line.message, line.eventId])).to.deep.equal([['error', 'event failed', 'nightly@2024-05-01T10:00:00Z']])
  })
})
