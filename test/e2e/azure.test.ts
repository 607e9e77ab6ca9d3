/**
 * The demo on Azure through the real CLI (osls): `serverless package` writes a Flex Consumption zip, `serverless
 * offline` serves that zip like `func start` (azurite for Storage triggers, the admin API), `serverless invoke
 * local` runs one function with a native payload.
 */
import { QueueClient } from '@azure/storage-queue'
import { expect } from 'chai'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readZip } from 'serverless-polycloud/zip'
import { startAzureHost, type AzureHost } from '../helpers/azure.ts'
import { ROOT, serverless } from '../helpers/serverless.ts'

const azure = { POLYCLOUD_PROVIDER: 'azure' }

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) })
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

describe('e2e: the demo on Azure', function () {
  this.timeout(180_000)

  describe('serverless package', () => {
    let dir: string
    let files: ReturnType<typeof readZip>
    let stdout: string
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'polycloud-azure-package-'))
      const run = await serverless(['package', '--package', dir], { env: azure })
      expect(run.code, run.stderr).to.equal(0)
      stdout = run.stdout + run.stderr
      files = readZip(readFileSync(join(dir, 'polycloud-demo.zip')))
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    it('writes the app zip: host.json, package.json, one bundle and its map, as regular files with unix modes', () => {
      expect(files.map((file) => [file.name, file.mode])).to.deep.equal([
        ['dist/app.cjs', 0o644],
        ['dist/app.cjs.map', 0o644],
        ['host.json', 0o644],
        ['package.json', 0o644],
      ])
      expect(stdout).to.match(/Packaged 16 functions for Azure: .*polycloud-demo\.zip \(\d+ KB, \d+ ms\)/)
      // The demo runs on nodejs22.x: no end-of-life warning (the Node 20 path is unit-tested with nodeVersion).
      expect(stdout).to.not.include('Node.js 20 reached end of life')
    })

    it('host.json: version 2.0, the Functions 4 extension bundle, the api prefix, the demo timeout, the queue settings', () => {
      const host = JSON.parse(files.find((file) => file.name === 'host.json')?.data.toString() ?? '{}')
      expect(host).to.deep.include({ version: '2.0', functionTimeout: '00:00:10', extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' } })
      expect(host.extensions.http).to.deep.equal({ routePrefix: 'api' })
      expect(host.extensions.queues).to.deep.include({ batchSize: 10, maxDequeueCount: 5, messageEncoding: 'base64' })
      const pkg = JSON.parse(files.find((file) => file.name === 'package.json')?.data.toString() ?? '{}')
      expect(pkg.main).to.equal('dist/app.cjs')
    })

    it('the bundle registers every function through @azure/functions, leaves @azure/functions-core to the worker, and maps to the TypeScript sources', () => {
      const code = files.find((file) => file.name === 'dist/app.cjs')?.data.toString() ?? ''
      expect(code).to.include('require("@azure/functions-core")')
      expect(code).to.include('//# sourceMappingURL=app.cjs.map')
      for (const marker of ['aws:api-gateway', 'functions-framework', 'cloudflare:']) expect(code).to.not.include(marker)
      const map = JSON.parse(files.find((file) => file.name === 'dist/app.cjs.map')?.data.toString() ?? '{}') as { sources: string[] }
      expect(map.sources).to.include.members(['../handlers/hello.ts', '../handlers/orders.ts'])
      expect(map.sources.filter((source) => source.includes('webpack'))).to.satisfy((sources: string[]) => sources.every((source) => source.startsWith('webpack://')))
    })
  })

  describe('serverless offline', () => {
    let host: AzureHost
    before(async () => {
      // A timer every minute, so that the schedule fires during the tests.
      host = await startAzureHost({ args: ['--param=reportSchedule=* * * * *'] })
    })
    after(async () => {
      await host?.stop()
    })

    it('lists the functions as the host does, and serves HTTP under /api only', async () => {
      expect(host.stdout()).to.match(/hello: \[GET,HEAD\] http:\/\/127\.0\.0\.1:\d+\/api\/hello/)
      const functions = (await (await fetch(`${host.url}/admin/functions`)).json()) as Array<{ name: string; invoke_url_template: string | null }>
      expect(functions.map((fn) => fn.name)).to.have.members(['hello', 'greetings', 'greetings-1', 'me', 'quotes', 'uploads', 'downloads', 'downloads-1', 'preferences', 'fail', 'report', 'orders', 'alerts', 'thumbnails', 'chat', 'telemetry', 'readings', 'devices'])
      expect(functions.find((fn) => fn.name === 'greetings')?.invoke_url_template).to.equal(`${host.url}/api/greetings/{name}`)
      expect((await fetch(`${host.url}/hello`)).status).to.equal(404)
      expect((await fetch(`${host.url}/api/hello`, { method: 'DELETE' })).status).to.equal(404)
      expect((await fetch(`${host.url}/api/nothing`)).status).to.equal(404)
    })

    it('the admin API fires non-HTTP functions and refuses the rest', async () => {
      expect((await fetch(`${host.url}/admin/functions/nope`, { method: 'POST', body: '{}' })).status).to.equal(404)
      expect((await fetch(`${host.url}/admin/functions/hello`, { method: 'POST', body: '{}' })).status).to.equal(400)
      expect((await fetch(`${host.url}/admin/functions/report`, { method: 'POST', body: 'not json' })).status).to.equal(400)
      const from = host.stdout().length
      expect((await fetch(`${host.url}/admin/functions/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'disk full' }) })).status).to.equal(202)
      await host.waitForLine(/Executed 'Functions\.alerts' \(Succeeded/, 20_000, from)
      expect(host.stdout().slice(from)).to.include('"body":"disk full"')
    })

    it("the admin API carries a Service Bus message's application properties (triggerMetadata, a local extension)", async () => {
      const from = host.stdout().length
      const body = { input: 'disk almost full', triggerMetadata: { ApplicationProperties: { severity: 'critical' } } }
      expect((await fetch(`${host.url}/admin/functions/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status).to.equal(202)
      const line = await host.waitForLine(/"message":"alert"/, 20_000, from)
      expect(JSON.parse(line.slice(line.indexOf('{')))).to.deep.include({ level: 'error', body: 'disk almost full', topic: 'polycloud-demo-dev-alerts' })
      const refused = await fetch(`${host.url}/admin/functions/alerts`, { method: 'POST', body: JSON.stringify({ input: 'x', triggerMetadata: { ApplicationProperties: 'severity=critical' } }) })
      expect(refused.status).to.equal(400)
      expect(await refused.json()).to.deep.equal({ error: 'triggerMetadata.ApplicationProperties must be an object (property name -> value)' })
    })

    it("logs a failing handler's stack at the user's TypeScript file, not at the extracted copy", async () => {
      const from = host.stdout().length
      expect((await fetch(`${host.url}/api/fail`)).status).to.equal(500)
      const line = await host.waitForLine(/"message":"handler failed"/, 20_000, from)
      const stack = (JSON.parse(line.slice(line.indexOf('{'))) as { error: { stack: string } }).error.stack
      expect(stack).to.include(`at Object.handle (${join(ROOT, 'handlers/fail.ts')}:8:9)`)
      expect(stack).to.not.include('azure-offline-')
    })

    it('a message that keeps failing goes to <queue>-poison after 5 dequeues; one that is not base64 too', async () => {
      const queue = new QueueClient(host.connectionString as string, 'polycloud-demo-dev-orders')
      const poison = new QueueClient(host.connectionString as string, 'polycloud-demo-dev-orders-poison')
      const bad = Buffer.from(JSON.stringify({ id: 'o-9', items: [] })).toString('base64')
      const { messageId } = await queue.sendMessage(bad)
      await host.waitForLine(new RegExp(`Moving message ${messageId} to queue 'polycloud-demo-dev-orders-poison'`), 30_000)
      for (let dequeue = 1; dequeue <= 5; dequeue++) expect(host.stdout()).to.include(`MessageId: ${messageId}, DequeueCount: ${dequeue},`)
      expect(host.stdout()).to.not.include(`MessageId: ${messageId}, DequeueCount: 6,`)
      const { messageId: raw } = await queue.sendMessage('{not base64}')
      await host.waitForLine(new RegExp(`Moving message ${raw} to queue`), 30_000)
      const texts = (await poison.peekMessages({ numberOfMessages: 10 })).peekedMessageItems.map((message) => message.messageText)
      expect(texts).to.include.members([bad, '{not base64}'])
    })

    it('fires the timer on its schedule (the next minute)', async function () {
      this.timeout(90_000)
      await host.waitForLine(/Executed 'Functions\.report' \(Succeeded/, 75_000)
      expect(host.stdout()).to.match(/"message":"nightly report"/)
      expect(host.stdout()).to.match(/"message":"nightly report".*"schedule":"\* \* \* \* \*","name":"report"/)
    })

    it('Ctrl-C stops the host, its worker and azurite', async () => {
      const azurite = /azurite: blob (http:\/\/127\.0\.0\.1:\d+)/.exec(host.stdout())?.[1] as string
      expect(await portOpen(azurite)).to.equal(true)
      await host.stop()
      expect(await host.exited()).to.equal(0)
      expect(await portOpen(host.url)).to.equal(false)
      expect(await portOpen(azurite)).to.equal(false)
    })
  })

  describe('serverless invoke local', () => {
    let dir: string
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'polycloud-azure-invoke-'))
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    it('runs an HTTP function of the packaged app with a request and prints the response', async () => {
      const path = join(dir, 'greetings.json')
      writeFileSync(path, JSON.stringify({ input: { method: 'GET', path: '/greetings/Ada?lang=fr', headers: {} } }))
      const run = await serverless(['invoke', 'local', '-f', 'greetings', '--path', path], { env: azure })
      expect(run.code, run.stderr).to.equal(0)
      const printed = JSON.parse(run.stdout.slice(run.stdout.indexOf('{\n'))) as { status: number; body: string }
      expect(printed.status).to.equal(200)
      expect(JSON.parse(printed.body)).to.deep.equal({ greeting: 'Bonjour, Ada!', lang: 'fr' })
    })

    it("runs a Service Bus topic function with the message's application properties", async () => {
      const path = join(dir, 'alerts.json')
      writeFileSync(path, JSON.stringify({ input: 'disk almost full', triggerMetadata: { MessageId: 'm-1', DeliveryCount: 1, ApplicationProperties: { severity: 'warning' } } }))
      const run = await serverless(['invoke', 'local', '-f', 'alerts', '--path', path], { env: azure })
      expect(run.code, run.stderr).to.equal(0)
      const line = run.stdout.split('\n').find((text) => text.includes('"message":"alert"')) as string
      expect(JSON.parse(line.slice(line.indexOf('{')))).to.deep.include({ level: 'warn', body: 'disk almost full', attributes: { severity: 'warning' } })
    })

    it("runs a queue function that uses a store on azurite's Table service, in the folder npm start keeps it in (.azurite)", async () => {
      const device = `invoke-${process.pid}-${Date.now().toString(36)}`
      const path = join(dir, 'reading.json')
      writeFileSync(path, JSON.stringify({ input: JSON.stringify({ device, id: 'r-1', time: '2026-12-07T10:00:00Z', value: 21.5, unit: 'C' }), triggerMetadata: { Id: 'm-1', DequeueCount: 1 } }))
      const line = async (): Promise<Record<string, unknown>> => {
        const run = await serverless(['invoke', 'local', '-f', 'readings', '--path', path], { env: azure })
        expect(run.code, run.stderr + run.stdout).to.equal(0)
        const text = run.stdout.split('\n').find((candidate) => candidate.includes(`"device":"${device}"`)) as string
        return JSON.parse(text.slice(text.indexOf('{'))) as Record<string, unknown>
      }
      expect(await line()).to.include({ message: 'reading counted', count: 1 })
      // A second invocation finds the state the first one kept.
      expect(await line()).to.include({ message: 'reading seen before', count: 1 })
    })

    it('a failing invocation fails the command with the error, without a stack', async () => {
      const path = join(dir, 'orders.json')
      writeFileSync(path, JSON.stringify({ input: JSON.stringify({ id: 'o-1', items: [] }), triggerMetadata: { Id: 'm-1', DequeueCount: 1 } }))
      const run = await serverless(['invoke', 'local', '-f', 'orders', '--path', path], { env: azure })
      expect(run.code).to.equal(1)
      const output = run.stdout + run.stderr
      expect(output).to.match(/function orders failed: /)
      expect(output).to.not.match(/\n\s+at .*deploy\.js|\n\s+at .*offline\.js/)
    })

    it('names the file when the payload is not JSON', async () => {
      const path = join(ROOT, 'package.json.nope')
      const run = await serverless(['invoke', 'local', '-f', 'report', '--path', path], { env: azure })
      expect(run.code).to.equal(1)
      expect(run.stdout + run.stderr).to.match(/could not read the payload: ENOENT/)
    })
  })
})
