// Conformance of the Cloudflare adapter over real payloads.
// test/fixtures/events holds no Cloudflare payloads (Workers get runtime objects, not JSON documents); the one JSON
// document Cloudflare delivers, the R2 event notification body, is in test/fixtures/cloudflare-extra (documented
// examples, provenance in its README). Every file there is checked field by field against what it says.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import type { StorageEvent } from '@polycloud/core'
import { InvalidRecord } from '@polycloud/core/adapter'
import { adapter, cloudflareSources, r2Notification } from '@polycloud/cloudflare'
import { EVENTS_DIR, fixture, fixturePaths } from '../helpers/fixtures.ts'
import { fakeBatch } from '../adapters/cloudflare/helpers.ts'

const EXTRA_DIR = fileURLToPath(new URL('../fixtures/cloudflare-extra/', import.meta.url))

type Expected = Omit<StorageEvent, 'native' | 'id' | 'kind'>

/** What each documented body says, read off the file by hand. */
const EXPECTED: Record<string, Expected> = {
  'r2-copy-object.json': {
    time: '2024-05-24T19:36:44.379Z',
    source: 'my-bucket',
    type: 'created',
    action: 'CopyObject',
    bucket: 'my-bucket',
    key: 'my-new-object',
    size: 65536,
    etag: 'c846ff7a18f28c2e262116d6e8719ef0',
    contentType: undefined,
    versionId: undefined,
  },
  'r2-put-object.json': {
    time: '2024-05-24T19:36:44.379Z',
    source: 'my-bucket',
    type: 'created',
    action: 'PutObject',
    bucket: 'my-bucket',
    key: 'my-original-object',
    size: 65536,
    etag: 'c846ff7a18f28c2e262116d6e8719ef0',
    contentType: undefined,
    versionId: undefined,
  },
  'r2-delete-object.json': {
    time: '2024-05-24T19:36:44.379Z',
    source: 'my-bucket',
    type: 'deleted',
    action: 'DeleteObject',
    bucket: 'my-bucket',
    key: 'my-original-object',
    size: undefined,
    etag: undefined,
    contentType: undefined,
    versionId: undefined,
  },
  'r2-lifecycle-deletion.json': {
    time: '2024-05-24T19:36:44.379Z',
    source: 'my-bucket',
    type: 'deleted',
    action: 'LifecycleDeletion',
    bucket: 'my-bucket',
    key: 'my-new-object',
    size: undefined,
    etag: undefined,
    contentType: undefined,
    versionId: undefined,
  },
}

describe('conformance: cloudflare', () => {
  it('test/fixtures/events has no Cloudflare payloads (add expectations here when some appear)', () => {
    expect(existsSync(join(EVENTS_DIR, 'cloudflare'))).to.equal(false)
  })

  it('every cloudflare-extra fixture has expectations', () => {
    const files = readdirSync(EXTRA_DIR).filter((name) => name.endsWith('.json')).sort()
    expect(files).to.deep.equal(Object.keys(EXPECTED).sort())
  })

  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`${file}: one storage event with the fields the body states`, () => {
      const body: unknown = JSON.parse(readFileSync(join(EXTRA_DIR, file), 'utf8'))
      const { batch, settled } = fakeBatch('bucket-events', [{ id: `msg-${file}`, body }])
      expect(r2Notification.canHandle(batch), 'recognised').to.equal(true)
      const events = r2Notification.getEvents(batch)
      expect(events).to.have.length(1)
      const event = events[0] as StorageEvent
      expect(event).to.not.be.instanceOf(InvalidRecord)
      const { kind, id, native, ...fields } = event
      expect(kind).to.equal('storage')
      expect(id).to.equal(`msg-${file}`)
      expect(native).to.equal(batch.messages[0])
      expect(fields).to.deep.equal(expected)
      r2Notification.getResult(batch, [])
      expect(settled).to.deep.equal({ acked: [`msg-${file}`], retried: [] })
    })
  }

  it('no Cloudflare format claims a payload of another cloud, as given or read through fromJson', () => {
    const paths = fixturePaths()
    expect(paths.length).to.be.greaterThan(50)
    for (const path of paths) {
      const json = fixture(path)
      for (const input of [json, adapter.fromJson?.(json)]) {
        const claimed = cloudflareSources.filter((source) => source.canHandle(input)).map((source) => source.name)
        expect(claimed, path).to.deep.equal([])
      }
    }
  })
})
