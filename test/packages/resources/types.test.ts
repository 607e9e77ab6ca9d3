/** Type tests: `tsc -p test` checks each @ts-expect-error is an error. */
import { expect } from 'chai'
import { bucket, queue, topic, type Bucket, type ObjectList, type Queue, type ResourceErrorCode, type StoredObject, type Topic } from '@polycloud/resources'

export async function typeChecks(): Promise<void> {
  const uploads: Bucket = bucket('uploads')
  const orders: Queue = queue('orders')
  const alerts: Topic = topic('alerts')
  const object: StoredObject | null = await uploads.get('k')
  const text: string | undefined = await object?.text()
  const data: { n: number } | undefined = await object?.json<{ n: number }>()
  const page: ObjectList = await uploads.list({ prefix: 'a/', limit: 10 })
  const next: string | undefined = page.cursor
  await uploads.put('k', new Uint8Array(1), { contentType: 'application/octet-stream', metadata: { a: 'b' } })
  await orders.send({ any: ['json', 1, true, null] }, { delaySeconds: 1, attributes: { a: 'b' } })
  await orders.sendBatch([{ body: 'x' }, { body: new Uint8Array(1), attributes: { a: 'b' } }])
  await alerts.publish('x', { subject: 's' })
  // @ts-expect-error put takes bytes, text or a stream, not an object
  await uploads.put('k', { an: 'object' })
  // @ts-expect-error metadata values are strings
  await uploads.put('k', 'x', { metadata: { n: 1 } })
  // @ts-expect-error a queue has no subject
  await orders.send('x', { subject: 's' })
  // @ts-expect-error a topic has no delay
  await alerts.publish('x', { delaySeconds: 1 })
  // @ts-expect-error sendBatch takes { body } entries
  await orders.sendBatch(['x'])
  // @ts-expect-error undefined is not a message
  await orders.send(undefined)
  const code: ResourceErrorCode = 'Throttled'
  // @ts-expect-error the codes are a closed union
  const wrong: ResourceErrorCode = 'Gone'
  void [text, data, next, code, wrong]
}

describe('@polycloud/resources types', () => {
  it('type-checks (see tsc -p test)', () => expect(typeChecks).to.be.a('function'))
})
