/** Type tests of the store: `tsc -p test` checks each @ts-expect-error is an error. */
import { expect } from 'chai'
import type { JsonValue } from '@polycloud/core'
import { store, type Store, type StoreEntry, type StoreList } from '@polycloud/resources'

interface Conversation {
  turns: number
  last: string
}

export async function typeChecks(): Promise<void> {
  const sessions: Store<Conversation> = store<Conversation>('sessions')
  const any: Store<JsonValue> = store('anything')
  const value: Conversation | null = await sessions.get('c:1')
  const entry: StoreEntry<Conversation> | null = await sessions.getEntry('c:1')
  const version: string | undefined = entry?.version
  await sessions.put('c:1', { turns: 1, last: 'now' }, { ttlSeconds: 60, ...(version === undefined ? { ifAbsent: true } : { ifVersion: version }) })
  const next: Conversation = await sessions.update('c:1', (current) => ({ turns: (current?.turns ?? 0) + 1, last: 'now' }), { ttlSeconds: 60, attempts: 5 })
  const maybe: Conversation | null = await sessions.update('c:1', (current) => (current === null ? undefined : current))
  const page: StoreList<Conversation> = await sessions.list({ prefix: 'c:', limit: 10 })
  const turns: number | undefined = page.entries[0]?.value.turns
  await any.put('k', { nested: [1, 'two', null, { ok: true }] })
  // @ts-expect-error a Conversation store takes Conversations
  await sessions.put('c:1', { turns: 'one' })
  // @ts-expect-error update's change answers the value type
  await sessions.update('c:1', () => 42)
  // @ts-expect-error a TTL is a number of seconds
  await sessions.put('c:1', { turns: 1, last: '' }, { ttlSeconds: '60' })
  // @ts-expect-error functions are not JSON
  await any.put('k', () => 1)
  void [value, next, maybe, turns]
}

describe('@polycloud/resources store types', () => {
  it('type-checks (see tsc -p test)', () => expect(typeChecks).to.be.a('function'))
})
