import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EVENTS_DIR } from '../../helpers/fixtures.ts'

const CLI = fileURLToPath(new URL('../../../packages/testing/bin/polycloud.js', import.meta.url))

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    })
  })
}

describe('testing/cli: polycloud inspect', () => {
  it('prints the neutral events of a payload as JSON', async () => {
    const result = await run('inspect', '--provider', 'aws', join(EVENTS_DIR, 'aws/sqs/lgo__sqs-event.json'))
    expect(result.code).to.equal(0)
    const output = JSON.parse(result.stdout)
    expect(output).to.deep.include({ provider: 'aws', adapter: 'aws:sqs', kind: 'queue', invalid: 0 })
    expect(output.events[0]).to.include({ id: 'MessageID_1', body: 'Message Body' })
  })

  it('narrows by handler kind', async () => {
    const result = await run('inspect', '--provider=aws', '--kind', 'storage', join(EVENTS_DIR, 'aws/s3/ptts__sqs-event.json'))
    expect(JSON.parse(result.stdout).adapter).to.equal('aws:sqs-s3')
  })

  it('exits 1 with the reason when the payload is of another provider', async () => {
    const result = await run('inspect', '--provider', 'gcp', join(EVENTS_DIR, 'aws/sqs/lgo__sqs-event.json'))
    expect(result.code).to.equal(1)
    expect(result.stdout).to.equal('')
    expect(result.stderr).to.match(/^polycloud inspect: gcp: no adapter recognises this input \(tried: .*\); it is an object with keys: Records\n$/)
  })

  it('exits 1 for a payload that is not JSON, and 2 for bad usage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polycloud-'))
    const file = join(dir, 'broken.json')
    writeFileSync(file, '{"Records": [')
    const broken = await run('inspect', '--provider', 'aws', file)
    expect(broken.code).to.equal(1)
    expect(broken.stderr).to.include('is not valid JSON')
    const usage = await run('inspect', '--provider', 'azurex', file)
    expect(usage.code).to.equal(2)
    expect(usage.stderr).to.include('unknown provider azurex')
  })

  it('shows a message whose body is flagged base64 but is not, marking the body undecodable, and exits 0 with a note', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polycloud-'))
    const file = join(dir, 'push.json')
    writeFileSync(file, JSON.stringify({ message: { messageId: 'm-1', data: 'not base64!', publishTime: '2024-05-01T10:00:00Z' }, subscription: 'projects/p/subscriptions/s' }))
    const result = await run('inspect', '--provider', 'gcp', '--kind', 'queue', file)
    expect(result.code).to.equal(0)
    expect(JSON.parse(result.stdout).events[0]).to.deep.include({ id: 'm-1', queue: 's', bodyUndecodable: 'message m-1: data is not valid base64' })
    expect(result.stderr).to.equal('polycloud inspect: 1 body(ies) cannot be decoded (marked "bodyUndecodable"): the handler\'s read fails\n')
  })
})
