// The Google driver's key-value store against the local Firestore (packages/serverless/.../google/local/firestore.ts:
// Firestore's own emulator needs Java and a download, which this machine cannot have): the shared store behaviour;
// the stand-in checked with Google's official client (@google-cloud/firestore in REST mode) as a user's own code
// would call it; the documents the driver writes as the official client reads them; tokens from the metadata server.
import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FieldValue, Firestore, Timestamp } from '@google-cloud/firestore'
import { OAuth2Client } from 'google-auth-library'
import { gcpResources } from '@polycloud/gcp/resources'
import { store } from '@polycloud/resources'
import { startLocalFirestore, type LocalFirestore } from '../../../packages/serverless/src/providers/google/local/firestore.ts'
import { failure } from './behaviour.ts'
import { inStore, storeBehaviour, type StoreTarget } from './store-behaviour.ts'

const PROJECT = 'polycloud-test'
const RESOURCES = JSON.stringify({ kv: { kind: 'store', collection: 'polycloud-kv' } })

function target(local: LocalFirestore, stop: () => Promise<void>): StoreTarget {
  return { provider: 'gcp', driver: gcpResources(), env: { GOOGLE_CLOUD_PROJECT: PROJECT, FIRESTORE_EMULATOR_HOST: `127.0.0.1:${local.port}`, POLYCLOUD_RESOURCES: RESOURCES }, missing: false, stop }
}

/** Google's official client in REST mode against the local Firestore, with a token (none is checked unless asked). */
function officialClient(local: LocalFirestore, token = 'local'): Firestore {
  const auth = new OAuth2Client()
  auth.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 })
  return new Firestore({ projectId: PROJECT, host: '127.0.0.1', port: local.port, ssl: false, preferRest: true, authClient: auth } as ConstructorParameters<typeof Firestore>[0])
}

/** The code and Google status of a rejected official-client call (REST mode: the HTTP status and Google's JSON body). */
async function googleFailure(call: Promise<unknown>): Promise<{ code: unknown; status: string }> {
  try {
    await call
  } catch (error) {
    const body = JSON.parse((error as Error).message) as { error: { status: string } }
    return { code: (error as { code?: unknown }).code, status: body.error.status }
  }
  throw new Error('expected the call to fail')
}

storeBehaviour('gcp (local Firestore)', async () => {
  const local = await startLocalFirestore()
  return target(local, () => local.stop())
})

