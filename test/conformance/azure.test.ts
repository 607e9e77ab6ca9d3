/**
 * Conformance on real Azure payloads (test/fixtures/events/azure, provenance in MANIFEST.tsv): every fixture is
 * read the way `polycloud inspect --provider azure` reads it (bare payloads, no trigger type stated, so the shape
 * decides) and its neutral form is checked field by field against values read off the payload. Payloads that look
 * odd get the documented decision of the adapter README, tested here.
 */
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cloudEvent, storage } from '@polycloud/core'
import { BatchFailedError, type SourceKind } from '@polycloud/core/adapter'
import { createAzureHandler, eventGrid, eventGridBlob, fromJson } from '@polycloud/azure'
import { inspect, type Inspection } from '@polycloud/testing'
import { EVENTS_DIR, fixture, fixturePaths } from '../helpers/fixtures.ts'
import { invocation } from '../adapters/azure/support.ts'

async function only(path: string, kind?: SourceKind): Promise<Inspection> {
  return inspect('azure', fixture(path), kind === undefined ? {} : { kind })
}

async function refused(path: string, kind: SourceKind): Promise<string> {
  let message = ''
  await only(path, kind).catch((error: Error) => (message = error.message))
  expect(message, `${path} as ${kind}`).to.not.equal('')
  return message
}

function raw(path: string): string {
  return readFileSync(join(EVENTS_DIR, path), 'utf8')
}

const COSMOS = 'azure/cosmosdb/aztpl__CosmosDBTrigger-JavaScript-4.x_sample.json'
const CE_BINARY = 'azure/eventgrid-cloudevent/azjava__CloudEventBinaryData.json'
const CE_CSHARP = 'azure/eventgrid-cloudevent/aztpl__EventGridCloudEventTrigger-CSharp-3.x_sample.json'
const STRING_DATA = 'azure/eventgrid/azjava__CustomEventWithStringData.json'
const NO_ARRAY = 'azure/eventgrid/azjava__EventGridEventNoArray.json'
const NULL_DATA = 'azure/eventgrid/azjava__EventGridNullData.json'
const MULTIPLE = 'azure/eventgrid/azjava__MultipleEventsInSameBatch.json'
const CREATED = 'azure/eventgrid/azjava__StorageBlobCreatedEvent.json'
const DELETED_EXTRA = 'azure/eventgrid/azjava__StorageBlobDeletedEventWithExtraProperty.json'
const JS_SAMPLE = 'azure/eventgrid/aztpl__EventGridTrigger-JavaScript_sample.json'

const XSTORE = '/subscriptions/id/resourceGroups/Storage/providers/Microsoft.Storage/storageAccounts/xstoretestaccount'
const MYACCOUNT = '/subscriptions/319a9601-1ec0-0000-aebc-8fe82724c81e/resourceGroups/testrg/providers/Microsoft.Storage/storageAccounts/myaccount'

const deletedTestfile = {
  kind: 'storage',
  id: '4c2359fe-001e-00ba-0e04-58586806d298',
  time: '2017-11-07T20:09:22.5674003Z',
  source: XSTORE,
  type: 'deleted',
  action: 'Microsoft.Storage.BlobDeleted',
  bucket: 'testcontainer',
  key: 'testfile.txt',
  // BlobDeleted carries no eTag and no contentLength.
  contentType: 'text/plain',
}

const createdFile1 = {
  kind: 'storage',
  id: '602a88ef-0001-00e6-1233-1646070610ea',
  time: '2017-08-16T01:57:26.005121Z',
  source: MYACCOUNT,
  type: 'created',
  action: 'Microsoft.Storage.BlobCreated',
  bucket: 'testcontainer',
  key: 'file1.txt',
  size: 447,
  etag: '0x8D4E44A24ABE7F1',
  contentType: 'text/plain',
}

const createdFile1Data = {
  api: 'PutBlockList',
  clientRequestId: '799304a4-bbc5-45b6-9849-ec2c66be800a',
  requestId: '602a88ef-0001-00e6-1233-164607000000',
  eTag: '0x8D4E44A24ABE7F1',
  contentType: 'text/plain',
  contentLength: 447,
  blobType: 'BlockBlob',
  url: 'https://myaccount.blob.core.windows.net/testcontainer/file1.txt',
  sequencer: '00000000000000EB000000000000C65A',
}

