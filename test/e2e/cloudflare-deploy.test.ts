/**
 * `serverless deploy`, a second deploy, `info` and `remove` of the demo on Cloudflare, against a stand-in of
 * Cloudflare's API on 127.0.0.1 (test/helpers/cloudflare-api.ts) that checks each request as the API does. No
 * request leaves the machine: CLOUDFLARE_API_BASE_URL points the plugin at the stand-in.
 */
import { expect } from 'chai'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ServiceContext } from 'serverless-polycloud/provider'
import { deployCommand } from 'serverless-polycloud/providers/cloudflare/deploy'
import type { CloudflarePlan, ServiceManifest } from 'serverless-polycloud/providers/cloudflare/plan'
import { ALL_SCOPES, cronProblem, overlaps, startCloudflareStandIn, type CloudflareStandIn } from '../helpers/cloudflare-api.ts'
import { ROOT, serverless } from '../helpers/serverless.ts'

const TOKEN = 'test-token-0123456789'
const ACCOUNT = '0123456789abcdef0123456789abcdef'
const SCRIPT = 'polycloud-demo-dev'
// A weekday cron: Cloudflare numbers weekdays from 1 (Sunday), so the standard `0-4` must arrive as names.
const PARAMS = ['--param=reportSchedule=0 9 * * 0-4']
// Deployed, the demo's /me trusts this issuer (a local one is refused at deploy).
const JWT_ISSUER = 'https://login.example.com'