describe('the local Firestore, with the official client (@google-cloud/firestore 8.7.1, preferRest)', function () {
  this.timeout(60_000)
  let local: LocalFirestore
  let db: Firestore

  before(async () => {
    local = await startLocalFirestore()
    db = officialClient(local)
  })

  after(async () => {
    await db?.terminate()
    await local?.stop()
  })

  it('creates, reads, updates with preconditions and transforms, and deletes', async () => {
    const ref = db.collection('things').doc('a')
    const created = await ref.create({ n: 1, at: Timestamp.fromMillis(1_700_000_000_123), nested: { list: [1, 'two', null, true] } })
    expect((await googleFailure(ref.create({ n: 2 }))).status).to.equal('ALREADY_EXISTS')
    const snapshot = await ref.get()
    expect(snapshot.exists).to.equal(true)
    expect(snapshot.data()).to.deep.equal({ n: 1, at: Timestamp.fromMillis(1_700_000_000_123), nested: { list: [1, 'two', null, true] } })
    expect(snapshot.updateTime?.isEqual(created.writeTime)).to.equal(true)
    await ref.update({ n: FieldValue.increment(5), tags: FieldValue.arrayUnion('x', 'y'), seen: FieldValue.serverTimestamp() }, { lastUpdateTime: snapshot.updateTime as Timestamp })
    const stale = await googleFailure(ref.update({ n: 0 }, { lastUpdateTime: snapshot.updateTime as Timestamp }))
    expect(stale).to.deep.equal({ code: 400, status: 'FAILED_PRECONDITION' })
    expect((await googleFailure(db.collection('things').doc('missing').update({ n: 1 }))).status).to.equal('NOT_FOUND')
    const updated = (await ref.get()).data() as { n: number; tags: string[]; seen: Timestamp }
    expect(updated.n).to.equal(6)
    expect(updated.tags).to.deep.equal(['x', 'y'])
    expect(Math.abs(updated.seen.toMillis() - Date.now())).to.be.below(60_000)
    await ref.set({ replaced: true })
    expect((await ref.get()).data()).to.deep.equal({ replaced: true })
    await ref.set({ merged: 1 }, { merge: true })
    expect((await ref.get()).data()).to.deep.equal({ replaced: true, merged: 1 })
    const current = await ref.get()
    expect((await googleFailure(ref.delete({ lastUpdateTime: snapshot.updateTime as Timestamp }))).status).to.equal('FAILED_PRECONDITION')
    await ref.delete({ lastUpdateTime: current.updateTime as Timestamp })
    expect((await ref.get()).exists).to.equal(false)
  })

  it('keeps the update time when a write changes nothing, and makes every other write a later one', async () => {
    const ref = db.collection('things').doc('same')
    const first = await ref.set({ v: 1 })
    const again = await ref.set({ v: 1 })
    expect(again.writeTime.isEqual(first.writeTime)).to.equal(true)
    let previous = again.writeTime
    for (let n = 0; n < 5; n++) {
      const { writeTime } = await ref.set({ v: n + 2 })
      expect(writeTime.valueOf() > previous.valueOf(), `${writeTime.valueOf()} after ${previous.valueOf()}`).to.equal(true)
      previous = writeTime
    }
  })

  it('answers queries: filters, orders, cursors, limits, projections, counts, collection groups', async () => {
    const batch = db.batch()
    for (let i = 0; i < 6; i++) batch.set(db.collection('rows').doc(`r${i}`), { i, even: i % 2 === 0, name: `row ${i}`, tags: i < 3 ? ['low'] : ['high'] })
    batch.set(db.collection('rows').doc('r9').collection('sub').doc('s'), { i: 100 })
    await batch.commit()
    const ids = (query: FirebaseFirestore.Query): Promise<string[]> => query.get().then((snapshot) => snapshot.docs.map((doc) => doc.id))
    const rows = db.collection('rows')
    expect(await ids(rows.where('i', '>=', 2).where('i', '<', 5))).to.deep.equal(['r2', 'r3', 'r4'])
    expect(await ids(rows.where('even', '==', true).orderBy('i', 'desc'))).to.deep.equal(['r4', 'r2', 'r0'])
    expect(await ids(rows.orderBy('i').startAfter(1).limit(2))).to.deep.equal(['r2', 'r3'])
    expect(await ids(rows.orderBy('i').endBefore(2))).to.deep.equal(['r0', 'r1'])
    expect(await ids(rows.where('tags', 'array-contains', 'high').where('i', 'in', [3, 5, 7]))).to.deep.equal(['r3', 'r5'])
    expect(await ids(rows.where('i', 'not-in', [0, 1, 2, 3]))).to.deep.equal(['r4', 'r5'])
    expect(await ids(rows.orderBy('i').offset(4))).to.deep.equal(['r4', 'r5'])
    expect((await rows.select('name').limit(1).get()).docs[0]?.data()).to.deep.equal({ name: 'row 0' })
    expect((await rows.where('i', '>', 0).count().get()).data().count).to.equal(5)
    expect(await ids(db.collectionGroup('sub'))).to.deep.equal(['s'])
    expect((await rows.listDocuments()).map((doc) => doc.id).sort()).to.deep.equal(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r9'])
    const [found, missing] = await db.getAll(rows.doc('r1'), rows.doc('nope'))
    expect([found?.exists, missing?.exists]).to.deep.equal([true, false])
  })

  it('runs transactions, aborting a commit whose reads changed since', async () => {
    const ref = db.collection('counters').doc('c')
    await ref.set({ n: 0 })
    for (let i = 0; i < 3; i++) {
      await db.runTransaction(async (transaction) => {
        const snapshot = await transaction.get(ref)
        transaction.update(ref, { n: (snapshot.data()?.n as number) + 1 })
      })
    }
    expect((await ref.get()).data()).to.deep.equal({ n: 3 })
    // Another writer between the transaction's read and its commit: ABORTED (the client retries those).
    const aborted = await googleFailure(db.runTransaction(async (transaction) => {
      const snapshot = await transaction.get(ref)
      await ref.set({ n: 100 })
      transaction.update(ref, { n: (snapshot.data()?.n as number) + 1 })
    }, { maxAttempts: 1 }))
    expect(aborted.status).to.equal('ABORTED')
    expect((await ref.get()).data()).to.deep.equal({ n: 100 })
  })

  it('refuses a document over 1 MiB as Firestore does', async () => {
    const failed = await googleFailure(db.collection('things').doc('huge').set({ text: 'x'.repeat(1_048_576) }))
    expect(failed).to.deep.equal({ code: 400, status: 'INVALID_ARGUMENT' })
  })

  it("reads the documents the driver writes: id k<key>, the key, the JSON text, a timestamp for the collection's TTL", async () => {
    const at = target(local, async () => {})
    const put = await inStore(at, () => store('kv').put('device:1', { last: 20 }, { ttlSeconds: 60 }))
    const snapshot = await db.collection('polycloud-kv').doc('kdevice:1').get()
    expect(snapshot.data()).to.deep.include({ key: 'device:1', value: '{"last":20}' })
    expect((snapshot.get('expires') as Timestamp).toDate().toISOString()).to.equal(put.expires)
    expect(snapshot.get('writer')).to.be.a('string')
    // A write by the official client makes the version the driver read stale.
    await snapshot.ref.update({ value: '{"last":21}' })
    const error = await inStore(at, () => failure(store('kv').put('device:1', { last: 22 }, { ifVersion: put.version })))
    expect(error.code).to.equal('Conflict')
    expect(await inStore(at, () => store('kv').get('device:1'))).to.deep.equal({ last: 21 })
  })

  it('keeps the documents in its folder between runs', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'polycloud-firestore-'))
    try {
      let kept = await startLocalFirestore({ stateDir: folder })
      let client = officialClient(kept)
      const written = await client.collection('kept').doc('d').set({ across: 'restarts' })
      await client.terminate()
      await kept.stop()
      kept = await startLocalFirestore({ stateDir: folder })
      client = officialClient(kept)
      const snapshot = await client.collection('kept').doc('d').get()
      expect(snapshot.data()).to.deep.equal({ across: 'restarts' })
      expect(snapshot.updateTime?.isEqual(written.writeTime)).to.equal(true)
      await client.collection('kept').doc('e').set({ later: true })
      expect(((await client.collection('kept').doc('e').get()).updateTime as Timestamp).toMillis()).to.be.at.least(written.writeTime.toMillis())
      await client.terminate()
      await kept.stop()
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})

describe('gcp key-value store: tokens', function () {
  this.timeout(60_000)
  let local: LocalFirestore
  let metadata: Server
  let metadataHost = ''

  before(async () => {
    local = await startLocalFirestore({ tokens: ['good-token'] })
    metadata = createServer((req, res) => {
      if (req.headers['metadata-flavor'] !== 'Google') return res.writeHead(403).end()
      if (req.url === '/computeMetadata/v1/project/project-id') return res.writeHead(200).end(PROJECT)
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'good-token', expires_in: 3599, token_type: 'Bearer' }))
    })
    const port = await new Promise<number>((resolve) => metadata.listen(0, '127.0.0.1', () => resolve((metadata.address() as AddressInfo).port)))
    metadataHost = `127.0.0.1:${port}`
  })

  after(async () => {
    await local?.stop()
    metadata.closeAllConnections()
    await new Promise((resolve) => metadata.close(resolve))
  })

  it("reaches Firestore with the metadata server's token and project, as deployed", async () => {
    const at: StoreTarget = { provider: 'gcp', driver: gcpResources({ endpoints: { firestore: local.url } }), env: { GCE_METADATA_HOST: metadataHost, POLYCLOUD_RESOURCES: RESOURCES }, missing: false, stop: async () => {} }
    await inStore(at, () => store('kv').put('with-token', 'yes'))
    expect(await inStore(at, () => store('kv').get('with-token'))).to.equal('yes')
    expect([...local.documents(PROJECT).keys()]).to.deep.equal([`projects/${PROJECT}/databases/(default)/documents/polycloud-kv/kwith-token`])
  })

  it('is Denied without a token Firestore takes', async () => {
    const at: StoreTarget = { provider: 'gcp', driver: gcpResources(), env: { GOOGLE_CLOUD_PROJECT: PROJECT, FIRESTORE_EMULATOR_HOST: `127.0.0.1:${local.port}`, POLYCLOUD_RESOURCES: RESOURCES }, missing: false, stop: async () => {} }
    const error = await inStore(at, () => failure(store('kv').get('with-token')))
    expect(error.code).to.equal('Denied')
    expect(error.status).to.equal(401)
  })
})