const deletedTestfileData = {
  api: 'DeleteBlob',
  requestId: '4c2359fe-001e-00ba-0e04-585868000000',
  contentType: 'text/plain',
  blobType: 'BlockBlob',
  url: 'https://example.blob.core.windows.net/testcontainer/testfile.txt',
  sequencer: '0000000000000281000000000002F5CA',
  storageDiagnostics: { batchId: 'b68529f3-68cd-4744-baa4-3c0498ec19f0' },
}

function gridCloudEvent(fields: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'cloudEvent', specversion: '1.0', datacontenttype: 'application/json', dataschema: undefined, ...fields }
}

describe('conformance: Azure', () => {
  it('covers every Azure fixture', () => {
    expect([...fixturePaths('azure')].sort()).to.deep.equal(
      [COSMOS, CE_BINARY, CE_CSHARP, STRING_DATA, NO_ARRAY, NULL_DATA, MULTIPLE, CREATED, DELETED_EXTRA, JS_SAMPLE].sort(),
    )
  })

  describe('Cosmos DB trigger', () => {
    it(`${COSMOS}: the template's tab-indented [{"id":"sample"}] is one upsert keyed by id`, async () => {
      expect(raw(COSMOS)).to.contain('\t\t"id": "sample"')
      const result = await only(COSMOS)
      expect(result).to.deep.equal({
        provider: 'azure',
        adapter: 'azure:cosmos-db',
        kind: 'changes',
        // No binding options in a bare payload: table and source are unknown; no _ts, so no time.
        events: [{ kind: 'changes', id: 'sample', time: '', source: '', type: 'upsert', table: '', keys: { id: 'sample' }, newImage: { id: 'sample' } }],
        invalid: 0,
      })
      await refused(COSMOS, 'storage')
      await refused(COSMOS, 'cloudEvent')
    })
  })

  describe('Event Grid, CloudEvents schema', () => {
    it(`${CE_BINARY}: its empty subject makes it an invalid CloudEvent; with a subject, data_base64 becomes bytes and "foo" an extension`, async () => {
      const result = await only(CE_BINARY)
      expect(result.adapter).to.equal('azure:event-grid')
      // CloudEvents 1.0: subject, when present, MUST be a non-empty string.
      expect(result.events).to.deep.equal([
        {
          invalid: true,
          id: '2d1781af-3a4c-4d7c-bd0c-e34b19da4e66',
          error: 'azure:event-grid: input[0] ("2d1781af-3a4c-4d7c-bd0c-e34b19da4e66"): subject must be a non-empty string when present',
        },
      ])
      const [withSubject] = fixture<Array<Record<string, unknown>>>(CE_BINARY).map((event) => ({ ...event, subject: 'items/1' }))
      const valid = await inspect('azure', [withSubject])
      expect(valid.events).to.deep.equal([
        {
          kind: 'cloudEvent',
          id: '2d1781af-3a4c-4d7c-bd0c-e34b19da4e66',
          time: '2018-01-25T22:12:19.4556811Z',
          source: 'contoso/items',
          specversion: '1.0',
          type: 'Contoso.Items.ItemReceived',
          subject: 'items/1',
          datacontenttype: undefined,
          dataschema: undefined,
          extensions: { foo: 'bar' },
          dataBase64: 'samplebinarydata',
        },
      ])
      const [event] = eventGrid.getEvents(fromJson([withSubject]) as never)
      expect((event as { data: Uint8Array }).data).to.deep.equal(new Uint8Array(Buffer.from('samplebinarydata', 'base64')))
      expect(await refused(CE_BINARY, 'storage')).to.contain('tried: azure:blob, azure:event-grid-blob')
    })

    it(`${CE_CSHARP}: a template BlobCreated whose {placeholders} are kept as written (a storage event; an invalid CloudEvent)`, async () => {
      // The template has trailing spaces after `"type": "...",`: outside the string, so the type is clean.
      expect(raw(CE_CSHARP)).to.contain('"type": "Microsoft.Storage.BlobCreated",  \n')
      const source = '/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-account}'
      const asStorage = await only(CE_CSHARP)
      expect(asStorage.adapter).to.equal('azure:event-grid-blob')
      expect(asStorage.events).to.deep.equal([
        {
          kind: 'storage',
          id: '9aeb0fdf-c01e-0131-0922-9eb54906e209',
          time: '2019-11-18T15:13:39.4589254Z',
          source,
          type: 'created',
          action: 'Microsoft.Storage.BlobCreated',
          // From the subject, which has no leading slash in the CloudEvents sample.
          bucket: '{storage-container}',
          key: '{new-file}',
          size: 30699,
          etag: '0x8D76C39E4407333',
          contentType: 'image/png',
        },
      ])
      // As a CloudEvent it is refused: `{` and `}` are not URI characters, so its source is no URI-reference.
      const asCloudEvent = await only(CE_CSHARP, 'cloudEvent')
      expect(asCloudEvent.events).to.deep.equal([
        {
          invalid: true,
          id: '9aeb0fdf-c01e-0131-0922-9eb54906e209',
          error: `azure:event-grid: event "9aeb0fdf-c01e-0131-0922-9eb54906e209": source ${JSON.stringify(source.slice(0, 100))} is not a URI-reference (RFC 3986)`,
        },
      ])
    })
  })

  describe('Event Grid, Event Grid schema', () => {
    it(`${STRING_DATA}: string data stays a string; the empty subject is left out`, async () => {
      const result = await only(STRING_DATA)
      expect(result.adapter).to.equal('azure:event-grid')
      expect(result.events).to.deep.equal([
        gridCloudEvent({
          id: '2d1781af-3a4c-4d7c-bd0c-e34b19da4e66',
          time: '2018-01-25T22:12:19.4556811Z',
          source: '/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx',
          type: 'Contoso.Items.ItemReceived',
          subject: undefined,
          extensions: { dataversion: '1', metadataversion: '1' },
          data: 'stringdata',
        }),
      ])
      await refused(STRING_DATA, 'storage')
    })

    it(`${NO_ARRAY}: a bare event (no array) is read like a one-event delivery`, async () => {
      const asStorage = await only(NO_ARRAY)
      expect(asStorage).to.deep.equal({ provider: 'azure', adapter: 'azure:event-grid-blob', kind: 'storage', events: [deletedTestfile], invalid: 0 })
      const asCloudEvent = await only(NO_ARRAY, 'cloudEvent')
      expect(asCloudEvent.events).to.deep.equal([
        gridCloudEvent({
          id: '4c2359fe-001e-00ba-0e04-58586806d298',
          time: '2017-11-07T20:09:22.5674003Z',
          source: XSTORE,
          type: 'Microsoft.Storage.BlobDeleted',
          subject: '/blobServices/default/containers/testcontainer/blobs/testfile.txt',
          // dataVersion is "" and left out.
          extensions: { metadataversion: '1' },
          data: deletedTestfileData,
        }),
      ])
    })

    it(`${NULL_DATA}: no data property at all gives undefined data and no content type`, async () => {
      const result = await only(NULL_DATA)
      expect(result.adapter).to.equal('azure:event-grid')
      expect(result.events).to.deep.equal([
        {
          kind: 'cloudEvent',
          id: '4c2359fe-001e-00ba-0e04-58586806d298',
          time: '2017-11-07T20:09:22.5674003Z',
          source: XSTORE,
          specversion: '1.0',
          type: 'Microsoft.Test.Null',
          subject: '/blobServices/default/containers/testcontainer/blobs/testfile.txt',
          datacontenttype: undefined,
          dataschema: undefined,
          extensions: { metadataversion: '1' },
          data: undefined,
        },
      ])
      // Its subject names a blob, but Microsoft.Test.Null is no storage event.
      await refused(NULL_DATA, 'storage')
    })

    it(`${MULTIPLE}: every event is delivered, the duplicate id twice; a storage handler fails the non-storage one`, async () => {
      const asStorage = await only(MULTIPLE)
      expect(asStorage.adapter).to.equal('azure:event-grid-blob')
      expect(asStorage.invalid).to.equal(1)
      expect(asStorage.events).to.deep.equal([
        createdFile1,
        deletedTestfile,
        deletedTestfile,
        {
          invalid: true,
          id: 'dede87b0-3656-419c-acaf-70c95ddc60f5',
          error: 'azure:event-grid-blob: input[3] ("dede87b0-3656-419c-acaf-70c95ddc60f5"): Microsoft.ServiceBus.DeadletterMessagesAvailableWithNoListeners is not a Blob Storage event',
        },
      ])

      const asCloudEvents = await only(MULTIPLE, 'cloudEvent')
      expect(asCloudEvents.invalid).to.equal(0)
      expect(asCloudEvents.events.map((event) => [event.id, event.type])).to.deep.equal([
        ['602a88ef-0001-00e6-1233-1646070610ea', 'Microsoft.Storage.BlobCreated'],
        ['4c2359fe-001e-00ba-0e04-58586806d298', 'Microsoft.Storage.BlobDeleted'],
        ['4c2359fe-001e-00ba-0e04-58586806d298', 'Microsoft.Storage.BlobDeleted'],
        ['dede87b0-3656-419c-acaf-70c95ddc60f5', 'Microsoft.ServiceBus.DeadletterMessagesAvailableWithNoListeners'],
      ])
      expect(asCloudEvents.events[3]).to.deep.equal(
        gridCloudEvent({
          id: 'dede87b0-3656-419c-acaf-70c95ddc60f5',
          time: '2018-02-14T05:12:53.4133526Z',
          source: '/subscriptions/id/resourcegroups/rg/providers/Microsoft.ServiceBus/namespaces/testns1',
          type: 'Microsoft.ServiceBus.DeadletterMessagesAvailableWithNoListeners',
          subject: 'topics/topic1/subscriptions/sub1',
          extensions: { dataversion: '1', metadataversion: '1' },
          data: {
            namespaceName: 'testns1',
            requestUri: 'https://testns1.servicebus.windows.net/t1/subscriptions/sub1/messages/head',
            entityType: 'subscriber',
            queueName: 'queue1',
            topicName: 'topic1',
            subscriptionName: 'sub1',
          },
        }),
      )

      // Run as a delivery: the storage handler sees the three blob events (duplicate included) and the
      // invocation fails for the fourth, so Event Grid resends the delivery rather than losing that event.
      const seen: string[] = []
      const handler = createAzureHandler(storage((event) => void seen.push(`${event.type} ${event.key}`)), [eventGridBlob])
      const run = invocation({ type: 'eventGridTrigger' })
      const error = await handler(fixture(MULTIPLE), run.context).catch((caught: unknown) => caught)
      expect(seen).to.deep.equal(['created file1.txt', 'deleted testfile.txt', 'deleted testfile.txt'])
      expect(error).to.be.instanceOf(BatchFailedError)
      expect((error as BatchFailedError).failedIds).to.deep.equal(['dede87b0-3656-419c-acaf-70c95ddc60f5'])
      const all: string[] = []
      await createAzureHandler(cloudEvent((event) => void all.push(event.id)), [eventGrid])(fixture(MULTIPLE), invocation({ type: 'eventGridTrigger' }).context)
      expect(all).to.have.length(4)
    })

    it(`${CREATED}: BlobCreated with size, ETag and content type`, async () => {
      expect(await only(CREATED)).to.deep.equal({ provider: 'azure', adapter: 'azure:event-grid-blob', kind: 'storage', events: [createdFile1], invalid: 0 })
      const asCloudEvent = await only(CREATED, 'cloudEvent')
      expect(asCloudEvent.events).to.deep.equal([
        gridCloudEvent({
          id: '602a88ef-0001-00e6-1233-1646070610ea',
          time: '2017-08-16T01:57:26.005121Z',
          source: MYACCOUNT,
          type: 'Microsoft.Storage.BlobCreated',
          subject: '/blobServices/default/containers/testcontainer/blobs/file1.txt',
          extensions: { metadataversion: '1' },
          data: createdFile1Data,
        }),
      ])
    })

    it(`${DELETED_EXTRA}: an unknown data property is ignored for storage and kept in CloudEvent data`, async () => {
      expect((await only(DELETED_EXTRA)).events).to.deep.equal([deletedTestfile])
      const [event] = (await only(DELETED_EXTRA, 'cloudEvent')).events
      expect(event?.data).to.deep.equal({ ...deletedTestfileData, brandNewProperty: '0000000000000281000000000002F5CA' })
    })

    it(`${JS_SAMPLE}: a non-storage template event is a CloudEvent with its data as sent`, async () => {
      const result = await only(JS_SAMPLE)
      expect(result.adapter).to.equal('azure:event-grid')
      expect(result.events).to.deep.equal([
        gridCloudEvent({
          id: '7b11c4ce-1c34-4416-848b-1730e766f126',
          time: '2017-07-14T23:10:27.7689666Z',
          source: '/subscriptions/5b4b650e-28b9-4790-b3ab-ddbd88d727c4/resourcegroups/test/providers/Microsoft.EventHub/namespaces/test',
          type: 'captureFileCreated',
          subject: 'eventhubs/test',
          extensions: { metadataversion: '1' },
          data: {
            fileUrl: 'https://test.blob.core.windows.net/debugging/testblob.txt',
            fileType: 'AzureBlockBlob',
            partitionId: '1',
            sizeInBytes: 0,
            eventCount: 0,
            firstSequenceNumber: -1,
            lastSequenceNumber: -1,
            firstEnqueueTime: '0001-01-01T00:00:00',
            lastEnqueueTime: '0001-01-01T00:00:00',
          },
        }),
      ])
      await refused(JS_SAMPLE, 'storage')
      await refused(JS_SAMPLE, 'changes')
    })
  })
})
