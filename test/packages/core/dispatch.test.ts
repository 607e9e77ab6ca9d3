import { expect } from 'chai'
import { http, json, queue } from '@polycloud/core'
import {
  BaseRequest,
  InvalidRecord,
  PortableContext,
  PortableHeaders,
  PortableQuery,
  UNNAMED,
  createDispatcher,
  createRouter,
  dispatch,
  failureRef,
  normalizePath,
  ownCopy,
  setOwn,
  translateRecords,
  type BodySource,
  type DispatchOptions,
  type HttpSource,
  type OutgoingResponse,
} from '@polycloud/core/adapter'

class TestRequest extends BaseRequest<{ method: string; url: string }> {
  readonly method: string
  constructor(native: { method: string; url: string }) {
    super(native)
    this.method = native.method
  }
  protected readUrl(): string {
    return this.native.url
  }
  protected readHeaders(): PortableHeaders {
    return PortableHeaders.from({})
  }
  protected readQuery(): PortableQuery {
    return PortableQuery.parse('')
  }
  protected readBody(): BodySource {
    return null
  }
}

const source: HttpSource<{ method: string; url: string }, OutgoingResponse> = {
  name: 'test:http',
  kind: 'http',
  canHandle: (input): input is { method: string; url: string } => typeof input === 'object' && input !== null && 'url' in input,
  getRequest: (input) => new TestRequest(input),
  getResponse: (response) => response,
}

const options: DispatchOptions<[unknown]> = {
  provider: 'aws',
  context: () => new PortableContext({ provider: 'aws', requestId: 'r', functionName: 'f', deadline: Date.now() + 1000, env: { LOG_LEVEL: 'silent' }, native: { provider: 'aws', event: null, context: null } }),
}

describe('core/dispatch', () => {
  it('checks the handler at creation and dispatches to the sources of its kind', async () => {
    expect(() => createDispatcher(undefined as never, [source], options)).to.throw(TypeError, /handler is not a portable handler/)
    expect(() => createDispatcher(queue(() => {}), [source], options)).to.throw(TypeError, /a queue handler, but its function's events need a http handler/)
    const run = createDispatcher(http((request) => json({ path: request.path })), [source], options)
    const response = (await run({ method: 'GET', url: 'https://x/a/../b' })) as OutgoingResponse
    expect([response.status, response.body]).to.deep.equal([200, '{"path":"/b"}'])
    const error = await run({ nothing: true }).catch((e: unknown) => e as Error)
    expect((error as Error).message).to.match(/^aws: no adapter for http handlers recognises this input \(tried: test:http\)/)
  })

  it('lets a routed entry pick the handler per request and set its parameters (route)', async () => {
    const handlers = [http((request) => json({ id: request.params.id })), http(() => json('list'))]
    const router = createRouter([{ method: 'GET', path: '/notes/{id}' }, { method: 'GET', path: '/notes' }])
    const routed: DispatchOptions<[unknown]> = {
      ...options,
      route: (request) => {
        const match = router(request.method, request.path)
        ;(request as BaseRequest).setParams(match.params)
        return handlers[match.index]
      },
    }
    const answer = async (url: string, method = 'GET'): Promise<OutgoingResponse> => (await dispatch(handlers[0]!, [source], routed, { method, url })) as OutgoingResponse
    expect((await answer('https://x/notes/a%20b')).body).to.equal('{"id":"a b"}')
    expect((await answer('https://x/notes')).body).to.equal('"list"')
    expect((await answer('https://x/other')).status).to.equal(404)
    const refused = await answer('https://x/notes', 'DELETE')
    expect([refused.status, refused.headers.allow]).to.deep.equal([405, 'GET, HEAD'])
  })

  it('answers through respond, even for an input no source recognises (the logged 500)', async () => {
    const seen: OutgoingResponse[] = []
    const run = createDispatcher(http(() => json(1)), [source], { ...options, respond: (response) => void seen.push(response) })
    await run({ nothing: true })
    expect(seen[0]?.status).to.equal(500)
  })
})

describe('core/source: translateRecords and failure references', () => {
  it('fails each bad record alone, naming source, position, id and problem, and gives every event its reference', () => {
    const items = translateRecords<never, { id?: unknown; v?: unknown }>(
      [{ id: 'a', v: 1 }, null, { id: 'c' }, { v: 2 }],
      (record) => {
        if (record.v === undefined) throw new TypeError('no v')
        return { kind: 'queue', id: String(record.id) } as never
      },
      { source: 'test:src', list: 'Records', id: (record) => (typeof record.id === 'string' ? record.id : undefined), ref: (record) => (typeof record === 'object' && record !== null ? ((record as { id?: string }).id ?? UNNAMED) : undefined) },
    )
    expect(items.map((item) => (item instanceof InvalidRecord ? [item.id, item.error.message] : (item as { id: string }).id))).to.deep.equal([
      'a',
      ['Records[1]', 'test:src: Records[1]: it is null, not an object'],
      ['c', 'test:src: Records[2] ("c"): cannot be translated (TypeError: no v)'],
      'undefined',
    ])
    expect(items.map((item) => failureRef(item))).to.deep.equal(['a', undefined, 'c', UNNAMED])
    // The reference is not enumerable: handlers, spreads and JSON never see it.
    expect(Object.getOwnPropertySymbols({ ...(items[0] as object) })).to.deep.equal([])
  })
})

describe('core/own and path', () => {
  it('sets __proto__ as an own key, never the prototype', () => {
    const out: Record<string, unknown> = {}
    setOwn(out, '__proto__', { isAdmin: true })
    expect(Object.keys(out)).to.deep.equal(['__proto__'])
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype)
    expect(Object.keys(ownCopy(JSON.parse('{"__proto__":1,"a":2}') as Record<string, unknown>))).to.deep.equal(['__proto__', 'a'])
  })

  it('normalises a request path as the WHATWG URL parser does, and leaves a plain one as it is', () => {
    const cases: Array<[string, string]> = [
      ['/a/../b', '/b'],
      ['/a/%2E%2e/b', '/b'],
      ['/a/./b', '/a/b'],
      ['/../..', '/'],
      ['/a\\b', '/a/b'],
      ['/a b', '/a%20b'],
      ['//host/x', '//host/x'],
      ['relative', '/relative'],
      ['/caf\u00e9', '/caf%C3%A9'],
      ['/ok/path-1_2.3~', '/ok/path-1_2.3~'],
    ]
    for (const [raw, path] of cases) expect(normalizePath(raw), raw).to.equal(path)
  })
})
