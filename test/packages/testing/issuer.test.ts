/** `polycloud issuer` and `polycloud token`: a development issuer and tokens its JWKS verifies, from one key file. */
import { expect } from 'chai'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { startIssuer } from '@polycloud/testing'

const CLI = fileURLToPath(new URL('../../../packages/testing/bin/polycloud.js', import.meta.url))

function token(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'token', ...args], { timeout: 20_000 }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout.trim())))
  })
}

describe('testing/issuer', function () {
  this.timeout(30_000)
  const dir = mkdtempSync(join(tmpdir(), 'polycloud-issuer-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('polycloud token signs with the key file a polycloud issuer publishes, across restarts', async () => {
    const keys = join(dir, 'dev-issuer.json')
    const first = await token(['--keys', keys, '--issuer', 'http://127.0.0.1:4000', '--sub', 'ada', '--scope', 'profile notes:read'])
    expect(statSync(keys).mode & 0o777).to.equal(0o600)
    const child = spawn(process.execPath, [CLI, 'issuer', '--port', '0', '--keys', keys], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const found = /polycloud issuer: (http:\/\/127\.0\.0\.1:\d+)/.exec(chunk.toString())
          if (found) resolve(found[1] as string)
        })
        child.once('exit', (code) => reject(new Error(`issuer exited with ${code}`)))
      })
      const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`))
      const { payload } = await jwtVerify(first, jwks, { issuer: 'http://127.0.0.1:4000', audience: 'polycloud-demo' })
      expect(payload).to.include({ sub: 'ada', scope: 'profile notes:read' })
      const discovery = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as { jwks_uri: string }
      expect(discovery.jwks_uri).to.equal(`${url}/.well-known/jwks.json`)
    } finally {
      child.kill('SIGINT')
      await new Promise((resolve) => child.once('exit', resolve))
    }
    expect(child.exitCode).to.equal(0)
  })

  it('startIssuer signs tokens, publishes rotated keys, and counts JWKS fetches', async () => {
    const issuer = await startIssuer({ audience: 'api' })
    try {
      const jwks = createRemoteJWKSet(new URL(`${issuer.url}/.well-known/jwks.json`))
      await jwtVerify(await issuer.sign({ sub: 'x' }), jwks, { issuer: issuer.url, audience: 'api' })
      await issuer.rotate()
      expect(issuer.jwks().keys.map((key) => key.kid)).to.deep.equal(['polycloud-dev-1', 'polycloud-dev-2'])
      const rotated = await issuer.sign({ sub: 'y' })
      const { protectedHeader } = await jwtVerify(rotated, createRemoteJWKSet(new URL(`${issuer.url}/.well-known/jwks.json`)), { issuer: issuer.url, audience: 'api' })
      expect(protectedHeader.kid).to.equal('polycloud-dev-2')
      expect(issuer.fetches).to.equal(2)
      const noAudience = await issuer.sign({ aud: null })
      expect(JSON.parse(Buffer.from(noAudience.split('.')[1] as string, 'base64url').toString())).to.not.have.property('aud')
    } finally {
      await issuer.stop()
    }
  })

  it('an issuer set unreachable resets every connection, and answers again on the same URL once reachable', async () => {
    const issuer = await startIssuer()
    try {
      const discovery = `${issuer.url}/.well-known/openid-configuration`
      expect((await fetch(discovery)).status).to.equal(200)
      issuer.setReachable(false)
      const failure = await fetch(discovery).then(() => undefined, (error: Error) => error)
      expect(failure).to.be.instanceOf(TypeError)
      issuer.setReachable(true)
      expect((await fetch(discovery)).status).to.equal(200)
    } finally {
      await issuer.stop()
    }
  })
})
