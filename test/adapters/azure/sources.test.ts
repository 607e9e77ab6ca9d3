import { expect } from 'chai'
import { azureSources } from '@polycloud/azure'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { azureFixtures } from './support.ts'

describe('azure/sources', () => {
  it('claims each Azure fixture by the sources of its format only', () => {
    const claims = Object.fromEntries(
      azureFixtures().map(([path, input]) => [path.slice(path.lastIndexOf('/') + 1), azureSources.filter((source) => source.canHandle(input)).map((source) => source.name)]),
    )
    const grid = ['azure:event-grid']
    const gridBlob = ['azure:event-grid-blob', 'azure:event-grid']
    expect(claims).to.deep.equal({
      'aztpl__CosmosDBTrigger-JavaScript-4.x_sample.json': ['azure:cosmos-db'],
      'azjava__CloudEventBinaryData.json': grid,
      'aztpl__EventGridCloudEventTrigger-CSharp-3.x_sample.json': gridBlob,
      'azjava__CustomEventWithStringData.json': grid,
      'azjava__EventGridEventNoArray.json': gridBlob,
      'azjava__EventGridNullData.json': grid,
      'azjava__MultipleEventsInSameBatch.json': gridBlob,
      'azjava__StorageBlobCreatedEvent.json': gridBlob,
      'azjava__StorageBlobDeletedEventWithExtraProperty.json': gridBlob,
      'aztpl__EventGridTrigger-JavaScript_sample.json': grid,
    })
  })

  it("claims other providers' fixtures only when they are structured CloudEvents, and only as CloudEvents", () => {
    const others = [...fixturePaths('aws'), ...fixturePaths('gcp')]
    expect(others.length).to.be.greaterThan(0)
    let cloudEvents = 0
    for (const path of others) {
      const json = fixture<Record<string, unknown>>(path)
      const input = { input: json, context: { invocationId: 'i', functionName: 'f', options: { trigger: { type: 'unknown', name: 't' } } } }
      const claimed = azureSources.filter((source) => source.canHandle(input)).map((source) => source.name)
      // A CloudEvents 1.0 JSON event is the same format whichever cloud emitted it; Event Grid delivers any.
      const isCloudEvent = !Array.isArray(json) && json.specversion === '1.0'
      if (isCloudEvent) cloudEvents++
      expect(claimed, path).to.deep.equal(isCloudEvent ? ['azure:event-grid'] : [])
    }
    expect(cloudEvents).to.be.greaterThan(0)
  })
})
