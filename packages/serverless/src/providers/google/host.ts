/**
 * The local host of one function of a packaged Google Cloud source, run as its own process by `serverless offline`
 * and `invoke local` (one process per function, as each is its own instance on Google, with its own environment):
 * it loads the source the way the Functions Framework's own start-up does (the source's `main`, which registers
 * the function named by FUNCTION_TARGET), and serves it with FF's server on the given address only (FF's command
 * line listens on every interface).
 *
 *   node host.js   with POLYCLOUD_SOURCE (the source folder), POLYCLOUD_LISTEN (host:port) and FUNCTION_TARGET set
 *
 * It prints `polycloud-host listening <url>` once it serves, and stops on SIGINT / SIGTERM. Started with an IPC
 * channel (`serverless offline`), it serves another build of the source when told, in two steps so that every
 * function of a service moves together: `{ type: 'prepare', source }` loads that source's function into a new FF
 * server (answered `prepared`, or `failed` with the error, the old one serving still), then `commit` makes it serve
 * the next request (answered `committed`), or `abort` drops it.
 */
import { createRequire } from 'node:module'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, sep } from 'node:path'

interface Testing {
  getTestServer(name: string): Server
}

/** What `serverless offline` tells a host, and what it answers. */
export type ReloadRequest = { readonly type: 'prepare'; readonly source: string } | { readonly type: 'commit' } | { readonly type: 'abort' }
export type ReloadReply = { readonly type: 'prepared' } | { readonly type: 'failed'; readonly message: string } | { readonly type: 'committed' }

function fail(message: string): never {
  process.stderr.write(`polycloud-host: ${message}\n`)
  process.exit(1)
}

/** Loads a source's main module (which registers the functions) and returns FF's server for the target function. */
function loadSource(source: string, target: string, testing: Testing): Server {
  const load = createRequire(join(source, 'package.json'))
  const main = (load(join(source, 'package.json')) as { main?: string }).main ?? 'index.js'
  load(join(source, main))
  return testing.getTestServer(target)
}

/** Forgets the modules of a source no longer served, so they can be collected. */
function unload(source: string): void {
  const prefix = source.endsWith(sep) ? source : `${source}${sep}`
  const cache = createRequire(import.meta.url).cache
  for (const key of Object.keys(cache)) if (key.startsWith(prefix)) delete cache[key]
}

function main(): void {
  const source = process.env.POLYCLOUD_SOURCE
  const listen = process.env.POLYCLOUD_LISTEN
  const target = process.env.FUNCTION_TARGET
  if (!source || !listen || !target) fail('POLYCLOUD_SOURCE, POLYCLOUD_LISTEN and FUNCTION_TARGET must be set')
  const at = listen.lastIndexOf(':')
  const host = listen.slice(0, at)
  const port = Number(listen.slice(at + 1))
  // The source's own resolution, as on Google after the build installed its dependencies (NODE_PATH, set by the
  // plugin, supplies its own Functions Framework when the service has none installed): one copy of FF, whose
  // registry every build of the source registers with.
  let testing: Testing
  try {
    testing = createRequire(join(source, 'package.json'))('@google-cloud/functions-framework/testing') as Testing
  } catch (error) {
    fail(`the Functions Framework could not be loaded: ${(error as Error).message}`)
  }
  process.chdir(source)
  let served = { source, app: loadSource(source, target, testing) }
  // The server listening is the host's own; each request goes to the FF server of the build serving now.
  const server = createServer((request, response) => void served.app.emit('request', request, response))
  server.on('error', (error) => fail(`cannot listen on ${listen}: ${error.message}`))
  server.listen(port, host, () => {
    const address = server.address() as AddressInfo
    process.stdout.write(`polycloud-host listening http://${host}:${address.port}\n`)
  })
  let prepared: typeof served | undefined
  process.on('message', (message: ReloadRequest) => {
    const reply = (answer: ReloadReply): void => void process.send?.(answer)
    if (message.type === 'prepare') {
      try {
        prepared = { source: message.source, app: loadSource(message.source, target, testing) }
        reply({ type: 'prepared' })
      } catch (error) {
        prepared = undefined
        unload(message.source)
        reply({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
      }
    } else if (message.type === 'commit' && prepared !== undefined) {
      const previous = served
      served = prepared
      prepared = undefined
      process.chdir(served.source)
      if (previous.source !== served.source) unload(previous.source)
      reply({ type: 'committed' })
    } else if (message.type === 'abort') {
      if (prepared !== undefined && prepared.source !== served.source) unload(prepared.source)
      prepared = undefined
    }
  })
  const stop = (): void => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  // Without its `serverless offline` (it ended), the host ends too.
  process.once('disconnect', stop)
}

main()
