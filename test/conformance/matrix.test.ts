/**
 * The matrix: every adapter module (native format) of every provider is shown every fixture, and must accept
 * exactly the ones of its own format and reject all others. A payload reaches a module as its provider would hand
 * it over (through the provider's `fromJson`, as `polycloud inspect` does).
 *
 * Overlaps are by design and listed here: modules that read the same native format for different handler kinds
 * (an SQS batch is queue messages to `aws:sqs` and object events to `aws:sqs-s3` when its bodies are S3
 * notifications; any EventBridge event is a CloudEvent to `aws:eventbridge`), and the generic CloudEvents modules
 * (`azure:event-grid`, `gcp:cloud-event`), which accept any structured CloudEvent, wherever it was published.
 */
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { adapters } from '@polycloud/testing'
import { EVENTS_DIR, fixturePaths } from '../helpers/fixtures.ts'

const EXTRA = join(EVENTS_DIR, '../cloudflare-extra')

/** A batch of CloudEvents (a JSON array): Event Grid delivers these; the Functions Framework takes one event. */
const CLOUD_EVENT_BATCH = 'azure/eventgrid-cloudevent/azjava__CloudEventBinaryData.json'

/** Single structured CloudEvents (specversion 1.0) among the fixtures, from any publisher. */
const CLOUD_EVENTS = [
  'azure/eventgrid-cloudevent/aztpl__EventGridCloudEventTrigger-CSharp-3.x_sample.json',
  'gcp/audit-log/gce__LogEntryData-bigqueryjobcompleted.json',
  'gcp/firebase-auth/ffc__firebase-auth-cloudevent-output.json',
  'gcp/firebase-rtdb/ffc__firebase-db1-cloudevent-output.json',
  'gcp/firebase-rtdb/ffc__firebase-db2-cloudevent-output.json',
  'gcp/firebase-rtdb/ffc__firebase-dbdelete1-cloudevent-output.json',
  'gcp/firestore/ffc__firestore_complex-cloudevent-output.json',
  'gcp/firestore/ffc__firestore_simple-cloudevent-output.json',
  'gcp/pubsub/ffc__legacy_pubsub-cloudevent-output.json',
  'gcp/pubsub/ffc__pubsub_binary-cloudevent-output.json',
  'gcp/pubsub/ffc__pubsub_text-cloudevent-input.json',
  'gcp/pubsub/ffc__pubsub_text-cloudevent-output.json',
  'gcp/pubsub/gce__MessagePublishedData.json',
  'gcp/storage/ffc__storage-cloudevent-output.json',
  'gcp/storage/gce__StorageObjectDataWorkflows.json',
]

/** GCP legacy background events; the functions framework converts them to CloudEvents first. */
const GCP_LEGACY = [
  'gcp/firebase-auth/ffc__firebase-auth-legacy-input.json',
  'gcp/firebase-rtdb/ffc__firebase-db1-legacy-input.json',
  'gcp/firebase-rtdb/ffc__firebase-db2-legacy-input.json',
  'gcp/firebase-rtdb/ffc__firebase-dbdelete1-legacy-input.json',
]

/** Pub/Sub messages: CloudEvents, legacy events, and push bodies (the MessagePublishedData shape). */
const PUBSUB = [...fixturePaths('gcp/pubsub')]
const EVENT_GRID_BLOB = [
  'azure/eventgrid/azjava__EventGridEventNoArray.json',
  'azure/eventgrid/azjava__MultipleEventsInSameBatch.json',
  'azure/eventgrid/azjava__StorageBlobCreatedEvent.json',
  'azure/eventgrid/azjava__StorageBlobDeletedEventWithExtraProperty.json',
  'azure/eventgrid-cloudevent/aztpl__EventGridCloudEventTrigger-CSharp-3.x_sample.json',
]

