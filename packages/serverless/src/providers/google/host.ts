/**
 * The local host of one function of a packaged Google Cloud source, run as its own process by `serverless offline`
 * and `invoke local` (one process per function, as each is its own instance on Google, with its own environment):
 * it loads the source the way the Functions Framework's own start-up does (the source's `main`, which registers
 * the function named by FUNCTION_TARGET), and serves it with FF's server on the given address only (FF's command
 * line listens on every interface).
 *
 *   node host.js   with POLYCLOUD_SOURCE (the source folder), POLYCLOUD_LISTEN (host:port) and FUNCTION_TARGET set
 *
 * It prints `polycloud-host listening <url>` once it serves, and stops on SIGINT / SIGTERM.
 */
import { createRequire } from 'node:module'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

interface Testing {
  getTestServer(name: string): Server
}

function fail(message: string): never {
  process.stderr.write(`polycloud-host: ${message}\n`)
  process.exit(1)
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
  // plugin, supplies its own Functions Framework when the service has none installed).
  const load = createRequire(join(source, 'package.json'))
  const main = (load(join(source, 'package.json')) as { main?: string }).main ?? 'index.js'
  let testing: Testing
  try {
    testing = load('@google-cloud/functions-framework/testing') as Testing
  } catch (error) {
    fail(`the Functions Framework could not be loaded: ${(error as Error).message}`)
  }
  process.chdir(source)
  load(join(source, main))
  const server = testing.getTestServer(target)
  server.on('error', (error) => fail(`cannot listen on ${listen}: ${error.message}`))
  server.listen(port, host, () => {
    const address = server.address() as AddressInfo
    process.stdout.write(`polycloud-host listening http://${host}:${address.port}\n`)
  })
  const stop = (): void => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main()
