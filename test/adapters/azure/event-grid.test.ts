import { expect } from 'chai'
import { cloudEvent, type CloudEvent } from '@polycloud/core'
import { BatchFailedError, InvalidRecord } from '@polycloud/core/adapter'
import { createAzureHandler, cosmosDb, eventGrid, type EventGridInput } from '@polycloud/azure'
import { azureInput, invocation } from './support.ts'

const GRID = { type: 'eventGridTrigger' }

const gridEvent = {
  id: 'e-1',
  topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/orders',
  subject: 'orders/42',
  eventType: 'Contoso.Order.Placed',
  eventTime: '2024-05-01T10:00:00.1234567Z',
  data: { orderId: 42 },
  dataVersion: '2.0',
  metadataVersion: '1',
}

const cloud = {
  specversion: '1.0',
  id: 'c-1',
  source: '/contoso/orders',
  type: 'Contoso.Order.Shipped',
  time: '2024-05-01T12:00:00+02:00',
  subject: 'orders/43',
  datacontenttype: 'application/json',
  dataschema: 'https://contoso.example/schemas/shipped.json',
  data: { orderId: 43 },
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  region: 'eu',
}

describe('azure/event-grid', () => {
  it('recognises Event Grid and CloudEvents events, alone or in an array, and nothing else', () => {
    expect(eventGrid.canHandle(azureInput(gridEvent, GRID))).to.equal(true)
    expect(eventGrid.canHandle(azureInput([cloud]))).to.equal(true)
    expect(eventGrid.canHandle(azureInput(gridEvent, { type: 'queueTrigger' }))).to.equal(false)
    expect(eventGrid.canHandle(azureInput({ id: 'x' }, GRID))).to.equal(false)
    expect(eventGrid.canHandle(azureInput([{ id: 'doc' }]))).to.equal(false)
    expect(cosmosDb.canHandle(azureInput([gridEvent]))).to.equal(false)
    expect(cosmosDb.canHandle(azureInput([cloud]))).to.equal(false)
  })

  it('maps an Event Grid-schema event as Event Grid maps it to CloudEvents', () => {
    const [event] = eventGrid.getEvents(azureInput(gridEvent, GRID)) as CloudEvent[]
    expect(event).to.deep.equal({
      kind: 'cloudEvent',
      id: 'e-1',
      time: '2024-05-01T10:00:00.1234567Z',
      source: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/orders',
      native: gridEvent,
      specversion: '1.0',
      type: 'Contoso.Order.Placed',
      subject: 'orders/42',
      datacontenttype: 'application/json',
      dataschema: undefined,
      data: { orderId: 42 },
      extensions: { dataversion: '2.0', metadataversion: '1' },
    })
  })

  it('keeps a CloudEvents-schema event as it is, unknown attributes as extensions, the time as given', () => {
    const [event] = eventGrid.getEvents(azureInput(cloud, GRID)) as CloudEvent[]
    expect(event).to.deep.equal({
      kind: 'cloudEvent',
      id: 'c-1',
      time: '2024-05-01T12:00:00+02:00',
      source: '/contoso/orders',
      native: cloud,
      specversion: '1.0',
      type: 'Contoso.Order.Shipped',
      subject: 'orders/43',
      datacontenttype: 'application/json',
      dataschema: 'https://contoso.example/schemas/shipped.json',
      data: { orderId: 43 },
      extensions: { traceparent: cloud.traceparent, region: 'eu' },
    })
  })

  it('decodes data_base64 to bytes and refuses invalid base64 for that event only', () => {
    const binary = { specversion: '1.0', id: 'b-1', source: 's', type: 't', data_base64: Buffer.from([0, 255, 1]).toString('base64') }
    const broken = { ...binary, id: 'b-2', data_base64: 'not base64!' }
    const [good, bad] = eventGrid.getEvents(azureInput([binary, broken], GRID))
    expect((good as CloudEvent).data).to.deep.equal(new Uint8Array([0, 255, 1]))
    expect(bad).to.be.instanceOf(InvalidRecord)
    expect((bad as InvalidRecord).id).to.equal('b-2')
    expect((bad as InvalidRecord).error.message).to.equal('azure:event-grid: input[1] ("b-2"): data_base64 is not base64 (RFC 4648)')
  })

  it('marks an array item that is not an event as invalid, by id or position', () => {
    const records = eventGrid.getEvents(azureInput<unknown>([gridEvent, { id: 'odd' }, 'text'], GRID) as EventGridInput)
    expect(records.map((record) => (record instanceof InvalidRecord ? `invalid ${record.id}` : record.id))).to.deep.equal(['e-1', 'invalid odd', 'invalid input[2]'])
    expect((records[2] as InvalidRecord).error.message).to.equal('azure:event-grid: input[2]: it is a string, not an object')
  })

  it('runs every event of a delivery and fails the invocation if any failed, so Event Grid resends it', async () => {
    const seen: string[] = []
    const handler = createAzureHandler(
      cloudEvent((event) => {
        seen.push(event.id)
        if (event.id === 'e-2') throw new Error('downstream unavailable')
      }),
      [eventGrid],
    )
    const run = invocation(GRID)
    const error = await handler([gridEvent, { ...gridEvent, id: 'e-2' }, { ...gridEvent, id: 'e-3' }], run.context).catch((caught: unknown) => caught)
    expect(seen).to.deep.equal(['e-1', 'e-2', 'e-3'])
    expect(error).to.be.instanceOf(BatchFailedError)
    expect((error as BatchFailedError).message).to.equal('azure:event-grid: 1 event(s) failed: e-2')
    expect(await handler(gridEvent, invocation(GRID).context)).to.equal(undefined)
  })

  it('fails an Event Grid invocation whose input is not an event with an error naming what it saw', async () => {
    const handler = createAzureHandler(cloudEvent(() => {}), [eventGrid])
    const error = (await handler({ hello: 'world' }, invocation(GRID).context).catch((caught: unknown) => caught)) as Error
    expect(error.message).to.equal(
      'azure: no adapter for cloudEvent handlers recognises this input (tried: azure:event-grid); it is an object with keys: hello; trigger type: eventGridTrigger; trigger metadata: none',
    )
  })

  it('refuses an Event Grid-schema event whose time, topic or subject is of the wrong type, and data nested too deep', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ eventTime: 1714557600 }, 'eventTime must be a string, got the number 1714557600'],
      [{ eventTime: 'soon' }, 'time "soon" is not an RFC 3339 timestamp'],
      [{ topic: 5 }, 'topic must be a string, got the number 5'],
      [{ subject: {} }, 'subject must be a string, got an object'],
      [{ data: JSON.parse(`${'['.repeat(2000)}${']'.repeat(2000)}`) }, "data nests arrays and objects more than 1000 levels deep; no provider's event does"],
    ]
    for (const [fields, problem] of cases) {
      const [item] = eventGrid.getEvents(azureInput({ ...gridEvent, ...fields }, GRID) as EventGridInput)
      expect((item as InvalidRecord).error.message).to.equal(`azure:event-grid: event "e-1": ${problem}`)
    }
  })
})
