/**
 * One behavioural suite for every driver's key-value store, run against the provider's real local store by
 * store-aws.test.ts (dynalite), store-azure.test.ts (azurite's Table service), store-gcp.test.ts (the local Firestore)
 * and store-cloudflare.test.ts (miniflare's D1): the same calls give the same results, conditional writes are atomic
 * and TTLs hide expired entries.
 */
import { expect } from 'chai'
import type { JsonValue, Provider } from '@polycloud/core'
import { STORE_LIMITS, store, type ResourceDriver, type StoreEntry } from '@polycloud/resources'
import { failure, invoke, type Target } from './behaviour.ts'

/** A provider's local store and the driver pointed at it. */
export interface StoreTarget {
  readonly provider: Provider
  readonly driver: ResourceDriver
  /** The function's environment: `POLYCLOUD_RESOURCES` naming `kv` (and `missing-store` where a store can be missing). */
  readonly env: Readonly<Record<string, string>>
  readonly bindings?: Readonly<Record<string, unknown>>
  /** Whether `missing-store` names a store that does not exist (Firestore and D1 have none that can be missing). */
  readonly missing: boolean
  stop(): Promise<void>
}

const USES = ['kv', 'missing-store']

/** Runs `fn` as one invocation of a function declaring the stores. */
export function inStore<T>(target: StoreTarget, fn: () => Promise<T>): Promise<T> {
  const as: Target = {
    provider: target.provider,
    driver: target.driver,
    env: target.env,
    limits: undefined as never,
    received: () => Promise.reject(new Error('no queue')),
    stop: target.stop,
    ...(target.bindings === undefined ? {} : { bindings: target.bindings }),
  }
  return invoke(as, fn, { uses: USES })
}

/** Waits until the function's clock is past `iso` (an entry's expiry), in small steps. */
async function until(iso: string): Promise<void> {
  const at = new Date(iso).getTime()
  while (Date.now() < at + 20) await new Promise((resolve) => setTimeout(resolve, Math.min(250, at + 20 - Date.now())))
}

let run = 0

