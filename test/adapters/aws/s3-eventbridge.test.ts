import { expect } from 'chai'
import { storage, type StorageEvent } from '@polycloud/core'
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
})
