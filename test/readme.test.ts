/**
 * The README's promises: its code samples are the files they name, its commands answer what it shows (the demo under
 * serverless offline, `invoke local` of the SQS example), POLYCLOUD_PROVIDER takes what it says, and the
 * provider/command table says what each provider's target serves.
 */
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readService } from 'serverless-polycloud/model'
import type { ProviderCommands, ProviderPlan } from 'serverless-polycloud/provider'
import { PROVIDERS, PROVIDER_NAMES, providerName, readerOf } from 'serverless-polycloud/providers/index'
import { execFileSync } from 'node:child_process'
import { signature } from '../handlers/chat.ts'
import { decodePng } from '../handlers/lib/png.ts'
import { ROOT, serverless, startOffline, type Offline } from './helpers/serverless.ts'
import { waitFor } from './portability/target.ts'

const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** Fenced blocks: language and lines. */
function blocks(text: string): Array<{ lang: string; lines: string[] }> {
  const out: Array<{ lang: string; lines: string[] }> = []
  const pattern = /^( *)```(\w*)\n([\s\S]*?)^\1```$/gm
  for (const match of text.matchAll(pattern)) {
    const indent = (match[1] as string).length
    out.push({ lang: match[2] as string, lines: (match[3] as string).split('\n').slice(0, -1).map((line) => line.slice(indent)) })
  }
  return out
}

/** The section of the README under a `## ` heading. */
function section(title: string): string {
  const start = README.indexOf(`## ${title}\n`)
  expect(start, title).to.not.equal(-1)
  const end = README.indexOf('\n## ', start + 1)
  return README.slice(start, end === -1 ? undefined : end)
}

