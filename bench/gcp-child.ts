// Google Cloud child process of `npm run bench`: one fresh node process per sample, as a function instance starts.
// Built by bench/google.ts into out/gcp-child.cjs and run with plain `node`:
//   node out/gcp-child.cjs cold  <bundle.cjs> <function name>   -> one JSON line { loadMs, firstMs, totalMs }
//   node out/gcp-child.cjs serve <bundle.cjs> <function name>   -> prints "port <n>", serves until killed
// The Functions Framework is loaded first, untimed (the platform's own start-up); then the timed part: the
// function's module (which registers it), FF's server for it, and the first request answered.
import { request } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

const EXPECTED = '{"hello":"polycloud"}'

function get(port: number): Promise<string> {
  return new Promise((done, fail) => {
    request({ host: '127.0.0.1', port, path: '/?name=polycloud' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => done(body))
    })
      .on('error', fail)
      .end()
  })
}

async function main(): Promise<void> {
  const [mode, bundle, name] = process.argv.slice(2)
  if (!mode || !bundle || !name) throw new Error('usage: gcp-child.cjs cold|serve <bundle.cjs> <function name>')
  const path = resolve(bundle)
  const load = createRequire(path)
  const testing = load('@google-cloud/functions-framework/testing') as { getTestServer(name: string): Server }
  const t0 = performance.now()
  load(path)
  const server = testing.getTestServer(name)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  const t1 = performance.now()
  const body = await get(port)
  const t2 = performance.now()
  if (body !== EXPECTED) throw new Error(`${name} answered ${body}, expected ${EXPECTED}`)
  if (mode === 'cold') {
    process.stdout.write(`${JSON.stringify({ loadMs: t1 - t0, firstMs: t2 - t1, totalMs: t2 - t0 })}\n`)
    server.close()
    return
  }
  process.stdout.write(`port ${port}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`gcp child failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
