import {
  BaseRequest,
  PortableContext,
  PortableHeaders,
  PortableQuery,
  type BodySource,
  type LogLevel,
} from '@polycloud/core/adapter'

/** A minimal request class, as an adapter would write one, for testing BaseRequest's shared behaviour. */
export class TestRequest extends BaseRequest<{ body: BodySource }> {
  readonly method: string
  readonly #url: string
  readonly #headers: Record<string, string | string[]>

  constructor(init: { method?: string; url?: string; headers?: Record<string, string | string[]>; body?: BodySource }) {
    super({ body: init.body ?? null })
    this.method = init.method ?? 'GET'
    this.#url = init.url ?? 'https://example.com/'
    this.#headers = init.headers ?? {}
  }

  protected readUrl(): string {
    return this.#url
  }

  protected readHeaders(): PortableHeaders {
    return PortableHeaders.from(this.#headers)
  }

  protected readQuery(): PortableQuery {
    return PortableQuery.parse(new URL(this.#url).search)
  }

  protected readBody(): BodySource {
    return this.native.body
  }
}

export interface LogLine {
  level: LogLevel
  record: Record<string, unknown>
}

/** A context whose log lines are captured, parsed. */
export function testContext(env: Record<string, string | undefined> = {}): { context: PortableContext; lines: LogLine[] } {
  const lines: LogLine[] = []
  const context = new PortableContext({
    provider: 'aws',
    requestId: 'req-1',
    functionName: 'fn',
    deadline: Date.now() + 10_000,
    env,
    native: { provider: 'aws', event: {}, context: {} },
    sink: (level, line) => lines.push({ level, record: JSON.parse(line) as Record<string, unknown> }),
  })
  return { context, lines }
}
