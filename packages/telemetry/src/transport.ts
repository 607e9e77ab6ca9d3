/**
 * How an export reaches the collector: one POST, resolving with the status, rejecting on a network failure or the
 * timeout. On Node (Lambda, Azure Functions, Google Cloud Functions) through node:http/node:https, reached with
 * `process.getBuiltinModule` (no `node:` import in the bundle): Node's fetch loads undici on its first use, about
 * 25 times a hello function's whole cold start in CPU instructions, where node:http is loaded already. Elsewhere
 * (Workers), and when the options give one, through fetch.
 */

/** POSTs `body` to `url`: the answer's status; rejects on failure or after `timeoutMs`. */
export type Post = (url: string, headers: Readonly<Record<string, string>>, body: string, timeoutMs: number) => Promise<number>

/** Through `fetchImpl` (default: the global fetch at call time), the answer read to its end. */
export function fetchPost(fetchImpl?: typeof fetch): Post {
  return async (url, headers, body, timeoutMs) => {
    const response = await (fetchImpl ?? globalThis.fetch)(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) })
    // Read to the end: the connection goes back to the pool.
    await response.arrayBuffer().catch(() => undefined)
    return response.status
  }
}

interface ClientRequest {
  reusedSocket: boolean
  on(event: 'error', listener: (error: Error & { code?: string }) => void): this
  on(event: 'response', listener: (response: IncomingMessage) => void): this
  setTimeout(ms: number, listener: () => void): this
  destroy(error?: Error): this
  end(body: string): this
}

interface IncomingMessage {
  statusCode?: number
  resume(): this
  on(event: 'end' | 'error', listener: (error?: Error) => void): this
}

interface HttpModule {
  Agent: new (options: { keepAlive: boolean }) => unknown
  request(url: URL, options: { method: string; headers: Record<string, string>; agent: unknown }): ClientRequest
}

/** `node:http` or `node:https` (loaded when first needed: https brings TLS), where the runtime is Node (not Workers, whose fetch is its own). */
function nodeModules(): ((https: boolean) => HttpModule) | undefined {
  const runtime = globalThis as { process?: { release?: { name?: string }; getBuiltinModule?: (id: string) => unknown }; navigator?: { userAgent?: string } }
  if (runtime.navigator?.userAgent === 'Cloudflare-Workers' || runtime.process?.release?.name !== 'node') return undefined
  const getBuiltin = runtime.process.getBuiltinModule
  if (typeof getBuiltin !== 'function') return undefined
  return (https) => getBuiltin(https ? 'node:https' : 'node:http') as HttpModule
}

/**
 * Through node:http/node:https with a keep-alive agent of its own; a request on a kept socket that the platform
 * closed meanwhile (a Lambda instance thawed after a while) is sent once more on a new one. Undefined off Node.
 */
export function nodePost(): Post | undefined {
  const modules = nodeModules()
  if (modules === undefined) return undefined
  const agents = new Map<HttpModule, unknown>()
  const once = (url: URL, headers: Readonly<Record<string, string>>, body: string, timeoutMs: number): Promise<{ status: number } | { retry: Error }> =>
    new Promise((resolve, reject) => {
      const module = modules(url.protocol === 'https:')
      let agent = agents.get(module)
      if (agent === undefined) agents.set(module, (agent = new module.Agent({ keepAlive: true })))
      const request = module.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(new TextEncoder().encode(body).length) }, agent })
      request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)))
      request.on('error', (error) => (request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE') ? resolve({ retry: error }) : reject(error)))
      request.on('response', (response) => {
        response.on('error', reject)
        response.on('end', () => resolve({ status: response.statusCode ?? 0 }))
        response.resume()
      })
      request.end(body)
    })
  return async (url, headers, body, timeoutMs) => {
    const target = new URL(url)
    const first = await once(target, headers, body, timeoutMs)
    if ('status' in first) return first.status
    const second = await once(target, headers, body, timeoutMs)
    if ('status' in second) return second.status
    throw second.retry
  }
}
