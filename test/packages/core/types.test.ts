/**
 * Type tests: `npm test` type-checks this file (tsc -p test); each @ts-expect-error must be an error, or the check
 * fails. The runtime part only makes sure the file is loaded.
 */
import { expect } from 'chai'
import {
  HttpError,
  changes,
  cloudEvent,
  fetchApp,
  http,
  json,
  queue,
  schedule,
  storage,
  topic,
  type Context,
  type EventOf,
  type HttpHandler,
  type PortableHandler,
  type QueueMessage,
  type StorageEvent,
} from '@polycloud/core'

export const typeChecks: PortableHandler[] = [
  http(async (request, context: Context) => {
    const name: string | null = request.query.get('name')
    const all: string[] = request.query.getAll('tag')
    const id: string | undefined = request.params.id
    const session: string | undefined = request.cookies.get('session')
    const body = await request.json<{ n: number }>()
    const n: number = body.n
    // @ts-expect-error query values are strings or null, never numbers
    const wrong: number = request.query.get('name')
    // @ts-expect-error the request is read-only
    request.method = 'POST'
    context.log.info('typed', { name, all, id, session, n, wrong })
    return json({ n })
  }),
  http(() => new Response('fetch responses are fine')),
  http(() => ({ status: 204 })),
  http(() => undefined),
  // @ts-expect-error a number is not a response
  http(() => 42),
  // @ts-expect-error headers are strings, numbers or string lists
  http(() => ({ headers: { a: { nested: true } } })),
  queue((message: QueueMessage) => {
    const attempt: number = message.attempt
    const order = message.json<{ id: string }>()
    // @ts-expect-error a queue message is not an HTTP request
    void message.method
    void attempt
    void order.id
  }),
  storage((event) => {
    const type: 'created' | 'deleted' | 'other' = event.type
    const size: number | undefined = event.size
    void type
    void size
  }),
  changes((change) => {
    // @ts-expect-error images are plain JSON objects (or undefined), not DynamoDB attribute maps
    const s: string = change.newImage.id.S
    void s
  }),
  topic((message) => void message.subject),
  schedule((tick) => void tick.schedule),
  cloudEvent((event) => void event.extensions),
  fetchApp({ fetch: (request: Request) => new Response(request.url) }),
]

// @ts-expect-error an HTTP handler function is not a portable handler until wrapped with http()
export const unwrapped: HttpHandler = async () => json({})

export const stored: EventOf<'storage'> = {} as StorageEvent

export function badStatus(): HttpError {
  // @ts-expect-error HttpError statuses are numbers
  return new HttpError('404')
}

describe('core types', () => {
  it('are checked by tsc -p test (this file compiles only if every expectation holds)', () => {
    expect(typeChecks).to.have.length(13)
  })
})
