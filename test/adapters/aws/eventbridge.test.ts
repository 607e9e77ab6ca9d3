import { expect } from 'chai'
import { cloudEvent, schedule, type CloudEvent, type ScheduleEvent } from '@polycloud/core'
import { InvalidRecord } from '@polycloud/core/adapter'
import { declareSchedules } from '@polycloud/core/schedule'
import { createLambdaHandler, eventBridge, eventBridgeSchedule, lambda } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

describe('aws/eventbridge', () => {
  it('the schedule source recognises scheduled-rule ticks only', () => {
    for (const path of fixturePaths('aws')) {
      expect(eventBridgeSchedule.canHandle(fixture(path)), path).to.equal(path === 'aws/schedule/sam__ScheduledEvent.json')
    }
  })

  it('the CloudEvent source recognises every EventBridge event', () => {
    const all = new Set(['aws/schedule/sam__ScheduledEvent.json', 'aws/eventbridge/ptts__base.json', 'aws/s3/ptts__eventbridge-object-created.json'])
    for (const path of fixturePaths('aws')) expect(eventBridge.canHandle(fixture(path)), path).to.equal(all.has(path))
  })

  it('fires a schedule handler with the rule name', async () => {
    const ticks: ScheduleEvent[] = []
    const event = { ...fixture<Record<string, unknown>>('aws/schedule/sam__ScheduledEvent.json'), resources: ['arn:aws:events:eu-west-1:1:rule/nightly'] }
    await lambda(schedule((tick) => void ticks.push(tick)))(event, lambdaContext())
    expect(ticks[0]).to.include({ name: 'nightly', time: '1970-01-01T00:00:00Z', source: 'arn:aws:events:eu-west-1:1:rule/nightly' })
  })

  it('reports the schedules a function declares, told apart by their rules, the native event kept', async () => {
    const ticks: ScheduleEvent[] = []
    const source = declareSchedules(eventBridgeSchedule, [
      { name: 'report', schedule: '0 3 * * *', trigger: 'shop-prod-report' },
      { name: 'report', schedule: 'rate(6 hours)', trigger: 'shop-prod-report-2' },
    ])
    const handler = createLambdaHandler(schedule((tick) => void ticks.push(tick)), [source])
    const tick = fixture<Record<string, unknown>>('aws/schedule/sam__ScheduledEvent.json')
    for (const rule of ['shop-prod-report', 'shop-prod-report-2']) await handler({ ...tick, resources: [`arn:aws:events:eu-west-1:1:rule/${rule}`] }, lambdaContext())
    // serverless-offline's schedule events name no rule.
    await handler({ ...tick, resources: [] }, lambdaContext())
    expect(ticks.map((event) => [event.schedule, event.name, event.source])).to.deep.equal([
      ['0 3 * * *', 'report', 'arn:aws:events:eu-west-1:1:rule/shop-prod-report'],
      ['rate(6 hours)', 'report', 'arn:aws:events:eu-west-1:1:rule/shop-prod-report-2'],
      [undefined, 'report', 'aws.events'],
    ])
    expect((ticks[0]?.native as { resources: string[] }).resources).to.deep.equal(['arn:aws:events:eu-west-1:1:rule/shop-prod-report'])
  })

  it('gives a CloudEvent handler any event, and fails the invocation when it throws', async () => {
    const seen: CloudEvent[] = []
    await lambda(cloudEvent((e) => void seen.push(e)))(fixture('aws/eventbridge/ptts__base.json'), lambdaContext())
    expect(seen[0]).to.include({ type: 'EC2 Instance State-change Notification', source: 'aws.ec2' })
    const { result } = await captureStdout(() =>
      lambda(
        cloudEvent(() => {
          throw new Error('x')
        }),
      )(fixture('aws/eventbridge/ptts__base.json'), lambdaContext()).catch((e: unknown) => e),
    )
    expect((result as Error).message).to.equal('aws:eventbridge: 1 event(s) failed: 6a7e8feb-b491-4cf7-a9f1-bf3703467718')
  })

  it('refuses a tick whose id is empty or whose time is no timestamp, naming the field (a CloudEvent by the CloudEvents rules)', () => {
    const tick = fixture<Record<string, unknown>>('aws/schedule/sam__ScheduledEvent.json')
    const [noTime] = eventBridgeSchedule.getEvents({ ...tick, time: 'swapped' } as never)
    expect((noTime as InvalidRecord).error.message).to.match(/^aws:eventbridge-schedule: event "[^"]+": time must be an RFC 3339 timestamp, got the string "swapped"$/)
    const [noId] = eventBridgeSchedule.getEvents({ ...tick, id: '' } as never)
    expect((noId as InvalidRecord).error.message).to.equal('aws:eventbridge-schedule: id must be a non-empty string, got the empty string')
    const [asCloudEvent] = eventBridge.getEvents({ ...tick, time: 'swapped' } as never)
    expect((asCloudEvent as InvalidRecord).error.message).to.match(/time "swapped" is not an RFC 3339 timestamp$/)
  })
})
