import { expect } from 'chai'
import { storage, type StorageEvent } from '@polycloud/core'
import { onlyObjects, takesObject } from '@polycloud/core/object-filter'
import { testContext } from './support.ts'

function event(bucket: string, key: string, type: StorageEvent['type'] = 'created'): StorageEvent {
  return { kind: 'storage', id: '1', time: '2026-01-01T00:00:00Z', source: 'test', native: {}, type, action: type, bucket, key, size: 1, etag: undefined, contentType: undefined, versionId: undefined }
}

describe('core/object-filter: storage events kept to the objects a function asked for', () => {
  it('takes an event when one rule matches its bucket, key prefix and suffix, and type', () => {
    const rule = { bucket: 'uploads', prefix: 'images/', suffix: '.png', types: ['deleted' as const] }
    expect(takesObject(rule, event('uploads', 'images/a.png', 'deleted'))).to.equal(true)
    expect(takesObject(rule, event('uploads', 'images/a.png', 'created'))).to.equal(false)
    expect(takesObject(rule, event('uploads', 'docs/a.png', 'deleted'))).to.equal(false)
    expect(takesObject(rule, event('uploads', 'images/a.jpg', 'deleted'))).to.equal(false)
    expect(takesObject(rule, event('other', 'images/a.png', 'deleted'))).to.equal(false)
    expect(takesObject({ bucket: 'uploads', prefix: '', suffix: '' }, event('uploads', 'any/thing', 'other'))).to.equal(true)
  })

  it('runs the handler for the events a rule takes and skips the others with a debug line', async () => {
    const seen: string[] = []
    const handler = onlyObjects(storage((object) => void seen.push(object.key)), [
      { bucket: 'a', prefix: 'x/', suffix: '' },
      { bucket: 'b', prefix: '', suffix: '.txt' },
    ])
    expect(handler.kind).to.equal('storage')
    const { context, lines } = testContext({ LOG_LEVEL: 'debug' })
    for (const item of [event('a', 'x/1'), event('a', 'y/2'), event('b', 'z.txt'), event('c', 'x/3')]) await handler.handle(item, context)
    expect(seen).to.deep.equal(['x/1', 'z.txt'])
    const skipped = lines.filter((line) => line.level === 'debug').map((line) => [line.record.bucket, line.record.key])
    expect(skipped).to.deep.equal([['a', 'y/2'], ['c', 'x/3']])
  })
})
