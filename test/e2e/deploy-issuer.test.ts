/**
 * A secured route whose issuer the cloud cannot reach is refused at `serverless deploy` on every provider, before
 * anything is bundled or sent: the demo's `/me` trusts `${env:JWT_ISSUER, 'http://127.0.0.1:4000'}`, the local
 * issuer, which no deployed function could fetch keys from. `serverless package` warns. No cloud is contacted: the
 * refusal comes at the framework's `initialize`, before any credential is looked for.
 */
import { expect } from 'chai'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, serverless } from '../helpers/serverless.ts'

/** Where the package runs below write (not the demo's .serverless, which other tests read). */
const PACKAGE_DIR = '.serverless-issuer-test'

const PLATFORMS: Record<string, string> = { aws: 'AWS Lambda', azure: 'Azure Functions', google: 'Google Cloud Functions', cloudflare: 'Cloudflare Workers' }

describe('e2e: deploy refuses an issuer the cloud cannot reach (every provider)', function () {
  this.timeout(240_000)

  after(() => rmSync(join(ROOT, PACKAGE_DIR), { recursive: true, force: true }))

  for (const [provider, platform] of Object.entries(PLATFORMS)) {
    it(`${provider}: names the function, the issuer and JWT_ISSUER, and deploys nothing`, async () => {
      const result = await serverless(['deploy'], {
        env: {
          POLYCLOUD_PROVIDER: provider,
          JWT_ISSUER: undefined,
          // Nothing may be reached: every provider's credentials point nowhere.
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'secret',
          AWS_EC2_METADATA_DISABLED: 'true',
          AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
          GOOGLE_CLOUD_PROJECT: 'no-project',
          CLOUDFLARE_API_TOKEN: 'none',
          CLOUDFLARE_ACCOUNT_ID: 'none',
          CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:9/client/v4',
        },
        timeoutMs: 120_000,
      })
      const output = result.stdout + result.stderr
      expect(result.code, output).to.equal(1)
      expect(output).to.contain(
        `functions.me: auth.jwt.issuer http://127.0.0.1:4000 is a loopback address, which ${platform} cannot reach: every request to /me would be refused once deployed; set JWT_ISSUER to your identity provider's https issuer URL (serverless.yml reads auth.jwt.issuer from it)`,
      )
      expect(output).to.contain('Not deploying. Local runs (serverless offline, invoke local) keep accepting these issuers.')
      expect(output).to.not.match(/Packag|Upload|Creating|\bat .*\.js:\d+/)
    })
  }

  it('an https issuer passes the check; serverless package warns about a local one', async () => {
    const packaged = await serverless(['package', '--package', PACKAGE_DIR], { env: { POLYCLOUD_PROVIDER: 'cloudflare', JWT_ISSUER: undefined }, timeoutMs: 120_000 })
    expect(packaged.code, packaged.stdout + packaged.stderr).to.equal(0)
    expect(packaged.stdout + packaged.stderr).to.contain('functions.me: auth.jwt.issuer http://127.0.0.1:4000 is a loopback address')
    expect(packaged.stdout + packaged.stderr).to.contain('`serverless deploy` refuses it.')
    const https = await serverless(['package', '--package', PACKAGE_DIR], { env: { POLYCLOUD_PROVIDER: 'cloudflare', JWT_ISSUER: 'https://login.example.com' }, timeoutMs: 120_000 })
    expect(https.code).to.equal(0)
    expect(https.stdout + https.stderr).to.not.contain('auth.jwt.issuer')
  })
})
