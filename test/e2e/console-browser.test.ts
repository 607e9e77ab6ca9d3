/**
 * The local console in a real browser: headless Chromium (Debian's package, driven by playwright-core) loads the
 * console of AWS `serverless offline` after an upload -> thumbnail chain and an order -> alert chain, saves
 * screenshots under `.polycloud/screenshots/`, and checks what it rendered: the invocations of both chains, and
 * the order's trace drawn as a timeline across the functions it went through. Skips, saying why, without Chromium.
 */
import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs'
import { encodePng } from '../../handlers/lib/png.ts'
import { ended } from '../helpers/console.ts'
import { ROOT, startOffline, type Offline } from '../helpers/serverless.ts'
import { sqsClient } from '../packages/serverless/providers/aws-local/support.ts'

const SCREENSHOTS = join(ROOT, '.polycloud', 'screenshots')

/** CHROMIUM_PATH, else Debian's (and other distributions') usual places. */
function chromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path))
}

describe('local console in headless Chromium (AWS serverless offline)', function () {
  this.timeout(300_000)
  let offline: Offline | undefined
  const executablePath = chromium()

  before(async function () {
    if (executablePath === undefined) {
      console.warn('    skipped: no Chromium binary (install it: apt-get install -y chromium; or set CHROMIUM_PATH)')
      this.skip()
    }
    offline = await startOffline({ routes: 'http-api' }, 120_000)
  })
  after(async () => {
    await offline?.stop()
  })

  it('renders an upload -> thumbnail chain and an order -> alert trace, drawn across the functions it spans', async () => {
    const aws = offline as Offline
    // An upload (its thumbnail follows through the bucket event) ...
    const width = 300
    const height = 200
    const data = new Uint8Array(width * height * 4)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([(x * 255) / width, (y * 255) / height, 160, 255], (y * width + x) * 4)
    const upload = await fetch(`${aws.url}/uploads`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(await encodePng({ width, height, data })) })
    expect(upload.status).to.equal(201)
    const { key } = (await upload.json()) as { key: string }
    await ended(aws.console, '-thumbnails', (invocation) => invocation.lines.some((line) => line.text.includes(key)))
    // ... and an order large enough to publish an alert, in a trace of its own.
    const traceId = randomBytes(16).toString('hex')
    const sqs = sqsClient(aws.services)
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'polycloud-demo-dev-orders' }))
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: JSON.stringify({ id: `order-${randomBytes(3).toString('hex')}`, items: [{ sku: 'camera' }, { sku: 'lens' }], total: 2400 }),
        MessageAttributes: { traceparent: { DataType: 'String', StringValue: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } },
      }),
    )
    await ended(aws.console, '-alerts', (invocation) => invocation.traceId === traceId)

    const { chromium: browserType } = await import('playwright-core')
    const browser = await browserType.launch({ executablePath: executablePath as string, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      mkdirSync(SCREENSHOTS, { recursive: true })
      await page.goto(`${aws.console}/`)
      const functions = await page.$$eval('#invocations tr.invocation td:nth-child(2)', (cells) => cells.map((cell) => cell.textContent ?? ''))
      for (const fn of ['uploads', 'thumbnails', 'orders', 'alerts']) expect(functions, fn).to.include(`polycloud-demo-dev-${fn}`)
      await page.screenshot({ path: join(SCREENSHOTS, 'console.png'), fullPage: true })

      // The order's trace, reached by its link as a user would.
      await page.click(`a[href="/traces/${traceId}"]`)
      await page.waitForSelector('#timeline .row')
      const rows = await page.$$eval('#timeline .row', (elements) =>
        elements.map((row) => {
          const bar = row.querySelector('.bar') as HTMLElement
          const lane = row.querySelector('.lane') as HTMLElement
          const box = bar.getBoundingClientRect()
          const laneBox = lane.getBoundingClientRect()
          return { fn: row.getAttribute('data-function'), left: box.left - laneBox.left, width: box.width, lane: laneBox.width }
        }),
      )
      expect(rows.map((row) => row.fn)).to.deep.equal(['polycloud-demo-dev-orders', 'polycloud-demo-dev-alerts'])
      for (const row of rows) {
        expect(row.width, `${row.fn}'s bar is drawn`).to.be.greaterThan(0)
        expect(row.left + row.width, `${row.fn}'s bar stays in its lane`).to.be.at.most(row.lane + 1)
      }
      // The alert starts after the order did: its bar begins to the right of the order's start.
      expect((rows[1] as { left: number }).left).to.be.greaterThan((rows[0] as { left: number }).left)
      expect(await page.textContent('body')).to.include('alert published')
      await page.screenshot({ path: join(SCREENSHOTS, 'console-trace.png'), fullPage: false })
      expect(existsSync(join(SCREENSHOTS, 'console.png')) && existsSync(join(SCREENSHOTS, 'console-trace.png'))).to.equal(true)
    } finally {
      await browser.close()
    }
  })
})
