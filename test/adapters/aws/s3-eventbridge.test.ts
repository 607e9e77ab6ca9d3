import { expect } from 'chai'
import { storage, type StorageEvent } from '@polycloud/core'
import { InvalidRecord } from '@polycloud/core/adapter'
import { lambda, s3EventBridge } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { lambdaContext } from './support.ts'

describe('aws/s3-eventbridge', () => {
  it('recognises S3 events delivered by EventBridge only', () => {
    for (const path of fixturePaths('aws')) {
      expect(s3EventBridge.canHandle(fixture(path)), path).to.equal(path === 'aws/s3/ptts__eventbridge-object-created.json')
    }
  })

  it('classifies deletes and other object events', async () => {
    const event = fixture<Record<string, unknown>>('aws/s3/ptts__eventbridge-object-created.json')
    const seen: StorageEvent[] = []
    const handler = lambda(storage((e) => void seen.push(e)))
    await handler({ ...event, 'detail-type': 'Object Deleted' }, lambdaContext())
    await handler({ ...event, 'detail-type': 'Object Restore Completed' }, lambdaContext())
    expect(seen.map((e) => [e.type, e.action])).to.deep.equal([
      ['deleted', 'Object Deleted'],
      ['other', 'Object Restore Completed'],
    ])
  })

  it('refuses an event whose time, size, etag or version is of the wrong type, naming the field', () => {
    const event = fixture<Record<string, unknown> & { detail: { object: Record<string, unknown> } }>('aws/s3/ptts__eventbridge-object-created.json')
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, string]> = [
      [{ time: 5 }, {}, 'time must be an RFC 3339 timestamp, got the number 5'],
      [{}, { size: 1.5 }, 'detail.object.size must be a non-negative integer, got the number 1.5'],
      [{}, { etag: false }, 'detail.object.etag must be a string, got the boolean false'],
      [{}, { 'version-id': {} }, 'detail.object.version-id must be a string, got an object'],
    ]
    for (const [fields, object, problem] of cases) {
      const changed = { ...event, ...fields, detail: { ...event.detail, object: { ...event.detail.object, ...object } } }
      const [item] = s3EventBridge.getEvents(changed as never)
      expect((item as InvalidRecord).error.message).to.equal(`aws:s3-eventbridge: event "${event.id as string}": ${problem}`)
    }
  })
})
