/**
 * serverless offline answers as API Gateway and Lambda do (packages/serverless/src/providers/aws/offline.ts):
 * request bodies of every content type byte for byte, a function that fails to load answered 500/502 without its
 * stack (the cause in the terminal), Lambda's 6 MB limits with API Gateway's statuses, and stack traces in the
 * logs that point at the TypeScript handlers. Both APIs: HTTP API (payload 2.0) and REST (payload 1.0).
 */
import { expect } from 'chai'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ROOT, startOffline, type Offline } from '../helpers/serverless.ts'

const SERVICE = join(ROOT, 'test/fixtures/services/truth')
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

const APIS = [
  { name: 'HTTP API', routes: 'http-api', prefix: '', failure: { status: 500, body: { message: 'Internal Server Error' } } },
  { name: 'REST API', routes: 'rest-api', prefix: '/dev', failure: { status: 502, body: { message: 'Internal server error' } } },
]

for (const api of APIS) {
  describe(`e2e: serverless offline tells the truth, ${api.name}`, function () {
    this.timeout(120_000)
    let offline: Offline
    const url = (path: string): string => `${offline.url}${api.prefix}${path}`

    before(async () => {
      offline = await startOffline({ routes: api.routes }, 90_000, SERVICE)
    })

    after(async () => {
      await offline?.stop()
    })

    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(64 * 1024)])
    const bodies: Array<[string | undefined, Buffer]> = [
      ['image/png', png],
      ['application/pdf', Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(4096)])],
      ['application/octet-stream', randomBytes(4096)],
      ['text/plain; charset=latin1', Buffer.from('caf\xe9 cr\xe8me', 'latin1')],
      ['application/json', Buffer.from(JSON.stringify({ city: 'Zürich', emoji: '🌍' }))],
      ['application/x-www-form-urlencoded', Buffer.from('a=1&b=%C3%A9')],
      [undefined, randomBytes(1024)],
    ]
    for (const [contentType, body] of bodies) {
      it(`passes a ${contentType ?? 'content-type-less'} body byte for byte, both ways`, async () => {
        const response = await fetch(url('/echo'), { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body: new Uint8Array(body) })
        expect(response.status).to.equal(200)
        const back = Buffer.from(await response.arrayBuffer())
        expect(response.headers.get('x-sha256'), 'the bytes the handler saw').to.equal(sha256(body))
        expect(sha256(back), 'the bytes the client got back').to.equal(sha256(body))
      })
    }

    it('passes JSON scalar bodies as sent (serverless-offline carried null as no body, "x" as x, false and 0 as values)', async () => {
      for (const contentType of ['application/json', 'application/vnd.api+json; charset=utf-8', undefined]) {
        for (const text of ['null', '"x"', 'false', '0', ' 42 ', 'true', '""']) {
          const body = Buffer.from(text)
          const response = await fetch(url('/echo'), { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body: new Uint8Array(body) })
          expect(response.status).to.equal(200)
          expect(response.headers.get('x-sha256'), `${text} as ${contentType}: the bytes the handler saw`).to.equal(sha256(body))
          expect(Buffer.from(await response.arrayBuffer()).toString('utf8')).to.equal(text)
        }
      }
    })

    it('answers a function that fails to load as API Gateway does, with the cause in the terminal only', async () => {
      const response = await fetch(url('/broken'))
      expect(response.status).to.equal(api.failure.status)
      const text = await response.text()
      expect(JSON.parse(text)).to.deep.equal(api.failure.body)
      expect(text).to.not.match(/stack|configuration service|broken\.ts/)
      expect(offline.stderr() + offline.stdout()).to.include('cannot reach the configuration service')
    })

    it("refuses a request whose event exceeds Lambda's 6 MB with 413", async () => {
      const response = await fetch(url('/echo'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a'.repeat(6_400_000) })
      expect(response.status).to.equal(413)
      expect(await response.json()).to.deep.equal({ message: 'Request Entity Too Large' })
      // A binary body travels base64-encoded: 4.8 MB of bytes is 6.4 MB of event.
      const binary = await fetch(url('/echo'), { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(randomBytes(4_800_000)) })
      expect(binary.status).to.equal(413)
      const fits = await fetch(url('/echo'), { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(randomBytes(4_500_000)) })
      expect(fits.status).to.equal(200)
      expect(offline.stderr()).to.match(/Lambda takes at most 6291456 \(6 MB\)/)
    })

    it("fails a response over Lambda's 6 MB as API Gateway does", async () => {
      expect((await fetch(url('/big?mb=5'))).status).to.equal(200)
      const response = await fetch(url('/big?mb=7'))
      expect(response.status).to.equal(api.failure.status)
      expect(await response.json()).to.deep.equal(api.failure.body)
      expect(offline.stderr()).to.match(/Lambda returns at most 6291556/)
    })

    it('logs stack traces that point at the TypeScript handler', async () => {
      const response = await fetch(url('/crash'))
      expect(response.status).to.equal(500)
      const line = await offline.waitForLine(/crash for the stack trace/, 10_000)
      const stack = (JSON.parse(line) as { error: { stack: string } }).error.stack
      expect(stack).to.match(/at explode \(.*handlers\/crash\.ts:4:9\)/)
      expect(stack).to.match(/handlers\/crash\.ts:7:\d+/)
    })
  })
}
