/**
 * Handlers using declared resources (@polycloud/resources) under `serverless offline` (issue 17, section 3): a copy
 * of test/fixtures/services/resources in a temporary folder, served on each provider; `POST /objects` stores an object,
 * sends a job to a queue and publishes to a topic; the queue's worker and the topic's listener, run by the local
 * services' deliveries, write what they received into the bucket, where `GET /objects` reads it back.
 */
import { expect } from 'chai'
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, freePort, startServerless, type ServerlessProcess } from '../helpers/serverless.ts'

const FIXTURE = join(ROOT, 'test/fixtures/services/resources')

/** How each provider's `serverless offline` is started (azurite on free ports), and where the routes answer. */
const PROVIDERS: Record<string, (port: number, dir: string) => { args: string[]; base: (process: ServerlessProcess) => string }> = {
  azure: (port, dir) => ({ args: ['--port', String(port), '--blobPort', '0', '--queuePort', '0', '--storage', join(dir, '.azurite')], base: () => `http://127.0.0.1:${port}/api` }),
  google: () => ({ args: ['--port', '0'], base: (process) => /routes at (http:\/\/\S+):/.exec(process.stderr())?.[1] as string }),
}

/** Polls `read` until it answers 200; fails with the last answer after `ms`. */
async function until(what: string, ms: number, read: () => Promise<Response>): Promise<unknown> {
  const deadline = Date.now() + ms
  for (;;) {
    let last: string
    const response = await read().catch((error: Error) => error)
    if (response instanceof Response) {
      const body = await response.text()
      if (response.status === 200) return JSON.parse(body)
      last = `${response.status} ${body}`
    } else last = response.message
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms; last answer ${last}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

for (const [provider, options] of Object.entries(PROVIDERS)) {
  describe(`e2e: declared resources under serverless offline on ${provider}`, function () {
    this.timeout(240_000)
    let dir: string
    let offline: ServerlessProcess
    let base: string

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `polycloud-resources-${provider}-`))
      cpSync(FIXTURE, dir, { recursive: true })
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'polycloud-resources', private: true, type: 'module' }))
      const { args, base: baseOf } = options(await freePort(), dir)
      offline = await startServerless(['offline', ...args], { cwd: dir, env: { POLYCLOUD_PROVIDER: provider }, timeoutMs: 150_000 })
      base = baseOf(offline)
    })

    after(async () => {
      await offline?.stop()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it('a handler stores an object in the bucket; another function reads it back, bytes and metadata as stored', async () => {
      const stored = await fetch(`${base}/objects?key=greeting.txt`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'héllo, wörld' })
      expect(stored.status, await stored.clone().text()).to.equal(201)
      expect(await stored.json()).to.deep.include({ key: 'in/greeting.txt', size: Buffer.byteLength('héllo, wörld') })
      const read = await until('the stored object', 30_000, () => fetch(`${base}/objects?key=in/greeting.txt`))
      expect(read).to.deep.equal({ key: 'in/greeting.txt', size: 14, contentType: 'text/plain; charset=utf-8', metadata: { origin: 'store' }, text: 'héllo, wörld' })
    })

    it("the queue's message reaches its worker (body and attributes), which reads the object", async () => {
      const seen = await until('the worker\'s record', 90_000, () => fetch(`${base}/objects?key=jobs/greeting.txt`))
      expect(JSON.parse((seen as { text: string }).text)).to.deep.equal({ job: { key: 'greeting.txt' }, attributes: { origin: 'store' }, text: 'héllo, wörld' })
    })

    it("the topic's message reaches its subscriber: body, subject and attributes", async () => {
      const seen = await until('the listener\'s record', 90_000, () => fetch(`${base}/objects?key=news/greeting.txt`))
      expect(JSON.parse((seen as { text: string }).text)).to.deep.equal({ body: 'stored greeting.txt', subject: 'stored', attributes: { key: 'greeting.txt' } })
    })
  })
}
