// The neutral store client without a cloud: the shared store behaviour on @polycloud/testing's in-memory store (the
// semantics handlers' unit tests rely on), an answer lost on the way counted once, deadlines and declarations.
import { expect } from 'chai'
import { store, useResources, type ResourceDriver } from '@polycloud/resources'
import { DriverError, type StoreBackend } from '@polycloud/resources/driver'
import { memoryResources } from '@polycloud/testing'
import { failure } from './behaviour.ts'
import { inStore, storeBehaviour, type StoreTarget } from './store-behaviour.ts'

const RESOURCES = JSON.stringify({ kv: { kind: 'store' } })

storeBehaviour('memory (@polycloud/testing)', async () => ({ provider: 'aws', driver: memoryResources(), env: { POLYCLOUD_RESOURCES: RESOURCES }, missing: false, stop: async () => {} }))

/** The in-memory store, whose next `lose` writes are applied and then answered as a failure (the answer lost). */
function lossy(): { driver: ResourceDriver; lose: (n: number) => void; writes: () => number } {
  const memory = memoryResources()
  let losing = 0
  let writes = 0
  const driver: ResourceDriver = {
    ...memory,
    store(name, address, context) {
      const inner = memory.store?.(name, address, context) as StoreBackend
      return {
        ...inner,
        async put(key, write, condition, call) {
          const version = await inner.put(key, write, condition, call)
          writes++
          if (losing > 0) {
            losing--
            throw new DriverError('Unavailable', 'the connection closed before the answer')
          }
          return version
        },
        async delete(key, condition, call) {
          await inner.delete(key, condition, call)
          if (losing > 0) {
            losing--
            throw new DriverError('Unavailable', 'the connection closed before the answer')
          }
        },
      }
    },
  }
  return { driver, lose: (n) => (losing = n), writes: () => writes }
}

describe('store: the neutral client', () => {
  afterEach(() => useResources(undefined))

  it('gives one handle per logical name', () => {
    expect(store('sessions')).to.equal(store('sessions'))
    expect(() => store('a b')).to.throw(TypeError, /logical name/)
  })

  it('retries a write whose answer was lost, sees its own write stored, and counts an update once', async () => {
    const { driver, lose, writes } = lossy()
    const at: StoreTarget = { provider: 'aws', driver, env: { POLYCLOUD_RESOURCES: RESOURCES }, missing: false, stop: async () => {} }
    const kv = store<{ n: number }>('kv')
    await inStore(at, () => kv.put('k', { n: 1 }))
    lose(1)
    expect(await inStore(at, () => kv.update('k', (current) => ({ n: (current?.n ?? 0) + 1 })))).to.deep.equal({ n: 2 })
    expect(await inStore(at, () => kv.get('k'))).to.deep.equal({ n: 2 })
    lose(1)
    await inStore(at, () => kv.put('fresh', { n: 1 }, { ifAbsent: true }))
    const entry = await inStore(at, () => kv.getEntry('fresh'))
    lose(1)
    await inStore(at, () => kv.delete('fresh', { ifVersion: entry?.version as string }))
    expect(await inStore(at, () => kv.get('fresh'))).to.equal(null)
    expect(writes()).to.equal(3)
  })

  it('still reports a conflict a retried write finds when the stored entry is not its own', async () => {
    const { driver, lose } = lossy()
    const at: StoreTarget = { provider: 'aws', driver, env: { POLYCLOUD_RESOURCES: RESOURCES }, missing: false, stop: async () => {} }
    const kv = store('kv')
    const { version } = await inStore(at, () => kv.put('k2', 1))
    await inStore(at, () => kv.put('k2', 2))
    lose(1)
    expect((await inStore(at, () => failure(kv.put('k2', 3, { ifVersion: version })))).code).to.equal('Conflict')
  })

  it('gives up an update with Conflict after its attempts, naming them', async () => {
    const memory = memoryResources()
    useResources(memory)
    const kv = store<number>('contended')
    await kv.put('k', 0)
    // Another writer gets in between every read and write.
    const error = await failure(kv.update('k', async (current) => {
      await kv.put('k', (current ?? 0) + 100)
      return (current ?? 0) + 1
    }, { attempts: 3 }))
    expect(error.code).to.equal('Conflict')
    expect(error.message).to.match(/^store\("contended"\)\.update: the entry under "k" kept changing: 3 attempts/)
    expect(await kv.get('k')).to.equal(300)
  })

  it('is aborted by the caller\'s signal, between attempts too', async () => {
    useResources(memoryResources())
    const kv = store<number>('aborted')
    const controller = new AbortController()
    controller.abort()
    expect((await failure(kv.get('k', { signal: controller.signal }))).code).to.equal('Timeout')
    const later = new AbortController()
    await kv.put('k', 0)
    const error = await failure(kv.update('k', async (current) => {
      await kv.put('k', (current ?? 0) + 1)
      later.abort()
      return 0
    }, { signal: later.signal }))
    expect(error.code).to.equal('Timeout')
  })

  it('answers Invalid when the driver has no stores, and NotDeclared when nothing declares the name', async () => {
    const { store: _omitted, ...withoutStores } = memoryResources()
    useResources(withoutStores as ResourceDriver)
    const error = await failure(store('kv').get('k'))
    expect(error.code).to.equal('Invalid')
    expect(error.message).to.include('has no key-value stores')
    useResources(memoryResources({ declared: { uploads: 'bucket' } }))
    expect((await failure(store('kv').get('k'))).code).to.equal('NotDeclared')
    useResources(memoryResources({ declared: { kv: 'bucket' } }))
    expect((await failure(store('kv').get('k'))).message).to.include('is declared as a bucket, not a store')
  })

  it("shows a test a store's entries, with their expiry", async () => {
    const memory = memoryResources()
    useResources(memory)
    const put = await store('sessions').put('c:1', { turns: 1 }, { ttlSeconds: 60 })
    expect(memory.entries('sessions').get('c:1')).to.deep.include({ value: { turns: 1 }, expires: new Date(put.expires as string).getTime() / 1000 })
    memory.clear()
    expect(memory.entries('sessions').size).to.equal(0)
  })
})
