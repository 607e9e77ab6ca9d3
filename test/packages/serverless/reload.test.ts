import { expect } from 'chai'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildInputs, hotReload, watchedInputs, type Build } from 'serverless-polycloud/reload'

interface TestBuild extends Build {
  readonly id: number
}

/** Polls until `check` holds (file events arrive asynchronously); fails after `ms`. */
async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('serverless/reload: hot reload of the local emulations', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'polycloud-reload-unit-'))
    mkdirSync(join(dir, 'handlers'))
    mkdirSync(join(dir, 'node_modules', 'lib'), { recursive: true })
    writeFileSync(join(dir, 'handlers', 'a.ts'), 'a')
    writeFileSync(join(dir, 'node_modules', 'lib', 'index.js'), 'lib')
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it("reads esbuild's metafile inputs as absolute paths and watches only the service's own files", () => {
    const inputs = buildInputs({ inputs: { 'handlers/a.ts': { bytes: 1, imports: [] }, 'node_modules/lib/index.js': { bytes: 1, imports: [] }, '(disabled):fs': { bytes: 0, imports: [] } }, outputs: {} }, dir)
    expect(inputs).to.deep.equal([join(dir, 'handlers/a.ts'), join(dir, 'node_modules/lib/index.js')])
    expect(watchedInputs([...inputs, join(dir, '.polycloud/aws/a.js'), join(dir, 'handlers/gone.ts')])).to.deep.equal([join(dir, 'handlers/a.ts')])
  })

  it('rebuilds once after a burst of changes, swaps the build in, and discards the one it replaced', async () => {
    const inputs = [join(dir, 'handlers', 'a.ts'), join(dir, 'node_modules', 'lib', 'index.js')]
    let builds = 0
    const swapped: Array<[number, number]> = []
    const discarded: number[] = []
    const notices: string[] = []
    const reloader = hotReload<TestBuild>({
      current: { id: 0, inputs },
      build: async () => ({ id: ++builds, inputs }),
      swap: async (next, previous) => void swapped.push([next.id, previous.id]),
      discard: (build) => void discarded.push(build.id),
      log: { notice: (line) => notices.push(line), error: (line) => expect.fail(line) },
      quietMs: 100,
    })
    try {
      for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'handlers', 'a.ts'), `a${i}`)
      await eventually(() => swapped.length === 1)
      await reloader.idle()
      expect(swapped).to.deep.equal([[1, 0]])
      expect(discarded).to.deep.equal([0])
      expect(reloader.current().id).to.equal(1)
      expect(notices[0]).to.match(/^Reloaded after a change to .*handlers\/a\.ts \(\d+ ms\): the next request runs the new code$/)
      // A dependency's file is not watched; a new module beside the sources is (it is about to be imported).
      writeFileSync(join(dir, 'node_modules', 'lib', 'index.js'), 'changed')
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect(builds).to.equal(1)
      writeFileSync(join(dir, 'handlers', 'b.ts'), 'b')
      await eventually(() => swapped.length === 2)
    } finally {
      await reloader.stop()
    }
    // Stopping discards the build served last.
    expect(discarded).to.deep.equal([0, 1, 2])
  })

  it('keeps the last good build through failed rebuilds and swaps, printing each error once', async () => {
    const inputs = [join(dir, 'handlers', 'a.ts')]
    const outcomes: Array<'ok' | 'syntax' | 'other' | 'load'> = ['syntax', 'syntax', 'other', 'load', 'ok', 'syntax']
    let builds = 0
    const errors: string[] = []
    const discarded: number[] = []
    const reloader = hotReload<TestBuild>({
      current: { id: 0, inputs },
      async build() {
        const outcome = outcomes[builds++]
        if (outcome === 'syntax') throw new Error('handlers/a.ts:1:2: Expected ";"')
        if (outcome === 'other') throw new Error('handlers/a.ts:1:9: Unexpected end of file')
        return { id: builds, inputs }
      },
      async swap(next) {
        if (outcomes[next.id - 1] === 'load') throw new Error('the new build was not loaded: boom')
      },
      discard: (build) => void discarded.push(build.id),
      log: { notice() {}, error: (line) => errors.push(line) },
      quietMs: 50,
    })
    const save = async (count: number): Promise<void> => {
      writeFileSync(join(dir, 'handlers', 'a.ts'), String(Math.random()))
      await eventually(() => builds === count)
      await reloader.idle()
    }
    try {
      await save(1)
      await save(2)
      expect(errors).to.have.length(1)
      expect(errors[0]).to.match(/^The rebuild after a change to .*handlers\/a\.ts failed; the last good build keeps serving until the next change\.\nhandlers\/a\.ts:1:2: Expected ";"$/)
      await save(3)
      await save(4)
      expect(errors.map((line) => line.split('\n')[1])).to.deep.equal(['handlers/a.ts:1:2: Expected ";"', 'handlers/a.ts:1:9: Unexpected end of file', 'the new build was not loaded: boom'])
      // The build whose swap failed was discarded; the first one serves still.
      expect(discarded).to.deep.equal([4])
      expect(reloader.current().id).to.equal(0)
      await save(5)
      expect(reloader.current().id).to.equal(5)
      // After a success, the same error is news again.
      await save(6)
      expect(errors).to.have.length(4)
    } finally {
      await reloader.stop()
    }
  })
})
