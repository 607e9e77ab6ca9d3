/**
 * The demo on Google Cloud's local emulation, through the real CLI: `serverless offline` (what `npm start` runs) with
 * POLYCLOUD_PROVIDER=google serves the packaged source on the Functions Framework, bound to 127.0.0.1; Ctrl-C stops
 * every process it started. `serverless invoke local` runs one function with a native payload.
 */
import { expect } from 'chai'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EVENTS_DIR } from '../helpers/fixtures.ts'
import { ROOT, serverless, startServerless, type ServerlessProcess } from '../helpers/serverless.ts'

const GOOGLE = { POLYCLOUD_PROVIDER: 'google' }

describe('e2e: the demo on Google Cloud (Functions Framework)', function () {
  this.timeout(120_000)

  describe('serverless offline', () => {
    let offline: ServerlessProcess
    let routes: string
    let urls: string[]

    before(async () => {
      // A cron every minute, so that the schedule fires during the tests.
      offline = await startServerless(['offline', '--port', '0', '--param=reportSchedule=* * * * *'], { env: GOOGLE })
      routes = /routes at (http:\/\/\S+):/.exec(offline.stderr())?.[1] as string
      urls = [...offline.stderr().matchAll(/(http:\/\/127\.0\.0\.1:\d+)/g)].map((match) => match[1] as string)
    })

    after(() => offline?.stop())

    it('serves the routes at their declared paths under one base URL, on 127.0.0.1 only', async () => {
      expect(routes).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(await (await fetch(`${routes}/hello?name=Ada`)).json()).to.deep.equal({ hello: 'Ada', provider: 'gcp' })
      expect(offline.stderr()).to.include(`GET     ${routes}/greetings/{name}  (greetings)`)
      const line = await offline.waitForLine(/"message":"greeting"/, 5_000)
      expect(JSON.parse(line)).to.include({ severity: 'INFO', function: 'polycloud-demo-dev-hello' })
    })

    it('answers an unknown path 404 and a wrong method 405, as JSON', async () => {
      const missing = await fetch(`${routes}/nothing`)
      expect(missing.status).to.equal(404)
      expect(await missing.json()).to.deep.equal({ error: 'No route for GET /nothing' })
      const wrong = await fetch(`${routes}/hello`, { method: 'DELETE' })
      expect(wrong.status).to.equal(405)
      expect(wrong.headers.get('allow')).to.equal('GET, HEAD')
    })

    it('JSON scalars parse, and what the Functions Framework refuses itself is JSON without a stack', async () => {
      const scalar = await fetch(`${routes}/quotes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '42' })
      // The handler ran on the parsed 42 (not a basket), as on every other provider.
      expect(scalar.status).to.equal(400)
      expect(await scalar.json()).to.deep.equal({ error: 'the body must be a JSON object (a basket with items), got 42' })
      const charset = await fetch(`${routes}/quotes`, { method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' })
      expect(charset.status).to.equal(415)
      expect(await charset.text()).to.equal('{"error":"Unsupported Media Type"}')
    })

    it('fires the cron on its schedule (the next minute), as Cloud Scheduler would', async function () {
      this.timeout(90_000)
      const line = await offline.waitForLine(/"message":"nightly report"/, 75_000)
      expect(JSON.parse(line)).to.include({ severity: 'INFO', function: 'polycloud-demo-dev-report', schedule: '* * * * *', name: 'report' })
    })

    it('stops every function process and the events endpoint on Ctrl-C', async () => {
      expect(urls.length).to.be.greaterThan(4)
      await offline.stop()
      for (const url of new Set(urls)) {
        const refused = await fetch(url).then(
          () => false,
          () => true,
        )
        expect(refused, url).to.equal(true)
      }
    })
  })

  describe('serverless invoke local', () => {
    it('runs a topic function with a structured CloudEvent (Eventarc messagePublished)', async () => {
      const run = await serverless(['invoke', 'local', '-f', 'alerts', '--path', join(EVENTS_DIR, 'gcp/pubsub/gce__MessagePublishedData.json')], { env: GOOGLE, timeoutMs: 90_000 })
      expect(run.code, run.stderr).to.equal(0)
      const log = run.stdout.split('\n').find((line) => line.includes('"message":"alert"'))
      expect(JSON.parse(log as string)).to.include({ level: 'info', body: 'test message 3', topic: 'my-topic', function: 'polycloud-demo-dev-alerts' })
      const result = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('\n{\n') + 1)) as { status: number }
      expect(result.status).to.equal(204)
    })

    it('runs an HTTP function with a request description', async () => {
      const run = await serverless(['invoke', 'local', '-f', 'hello', '--data', JSON.stringify({ method: 'GET', path: '/?name=Grace' })], { env: GOOGLE, timeoutMs: 90_000 })
      expect(run.code, run.stderr).to.equal(0)
      const result = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('\n{\n') + 1)) as { status: number; body: unknown }
      expect(result).to.deep.include({ status: 200, body: { hello: 'Grace', provider: 'gcp' } })
    })

    it('runs a routed function on its own when functionUrls is false (the router alone is deployed)', async () => {
      // The demo with custom.polycloud.google.functionUrls: false, as a config file beside it (removed after).
      const config = `serverless-function-urls-${process.pid}.yml`
      writeFileSync(join(ROOT, config), readFileSync(join(ROOT, 'serverless.yml'), 'utf8').replace(/^( {6}region: europe-west1\n)/m, '$1      functionUrls: false\n'))
      try {
        const run = await serverless(['invoke', 'local', '-f', 'hello', '--config', config, '--data', JSON.stringify({ method: 'GET', path: '/?name=Ada' })], { env: GOOGLE, timeoutMs: 90_000 })
        expect(run.code, run.stderr).to.equal(0)
        const result = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('\n{\n') + 1)) as { status: number; body: unknown }
        expect(result).to.deep.include({ status: 200, body: { hello: 'Ada', provider: 'gcp' } })
      } finally {
        rmSync(join(ROOT, config), { force: true })
      }
    })

    it("runs a queue function that uses a store on the local Firestore npm start serves (its state in .polycloud/state/google)", async () => {
      const device = `invoke-${process.pid}-${Date.now().toString(36)}`
      const data = Buffer.from(JSON.stringify({ device, id: 'r-1', time: '2026-12-07T10:00:00Z', value: 21.5, unit: 'C' })).toString('base64')
      const push = JSON.stringify({ message: { data, messageId: 'm-1', publishTime: '2026-12-07T10:00:01Z', attributes: {} }, subscription: 'projects/local-project/subscriptions/polycloud-demo-dev-readings' })
      const lines = async (): Promise<Array<Record<string, unknown>>> => {
        const run = await serverless(['invoke', 'local', '-f', 'readings', '--data', push], { env: GOOGLE, timeoutMs: 90_000 })
        expect(run.code, run.stderr + run.stdout).to.equal(0)
        return run.stdout.split('\n').filter((line) => line.startsWith('{"severity"')).map((line) => JSON.parse(line) as Record<string, unknown>)
      }
      expect((await lines()).find((line) => line.device === device)).to.include({ message: 'reading counted', count: 1 })
      // A second invocation finds the state the first one kept.
      expect((await lines()).find((line) => line.device === device)).to.include({ message: 'reading seen before', count: 1 })
    })

    it('refuses a payload a CloudEvent function cannot take, naming what it needs', async () => {
      const run = await serverless(['invoke', 'local', '-f', 'alerts', '--data', '{"message":{}}'], { env: GOOGLE, timeoutMs: 90_000 })
      expect(run.code).to.equal(1)
      expect(run.stdout + run.stderr).to.include('alerts is a CloudEvent function: the payload must be a CloudEvent')
      expect(run.stdout + run.stderr).to.not.match(/\n\s+at /)
    })
  })
})
