import { expect } from 'chai'
import { BatchFailedError, type ScheduleEvent } from '@polycloud/core/adapter'
import { declareSchedules } from '@polycloud/core/schedule'
import { gcpScheduler, gcpSchedulerPubSub } from '@polycloud/gcp'
import { fixture } from '../../helpers/fixtures.ts'
import { envelope, invalid, single } from './support.ts'

const JOB = '//cloudscheduler.googleapis.com/projects/p/locations/europe-west1/jobs/nightly-report'

describe('gcp/scheduler', () => {
  it('gcp:scheduler accepts executed events only', () => {
    expect(gcpScheduler.canHandle(envelope('google.cloud.scheduler.job.v1.executed', { customData: 'AA==' }, { source: JOB }))).to.equal(true)
    expect(gcpScheduler.canHandle(fixture('gcp/scheduler/gce__SchedulerJobData-simple.json'))).to.equal(false)
    expect(gcpScheduler.canHandle(fixture('gcp/pubsub/gce__MessagePublishedData.json'))).to.equal(false)
  })

  it('gcp:scheduler makes a tick named for the job', () => {
    const event = envelope('google.cloud.scheduler.job.v1.executed', { customData: 'AA==' }, { source: JOB })
    expect(single<ScheduleEvent>(gcpScheduler.getEvents(event))).to.deep.equal({
      kind: 'schedule',
      id: 'evt-1',
      time: '2024-05-01T10:00:00.123Z',
      source: JOB,
      native: event,
      schedule: undefined,
      name: 'nightly-report',
    })
    expect(() => gcpScheduler.getResult(event, gcpScheduler.getEvents(event))).to.throw(BatchFailedError)
  })

  it('gcp:scheduler-pubsub makes a tick of each message on the job topic', () => {
    const event = envelope(
      'google.cloud.pubsub.topic.v1.messagePublished',
      { message: { data: 'e30=', messageId: 'm-9', publishTime: '2024-05-01T00:00:00.001Z' }, subscription: 'projects/p/subscriptions/s' },
      { source: '//pubsub.googleapis.com/projects/p/topics/nightly' },
    )
    expect(gcpSchedulerPubSub.canHandle(event)).to.equal(true)
    expect(single<ScheduleEvent>(gcpSchedulerPubSub.getEvents(event))).to.deep.include({
      id: 'm-9',
      time: '2024-05-01T00:00:00.001Z',
      source: '//pubsub.googleapis.com/projects/p/topics/nightly',
      name: 'nightly',
      schedule: undefined,
    })
    const push = { message: { data: 'e30=', message_id: 'm-10', publish_time: '2024-05-02T00:00:00Z' }, subscription: 'projects/p/subscriptions/nightly-push' }
    expect(single<ScheduleEvent>(gcpSchedulerPubSub.getEvents(push))).to.deep.include({ id: 'm-10', time: '2024-05-02T00:00:00Z', source: 'projects/p/subscriptions/nightly-push', name: 'nightly-push' })
    expect(gcpSchedulerPubSub.canHandle(envelope('google.cloud.scheduler.job.v1.executed', {}))).to.equal(false)
  })

  it('gcp:scheduler-pubsub names the job a message names (polycloud-job), which tells a function\'s schedules apart', () => {
    const tick = (job: string) =>
      envelope(
        'google.cloud.pubsub.topic.v1.messagePublished',
        { message: { data: '', attributes: { 'polycloud-job': job }, messageId: `m-${job}`, publishTime: '2024-05-01T00:00:00Z' }, subscription: 'projects/p/subscriptions/s' },
        { source: '//pubsub.googleapis.com/projects/p/topics/shop-prod-report-schedule' },
      )
    expect(single<ScheduleEvent>(gcpSchedulerPubSub.getEvents(tick('shop-prod-report-cron')))).to.deep.include({ name: 'shop-prod-report-cron', schedule: undefined })
    const declared = declareSchedules(gcpSchedulerPubSub, [
      { name: 'report', schedule: '0 3 * * *', trigger: 'shop-prod-report-cron' },
      { name: 'report', schedule: '@weekly', trigger: 'shop-prod-report-cron-2' },
    ])
    expect(single<ScheduleEvent>(declared.getEvents(tick('shop-prod-report-cron-2')))).to.deep.include({ name: 'report', schedule: '@weekly', id: 'm-shop-prod-report-cron-2' })
    const push = { message: { data: '', attributes: { 'polycloud-job': 'shop-prod-report-cron' }, message_id: 'm-1', publish_time: '2024-05-02T00:00:00Z' }, subscription: 'projects/p/subscriptions/x' }
    expect(single<ScheduleEvent>(declared.getEvents(push))).to.deep.include({ name: 'report', schedule: '0 3 * * *' })
  })

  it('gcp:scheduler-pubsub makes an event without a message an invalid record', () => {
    const record = invalid(gcpSchedulerPubSub.getEvents(envelope('google.cloud.pubsub.topic.v1.messagePublished', {})))
    expect(record.error.message).to.equal('gcp:scheduler-pubsub: event evt-1 has no data.message')
  })
})
