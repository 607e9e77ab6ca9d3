/**
 * End to end on Cloudflare's runtime: `serverless package` of the demo (the Worker loads in workerd WITHOUT
 * nodejs_compat), and `serverless offline` serving the packaged Worker through miniflare: routes, a cron fired by
 * hand and on schedule, a queue whose failing message is retried then dead-lettered, an R2 write whose notification
 * reaches the bucket's function, Ctrl-C; and `serverless invoke local` of a cron, a queue batch and an R2
 * notification. Every process started is stopped in `after`.
 */
import { expect } from 'chai'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Miniflare } from 'miniflare'
import { startProcess, type LocalProcess } from 'serverless-polycloud/local'
import { freePort, ROOT, serverless } from '../helpers/serverless.ts'

const CLI = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js')
const ENV = { POLYCLOUD_PROVIDER: 'cloudflare', SLS_TELEMETRY_DISABLED: '1' }

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const found = await probe()
    if (found !== undefined) return found
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function logLine(output: string, match: (line: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
  for (const text of output.split('\n')) {
    if (!text.startsWith('{"level"')) continue
    const line = JSON.parse(text) as Record<string, unknown>
    if (match(line)) return line
  }
  return undefined
}

describe('e2e: Cloudflare', function () {
  this.timeout(180_000)

  describe('serverless package', () => {
    let dir: string
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'polycloud-cloudflare-package-'))
      const run = await serverless(['package', '--package', dir], { env: ENV, timeoutMs: 120_000 })
      expect(run.code, run.stdout + run.stderr).to.equal(0)
      expect(run.stdout + run.stderr).to.match(/Cloudflare Worker polycloud-demo-dev: .*worker\.mjs [\d.]+ KiB \([\d.]+ KiB gzip, limit 3\.0 MiB on Workers Free\)/)
      expect(run.stdout + run.stderr).to.contain('alerts not deployed to Cloudflare (excludeFrom)')
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    it('writes one ES-module Worker with its source map, upload metadata, wrangler.json and manifest', () => {
      const out = join(dir, 'cloudflare')
      const code = readFileSync(join(out, 'worker.mjs'), 'utf8')
      expect(code).to.match(/export\s*\{[^}]*as default/)
      expect(code).to.contain('//# sourceMappingURL=worker.mjs.map')
      const { sources } = JSON.parse(readFileSync(join(out, 'worker.mjs.map'), 'utf8')) as { sources: string[] }
      expect(sources.some((source) => source.endsWith('/handlers/hello.ts'))).to.equal(true)
      const metadata = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')) as Record<string, unknown>
      expect(metadata).to.deep.include({ main_module: 'worker.mjs', compatibility_date: '2026-04-01' })
      // AsyncLocalStorage for the resource clients (functions use resources), and nothing more of Node.
      expect(metadata.compatibility_flags).to.deep.equal(['nodejs_als'])
      const wrangler = JSON.parse(readFileSync(join(out, 'wrangler.json'), 'utf8')) as Record<string, unknown>
      expect(wrangler).to.deep.include({ name: 'polycloud-demo-dev', main: 'worker.mjs', triggers: { crons: ['0 3 * * *'] } })
      const manifest = JSON.parse(readFileSync(join(out, 'polycloud.json'), 'utf8')) as { functions: Array<{ name: string }> }
      expect(manifest.functions.map((fn) => fn.name)).to.deep.equal(['hello', 'greetings', 'me', 'quotes', 'uploads', 'downloads', 'preferences', 'fail', 'report', 'orders', 'thumbnails', 'chat', 'telemetry', 'readings', 'devices'])
    })

    it('holds no Node built-in but AsyncLocalStorage, and loads and serves in workerd with nodejs_als, without nodejs_compat', async () => {
      const code = readFileSync(join(dir, 'cloudflare', 'worker.mjs'), 'utf8')
      // Imported: AsyncLocalStorage only (node:events is named in a process.getBuiltinModule call, which Workers without nodejs_compat lack).
      expect([...new Set([...code.matchAll(/(?:from\s*|import\s*\(\s*)["'](node:[a-z_/]+)["']/g)].map((match) => match[1]))]).to.deep.equal(['node:async_hooks'])
      const mf = new Miniflare({
        modules: [{ type: 'ESModule', path: join(dir, 'cloudflare', 'worker.mjs') }],
        modulesRoot: join(dir, 'cloudflare'),
        compatibilityDate: '2026-04-01',
        compatibilityFlags: ['nodejs_als'],
        host: '127.0.0.1',
        port: 0,
        cf: false,
        bindings: { LOG_LEVEL: 'error' },
      })
      try {
        await mf.ready
        const hello = await mf.dispatchFetch('http://localhost/hello?name=Ada')
        expect(await hello.json()).to.deep.equal({ hello: 'Ada', provider: 'cloudflare' })
        const none = await mf.dispatchFetch('http://localhost/none')
        expect(none.status).to.equal(404)
        await none.body?.cancel()
      } finally {
        await mf.dispose()
      }
    })

    it('refuses a topic, naming the function, the event and what to use instead', async () => {
      const service = join(ROOT, 'test/fixtures/services/.tmp/cloudflare-topic')
      rmSync(service, { recursive: true, force: true })
      mkdirSync(join(service, 'handlers'), { recursive: true })
      writeFileSync(join(service, 'handlers/h.ts'), "import { topic } from '@polycloud/core'\nexport default topic(() => {})\n")
      writeFileSync(join(service, 'serverless.yml'), "service: topics\nframeworkVersion: '4'\nprovider:\n  name: cloudflare\nplugins:\n  - serverless-polycloud\nfunctions:\n  alerts:\n    handler: handlers/h.default\n    events:\n      - topic: alerts\n")
      try {
        const run = await serverless(['package'], { cwd: service, timeoutMs: 60_000 })
        expect(run.code).to.equal(1)
        expect(run.stdout + run.stderr).to.match(/functions\.alerts\.events\[0\]\.topic: Cloudflare has no pub\/sub topics .*"fromQueue".*"excludeFrom: \[cloudflare\]"/)
        expect(run.stdout + run.stderr).to.not.match(/\bat .*\.js:\d+/)
      } finally {
        rmSync(join(ROOT, 'test/fixtures/services/.tmp'), { recursive: true, force: true })
      }
    })
  })

  describe('serverless offline (the packaged Worker on workerd)', () => {
    let offline: LocalProcess
    let base: string
    const state = join(ROOT, '.polycloud', 'state', 'cloudflare')

    before(async () => {
      rmSync(state, { recursive: true, force: true })
      const port = await freePort()
      base = `http://127.0.0.1:${port}`
      // A cron every minute, so that one fires on schedule during the tests.
      offline = await startProcess(process.execPath, [CLI, 'offline', '--port', String(port), '--param=reportSchedule=* * * * *'], {
        ready: /Server ready: /,
        env: ENV,
        cwd: ROOT,
        name: 'serverless offline (cloudflare)',
        timeoutMs: 90_000,
      })
    })

    after(async () => {
      await offline?.stop()
    })

    it('serves the routes, with a 404 and a 405 from the router', async () => {
      expect(await (await fetch(`${base}/hello?name=Ada`)).json()).to.deep.equal({ hello: 'Ada', provider: 'cloudflare' })
      expect(await (await fetch(`${base}/greetings/Ada?lang=fr`)).json()).to.deep.equal({ greeting: 'Bonjour, Ada!', lang: 'fr' })
      const missing = await fetch(`${base}/nope`)
      expect(missing.status).to.equal(404)
      expect(await missing.json()).to.deep.equal({ error: 'No route for GET /nope' })
      const wrong = await fetch(`${base}/quotes`)
      expect(wrong.status).to.equal(405)
      expect(wrong.headers.get('allow')).to.equal('POST')
      await wrong.body?.cancel()
    })

    it('fires a cron by hand (as wrangler dev does), and names the crons when none matches', async () => {
      const response = await fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('* * * * *')}&time=${Date.UTC(2024, 4, 24, 3)}`)
      expect(await response.text()).to.equal('ok')
      const line = await waitFor('the report', 10_000, () => logLine(offline.output(), (l) => l.message === 'nightly report' && l.to === '2024-05-24T03:00:00.000Z'))
      expect(line).to.include({ function: 'report', from: '2024-05-23T03:00:00.000Z', schedule: '* * * * *', name: 'report' })
      const legacy = await fetch(`${base}/__scheduled?cron=${encodeURIComponent('* * * * *')}&time=${Date.UTC(2024, 4, 25, 3)}`)
      expect(await legacy.text()).to.equal('ok')
      await waitFor('the second report', 10_000, () => logLine(offline.output(), (l) => l.message === 'nightly report' && l.to === '2024-05-25T03:00:00.000Z'))
      const unknown = await fetch(`${base}/__scheduled?cron=${encodeURIComponent('1 1 * * *')}`)
      expect(unknown.status).to.equal(500)
      expect(await unknown.text()).to.equal('cloudflare: no function is scheduled on cron "1 1 * * *" (this Worker\'s crons: "* * * * *")')
    })

    it('delivers queue messages, retries the failing one, then dead-letters it', async function () {
      this.timeout(90_000)
      const send = async (body: unknown) => {
        const response = await fetch(`${base}/cdn-cgi/polycloud/queues/orders/messages`, { method: 'POST', body: JSON.stringify({ body }) })
        expect(await response.json()).to.deep.equal({ success: true, queue: 'polycloud-demo-dev-orders', sent: 1 })
      }
      await send({ id: 'e2e-good', items: ['book'], total: 2 })
      await send({ id: 'e2e-bad', items: [], total: 2 })
      // Five deliveries (maxReceiveCount 5: four retries), each after the consumer's 5 s batch wait.
      const dead = await waitFor('the dead-lettered order', 60_000, async () => {
        const response = await fetch(`${base}/cdn-cgi/polycloud/queues/polycloud-demo-dev-orders-dlq`)
        const { deadLettered } = (await response.json()) as { deadLettered: Array<{ body: { id: string; items: unknown[] } }> }
        return deadLettered.find((message) => message.body.id === 'e2e-bad')
      })
      expect(dead.body).to.deep.equal({ id: 'e2e-bad', items: [], total: 2 })
      const output = offline.output()
      const accepted = output.split('\n').filter((text) => text.includes('"order accepted"') && text.includes('"e2e-good"'))
      expect(accepted).to.have.length(1)
      const failures = output.split('\n').filter((text) => text.includes('"event failed"') && text.includes('e2e-bad'))
      expect(failures).to.have.length(5)
    })

    it('keeps R2 objects, and an object write notifies the bucket function through its queue', async function () {
      this.timeout(30_000)
      const key = `images/e2e ${Date.now()}.png`
      const url = `${base}/cdn-cgi/polycloud/r2/polycloud-demo-dev-uploads/${key.split('/').map(encodeURIComponent).join('/')}`
      const put = await fetch(url, { method: 'PUT', body: new Uint8Array(2048), headers: { 'content-type': 'image/png' } })
      expect(put.status).to.equal(201)
      const line = await waitFor('the notification', 20_000, () => logLine(offline.output(), (l) => l.message === 'thumbnail needed' && l.key === key))
      expect(line).to.include({ function: 'thumbnails', bucket: 'polycloud-demo-dev-uploads', size: 2048, target: key.replace('images/', 'thumbnails/') })
      const got = await fetch(url)
      expect(got.headers.get('content-type')).to.equal('image/png')
      expect((await got.arrayBuffer()).byteLength).to.equal(2048)
    })

    it('fires the cron on its schedule (the next minute)', async function () {
      this.timeout(90_000)
      const line = await waitFor('the scheduled report', 75_000, () => logLine(offline.output(), (l) => l.message === 'nightly report' && !String(l.to).startsWith('2024-')))
      expect(new Date(line.to as string).getUTCSeconds()).to.equal(0)
      expect(line).to.include({ schedule: '* * * * *', name: 'report' })
    })

    it('stops on Ctrl-C and frees its port', async () => {
      await offline.stop()
      expect(offline.child.exitCode ?? offline.child.signalCode).to.not.equal(null)
      const port = Number(new URL(base).port)
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1')
        socket.once('connect', () => (socket.destroy(), resolve(false)))
        socket.once('error', () => resolve(true))
      })
      expect(refused).to.equal(true)
    })
  })

  describe('serverless invoke local (the packaged Worker on workerd, one native payload)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'polycloud-cloudflare-invoke-'))
    after(() => rmSync(dir, { recursive: true, force: true }))

    /** Runs `invoke local` with a payload; its printed result and the handler's log lines. */
    const invoke = async (fn: string, payload: unknown): Promise<{ result: { outcome?: string; retried?: string[]; acked?: string[] }; output: string }> => {
      const path = join(dir, `${fn}.json`)
      writeFileSync(path, JSON.stringify(payload))
      const run = await serverless(['invoke', 'local', '-f', fn, '--path', path], { env: ENV, timeoutMs: 120_000 })
      expect(run.code, run.stdout + run.stderr).to.equal(0)
      return { result: JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('\n{\n') + 1)) as { outcome?: string; retried?: string[] }, output: run.stdout + run.stderr }
    }

    it('a cron: the function runs for its Cron Trigger', async () => {
      const { result, output } = await invoke('report', { scheduledTime: Date.UTC(2026, 0, 2, 3, 0) })
      expect(result.outcome).to.equal('ok')
      expect(logLine(output, (line) => line.message === 'nightly report')).to.include({ to: '2026-01-02T03:00:00.000Z' })
    })

    it('a queue batch: the failing message alone is retried', async () => {
      const now = Date.now()
      const messages = [
        { id: 'm-0', timestamp: now, attempts: 1, body: JSON.stringify({ id: 'o-1', items: ['book'], total: 12.5 }) },
        { id: 'm-1', timestamp: now, attempts: 1, body: JSON.stringify({ id: 'o-2', items: [], total: 3 }) },
      ]
      const { result, output } = await invoke('orders', { queue: 'orders', messages })
      expect(result).to.deep.include({ outcome: 'ok', retried: ['m-1'] })
      expect(logLine(output, (line) => line.message === 'order accepted')).to.include({ orderId: 'o-1', attempt: 1 })
    })

    it('an R2 event notification message: a storage event for the bucket function', async () => {
      const body = { account: 'local', action: 'PutObject', bucket: 'polycloud-demo-dev-uploads', object: { key: 'images/cat 1.png', size: 2048, eTag: 'c846ff7a18f28c2e262116d6e8719ef0' }, eventTime: new Date().toISOString() }
      const { result, output } = await invoke('thumbnails', { messages: [{ id: 'm-0', timestamp: Date.now(), attempts: 1, body }] })
      expect(result.outcome).to.equal('ok')
      expect(logLine(output, (line) => line.message === 'thumbnail needed')).to.include({ key: 'images/cat 1.png', size: 2048, target: 'thumbnails/cat 1.png' })
    })
  })
})