const EXPECTED: Record<string, readonly string[]> = {
  'aws:api-gateway-v2': fixturePaths('aws/apigw-http'),
  'aws:api-gateway-v1': fixturePaths('aws/apigw-rest'),
  'aws:function-url': fixturePaths('aws/function-url'),
  'aws:alb': fixturePaths('aws/alb'),
  'aws:sqs': [...fixturePaths('aws/sqs'), 'aws/s3/ptts__sqs-event.json'],
  'aws:sqs-sns': ['aws/sqs/ptts__sns-body.json'],
  'aws:sqs-s3': ['aws/s3/ptts__sqs-event.json'],
  'aws:sns': fixturePaths('aws/sns'),
  'aws:s3': fixturePaths('aws/s3').filter((path) => !/ptts__(sqs|eventbridge)/.test(path)),
  'aws:s3-eventbridge': ['aws/s3/ptts__eventbridge-object-created.json'],
  'aws:eventbridge-schedule': ['aws/schedule/sam__ScheduledEvent.json'],
  'aws:eventbridge': ['aws/eventbridge/ptts__base.json', 'aws/s3/ptts__eventbridge-object-created.json', 'aws/schedule/sam__ScheduledEvent.json'],
  'aws:dynamodb-streams': fixturePaths('aws/dynamodb-stream').filter((path) => !path.endsWith('ptts__dynamodb-stream.json')),
  'aws:dynamodb-kinesis': ['aws/dynamodb-stream/ptts__dynamodb-stream.json'],
  'azure:http': [],
  'azure:timer': [],
  'azure:storage-queue': [],
  'azure:service-bus': [],
  'azure:service-bus-topic': [],
  'azure:blob': [],
  'azure:event-grid-blob': EVENT_GRID_BLOB,
  'azure:event-grid': [...fixturePaths('azure/eventgrid'), CLOUD_EVENT_BATCH, ...CLOUD_EVENTS],
  'azure:cosmos-db': fixturePaths('azure/cosmosdb'),
  'gcp:http': [],
  'gcp:pubsub': PUBSUB,
  'gcp:pubsub-queue': PUBSUB,
  'gcp:scheduler-pubsub': PUBSUB,
  'gcp:scheduler': [],
  'gcp:storage': ['gcp/storage/ffc__storage-cloudevent-output.json', 'gcp/storage/ffc__storage-legacy-input.json', 'gcp/storage/gce__StorageObjectDataWorkflows.json'],
  'gcp:firestore': fixturePaths('gcp/firestore').filter((path) => path.includes('/ffc__')),
  'gcp:cloud-event': [...CLOUD_EVENTS, ...GCP_LEGACY, ...PUBSUB.filter((path) => !path.includes('/gce__')), 'gcp/pubsub/gce__MessagePublishedData.json',
    ...fixturePaths('gcp/firestore').filter((path) => path.includes('/ffc__')), 'gcp/storage/ffc__storage-legacy-input.json'],
  'cloudflare:fetch': [],
  'cloudflare:scheduled': [],
  'cloudflare:queue': [],
  'cloudflare:r2-notification': [],
}

const fixtures = [
  ...fixturePaths().map((path) => ({ path, json: JSON.parse(readFileSync(join(EVENTS_DIR, path), 'utf8')) as unknown })),
  ...['r2-copy-object.json', 'r2-delete-object.json', 'r2-lifecycle-deletion.json', 'r2-put-object.json'].map((name) => ({
    path: `cloudflare-extra/${name}`,
    json: JSON.parse(readFileSync(join(EXTRA, name), 'utf8')) as unknown,
  })),
]

describe('conformance: every module accepts its own formats and rejects every other', () => {
  it('covers every module of every provider', () => {
    const names = Object.values(adapters).flatMap((adapter) => adapter.sources.map((source) => source.name))
    expect([...names].sort()).to.deep.equal(Object.keys(EXPECTED).sort())
  })

  for (const adapter of Object.values(adapters)) {
    for (const source of adapter.sources) {
      it(source.name, () => {
        const expected = new Set(EXPECTED[source.name])
        const wrong: string[] = []
        for (const { path, json } of fixtures) {
          let input: unknown
          try {
            input = adapter.fromJson ? adapter.fromJson(json) : json
          } catch {
            // The provider cannot even read it (a bare CloudEvent data payload, say): nothing to show the module.
            if (expected.has(path)) wrong.push(`${path}: fromJson refused it`)
            continue
          }
          const accepted = source.canHandle(input)
          if (accepted !== expected.has(path)) wrong.push(`${path}: ${accepted ? 'accepted' : 'rejected'}`)
        }
        expect(wrong, `${source.name} disagrees on`).to.deep.equal([])
      })
    }
  }
})
