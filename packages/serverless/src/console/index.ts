/**
 * The local console of `serverless offline` (`npm start`), the same on every provider: a small HTTP server on
 * 127.0.0.1 (`--consolePort`, default 3900 (4000 is the development issuer's); 0 picks a free port; `--noConsole` turns it off) serving plain HTML
 * pages of
 *
 * - the service's functions and their triggers (from the plan),
 * - the last invocations, with outcome, duration, cold start and their log lines,
 * - each trace as a timeline across functions,
 * - the messages waiting in each local queue and dead-letter queue, with a button sending a dead-lettered message
 *   back to its queue.
 *
 * Lines come from the one place every provider's local functions print through: this process's stdout and stderr
 * (serverless-offline's worker threads, the Functions host and Functions Framework child processes, workerd's log
 * callback all end there). They are read as they pass ({@link tapOutput}), the terminal output unchanged. Queues
 * come from each provider's offline, which hands its {@link QueueSource} to the console once its local services run.
 * Nothing of this is deployed or bundled: it lives in the plugin, imported only by the offline command.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { ProviderPlan } from '../provider.js'
import { ConfigError } from '../errors.js'
import { escapeHtml, notFoundPage, overviewPage, queuesPage, tracePage, tracesPage, type ConsoleInfo, type FunctionView } from './html.js'
import { combineQueueSources, ConsoleModel, type QueueSource } from './model.js'

export { ConsoleModel, parseLine, traceIdOf, type Invocation, type LogRecord, type MessageView, type QueueSource, type QueueView, type Trace } from './model.js'
export { escapeHtml, type ConsoleInfo, type FunctionView } from './html.js'

export { CONSOLE_OPTIONS, DEFAULT_CONSOLE_PORT, consolePort } from './options.js'

/** A function's triggers in a line each: `GET /notes/{id}`, `queue orders`, `cron 0 3 * * *`, ... */
export function functionViews(plan: ProviderPlan): FunctionView[] {
  return plan.functions.map((fn) => ({
    name: fn.name,
    handler: fn.handlerText,
    triggers: fn.model.events.map((event) => {
      switch (event.kind) {
        case 'route':
          return `${event.method} ${event.path}`
        case 'cron':
          return `cron ${event.expression}${event.enabled ? '' : ' (disabled)'}`
        case 'queue':
          return `queue ${event.name ?? '(native)'}`
        case 'topic':
          return `topic ${event.name ?? '(native)'}`
        case 'bucket':
          return `bucket ${event.name} (${event.on}${event.prefix ? ` ${event.prefix}*` : ''}${event.suffix ? ` *${event.suffix}` : ''})`
        case 'changes':
          return `changes ${event.table ?? '(native)'}`
        case 'native':
          return `${event.key} (native)`
      }
    }),
  }))
}

type Write = typeof process.stdout.write

/**
 * Reads every line written to `stream` from now on (whole lines: a chunk's last partial line waits for its end),
 * writing everything on unchanged. Returns the undo.
 */
export function tapOutput(stream: NodeJS.WriteStream, onLine: (line: string) => void): () => void {
  const original = stream.write
  let partial = ''
  const tapped = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    try {
      const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8') : ''
      const lines = (partial + text).split('\n')
      partial = (lines.pop() ?? '').slice(-1_048_576)
      for (const line of lines) onLine(line)
    } catch {
      // The console never disturbs the output.
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
  }
  stream.write = tapped as Write
  return () => {
    if (stream.write === (tapped as Write)) stream.write = original
  }
}

/** A running console. */
export interface LocalConsole {
  readonly url: string
  readonly model: ConsoleModel
  /** Gives the console a source of the provider's local queues (called once per source). */
  attachQueues(source: QueueSource): void
  stop(): Promise<void>
}

const LOCAL_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'content-length': String(Buffer.byteLength(html)) })
  res.end(html)
}

async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > 16_384) throw new Error('form too large')
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

/**
 * Starts the console on 127.0.0.1:`port` (0: a free port; when taken, a free one unless `chosen`), reading this process's stdout and stderr. Its server does
 * not keep the process alive (the emulation does); `stop` closes it and puts the streams back.
 */
export async function startConsole(info: ConsoleInfo, port: number, options: { readonly limit?: number; readonly streams?: readonly NodeJS.WriteStream[]; readonly chosen?: boolean } = {}): Promise<LocalConsole> {
  const model = new ConsoleModel(options.limit)
  const sources: QueueSource[] = []
  let queues: QueueSource | undefined
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://console')
    const path = url.pathname
    // Only this machine's names for it: a page elsewhere whose name is made to point here (DNS rebinding) reads nothing.
    if (!LOCAL_HOST.test(req.headers.host ?? '')) return send(res, 421, '<!doctype html><p>The console answers on 127.0.0.1 and localhost only.</p>')
    if (req.method === 'POST' && path === '/queues/redeliver') {
      // Only the console's own form: a page elsewhere must not make the browser redeliver (no CORS preflight for forms).
      const origin = req.headers.origin
      if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) return send(res, 403, queuesPage(info, queues?.description, undefined, 'Refused: the request came from another origin.'))
      const form = await formOf(req)
      const queue = form.get('queue') ?? ''
      const id = form.get('id') ?? ''
      let notice: string
      try {
        notice = queues === undefined ? 'No local queues to redeliver from.' : await queues.redeliver(queue, id)
      } catch (error) {
        notice = `Could not redeliver ${id} from ${queue}: ${(error as Error).message}`
      }
      res.writeHead(303, { location: `/queues?notice=${encodeURIComponent(notice)}`, 'content-length': '0' })
      return void res.end()
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': '0' })
      return void res.end()
    }
    if (path === '/') return send(res, 200, overviewPage(info, model.invocations()))
    if (path === '/traces') return send(res, 200, tracesPage(info, model.traces()))
    if (path.startsWith('/traces/')) {
      const id = decodeURIComponent(path.slice('/traces/'.length))
      return send(res, 200, tracePage(info, model.trace(id), id))
    }
    if (path === '/queues') {
      let list
      let description = queues?.description
      try {
        list = await queues?.list()
      } catch (error) {
        description = `The queues could not be read: ${(error as Error).message}`
      }
      return send(res, 200, queuesPage(info, description, list, url.searchParams.get('notice') ?? undefined))
    }
    if (path === '/api/invocations') {
      const body = JSON.stringify(model.invocations())
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) })
      return void res.end(body)
    }
    return send(res, 404, notFoundPage(info, path))
  }
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `<!doctype html><p>The console failed: ${escapeHtml((error as Error).message)}</p>`)
      else res.destroy()
    })
  })
  const listen = (at: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(at, '127.0.0.1', () => (server.off('error', reject), resolve()))
    })
  try {
    await listen(port)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    if (options.chosen === true) throw new ConfigError('--consolePort', `${port}: the port is in use; pass --consolePort <another> (0: any free port) or --noConsole`)
    // The default port taken (another `npm start`): any free one, printed as always.
    await listen(0)
  }
  server.unref()
  server.on('connection', (socket) => socket.unref())
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : port}`
  const untaps = (options.streams ?? [process.stdout, process.stderr]).map((stream) => tapOutput(stream, (line) => void model.add(line)))
  return {
    url,
    model,
    attachQueues(source) {
      sources.push(source)
      queues = combineQueueSources(sources)
    },
    async stop() {
      for (const untap of untaps) untap()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