export function storeBehaviour(name: string, setup: () => Promise<StoreTarget>): void {
  describe(`${name}: the shared behaviour of a key-value store`, function () {
    this.timeout(90_000)
    let target: StoreTarget
    // Each run of the suite writes under its own prefix, so a persisted store cannot leak into the next run.
    const p = `r${Date.now().toString(36)}${run++}:`
    const kv = store('kv')
    const within = <T>(fn: () => Promise<T>): Promise<T> => inStore(target, fn)

    before(async function () {
      this.timeout(120_000)
      target = await setup()
    })

    after(async function () {
      this.timeout(30_000)
      await target?.stop()
    })

    it('answers null for a key that holds nothing', () =>
      within(async () => {
        expect(await kv.get(`${p}nothing`)).to.equal(null)
        expect(await kv.getEntry(`${p}nothing`)).to.equal(null)
      }))

    it('stores JSON values and reads each back the same, with its version', () =>
      within(async () => {
        const values: JsonValue[] = [
          { turns: 3, last: '2026-12-07T10:00:00.000Z', nested: { list: [1, 2.5, -3e-7, true, null, 'x'] } },
          ['a', { b: [] }, {}],
          'héllo wörld 😀 \u0000 "quoted" \\ back',
          12345678901234,
          0.1,
          false,
          null,
        ]
        for (const [index, value] of values.entries()) {
          const put = await kv.put(`${p}value:${index}`, value)
          expect(put.key).to.equal(`${p}value:${index}`)
          expect(put.version).to.match(/^[A-Za-z0-9_-]+$/)
          expect(put.expires).to.equal(undefined)
          const entry = await kv.getEntry(`${p}value:${index}`)
          expect(entry).to.deep.equal({ key: `${p}value:${index}`, value, version: put.version, expires: undefined })
          expect(await kv.get(`${p}value:${index}`)).to.deep.equal(value)
        }
      }))

    it('reads its own writes: every write is seen by the next read, and changes the version', () =>
      within(async () => {
        const versions = new Set<string>()
        for (let n = 0; n < 10; n++) {
          const { version } = await kv.put(`${p}ryw`, { n })
          versions.add(version)
          expect(await kv.get(`${p}ryw`)).to.deep.equal({ n })
        }
        expect(versions.size).to.equal(10)
      }))

    it('keeps keys of every allowed character, up to 512 of them', () =>
      within(async () => {
        const keys = [`${p}${'k'.repeat(512 - p.length)}`, `${p} !"$%&'()*+,-.:;<=>@[]^_\`{|}~`, `${p}it''s %20 %2F`, `${p}.`, `${p}__x__`]
        for (const key of keys) {
          await kv.put(key, key)
          expect(await kv.get(key), key).to.equal(key)
        }
        const listed: string[] = []
        let cursor: string | undefined
        do {
          const page = await kv.list({ prefix: p, limit: 1000, ...(cursor === undefined ? {} : { cursor }) })
          listed.push(...page.entries.map((entry) => entry.key))
          cursor = page.cursor
        } while (cursor !== undefined)
        for (const key of keys) expect(listed, key).to.include(key)
        for (const key of keys) await kv.delete(key)
        for (const key of keys) expect(await kv.get(key), key).to.equal(null)
      }))

    it('stores a value of exactly the portable limit, and refuses one byte more before the call', () =>
      within(async () => {
        const max = STORE_LIMITS.maxValueBytes
        // JSON text of a string: its characters plus two quotes; é is two bytes of UTF-8.
        const value = `é${'x'.repeat(max - 4)}`
        await kv.put(`${p}big`, value)
        expect(await kv.get(`${p}big`)).to.equal(value)
        const error = await failure(kv.put(`${p}big2`, `${value}x`))
        expect(error.code).to.equal('TooLarge')
        expect(error.message).to.include('400000')
        expect(await kv.get(`${p}big2`)).to.equal(null)
        await kv.delete(`${p}big`)
      }))

    it('deletes; deleting a key that holds nothing succeeds', () =>
      within(async () => {
        await kv.put(`${p}gone`, 1)
        await kv.delete(`${p}gone`)
        expect(await kv.get(`${p}gone`)).to.equal(null)
        await kv.delete(`${p}gone`)
      }))

    it('writes with ifAbsent only when the key holds nothing, else Conflict', () =>
      within(async () => {
        await kv.put(`${p}absent`, 'first', { ifAbsent: true })
        const error = await failure(kv.put(`${p}absent`, 'second', { ifAbsent: true }))
        expect(error.code).to.equal('Conflict')
        expect(error.retryable).to.equal(false)
        expect(error.message).to.match(/^store\("kv"\)\.put: /)
        expect(await kv.get(`${p}absent`)).to.equal('first')
      }))

    it('writes and deletes with ifVersion only while the entry has that version, else Conflict', () =>
      within(async () => {
        const first = await kv.put(`${p}versioned`, { n: 1 })
        const second = await kv.put(`${p}versioned`, { n: 2 }, { ifVersion: first.version })
        expect(second.version).to.not.equal(first.version)
        const stale = await failure(kv.put(`${p}versioned`, { n: 3 }, { ifVersion: first.version }))
        expect(stale.code).to.equal('Conflict')
        expect(await kv.get(`${p}versioned`)).to.deep.equal({ n: 2 })
        expect((await failure(kv.delete(`${p}versioned`, { ifVersion: first.version }))).code).to.equal('Conflict')
        expect(await kv.get(`${p}versioned`)).to.deep.equal({ n: 2 })
        await kv.delete(`${p}versioned`, { ifVersion: second.version })
        expect(await kv.get(`${p}versioned`)).to.equal(null)
        // Once gone, that version is gone too: neither a write nor a delete on it succeeds.
        expect((await failure(kv.put(`${p}versioned`, { n: 4 }, { ifVersion: second.version }))).code).to.equal('Conflict')
        expect((await failure(kv.delete(`${p}versioned`, { ifVersion: second.version }))).code).to.equal('Conflict')
        expect(await kv.get(`${p}versioned`)).to.equal(null)
      }))

    it('lets exactly one of two concurrent ifAbsent writes win', () =>
      within(async () => {
        const results = await Promise.allSettled([kv.put(`${p}race`, 'a', { ifAbsent: true }), kv.put(`${p}race`, 'b', { ifAbsent: true })])
        expect(results.filter((result) => result.status === 'fulfilled')).to.have.length(1)
        const lost = results.find((result) => result.status === 'rejected') as PromiseRejectedResult
        expect((lost.reason as { code: string }).code).to.equal('Conflict')
        const winner = results[0]?.status === 'fulfilled' ? 'a' : 'b'
        expect(await kv.get(`${p}race`)).to.equal(winner)
      }))

    it('counts every one of 20 concurrent updates of one key (each a conditional write, retried on conflict)', () =>
      within(async () => {
        const counter = store<{ count: number }>('kv')
        const results = await Promise.all(Array.from({ length: 20 }, () => counter.update(`${p}counter`, (current) => ({ count: (current?.count ?? 0) + 1 }))))
        expect(await kv.get(`${p}counter`)).to.deep.equal({ count: 20 })
        expect(results.map((value) => value.count).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1))
      }))

    it('leaves the entry as it is when update returns undefined, and answers the stored value', () =>
      within(async () => {
        const { version } = await kv.put(`${p}unchanged`, { keep: true })
        expect(await kv.update(`${p}unchanged`, () => undefined)).to.deep.equal({ keep: true })
        expect((await kv.getEntry(`${p}unchanged`))?.version).to.equal(version)
        expect(await kv.update(`${p}never`, () => undefined)).to.equal(null)
        expect(await kv.get(`${p}never`)).to.equal(null)
      }))

    it('lists by prefix in key order, with values and versions, a page at a time through the cursor', () =>
      within(async () => {
        for (const n of [5, 0, 3, 6, 1, 4, 2]) await kv.put(`${p}list:${n}`, { n })
        await kv.put(`${p}list;outside`, 'after the prefix')
        await kv.put(`${p}lisu`, 'after the prefix too')
        const pages: Array<ReadonlyArray<StoreEntry>> = []
        let cursor: string | undefined
        do {
          const page = await kv.list({ prefix: `${p}list:`, limit: 3, ...(cursor === undefined ? {} : { cursor }) })
          expect(page.entries.length).to.be.at.most(3)
          pages.push(page.entries)
          cursor = page.cursor
          expect(cursor === undefined || /^[A-Za-z0-9_-]+$/.test(cursor)).to.equal(true)
        } while (cursor !== undefined && pages.length < 20)
        const entries = pages.flat()
        expect(entries.map((entry) => entry.key)).to.deep.equal([0, 1, 2, 3, 4, 5, 6].map((n) => `${p}list:${n}`))
        expect(entries.map((entry) => entry.value)).to.deep.equal([0, 1, 2, 3, 4, 5, 6].map((n) => ({ n })))
        for (const entry of entries) expect(entry.version).to.equal((await kv.getEntry(entry.key))?.version)
        expect((await kv.list({ prefix: `${p}list:9` })).entries).to.deep.equal([])
      }))

    it('never returns an entry past its TTL, and counts an expired entry as none', () =>
      within(async () => {
        const put = await kv.put(`${p}ttl`, 'short-lived', { ttlSeconds: 2 })
        await kv.put(`${p}ttl-list`, 'short-lived', { ttlSeconds: 2 })
        expect(put.expires).to.be.a('string')
        const expiresAt = new Date(put.expires as string).getTime()
        expect(expiresAt - Date.now()).to.be.within(0, 3_100)
        // Still there while the clock is before its expiry (a loaded machine may already be past it).
        const entry = await kv.getEntry(`${p}ttl`)
        if (Date.now() < expiresAt - 100) {
          expect(entry?.value).to.equal('short-lived')
          expect(entry?.expires).to.equal(put.expires)
        }
        await until(put.expires as string)
        expect(await kv.get(`${p}ttl`)).to.equal(null)
        expect(await kv.getEntry(`${p}ttl`)).to.equal(null)
        expect((await kv.list({ prefix: `${p}ttl` })).entries).to.deep.equal([])
        // Its version no longer exists; the key counts as holding nothing.
        expect((await failure(kv.put(`${p}ttl`, 'x', { ifVersion: put.version }))).code).to.equal('Conflict')
        await kv.put(`${p}ttl`, 'again', { ifAbsent: true })
        expect(await kv.get(`${p}ttl`)).to.equal('again')
        expect((await kv.getEntry(`${p}ttl`))?.expires).to.equal(undefined)
        // update sees none either, and writes anew.
        expect(await kv.update(`${p}ttl-list`, (current) => (current === null ? 'fresh' : 'stale'))).to.equal('fresh')
      }))

    it('refuses, before any call, keys, values and options some store would refuse or change', () =>
      within(async () => {
        const cases: Array<[Promise<unknown>, string, RegExp]> = [
          [kv.put('', 1), 'Invalid', /non-empty/],
          [kv.put('x'.repeat(513), 1), 'Invalid', /longer than 512/],
          [kv.put(`${p}a/b`, 1), 'Invalid', /printable ASCII/],
          [kv.put(`${p}a#b`, 1), 'Invalid', /without "\/", "\\", "#" or "\?"/],
          [kv.put(`${p}é`, 1), 'Invalid', /encodeURIComponent/],
          [kv.put(`${p}a\nb`, 1), 'Invalid', /printable ASCII/],
          [kv.get(`${p}a?b`), 'Invalid', /printable ASCII/],
          [kv.put(`${p}ok`, Number.NaN), 'Invalid', /NaN is not a JSON number/],
          [kv.put(`${p}ok`, { a: undefined } as never), 'Invalid', /value\.a: undefined/],
          [kv.put(`${p}ok`, { when: new Date() } as never), 'Invalid', /value\.when: a Date/],
          [kv.put(`${p}ok`, new Array(3) as never), 'Invalid', /value\[0\]: a hole/],
          [kv.put(`${p}ok`, 1n as never), 'Invalid', /bigint is not JSON/],
          [kv.put(`${p}ok`, 1, { ttlSeconds: 0 }), 'Invalid', /ttlSeconds/],
          [kv.put(`${p}ok`, 1, { ttlSeconds: 1.5 }), 'Invalid', /ttlSeconds/],
          [kv.put(`${p}ok`, 1, { ifVersion: 'not a version!' }), 'Invalid', /ifVersion/],
          [kv.put(`${p}ok`, 1, { ifVersion: 'AAAA', ifAbsent: true }), 'Invalid', /cannot both/],
          [kv.list({ limit: 1001 }), 'Invalid', /limit/],
          [kv.list({ cursor: '!!' }), 'Invalid', /cursor/],
          [kv.list({ prefix: 'a/' }), 'Invalid', /prefix/],
          [kv.update(`${p}ok`, () => 1, { attempts: 0 }), 'Invalid', /attempts/],
        ]
        for (const [call, code, message] of cases) {
          const error = await failure(call)
          expect(error.code, error.message).to.equal(code)
          expect(error.message).to.match(message)
          expect(error.message).to.match(/^store\("kv"\)\.(put|get|list|update): /)
        }
        expect(await kv.get(`${p}ok`)).to.equal(null)
      }))

    it('answers NotFound, naming the store, when its table does not exist', function () {
      if (!target.missing) this.skip()
      return within(async () => {
        const missing = store('missing-store')
        const error = await failure(missing.get('k'))
        expect(error.code, error.message).to.equal('NotFound')
        expect(error.message).to.match(/^store\("missing-store"\)\.get: /)
        expect(error.provider).to.equal(target.provider)
      })
    })

    it('names the missing declaration of a function', () =>
      invoke({ provider: target.provider, driver: target.driver, env: target.env, limits: undefined as never, received: () => Promise.reject(new Error('no queue')), stop: target.stop }, async () => {
        const error = await failure(store('sessions').get('k'))
        expect(error.code).to.equal('NotDeclared')
        expect(error.message).to.include('does not declare store "sessions"').and.include('uses: [kv, sessions]')
      }, { uses: ['kv'] }))
  })
}
