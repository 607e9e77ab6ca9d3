import { expect } from 'chai'
import { storage, type StorageEvent } from '@polycloud/core'
import { InvalidRecord } from '@polycloud/core/adapter'
import { lambda, s3, sqsS3 } from '@polycloud/aws'
import { decodeS3Key, storageType } from '@polycloud/aws/s3'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

describe('aws/s3', () => {
  it('recognises S3 notifications only (not the EventBridge or SQS forms)', () => {
    const direct = new Set(['aws/s3/lgo__s3-event.json', 'aws/s3/lgo__s3-replication-event.json', 'aws/s3/lgo__s3-restore-event.json', 'aws/s3/ptts__delete-object.json', 'aws/s3/sam__S3Delete.json'])
    for (const path of fixturePaths('aws')) expect(s3.canHandle(fixture(path)), path).to.equal(direct.has(path))
  })

  it('decodes keys and classifies actions', () => {
    expect(decodeS3Key('a+b%2Fc%20d.txt')).to.equal('a b/c d.txt')
    expect(decodeS3Key('100%')).to.equal('100%')
    expect(storageType('ObjectCreated:CompleteMultipartUpload')).to.equal('created')
    expect(storageType('ObjectRemoved:DeleteMarkerCreated')).to.equal('deleted')
    expect(storageType('LifecycleExpiration:Delete')).to.equal('deleted')
    expect(storageType('ObjectTagging:Put')).to.equal('other')
  })

  it('calls the handler per record and throws on failure so Lambda retries', async () => {
    const seen: StorageEvent[] = []
    await lambda(storage((e) => void seen.push(e)))(fixture('aws/s3/lgo__s3-event.json'), lambdaContext())
    expect(seen[0]).to.include({ bucket: 'sourcebucket', key: 'Happy Face.jpg', type: 'created' })
    const { result } = await captureStdout(() =>
      lambda(
        storage(() => {
          throw new Error('x')
        }),
      )(fixture('aws/s3/ptts__delete-object.json'), lambdaContext()).catch((e: unknown) => e),
    )
    expect((result as Error).name).to.equal('BatchFailedError')
  })

  it('marks a record without a bucket name invalid', async () => {
    const event = fixture<{ Records: Array<{ s3: { bucket: Record<string, unknown> } }> }>('aws/s3/lgo__s3-event.json')
    delete event.Records[0]!.s3.bucket.name
    const { result, lines } = await captureStdout(() => lambda(storage(() => {}))(event, lambdaContext()).catch((e: unknown) => e))
    expect((result as Error).message).to.match(/^aws:s3: 1 event\(s\) failed/)
    expect(JSON.stringify(lines[0])).to.include('aws:s3: Records[0]: the record has no s3.bucket.name or s3.object.key string')
  })

  it('refuses a record whose time, size, eTag or version is of the wrong type, naming the field (directly and in an SQS body)', () => {
    const cases: Array<[(record: { eventTime?: unknown; s3: { object: Record<string, unknown> } }) => void, string]> = [
      [(record) => void (record.eventTime = 1714557600), 'eventTime must be an RFC 3339 timestamp, got the number 1714557600'],
      [(record) => void (record.s3.object.size = -1), 's3.object.size must be a non-negative integer, got the number -1'],
      [(record) => void (record.s3.object.eTag = {}), 's3.object.eTag must be a string, got an object'],
      [(record) => void (record.s3.object.versionId = 1), 's3.object.versionId must be a string, got the number 1'],
    ]
    for (const [change, problem] of cases) {
      const event = fixture<{ Records: Array<{ s3: { object: Record<string, unknown> } }> }>('aws/s3/lgo__s3-event.json')
      change(event.Records[0]!)
      const [item] = s3.getEvents(event as never)
      expect((item as InvalidRecord).error.message).to.equal(`aws:s3: Records[0]: ${problem}`)
      const carried = { Records: [{ messageId: 'q', body: JSON.stringify(event), eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:r:1:q' }] }
      const [viaSqs] = sqsS3.getEvents(carried as never)
      expect((viaSqs as InvalidRecord).error.message).to.equal(`aws:sqs-s3: Records[0] ("q"): body Records[0].${problem}`)
    }
  })
})