describe('e2e: Cloudflare deploy, redeploy, info and remove (API stand-in)', function () {
  this.timeout(180_000)
  let api: CloudflareStandIn

  const run = (command: string[], env: Record<string, string> = {}) =>
    serverless([...command, ...PARAMS], {
      env: { POLYCLOUD_PROVIDER: 'cloudflare', CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_BASE_URL: api.baseUrl, JWT_ISSUER, ...env },
      timeoutMs: 120_000,
    })

  before(async () => {
    api = await startCloudflareStandIn({ token: TOKEN, account: ACCOUNT, subdomain: 'acme' })
    // A queue that exists before the first deploy: used, never deleted.
    api.state.queues.set('pre', { queue_id: 'pre', queue_name: 'polycloud-demo-dev-orders-dlq', created_on: '', modified_on: '', consumers: [] })
  })

  after(async () => {
    await api?.stop()
  })

  it('reads R2 notification rules as overlapping as Cloudflare does', () => {
    expect(overlaps({ actions: ['PutObject'] }, { actions: ['PutObject'], prefix: 'images/' })).to.equal(true)
    expect(overlaps({ actions: ['PutObject'], prefix: 'a/' }, { actions: ['CopyObject'], prefix: 'a/' })).to.equal(false)
    expect(overlaps({ actions: ['PutObject'], prefix: 'a/' }, { actions: ['PutObject'], prefix: 'b/' })).to.equal(false)
    expect(overlaps({ actions: ['PutObject'], suffix: '.png' }, { actions: ['PutObject'], suffix: '.jpg' })).to.equal(false)
    expect(overlaps({ actions: ['PutObject'], prefix: 'a/', suffix: '.png' }, { actions: ['PutObject'], prefix: 'a/b/' })).to.equal(true)
  })

  it('checks cron syntax as Cloudflare reads it', () => {
    expect(cronProblem('0 9 * * SUN-THU')).to.equal(undefined)
    expect(cronProblem('0 9 * * 0-4')).to.match(/day-of-week: "0" is not 1-7/)
    expect(cronProblem('*/5 * L * ?')).to.equal(undefined)
  })

  it('deploys: queues and bucket first, the Worker with its metadata, crons, consumers, notifications, workers.dev', async () => {
    const result = await run(['deploy'])
    expect(result.code, result.stdout + result.stderr).to.equal(0)
    expect(result.stdout).to.contain(`url: https://${SCRIPT}.acme.workers.dev`)
    const operations = api.operations()
    expect(operations.indexOf('queue-v2-create-queue')).to.be.below(operations.indexOf('worker-script-upload-worker-module'))
    expect(operations.indexOf('r2-create-bucket')).to.be.below(operations.indexOf('worker-script-upload-worker-module'))

    // The stores: one D1 database each, created before the Worker that binds them.
    const databaseId = (name: string): string | undefined => [...api.state.databases.values()].find((database) => database.name === name)?.uuid
    expect([...api.state.databases.values()].map((database) => database.name).sort()).to.deep.equal(['polycloud-demo-dev-devices', 'polycloud-demo-dev-sessions'])
    const script = api.state.scripts.get(SCRIPT)
    expect(script?.parts).to.deep.equal({
      'worker.mjs': { type: 'application/javascript+module', size: script?.parts['worker.mjs']?.size },
      'worker.mjs.map': { type: 'application/source-map', size: script?.parts['worker.mjs.map']?.size },
    })
    expect(script?.metadata).to.deep.include({ main_module: 'worker.mjs', compatibility_date: '2026-04-01' })
    expect(readFileSync(join(ROOT, '.serverless/cloudflare/worker.mjs'), 'utf8')).to.not.contain('local-chat-secret')
    expect(script?.metadata.bindings).to.deep.equal([
      { type: 'plain_text', name: 'LOG_LEVEL', text: 'info' },
      {
        type: 'plain_text',
        name: 'POLYCLOUD_RESOURCES',
        text: '{"uploads":{"kind":"bucket","binding":"BUCKET_UPLOADS"},"sessions":{"kind":"store","binding":"STORE_SESSIONS"},"readings":{"kind":"queue","binding":"QUEUE_READINGS"},"devices":{"kind":"store","binding":"STORE_DEVICES"}}',
      },
      // The chat's signing secret and the telemetry route's key digests: write-only, out of the script.
      { type: 'secret_text', name: 'POLYCLOUD_SECRET_chat_CHAT_SIGNING_SECRET', text: 'local-chat-secret' },
      { type: 'secret_text', name: 'POLYCLOUD_SECRET_telemetry_POLYCLOUD_API_KEYS', text: '{"devices":"sha256:861e1747026a4e5ce9a2283f03038f0d7e15ab0abd5b64acada530f177d09b00"}' },
      { type: 'queue', name: 'QUEUE_ORDERS', queue_name: 'polycloud-demo-dev-orders' },
      { type: 'queue', name: 'QUEUE_READINGS', queue_name: 'polycloud-demo-dev-readings' },
      { type: 'r2_bucket', name: 'BUCKET_UPLOADS', bucket_name: 'polycloud-demo-dev-uploads' },
      { type: 'd1', name: 'STORE_SESSIONS', database_id: databaseId('polycloud-demo-dev-sessions') },
      { type: 'd1', name: 'STORE_DEVICES', database_id: databaseId('polycloud-demo-dev-devices') },
      {
        type: 'json',
        name: 'POLYCLOUD_DEPLOYMENT',
        json: {
          version: 1,
          queues: ['polycloud-demo-dev-thumbnails-r2-dlq', 'polycloud-demo-dev-readings-dlq', 'polycloud-demo-dev-orders', 'polycloud-demo-dev-thumbnails-r2', 'polycloud-demo-dev-readings'],
          buckets: ['polycloud-demo-dev-uploads'],
          stores: ['polycloud-demo-dev-sessions', 'polycloud-demo-dev-devices'],
        },
      },
    ])
    expect(script?.schedules).to.deep.equal(['0 9 * * SUN-THU'])
    expect(script?.subdomain).to.equal(true)

    const queues = [...api.state.queues.values()]
    expect(queues.map((queue) => queue.queue_name).sort()).to.deep.equal([
      'polycloud-demo-dev-orders',
      'polycloud-demo-dev-orders-dlq',
      'polycloud-demo-dev-readings',
      'polycloud-demo-dev-readings-dlq',
      'polycloud-demo-dev-thumbnails-r2',
      'polycloud-demo-dev-thumbnails-r2-dlq',
    ])
    const orders = queues.find((queue) => queue.queue_name === 'polycloud-demo-dev-orders')
    expect(orders?.consumers).to.have.length(1)
    expect(orders?.consumers[0]).to.deep.include({
      script_name: SCRIPT,
      type: 'worker',
      dead_letter_queue: 'polycloud-demo-dev-orders-dlq',
      settings: { batch_size: 10, max_retries: 4, max_wait_time_ms: 5000 },
    })
    const notifications = api.state.notifications.get('polycloud-demo-dev-uploads')
    const thumbnails = queues.find((queue) => queue.queue_name === 'polycloud-demo-dev-thumbnails-r2')
    expect(notifications?.get(thumbnails?.queue_id as string)?.map(({ ruleId: _id, createdAt: _at, ...rule }) => rule)).to.deep.equal([
      { actions: ['PutObject', 'CopyObject', 'CompleteMultipartUpload'], prefix: 'images/', description: `${SCRIPT}: thumbnails` },
    ])
  })

  it('deploys again: reads, the Worker upload, and nothing else written', async () => {
    const before = api.operations().length
    const result = await run(['deploy'])
    expect(result.code, result.stdout + result.stderr).to.equal(0)
    // Without a comparison the rule was sent again, and the API (which adds rules) refused it as overlapping itself.
    expect(api.operations().slice(before)).to.deep.equal([
      // preflight: the token's permissions, R2, the workers.dev subdomain
      'worker-script-list-workers',
      'queue-v2-list-queues',
      'r2-list-buckets',
      'worker-subdomain-get-subdomain',
      // what exists
      'worker-script-get-settings',
      'queue-v2-list-queues',
      'r2-get-bucket',
      'cloudflare-d1-list-databases',
      'cloudflare-d1-list-databases',
      'worker-script-upload-worker-module',
      'worker-cron-trigger-get-cron-triggers',
      'r2-get-event-notification-configs',
      'worker-script-get-subdomain',
      'worker-subdomain-get-subdomain',
    ])
    expect(api.state.queues.size).to.equal(6)
    expect([...(api.state.notifications.get('polycloud-demo-dev-uploads')?.values() ?? [])].flat()).to.have.length(1)
    // The record still names what the first deploy created.
    const record = (api.state.scripts.get(SCRIPT)?.metadata.bindings as Array<{ name: string; json?: { queues: string[] } }>).find((binding) => binding.name === 'POLYCLOUD_DEPLOYMENT')
    expect(record?.json?.queues).to.have.length(5)
  })

  it('info lists the Worker, its URL, routes, crons and queues', async () => {
    const result = await run(['info'])
    expect(result.code, result.stdout + result.stderr).to.equal(0)
    expect(result.stdout).to.contain(`worker: ${SCRIPT}`)
    expect(result.stdout).to.contain(`url: https://${SCRIPT}.acme.workers.dev`)
    expect(result.stdout).to.contain('  GET /greetings/{name} -> greetings')
    expect(result.stdout).to.contain('  0 9 * * SUN-THU -> report')
    expect(result.stdout).to.contain('  polycloud-demo-dev-orders -> orders (batch 10, 4 retries, then polycloud-demo-dev-orders-dlq)')
  })

  it('a changed rule, Cron Trigger and batch size: only those are written', async () => {
    const file = join(ROOT, '.serverless/cloudflare/polycloud.json')
    const packaged = readFileSync(file, 'utf8')
    const manifest = JSON.parse(packaged) as ServiceManifest
    const changed: ServiceManifest = {
      ...manifest,
      crons: ['0 10 * * SUN-THU'],
      queues: manifest.queues.map((queue) => (queue.name === 'polycloud-demo-dev-orders' ? { ...queue, batchSize: 20 } : queue)),
      buckets: manifest.buckets.map((bucket) => ({ ...bucket, notifications: bucket.notifications.map((rule) => ({ ...rule, prefix: 'photos/' })) })),
    }
    const saved = { ...process.env }
    Object.assign(process.env, { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_BASE_URL: api.baseUrl })
    const before = api.operations().length
    try {
      writeFileSync(file, JSON.stringify(changed))
      const quiet = { notice: () => {}, info: () => {}, verbose: () => {}, warning: () => {}, error: () => {} }
      await deployCommand({ packageDir: join(ROOT, '.serverless'), log: quiet, write: () => {} } as unknown as ServiceContext<CloudflarePlan>)
    } finally {
      writeFileSync(file, packaged)
      process.env = saved
    }
    const operations = api.operations().slice(before)
    expect(operations.filter((operation) => !/-(list|get)-/.test(operation))).to.deep.equal([
      'worker-script-upload-worker-module',
      'worker-cron-trigger-update-cron-triggers',
      'queue-v2-update-queue-consumer',
      // The queue's old rule out, then the new one in: adding it beside the old would overlap.
      'r2-delete-event-notification-config',
      'r2-put-event-notification-config',
    ])
    expect(api.state.scripts.get(SCRIPT)?.schedules).to.deep.equal(['0 10 * * SUN-THU'])
    const orders = [...api.state.queues.values()].find((queue) => queue.queue_name === 'polycloud-demo-dev-orders')
    expect(orders?.consumers[0]?.settings).to.deep.include({ batch_size: 20 })
    const rules = [...(api.state.notifications.get('polycloud-demo-dev-uploads')?.values() ?? [])].flat()
    expect(rules.map((rule) => rule.prefix)).to.deep.equal(['photos/'])
  })

  it("shows the API's refusal and what to do, without a stack trace", async () => {
    const result = await run(['info'], { CLOUDFLARE_API_TOKEN: 'wrong' })
    expect(result.code).to.equal(1)
    const output = result.stdout + result.stderr
    expect(output).to.match(/Cloudflare API GET \/accounts\/0123456789abcdef0123456789abcdef\/workers\/scripts\/polycloud-demo-dev\/settings failed \(HTTP 403\): Authentication error \(code 10000\)/)
    expect(output).to.contain('check CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID')
    expect(output).to.not.match(/\bat .*\.js:\d+/)
    const missing = await run(['deploy'], { CLOUDFLARE_API_TOKEN: '' })
    expect(missing.code).to.equal(1)
    expect(missing.stdout + missing.stderr).to.contain('Cloudflare credentials missing: CLOUDFLARE_API_TOKEN')
  })

  it('names everything the account lacks before creating anything: R2, a workers.dev subdomain, the token\'s permissions', async () => {
    const bare = await startCloudflareStandIn({ token: TOKEN, account: ACCOUNT, subdomain: null, r2: false, scopes: ALL_SCOPES.filter((scope) => scope !== 'Queues Write') })
    try {
      const result = await serverless(['deploy', ...PARAMS], {
        env: { POLYCLOUD_PROVIDER: 'cloudflare', CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_BASE_URL: bare.baseUrl, JWT_ISSUER },
        timeoutMs: 120_000,
      })
      expect(result.code).to.equal(1)
      const output = result.stdout + result.stderr
      expect(output).to.contain(
        [
          `Cloudflare account ${ACCOUNT} is not ready for this deploy; nothing was created or changed. Missing:`,
          '  - R2 is not enabled on the account (the service has the bucket polycloud-demo-dev-uploads)',
          `      enable it once in the dashboard, R2 Object Storage: https://dash.cloudflare.com/${ACCOUNT}/r2/overview`,
          '  - the account has no workers.dev subdomain, which the Worker is served on',
          `      register one at https://dash.cloudflare.com/${ACCOUNT}/workers/onboarding (Workers & Pages), or set custom.polycloud.cloudflare.workersDev: false and serve it on routes`,
          '  - the API token (CLOUDFLARE_API_TOKEN) lacks Queues: Edit, or belongs to another account than CLOUDFLARE_ACCOUNT_ID',
          '      add those permissions to the token for this account: https://dash.cloudflare.com/profile/api-tokens (My Profile > API Tokens > Edit)',
          '  fix each, then deploy again',
        ].join('\n'),
      )
      expect(output).to.not.match(/\bat .*\.js:\d+/)
      // Reads only: nothing created, uploaded or changed.
      expect(bare.operations()).to.deep.equal(['worker-script-list-workers', 'queue-v2-list-queues', 'r2-list-buckets', 'worker-subdomain-get-subdomain'])
      expect(bare.requests.every((request) => request.method === 'GET')).to.equal(true)
    } finally {
      await bare.stop()
    }
  })

  it('removes only what deploy created, and keeps a bucket that holds objects (saying how to delete it)', async () => {
    const bucket = api.state.buckets.get('polycloud-demo-dev-uploads')
    bucket?.objects.set('images/cat.png', 70)
    const result = await run(['remove'])
    expect(result.code, result.stdout + result.stderr).to.equal(0)
    expect(api.state.scripts.has(SCRIPT)).to.equal(false)
    // The dead-letter queue existed before the first deploy: kept.
    expect([...api.state.queues.values()].map((queue) => queue.queue_name)).to.deep.equal(['polycloud-demo-dev-orders-dlq'])
    expect(api.state.buckets.has('polycloud-demo-dev-uploads')).to.equal(true)
    expect(result.stdout + result.stderr).to.contain('R2 bucket polycloud-demo-dev-uploads was kept: it still holds 1 object(s); serverless remove --deleteObjects deletes them with the bucket')
    expect(api.state.buckets.get('polycloud-demo-dev-uploads')?.objects.size).to.equal(1)
    expect(result.stdout).to.contain(
      'removed: Worker polycloud-demo-dev, queue polycloud-demo-dev-thumbnails-r2-dlq, queue polycloud-demo-dev-readings-dlq, queue polycloud-demo-dev-orders, queue polycloud-demo-dev-thumbnails-r2, queue polycloud-demo-dev-readings, D1 database polycloud-demo-dev-sessions, D1 database polycloud-demo-dev-devices',
    )
    // The stores held no entry: deleted with the rest.
    expect(api.state.databases.size).to.equal(0)
    const again = await run(['remove'])
    expect(again.code).to.equal(0)
    expect(again.stdout + again.stderr).to.contain('is not deployed; nothing to remove')
  })

  it('with --deleteObjects, deletes the buckets it created with their objects (and the queues the code sends to)', async () => {
    // A fresh deploy of a service whose bucket deploy creates, which then holds objects.
    api.state.buckets.delete('polycloud-demo-dev-uploads')
    const deployed = await run(['deploy'])
    expect(deployed.code, deployed.stdout + deployed.stderr).to.equal(0)
    // The same service whose code also sends to a declared queue no event consumes (a producer binding): deploy
    // refuses it while it is declared existing and missing, and otherwise creates it, as its own.
    const file = join(ROOT, '.serverless/cloudflare/polycloud.json')
    const packaged = readFileSync(file, 'utf8')
    const manifest = JSON.parse(packaged) as ServiceManifest
    const saved = { ...process.env }
    Object.assign(process.env, { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_BASE_URL: api.baseUrl })
    const quiet = { notice: () => {}, info: () => {}, verbose: () => {}, warning: () => {}, error: () => {} }
    const deployWith = async (existing: boolean) => {
      writeFileSync(file, JSON.stringify({ ...manifest, producers: [{ name: 'polycloud-demo-dev-jobs', binding: 'QUEUE_JOBS', existing }] }))
      await deployCommand({ packageDir: join(ROOT, '.serverless'), log: quiet, write: () => {} } as unknown as ServiceContext<CloudflarePlan>)
    }
    let refusal: unknown
    try {
      await deployWith(true).catch((error: unknown) => (refusal = error))
      expect(String(refusal)).to.contain('queue polycloud-demo-dev-jobs does not exist on the account')
      expect([...api.state.queues.values()].some((queue) => queue.queue_name === 'polycloud-demo-dev-jobs')).to.equal(false)
      await deployWith(false)
    } finally {
      writeFileSync(file, packaged)
      process.env = saved
    }
    expect([...api.state.queues.values()].some((queue) => queue.queue_name === 'polycloud-demo-dev-jobs')).to.equal(true)
    const bucket = api.state.buckets.get('polycloud-demo-dev-uploads')
    for (let i = 0; i < 1001; i++) bucket?.objects.set(`images/${String(i).padStart(4, '0')} a.png`, 70)
    const result = await run(['remove', '--deleteObjects'])
    expect(result.code, result.stdout + result.stderr).to.equal(0)
    expect(api.state.buckets.has('polycloud-demo-dev-uploads')).to.equal(false)
    expect(result.stdout).to.contain('R2 bucket polycloud-demo-dev-uploads and its 1001 object(s)')
    expect([...api.state.queues.values()].map((queue) => queue.queue_name)).to.deep.equal(['polycloud-demo-dev-orders-dlq'])
    // Listed in pages of 1000 by cursor, each object deleted by its key.
    expect(api.operations().filter((operation) => operation === 'r2-list-objects').length).to.be.at.least(2)
  })
})