describe('README: code samples are the files they name', () => {
  const named = blocks(README).filter(({ lines }) => /^(\/\/|#) [\w./-]+\.(ts|yml|json)( \(excerpt\))?$/.test(lines[0] ?? ''))

  it('has samples that name their file', () => {
    expect(named.length).to.be.at.least(2)
  })

  for (const { lines } of named) {
    const [marker, ...body] = lines as [string, ...string[]]
    const [, file, excerpt] = /^(?:\/\/|#) (\S+)( \(excerpt\))?$/.exec(marker) as unknown as [string, string, string | undefined]
    it(`${file}${excerpt ? ' (excerpt)' : ''}`, () => {
      const text = readFileSync(join(ROOT, file), 'utf8')
      if (!excerpt) {
        expect(`${body.join('\n')}\n`).to.equal(text)
        return
      }
      const fileLines = text.split('\n')
      let at = 0
      for (const line of body) {
        const found = fileLines.indexOf(line, at)
        expect(found, `${JSON.stringify(line)} in ${file}, in order`).to.not.equal(-1)
        at = found + 1
      }
    })
  }
})

describe('README: POLYCLOUD_PROVIDER and the providers table', () => {
  it('says what POLYCLOUD_PROVIDER accepts, and the plugin accepts exactly that', () => {
    const sentence = /It accepts (.*?); anything else/s.exec(README)?.[1] as string
    const spellings = [...sentence.matchAll(/`([a-z]+)`/g)].map((match) => match[1] as string)
    for (const spelling of spellings) expect(providerName(spelling), spelling).to.not.equal(undefined)
    for (const provider of PROVIDER_NAMES) expect(spellings, provider).to.include(provider)
    expect(providerName('oracle')).to.equal(undefined)
  })

  it("says which commands each provider serves, as its definition does", () => {
    const rows = section('Providers and commands')
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
    const header = section('Providers and commands').split('\n').find((line) => line.startsWith('| command'))!.split('|').slice(2, -1).map((cell) => cell.trim())
    expect(header).to.deep.equal([...PROVIDER_NAMES])
    const commands: Record<string, keyof ProviderCommands<ProviderPlan>> = {
      '`package`': 'package',
      '`deploy`': 'deploy',
      '`remove`': 'remove',
      '`info`': 'info',
      '`invoke`': 'invoke',
      '`invoke local`': 'invokeLocal',
      '`offline`': 'offline',
    }
    expect(rows.map((row) => row[0])).to.deep.equal(Object.keys(commands))
    for (const row of rows) {
      PROVIDERS.forEach((provider, index) => {
        let pending = false
        try {
          const model = readService({ service: 's', stage: 'dev', servicePath: ROOT, provider: {}, functions: { x: { handler: 'handlers/hello.default', events: [{ route: 'GET /x' }] } } }, readerOf(provider))
          provider.plan(model, { command: '' })
        } catch (error) {
          pending = /not supported by this version/.test((error as Error).message)
        }
        // AWS hands its commands to the framework's own machinery; the others serve them through their definition.
        const serves = provider.handOver !== undefined || (!pending && typeof provider.commands[commands[row[0] as string] as keyof ProviderCommands<ProviderPlan>] === 'function')
        expect(row[index + 1], `${row[0]} on ${provider.name}`).to.equal(serves ? 'yes' : 'not yet')
      })
    }
  })
})

/**
 * A `curl` command line of the README as a fetch: -X, -H, -d, --data-urlencode (several joined with `&`, as curl
 * does), --data-binary @file; a trailing `# comment` ignored. `from` (the README's address) is read as `base`.
 */
function curlToFetch(line: string, base: string, from = 'http://127.0.0.1:3000'): { url: string; init: RequestInit } {
  const tokens = [...line.replaceAll(from, base).matchAll(/'([^']*)'|(\S+)/g)]
  const comment = tokens.findIndex((match) => match[2]?.startsWith('#'))
  return curlWordsToFetch((comment === -1 ? tokens : tokens.slice(0, comment)).map((match) => match[1] ?? match[2]) as string[])
}

/** curl's words (as the shell passes them, `curl` first) as a fetch. */
function curlWordsToFetch(words: readonly string[]): { url: string; init: RequestInit } {
  expect(words[0]).to.equal('curl')
  const headers: Record<string, string> = {}
  let method = 'GET'
  let body: string | Uint8Array<ArrayBuffer> | undefined
  const form: string[] = []
  let url = ''
  for (let i = 1; i < words.length; i++) {
    const word = words[i] as string
    if (word === '-X') method = words[++i] as string
    else if (word === '-H') {
      const [name, ...value] = (words[++i] as string).split(':')
      headers[(name as string).trim()] = value.join(':').trim()
    } else if (word === '-d') body = words[++i]
    else if (word === '--data-urlencode') {
      const [name, ...value] = (words[++i] as string).split('=')
      form.push(`${name}=${encodeURIComponent(value.join('='))}`)
    } else if (word === '--data-binary') body = new Uint8Array(readFileSync(join(ROOT, (words[++i] as string).replace(/^@/, ''))))
    else if (word === '-i') continue
    else if (word === '-o') i++ // the file curl writes: the test reads the response instead
    else url = word
  }
  if (form.length > 0) {
    body = form.join('&')
    headers['content-type'] ??= 'application/x-www-form-urlencoded'
  }
  if (body !== undefined && method === 'GET') method = 'POST'
  return { url, init: { method, headers, ...(body !== undefined ? { body } : {}) } }
}

/** A block's commands, continuation lines (`\` at the end) joined. */
function commands(lines: readonly string[]): string[] {
  const out: string[] = []
  let current = ''
  for (const line of lines) {
    current += line.trimStart().replace(/\\$/, '')
    if (line.endsWith('\\')) current += ' '
    else {
      out.push(current)
      current = ''
    }
  }
  return out
}

describe('README: the commands answer what it shows', function () {
  this.timeout(180_000)
  let offline: Offline

  before(async () => {
    offline = await startOffline()
  })

  after(async () => {
    await offline?.stop()
  })

  it('Quick start: every curl, against the demo under serverless offline', async () => {
    const lines = blocks(section('Quick start')).find(({ lines }) => lines.some((line) => line.startsWith('curl ')))!.lines
    let checked = 0
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string
      if (!line.startsWith('curl ')) continue
      const expected = (lines[i + 1] as string).replace(/^# /, '')
      const { url, init } = curlToFetch(line, offline.url)
      const response = await fetch(url, init)
      const text = await response.text()
      if (expected.includes('<the request id>')) {
        expect(JSON.parse(text)).to.have.keys(['error', 'requestId'])
        expect(JSON.parse(text).error).to.equal(JSON.parse(expected.replace('"<the request id>"', '""')).error)
      } else {
        expect(JSON.parse(text), line).to.deep.equal(JSON.parse(expected))
      }
      checked++
    }
    expect(checked).to.equal(6)
  })

  it('Quick start: the upload comes back byte for byte, and its thumbnail once the bucket event has made it', async () => {
    const pixel = readFileSync(join(ROOT, 'events/pixel.png'))
    // Kept by the first case's POST /uploads; posted again (the same key) so that this case stands alone.
    const posted = await fetch(`${offline.url}/uploads`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: pixel })
    expect(posted.status).to.equal(201)
    await posted.body?.cancel()
    const block = blocks(section('Quick start')).find(({ lines }) => lines.some((line) => line.includes('/thumbnails/')))!
    const [upload, thumbnail] = block.lines.map((line) => curlToFetch(line, offline.url))
    const back = await fetch(upload!.url, upload!.init)
    expect(back.headers.get('content-type')).to.equal('image/png')
    expect(Buffer.from(await back.arrayBuffer()).equals(pixel)).to.equal(true)
    const made = await waitFor('the thumbnail', async () => {
      const response = await fetch(thumbnail!.url, thumbnail!.init)
      if (response.status !== 404) return response
      await response.body?.cancel()
      return undefined
    })
    expect(made.status).to.equal(200)
    expect(made.headers.get('content-type')).to.equal('image/png')
    expect(await decodePng(new Uint8Array(await made.arrayBuffer()))).to.include({ width: 1, height: 1 })
  })

  it('Quick start: the local AWS services answer every curl, and each event reaches its function', async () => {
    const block = blocks(section('Quick start')).find(({ lines }) => lines.some((line) => line.startsWith('curl') && line.includes('127.0.0.1:4566')))!
    const curls = commands(block.lines).filter((command) => command.startsWith('curl '))
    expect(curls).to.have.length(5)
    for (const command of curls) {
      const { url, init } = curlToFetch(command, offline.services, 'http://127.0.0.1:4566')
      const response = await fetch(url, init)
      expect(response.status, `${command}: ${await response.clone().text()}`).to.be.within(200, 299)
      await response.body?.cancel()
    }
    // Each function ran, as the comments say.
    const report = JSON.parse(await offline.waitForLine(/"message":"nightly report"/, 60_000)) as Record<string, unknown>
    expect(report.function).to.equal('polycloud-demo-dev-report')
    expect(JSON.parse(await offline.waitForLine(/"message":"order accepted"/, 60_000))).to.include({ orderId: 'o-1', items: 1, total: 12.5, attempt: 1 })
    expect(JSON.parse(await offline.waitForLine(/"message":"alert"/, 60_000))).to.include({ level: 'warn', body: 'disk almost full' })
    expect(JSON.parse(await offline.waitForLine(/"message":"thumbnail needed".*"key":"images\/cat\.png"/, 60_000))).to.include({ key: 'images/cat.png', size: 70, target: 'thumbnails/cat.png' })
    expect(JSON.parse(await offline.waitForLine(/"message":"thumbnail written".*"key":"images\/cat\.png"/, 60_000))).to.include({ target: 'thumbnails/cat.png', width: 1, height: 1 })
  })

  it('The chatbot and IoT flows: the openssl one-liner signs as the webhook checks, and every curl answers what it shows', async function () {
    this.timeout(120_000)
    const [chat, iot] = blocks(section('The chatbot and IoT flows, step by step')).filter(({ lang }) => lang === 'sh') as unknown as [{ lines: string[] }, { lines: string[] }]
    // The chat block run by bash as written (its own conversation, so that its first message is the first turn), with
    // curl a function printing its words: what the shell passes curl, quotes and variables expanded.
    const conversation = `demo-${Date.now().toString(36)}`
    const script = [
      "curl() { printf '%s\\0' \"$@\"; printf '\\1'; }",
      ...chat.lines.filter((line) => !line.startsWith('#')).map((line) => line.replaceAll('http://127.0.0.1:3000/chat/demo ', `${offline.url}/chat/${conversation} `)),
      "printf '%s\\0' \"$TS\" \"$BODY\" \"$SIG\"",
    ].join('\n')
    const records = execFileSync('bash', ['-euc', script], { encoding: 'utf8' }).split('\u0001')
    const [ts, body, sig] = (records.pop() as string).split('\u0000') as [string, string, string]
    expect(Math.abs(Number(ts) - Date.now() / 1000)).to.be.below(60)
    expect(sig, 'the signature openssl makes').to.equal(await signature('local-chat-secret', ts, body))
    const expected = chat.lines.filter((_, index) => chat.lines[index - 1]?.startsWith('curl ')).map((line) => line.replace(/^# /, '').replaceAll('"conversation":"demo"', `"conversation":"${conversation}"`))
    expect(records).to.have.length(expected.length).and.length(2)
    for (const [index, record] of records.entries()) {
      const { url, init } = curlWordsToFetch(['curl', ...record.split('\u0000').slice(0, -1)])
      const response = await fetch(url, init)
      expect(await response.json(), url).to.deep.equal(JSON.parse(expected[index] as string))
    }
    // The IoT block: the two readings queued, worked, and the device's state read back once the worker has written it.
    const lines = iot.lines
    const curls = lines.flatMap((line, index) => (line.startsWith('curl ') ? [{ line, expected: (lines[index + 1] as string).replace(/^# /, '') }] : []))
    expect(curls).to.have.length(4)
    for (const { line, expected } of curls.slice(0, 3)) {
      const { url, init } = curlToFetch(line, offline.url)
      const response = await fetch(url, init)
      expect(await response.json(), line).to.deep.equal(JSON.parse(expected))
    }
    const last = curls[3] as { line: string; expected: string }
    const shown = JSON.parse(last.expected.replace('"<when the worker wrote it>"', 'null')) as Record<string, unknown>
    const state = await waitFor('the device state with both readings', async () => {
      const { url, init } = curlToFetch(last.line, offline.url)
      const response = await fetch(url, init)
      const value = response.status === 200 ? ((await response.json()) as Record<string, unknown>) : (await response.body?.cancel(), undefined)
      return value?.count === shown.count ? value : undefined
    })
    expect(Number.isNaN(Date.parse(state.updated as string)), `updated: ${String(state.updated)}`).to.equal(false)
    expect({ ...state, updated: null }).to.deep.equal(shown)
    // The alert of the reading above 30, through the alerts topic, as the README says.
    expect(JSON.parse(await offline.waitForLine(/"message":"alert".*thermo-1 above 30/, 60_000))).to.include({ level: 'warn', subject: 'thermo-1 above 30' })
  })

  it('Local emulation: invoke local of events/orders.json fails only the order without items', async () => {
    const run = await serverless(['invoke', 'local', '-f', 'orders', '--path', 'events/orders.json'], { timeoutMs: 90_000 })
    expect(run.code, run.stderr).to.equal(0)
    const shown = blocks(section('Local emulation')).find(({ lines }) => lines[0]?.includes('events/orders.json'))!.lines.slice(1).map((line) => line.replace(/^# /, ''))
    const result = shown.slice(3).join('\n')
    expect(run.stdout).to.include(result)
    const logs = run.stdout.split('\n').filter((line) => line.startsWith('{"level"')).map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(logs.map((log) => [log.level, log.message])).to.deep.equal([
      ['info', 'order accepted'],
      ['error', 'event failed'],
      ['error', 'invocation'],
    ])
    expect(logs[0]).to.include({ orderId: 'o-1', items: 2, total: 12.5, attempt: 1, queue: 'polycloud-demo-dev-orders' })
    expect(logs[1]).to.include({ eventId: 'order-bad-2' })
    expect((logs[1]!.error as { message: string }).message).to.equal('order o-2: no items')
    // The log lines the README shows (with `...` for what changes per run) are these.
    expect(shown[0]).to.match(/^\{"level":"info","message":"order accepted",\.\.\.,"orderId":"o-1","items":2,"total":12\.5,"attempt":1,"queue":"polycloud-demo-dev-orders"\}$/)
    expect(shown[1]).to.match(/^\{"level":"error","message":"event failed",\.\.\.,"eventId":"order-bad-2","error":\{"name":"Error","message":"order o-2: no items",\.\.\.\}\}$/)
    // The batch's summary line: one message of two failed.
    expect(logs[2]).to.include({ polycloud: 'invocation', kind: 'queue', outcome: 'error', events: 2, failed: 1 })
    expect(shown[2]).to.match(/^\{"level":"error","message":"invocation",\.\.\.,"polycloud":"invocation","kind":"queue","outcome":"error","events":2,"failed":1,\.\.\.\}$/)
  })
})

describe('README: One region for every provider', () => {
  it('shows the table the plugin reads regions with', async () => {
    const { REGION_AREAS } = await import('serverless-polycloud/regions')
    const rows = section('One region for every provider')
      .split('\n')
      .filter((line) => line.startsWith('| ') && !line.startsWith('| area'))
      .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
    expect(rows).to.deep.equal(REGION_AREAS.map((area) => [area.area, area.aws, area.azure, area.google]))
  })
})
