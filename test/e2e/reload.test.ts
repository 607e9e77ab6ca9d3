/**
 * `npm start` serves an edited handler on the next request, on every provider (issue 18.2): a copy of a small
 * service (test/fixtures/services/reload) in a temporary folder, served by `serverless offline`; its handler and a
 * module it imports are edited, and the next requests get the new code; a syntax error leaves the last good build
 * answering, with the error printed once however often the broken file is saved; a fix is served again. AWS is
 * serverless-esbuild's watcher (and serverless-offline's reload); the others are the plugin's own.
 */
import { expect } from 'chai'
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, freePort, startServerless, type ServerlessProcess } from '../helpers/serverless.ts'

const FIXTURE = join(ROOT, 'test/fixtures/services/reload')

/** How each provider's `serverless offline` is started, and where the route answers. */
const PROVIDERS: Record<string, (port: number) => { args: string[]; base: (process: ServerlessProcess) => string }> = {
  aws: (port) => ({ args: ['--httpPort', String(port), '--lambdaPort', '0'], base: () => `http://127.0.0.1:${port}` }),
  azure: (port) => ({ args: ['--port', String(port)], base: () => `http://127.0.0.1:${port}/api` }),
  google: () => ({ args: ['--port', '0'], base: (process) => /routes at (http:\/\/\S+):/.exec(process.stderr())?.[1] as string }),
  cloudflare: (port) => ({ args: ['--port', String(port)], base: () => `http://127.0.0.1:${port}` }),
}

const handler = (version: number, tail = ''): string =>
  `import { http, json } from '@polycloud/core'\nimport { RELEASE } from './release.js'\n\nexport default http(() => json({ version: ${version}, release: RELEASE }))${tail}\n`

/** Waits until `check` holds, polling; fails with what was last seen after `ms`. */
async function until<T>(what: string, ms: number, read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms
  let last: T | undefined
  for (;;) {
    try {
      last = await read()
      if (check(last)) return last
    } catch (error) {
      last = error as T
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms; last seen ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

const occurrences = (text: string, part: string): number => text.split(part).length - 1

for (const [provider, options] of Object.entries(PROVIDERS)) {
  describe(`e2e: serverless offline on ${provider} serves an edited handler on the next request`, function () {
    this.timeout(240_000)
    let dir: string
    let offline: ServerlessProcess
    let base: string
    /** What the command printed (stdout and stderr) since `mark` (a mark from `mark()`). */
    const mark = (): [number, number] => [offline.stdout().length, offline.stderr().length]
    const since = ([out, err]: [number, number]): string => `${offline.stdout().slice(out)}\n${offline.stderr().slice(err)}`
    const version = async (): Promise<{ version: number; release: string }> => {
      const response = await fetch(`${base}/version`)
      if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`)
      return (await response.json()) as { version: number; release: string }
    }

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `polycloud-reload-${provider}-`))
      cpSync(FIXTURE, dir, { recursive: true })
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'polycloud-reload', private: true, type: 'module' }))
      const { args, base: baseOf } = options(await freePort())
      offline = await startServerless(['offline', ...args], { cwd: dir, env: { POLYCLOUD_PROVIDER: provider }, timeoutMs: 120_000 })
      base = baseOf(offline)
    })

    after(async () => {
      await offline?.stop()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it('serves the handler as started', async () => {
      expect(await version()).to.deep.equal({ version: 1, release: 'first' })
    })

    it('serves an edit of the handler, then of a module it imports, on the next request', async () => {
      writeFileSync(join(dir, 'handlers/version.ts'), handler(2))
      await until('the edited handler', 90_000, version, (body) => body.version === 2)
      writeFileSync(join(dir, 'handlers/release.ts'), "export const RELEASE = 'second'\n")
      expect(await until('the edited module', 90_000, version, (body) => body.release === 'second')).to.deep.equal({ version: 2, release: 'second' })
    })

    it('keeps the last good build serving through a syntax error, printed once, and serves the fix', async () => {
      const before = mark()
      writeFileSync(join(dir, 'handlers/version.ts'), handler(3, ' BROKEN'))
      await until('the error printed', 90_000, async () => since(before), (text) => text.includes('"BROKEN"'))
      // The same broken file saved again, and the handler asked meanwhile: still the last good build, no new print.
      writeFileSync(join(dir, 'handlers/version.ts'), handler(3, ' BROKEN'))
      for (let i = 0; i < 8; i++) {
        expect(await version()).to.deep.equal({ version: 2, release: 'second' })
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      const printed = since(before)
      expect(occurrences(printed, 'Expected ";" but found "BROKEN"'), printed).to.equal(1)
      writeFileSync(join(dir, 'handlers/version.ts'), handler(4))
      expect(await until('the fixed handler', 90_000, version, (body) => body.version === 4)).to.deep.equal({ version: 4, release: 'second' })
    })

    // On AWS a module that throws when it loads is a function that fails, as deployed (a 500, the cause in the
    // terminal); where the plugin swaps builds in, the new build is refused and the last good one serves.
    if (provider !== 'aws') {
      it('refuses a build whose module throws when it loads: the last good build serves, the error printed once', async () => {
        const before = mark()
        writeFileSync(join(dir, 'handlers/release.ts'), "export const RELEASE = 'third'\nthrow new Error('release exploded at load')\n")
        // The runtime prints the load error as it happens; the plugin's line comes once the last good build is back.
        await until('the refused build reported', 90_000, async () => since(before), (text) => text.includes('release exploded at load') && text.includes('The rebuild after a change to'))
        for (let i = 0; i < 4; i++) {
          expect(await version()).to.deep.equal({ version: 4, release: 'second' })
          await new Promise((resolve) => setTimeout(resolve, 500))
        }
        const printed = since(before)
        expect(occurrences(printed, 'The rebuild after a change to'), printed).to.equal(1)
        writeFileSync(join(dir, 'handlers/release.ts'), "export const RELEASE = 'fourth'\n")
        expect(await until('the fixed module', 90_000, version, (body) => body.release === 'fourth')).to.deep.equal({ version: 4, release: 'fourth' })
      })
    }
  })
}
