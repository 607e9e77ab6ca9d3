/**
 * CloudEvents are CloudEvents 1.0 (issue 10, section 4): the CloudEvents project's JSON format conformance cases
 * (test/fixtures/cloudevents-conformance, copied with provenance) through every provider that hands over CloudEvents
 * in structured mode: Azure Event Grid (single events and batches, as Event Grid delivers both) and Google Cloud's
 * CloudEvent functions; the CloudEvents made of EventBridge and Event Grid-schema events are checked by the same
 * rules. Before: of nine invalid cases probed, GCP accepted 7 and Azure 8 and handed them on as valid.
 */
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import azureFunctions from '@azure/functions'
import { InvalidRecord, isAbsoluteUri, isMediaType, isRfc3339, isUriReference, toCloudEvent, type NeutralEvent } from '@polycloud/core/adapter'
import { eventBridge } from '@polycloud/aws'
import { eventGrid } from '@polycloud/azure'
import { gcpCloudEvent } from '@polycloud/gcp'

const { InvocationContext } = azureFunctions

interface Case {
  readonly id: string
  readonly event?: Record<string, unknown>
  readonly batch?: unknown[]
}

function cases(name: string): Case[] {
  return (JSON.parse(readFileSync(new URL(`../fixtures/cloudevents-conformance/${name}`, import.meta.url), 'utf8')) as { tests: Case[] }).tests
}

const context = (): InstanceType<typeof InvocationContext> =>
  new InvocationContext({ invocationId: 'i', functionName: 'f', options: { trigger: { type: 'eventGridTrigger', name: 't' } } as never, logHandler: () => {} })

/** What each provider makes of one structured event: the neutral event, or the invalid record. */
function everywhere(event: unknown): Record<string, NeutralEvent | InvalidRecord | 'not recognised'> {
  const azureInput = { input: event, context: context() }
  return {
    azure: eventGrid.canHandle(azureInput) ? (eventGrid.getEvents(azureInput)[0] as NeutralEvent | InvalidRecord) : 'not recognised',
    gcp: gcpCloudEvent.canHandle(event) ? (gcpCloudEvent.getEvents(event)[0] as NeutralEvent | InvalidRecord) : 'not recognised',
  }
}

describe('CloudEvents 1.0: the specification\'s rules on every provider', () => {
  for (const test of cases('valid-events.json')) {
    it(`accepts ${test.id}, keeping every attribute and extension, the time as given`, () => {
      const expected = toCloudEvent(test.event as Record<string, unknown>)
      for (const [provider, result] of Object.entries(everywhere(test.event))) {
        expect(result, provider).to.not.be.instanceOf(InvalidRecord)
        expect(result, provider).to.deep.include({ id: expected.id, source: expected.source, type: expected.type, time: expected.time, subject: expected.subject, datacontenttype: expected.datacontenttype, dataschema: expected.dataschema })
        expect((result as { extensions: unknown }).extensions, provider).to.deep.equal(expected.extensions)
      }
      const attributes = Object.keys(test.event ?? {}).filter((name) => !['specversion', 'id', 'source', 'type', 'data', 'data_base64'].includes(name) && test.event?.[name] !== null)
      for (const name of attributes) {
        const value = (expected as unknown as Record<string, unknown>)[name] ?? expected.extensions[name]
        expect(value, name).to.equal(test.event?.[name])
      }
    })
  }

  for (const test of cases('invalid-events.json')) {
    it(`refuses ${test.id} as its own failure, naming the attribute and the rule`, () => {
      for (const [provider, result] of Object.entries(everywhere(test.event))) {
        // Without the required attributes a payload is not recognised as a CloudEvent at all; otherwise it fails alone.
        if (result === 'not recognised') continue
        expect(result, provider).to.be.instanceOf(InvalidRecord)
        expect((result as InvalidRecord).error.message, provider).to.match(/^(azure:event-grid|gcp:cloud-event): (event "[^"]*": )?(specversion|id|source|type|time|datacontenttype|dataschema|subject|extension attribute|data and data_base64|the required attribute)/)
      }
      expect(() => toCloudEvent(test.event as Record<string, unknown>)).to.throw(/^(specversion|id|source|type|time|datacontenttype|dataschema|subject|extension attribute|data and data_base64|the required attribute)/)
    })
  }

  for (const test of cases('valid-batches.json')) {
    it(`delivers every event of the batch ${test.id} (Event Grid)`, () => {
      const items = eventGrid.canHandle({ input: test.batch, context: context() }) ? eventGrid.getEvents({ input: test.batch, context: context() } as never) : []
      expect(items.filter((item) => item instanceof InvalidRecord)).to.deep.equal([])
      expect(items).to.have.length(test.batch?.length ?? 0)
    })
  }

  for (const test of cases('invalid-batches.json')) {
    it(`fails only the invalid events of the batch ${test.id} (Event Grid)`, () => {
      const input = { input: test.batch, context: context() }
      if (!eventGrid.canHandle(input)) return
      const items = eventGrid.getEvents(input as never)
      const invalid = items.filter((item) => item instanceof InvalidRecord) as InvalidRecord[]
      expect(invalid.length).to.be.greaterThan(0)
      for (const item of invalid) expect(item.error.message).to.match(/^azure:event-grid: input\[\d+\]/)
      expect(items.length - invalid.length).to.equal((test.batch ?? []).filter((event) => { try { toCloudEvent(event as Record<string, unknown>); return true } catch { return false } }).length)
    })
  }

  it('checks the CloudEvents it makes of EventBridge events by the same rules', () => {
    const base = { version: '0', id: 'e', 'detail-type': 'Order Placed', source: 'com.example', time: '2024-05-01T10:00:00Z', detail: {}, resources: ['arn:aws:s3:::b'] }
    expect(eventBridge.getEvents(base)[0]).to.deep.include({ time: '2024-05-01T10:00:00Z', extensions: { resources: '["arn:aws:s3:::b"]' } })
    const [late] = eventBridge.getEvents({ ...base, time: 'yesterday' })
    expect((late as InvalidRecord).error.message).to.equal('aws:eventbridge: event "e": time "yesterday" is not an RFC 3339 timestamp')
  })

  it('knows RFC 3339, RFC 3986 and RFC 2046 as the specification uses them', () => {
    expect(['2018-04-05T17:31:00Z', '2018-04-05t17:31:00.123456789z', '2016-12-31T23:59:60Z', '2020-02-29T00:00:00+14:00'].every(isRfc3339)).to.equal(true)
    expect(['2018-04-05T17:31Z', '2019-02-29T00:00:00Z', '2018-04-05 17:31:00Z', '2018-04-05T24:00:00Z', '2018-04-05T17:31:00+24:00'].some(isRfc3339)).to.equal(false)
    expect(['https://cloudevents.io', '#fragment', '//authority/path', 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66', '/sensors/tn-1234567/alerts', '1-555-123-4567', 'cloudevents/spec/pull/123'].every(isUriReference)).to.equal(true)
    expect(['a b', '/{placeholder}', '%zz', 'a:b:\\c', ''].filter(isUriReference)).to.deep.equal([''])
    expect(isAbsoluteUri('https://x/schema')).to.equal(true)
    expect(isAbsoluteUri('/relative')).to.equal(false)
    expect(['application/json', 'text/plain; charset=utf-8', 'application/cloudevents+json', 'multipart/form-data; boundary="a b"'].every(isMediaType)).to.equal(true)
    expect(['xyz', 'text/', '/json', 'text/plain;', 'text/plain; a'].some(isMediaType)).to.equal(false)
  })
})
