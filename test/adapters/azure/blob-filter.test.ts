import { expect } from 'chai'
import { storage, type StorageEvent } from '@polycloud/core'
import { onlyBlobs } from '@polycloud/azure/blob-filter'
import { testContext } from '../../packages/core/support.ts'

const blob = (container: string, key: string, type: StorageEvent['type']): StorageEvent => ({
  kind: 'storage', id: key, time: '2026-01-01T00:00:00Z', source: 'test', native: {}, type, action: type, bucket: container, key, size: 1, etag: undefined, contentType: undefined, versionId: undefined,
})

describe('azure/blob-filter: an Event Grid trigger kept to the blobs of its bucket event', () => {
  it("runs the handler for the container, prefix, suffix and event types of the filter, and skips the others", async () => {
    const seen: string[] = []
    const handler = onlyBlobs(storage((event) => void seen.push(`${event.type} ${event.key}`)), { container: 'uploads', prefix: 'x/', suffix: '.png', types: ['deleted'] })
    const { context } = testContext()
    for (const event of [blob('uploads', 'x/a.png', 'deleted'), blob('uploads', 'x/a.png', 'created'), blob('uploads', 'y/a.png', 'deleted'), blob('other', 'x/a.png', 'deleted')]) await handler.handle(event, context)
    expect(seen).to.deep.equal(['deleted x/a.png'])
  })
})
