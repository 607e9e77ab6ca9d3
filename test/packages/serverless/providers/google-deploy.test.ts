/**
 * Deploy, redeploy, info, invoke and remove of the demo to Google Cloud, with Google's own clients over REST against
 * the stand-in of test/helpers/google-stand-in.ts on 127.0.0.1 (every request checked against the APIs' message
 * definitions; a fixed token instead of Application Default Credentials, which would probe the metadata server).
 */
import { expect } from 'chai'
import { rmSync } from 'node:fs'
import { ProviderError } from 'serverless-polycloud/errors'
import { deployCommand, infoCommand, invokeCommand, removeCommand } from 'serverless-polycloud/providers/google/deploy'
import { COMPUTE_ACCOUNT, startGoogleStandIn, STAND_IN_PROJECT_NUMBER, type GoogleStandIn } from '../../../helpers/google-stand-in.ts'
import { DEMO_FUNCTIONS, googleContext, type TestContext } from './google-support.ts'

type Json = Record<string, unknown>

const P = 'projects/demo-project'
const L = `${P}/locations/europe-west1`

describe('serverless/providers/google: deploy, info, invoke, remove against a stand-in of the Google APIs', function () {
  this.timeout(60_000)
  let api: GoogleStandIn
  const contexts: TestContext[] = []

  const context = (...args: Parameters<typeof googleContext>): TestContext => {
    const made = googleContext(...args)
    contexts.push(made)
    return made
  }

  const methods = () => api.standIn.requests.map((request) => `${request.method} ${request.path}`)

  before(async () => {
    api = await startGoogleStandIn()
  })

  after(async () => {
    await api?.stop()
    for (const made of contexts) rmSync(made.workDir.replace(/\/\.polycloud\/google$/, ''), { recursive: true, force: true })
  })

  afterEach(() => {
    expect(api.refusals, 'requests the API definitions refuse').to.deep.equal([])
  })

  it('deploys the demo: topics, one function per entry point with its trigger, who may call them, the queue, the schedule', async () => {
    // A topic that exists already and is not the service's: subscribed to, never labelled or removed.
    api.state.topics.set(`${P}/topics/polycloud-demo-dev-alerts`, { name: `${P}/topics/polycloud-demo-dev-alerts`, labels: { team: 'ops' } })
    const ctx = context()
    await deployCommand(ctx, api.connection())

    const functions = api.state.functions
    expect([...functions.keys()].map((name) => name.slice(name.lastIndexOf('/') + 1)).sort()).to.deep.equal([
      'polycloud-demo-dev',
      'polycloud-demo-dev-alerts',
      'polycloud-demo-dev-greetings',
      'polycloud-demo-dev-hello',
      'polycloud-demo-dev-orders',
      'polycloud-demo-dev-quotes',
      'polycloud-demo-dev-report',
      'polycloud-demo-dev-thumbnails',
    ])
    const router = functions.get(`${L}/functions/polycloud-demo-dev`) as Json
    expect(router.buildConfig).to.deep.include({ runtime: 'nodejs22', entryPoint: 'polycloudRoutes' })
    expect(router.environment).to.equal(2) // GEN_2, as the clients send enums
    expect((router.serviceConfig as Json).environmentVariables).to.deep.equal({
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
      NODE_OPTIONS: '--enable-source-maps',
      POLYCLOUD_TIMEOUT_SECONDS: '10',
      GOOGLE_CLOUD_PROJECT: 'demo-project',
    })
    expect(router.serviceConfig).to.deep.include({ timeoutSeconds: 10, availableMemory: '256Mi' })
    expect(router.labels).to.deep.include({ 'polycloud-service': 'polycloud-demo', 'polycloud-stage': 'dev' })

    const alerts = functions.get(`${L}/functions/polycloud-demo-dev-alerts`) as Json
    expect(alerts.eventTrigger).to.deep.include({ eventType: 'google.cloud.pubsub.topic.v1.messagePublished', pubsubTopic: `${P}/topics/polycloud-demo-dev-alerts`, retryPolicy: 2 })
    const thumbnails = functions.get(`${L}/functions/polycloud-demo-dev-thumbnails`) as Json
    expect(thumbnails.eventTrigger).to.deep.include({ eventType: 'google.cloud.storage.object.v1.finalized', eventFilters: [{ attribute: 'bucket', value: 'polycloud-demo-dev-uploads' }] })
    const report = functions.get(`${L}/functions/polycloud-demo-dev-report`) as Json
    expect(report.eventTrigger).to.deep.include({ pubsubTopic: `${P}/topics/polycloud-demo-dev-report-schedule` })
    expect(functions.get(`${L}/functions/polycloud-demo-dev-orders`)?.eventTrigger).to.equal(undefined)

    // Topics: created with labels where missing; the existing one untouched.
    expect(api.state.topics.get(`${P}/topics/polycloud-demo-dev-orders`)?.labels).to.deep.include({ 'polycloud-service': 'polycloud-demo' })
    expect(api.state.topics.get(`${P}/topics/polycloud-demo-dev-orders-dlq`)).to.not.equal(undefined)
    expect(api.state.topics.get(`${P}/topics/polycloud-demo-dev-alerts`)?.labels).to.deep.equal({ team: 'ops' })

    // The queue: a push subscription with its dead-letter topic, and a subscription keeping the dead letters.
    const subscription = api.state.subscriptions.get(`${P}/subscriptions/polycloud-demo-dev-orders-push`) as Json
    expect(subscription).to.deep.include({
      topic: `${P}/topics/polycloud-demo-dev-orders`,
      ackDeadlineSeconds: 10,
      deadLetterPolicy: { deadLetterTopic: `${P}/topics/polycloud-demo-dev-orders-dlq`, maxDeliveryAttempts: 5 },
      retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
    })
    const ordersUri = ((functions.get(`${L}/functions/polycloud-demo-dev-orders`) as Json).serviceConfig as Json).uri
    expect(subscription.pushConfig).to.deep.equal({ pushEndpoint: ordersUri, oidcToken: { serviceAccountEmail: `${STAND_IN_PROJECT_NUMBER}-compute@developer.gserviceaccount.com`, audience: ordersUri }, attributes: {} })
    expect(api.state.subscriptions.get(`${P}/subscriptions/polycloud-demo-dev-orders-dlq`)).to.deep.include({ topic: `${P}/topics/polycloud-demo-dev-orders-dlq`, messageRetentionDuration: '604800s' })

    // The schedule: a Scheduler job publishing to the function's schedule topic, in UTC.
    const job = api.state.jobs.get(`${L}/jobs/polycloud-demo-dev-report-cron`) as Json
    expect(job).to.deep.include({ schedule: '0 3 * * *', timeZone: 'UTC', description: 'serverless-polycloud: polycloud-demo (dev)' })
    expect((job.pubsubTarget as Json).topicName).to.equal(`${P}/topics/polycloud-demo-dev-report-schedule`)

    // Who may call what: anyone the HTTP functions; the invoking account the triggered and pushed ones; Pub/Sub's agent the dead letters.
    const invokers = (service: string) => api.state.policies.get(`${L}/services/${service}`)?.bindings.find((binding) => binding.role === 'roles/run.invoker')?.members
    expect(invokers('polycloud-demo-dev')).to.deep.equal(['allUsers'])
    expect(invokers('polycloud-demo-dev-hello')).to.deep.equal(['allUsers'])
    expect(invokers('polycloud-demo-dev-orders')).to.deep.equal([`serviceAccount:${STAND_IN_PROJECT_NUMBER}-compute@developer.gserviceaccount.com`])
    expect(invokers('polycloud-demo-dev-alerts')).to.deep.equal([`serviceAccount:${STAND_IN_PROJECT_NUMBER}-compute@developer.gserviceaccount.com`])
    const agent = `serviceAccount:service-${STAND_IN_PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`
    expect(api.state.policies.get(`${P}/topics/polycloud-demo-dev-orders-dlq`)?.bindings).to.deep.equal([{ role: 'roles/pubsub.publisher', members: [agent] }])
    expect(api.state.policies.get(`${P}/subscriptions/polycloud-demo-dev-orders-push`)?.bindings).to.deep.equal([{ role: 'roles/pubsub.subscriber', members: [agent] }])

    // One upload URL and one PUT of the zip per function, each consumed by its create.
    expect(methods().filter((call) => call.endsWith(':generateUploadUrl'))).to.have.length(8)
    expect(methods().filter((call) => call.startsWith('PUT /upload/'))).to.have.length(8)
    expect(api.state.uploads.size).to.equal(0)

    const printed = ctx.written.join('\n')
    expect(printed).to.include(`GET     ${api.standIn.url}/run/polycloud-demo-dev/hello  (hello)`)
    expect(printed).to.include(`GET     ${api.standIn.url}/run/polycloud-demo-dev/greetings/{name}  (greetings)`)
    expect(printed).to.include('queue orders: topic polycloud-demo-dev-orders -> polycloud-demo-dev-orders-push (push, 5 attempts, then polycloud-demo-dev-orders-dlq)')
  })

  /** The requests that change something (every method but GET, and the POSTs that only read). */
  const writes = (from: number) =>
    api.standIn.requests
      .slice(from)
      .map((request) => `${request.method} ${request.path}`)
      .filter((call) => !call.startsWith('GET ') && !/:(getIamPolicy|testIamPermissions)$/.test(call))

  it('deploys again with nothing changed: reads only (no upload, no build, no write)', async () => {
    const before = api.standIn.requests.length
    const ctx = context()
    await deployCommand(ctx, api.connection())
    expect(methods().slice(before)).to.deep.equal([
      // preflight: the project, its APIs, its roles, acting as the runtime account
      'GET /v3/projects/demo-project',
      'GET /v1/projects/123456789012/services:batchGet',
      'POST /v3/projects/demo-project:getIamPolicy',
      `POST /v1/projects/-/serviceAccounts/${COMPUTE_ACCOUNT}:testIamPermissions`,
      // what exists
      `GET /v2/${L}/functions`,
      `GET /v1/${P}/subscriptions`,
      `GET /v1/${P}/topics`,
      `GET /v1/${L}/jobs`,
      // who may call each function: already granted
      ...['', '-hello', '-greetings', '-quotes', '-report', '-orders', '-alerts', '-thumbnails'].map((id) => `GET /v2/${L}/services/polycloud-demo-dev${id}:getIamPolicy`),
      `GET /v1/${P}/topics/polycloud-demo-dev-orders-dlq:getIamPolicy`,
      `GET /v1/${P}/subscriptions/polycloud-demo-dev-orders-push:getIamPolicy`,
      // what the service no longer has: nothing
      `GET /v2/${L}/functions`,
      `GET /v1/${P}/subscriptions`,
      `GET /v1/${P}/topics`,
      `GET /v1/${L}/jobs`,
    ])
    expect(ctx.notices).to.include('8 of 8 functions unchanged: not deployed again (--force deploys them all)')
  })

  it('a changed setting writes only what differs: the functions it changes, one subscription, one job', async () => {
    const before = api.standIn.requests.length
    const changed = {
      ...DEMO_FUNCTIONS,
      alerts: { ...DEMO_FUNCTIONS.alerts, memorySize: 512 },
      // The declared cron is in report's entry (its schedule events name it), so report is built again too.
      report: { ...DEMO_FUNCTIONS.report, events: [{ cron: '0 4 * * *' }] },
      orders: { ...DEMO_FUNCTIONS.orders, events: [{ fromQueue: { name: 'orders', batchSize: 10, maxReceiveCount: 7 } }] },
    } as typeof DEMO_FUNCTIONS
    await deployCommand(context(changed), api.connection())
    const written = writes(before)
    // One source upload per function deployed again (the two run side by side: their order is not fixed).
    expect(written.filter((call) => call.startsWith('PUT /upload/'))).to.have.length(2)
    expect(written.filter((call) => !call.startsWith('PUT /upload/')).sort()).to.deep.equal(
      [
        `POST /v2/${L}/functions:generateUploadUrl`,
        `POST /v2/${L}/functions:generateUploadUrl`,
        `PATCH /v2/${L}/functions/polycloud-demo-dev-report`,
        `PATCH /v2/${L}/functions/polycloud-demo-dev-alerts`,
        `PATCH /v1/${P}/subscriptions/polycloud-demo-dev-orders-push`,
        `PATCH /v1/${L}/jobs/polycloud-demo-dev-report-cron`,
      ].sort(),
    )
    expect(((api.state.functions.get(`${L}/functions/polycloud-demo-dev-alerts`) as Json).serviceConfig as Json).availableMemory).to.equal('512Mi')
    expect(api.state.jobs.get(`${L}/jobs/polycloud-demo-dev-report-cron`)?.schedule).to.equal('0 4 * * *')
    // Back to the demo as it is; --force deploys every function again.
    const force = api.standIn.requests.length
    await deployCommand(context(DEMO_FUNCTIONS, { options: { force: true } }), api.connection())
    expect(writes(force).filter((call) => call.startsWith('PATCH /v2/'))).to.have.length(8)
  })

  it('a function created meanwhile (409 at the request, or ALREADY_EXISTS inside the operation) is updated in place', async () => {
    api.state.functions.delete(`${L}/functions/polycloud-demo-dev-hello`)
    api.state.functions.delete(`${L}/functions/polycloud-demo-dev-quotes`)
    api.state.createRaces.set('polycloud-demo-dev-hello', 'request')
    api.state.createRaces.set('polycloud-demo-dev-quotes', 'operation')
    const before = api.standIn.requests.length
    const ctx = context()
    await deployCommand(ctx, api.connection())
    for (const id of ['polycloud-demo-dev-hello', 'polycloud-demo-dev-quotes']) {
      expect(writes(before).filter((call) => call.endsWith(`/functions/${id}`) || call.endsWith(`functions?functionId=${id}`) || call === `POST /v2/${L}/functions`), id).to.include(`PATCH /v2/${L}/functions/${id}`)
      expect(ctx.notices).to.include(`${id} was created meanwhile: updating it in place...`)
    }
    // The operation's failure came from polling it, after the create was accepted.
    const polls = api.standIn.requests.slice(before).filter((request) => request.path.includes('/operations/'))
    expect(polls.length).to.be.greaterThan(0)
    expect(api.state.createRaces.size).to.equal(0)
  })

  it('names everything the project lacks before creating anything: APIs, roles, acting as the runtime account', async () => {
    const saved = { services: new Set(api.state.services), policy: [...api.state.projectPolicy] }
    api.state.services.delete('eventarc.googleapis.com')
    api.state.services.delete('cloudscheduler.googleapis.com')
    api.state.projectPolicy.splice(0)
    api.state.actAsDenied.add(COMPUTE_ACCOUNT)
    const fresh = { functions: api.state.functions.size, topics: api.state.topics.size, jobs: api.state.jobs.size }
    const before = api.standIn.requests.length
    let error: unknown
    try {
      await deployCommand(context({ ...DEMO_FUNCTIONS, extra: { handler: 'handlers/hello.default', events: [{ route: 'GET /extra' }] } }), api.connection())
    } catch (caught) {
      error = caught
    } finally {
      for (const service of saved.services) api.state.services.add(service)
      api.state.projectPolicy.push(...saved.policy)
      api.state.actAsDenied.clear()
    }
    expect(error).to.be.instanceOf(ProviderError)
    expect((error as Error).message).to.equal(
      [
        'Google Cloud project demo-project is not ready for this deploy; nothing was created or changed. Missing:',
        '  - APIs not enabled: eventarc.googleapis.com, cloudscheduler.googleapis.com',
        '      gcloud services enable eventarc.googleapis.com cloudscheduler.googleapis.com --project demo-project',
        `  - Cloud Storage's service agent service-${STAND_IN_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com may not publish to Pub/Sub (roles/pubsub.publisher), which bucket triggers need (polycloud-demo-dev-thumbnails)`,
        `      gcloud projects add-iam-policy-binding demo-project --member serviceAccount:service-${STAND_IN_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com --role roles/pubsub.publisher`,
        `  - the triggers' service account ${COMPUTE_ACCOUNT} may not receive Eventarc events (roles/eventarc.eventReceiver), which event triggers need (polycloud-demo-dev-report, polycloud-demo-dev-alerts, polycloud-demo-dev-thumbnails)`,
        `      gcloud projects add-iam-policy-binding demo-project --member serviceAccount:${COMPUTE_ACCOUNT} --role roles/eventarc.eventReceiver`,
        `  - the deploying identity may not act as ${COMPUTE_ACCOUNT}, the functions' runtime service account (iam.serviceAccounts.actAs)`,
        `      gcloud iam service-accounts add-iam-policy-binding ${COMPUTE_ACCOUNT} --project demo-project --member <the deploying identity: user:you@example.com or serviceAccount:...> --role roles/iam.serviceAccountUser`,
        '  fix each, then deploy again',
      ].join('\n'),
    )
    expect(writes(before)).to.deep.equal([])
    expect({ functions: api.state.functions.size, topics: api.state.topics.size, jobs: api.state.jobs.size }).to.deep.equal(fresh)
  })

  it('an API found disabled during a deploy is named with the command that enables it', async () => {
    api.state.services.delete('cloudbuild.googleapis.com')
    api.failNext(/services:batchGet$/, 403, 'PERMISSION_DENIED', "Permission 'serviceusage.services.get' denied")
    let error: unknown
    const ctx = context({ ...DEMO_FUNCTIONS, extra: { handler: 'handlers/hello.default', events: [{ route: 'GET /extra' }] } })
    try {
      await deployCommand(ctx, api.connection())
    } catch (caught) {
      error = caught
    } finally {
      api.state.services.add('cloudbuild.googleapis.com')
    }
    // The preflight could not read the APIs' states: said, and the deploy went on until the API refused.
    expect(ctx.notices).to.include("warning: serverless-polycloud: could not check which APIs are enabled (serviceusage.services.get) (Permission 'serviceusage.services.get' denied); the deploy goes on")
    expect((error as Error).message).to.match(/^(creating|updating) polycloud-demo-dev(-extra)? failed: cloudbuild\.googleapis\.com is not enabled in project demo-project\n {2}enable it: gcloud services enable cloudbuild\.googleapis\.com --project demo-project/)
  })

  it('a deploy without a function deletes what that function had (its function, topic, subscriptions, job)', async () => {
    const { report, orders, ...rest } = DEMO_FUNCTIONS
    expect(report && orders).to.not.equal(undefined)
    await deployCommand(context(rest), api.connection())
    expect(api.state.functions.has(`${L}/functions/polycloud-demo-dev-report`)).to.equal(false)
    expect(api.state.functions.has(`${L}/functions/polycloud-demo-dev-orders`)).to.equal(false)
    expect(api.state.jobs.size).to.equal(0)
    expect(api.state.subscriptions.size).to.equal(0)
    expect([...api.state.topics.keys()]).to.deep.equal([`${P}/topics/polycloud-demo-dev-alerts`])
    await deployCommand(context(), api.connection())
    expect(api.state.functions.size).to.equal(8)
  })

  it('info lists the functions with their state, trigger and URL, the routes, the queue and the schedule', async () => {
    const ctx = context()
    await infoCommand(ctx, api.connection())
    const printed = ctx.written.join('\n')
    expect(printed).to.include(`polycloud-demo-dev-alerts: ACTIVE, google.cloud.pubsub.topic.v1.messagePublished on polycloud-demo-dev-alerts, ${api.standIn.url}/run/polycloud-demo-dev-alerts`)
    expect(printed).to.include(`polycloud-demo-dev: ACTIVE, HTTPS, ${api.standIn.url}/run/polycloud-demo-dev`)
    expect(printed).to.include(`POST    ${api.standIn.url}/run/polycloud-demo-dev/quotes  (quotes)`)
    expect(printed).to.include(`subscription polycloud-demo-dev-orders-push: topic polycloud-demo-dev-orders -> ${api.standIn.url}/run/polycloud-demo-dev-orders`)
    expect(printed).to.include('schedule polycloud-demo-dev-report-cron: 0 3 * * * UTC')
  })

  it('invoke calls the deployed function at its URL (an HTTP request description, or a push body)', async () => {
    const http = context(DEMO_FUNCTIONS, { options: { function: 'hello', data: JSON.stringify({ method: 'GET', path: '/hello?name=Ada' }) } })
    await invokeCommand(http, { ...api.connection(), idToken: async () => 'id-token' })
    const call = api.state.invocations.at(-1)
    expect(call?.path).to.equal('/run/polycloud-demo-dev-hello/hello')
    expect(call?.query.get('name')).to.equal('Ada')
    expect(call?.headers.authorization).to.equal('Bearer id-token')
    expect(JSON.parse(http.written.join('\n'))).to.deep.equal({ status: 200, body: { invoked: '/run/polycloud-demo-dev-hello/hello', method: 'GET', authorized: true } })

    const push = { message: { data: Buffer.from('{"id":"o-1"}').toString('base64'), messageId: '1', publishTime: '2024-01-01T00:00:00Z' }, subscription: `${P}/subscriptions/x` }
    const queue = context(DEMO_FUNCTIONS, { options: { function: 'orders', data: JSON.stringify(push) } })
    await invokeCommand(queue, { ...api.connection(), idToken: async () => undefined })
    expect(JSON.parse(api.state.invocations.at(-1)?.body.toString() ?? '')).to.deep.equal(push)
  })

  it("an API refusal is Google's message and what to do, with no stack", async () => {
    api.failNext(/^POST \/v2\/.*\/functions$/, 403, 'PERMISSION_DENIED', "Permission 'cloudfunctions.functions.create' denied on 'projects/demo-project/locations/europe-west1/functions/polycloud-demo-dev-x'")
    let error: unknown
    try {
      await deployCommand(context({ x: { handler: 'handlers/hello.default', events: [{ route: 'GET /x' }] } }), api.connection())
    } catch (caught) {
      error = caught
    }
    expect(error).to.be.instanceOf(ProviderError)
    const message = (error as Error).message
    expect(message).to.match(/^creating polycloud-demo-dev(-x)? failed: PERMISSION_DENIED: Permission 'cloudfunctions\.functions\.create' denied on /)
    expect(message).to.include('the deploying identity needs roles/cloudfunctions.developer')
    expect(message).to.not.match(/\n\s+at /)
  })

  it('refuses a function of the same id that the service did not deploy', async () => {
    api.state.functions.set(`${L}/functions/polycloud-demo-dev-y`, { name: `${L}/functions/polycloud-demo-dev-y`, labels: {} })
    api.state.topics.set(`${P}/topics/t`, { name: `${P}/topics/t` })
    let error: unknown
    try {
      await deployCommand(context({ y: { handler: 'handlers/hello.default' } }, { stage: 'dev' }), api.connection())
    } catch (caught) {
      error = caught
    }
    expect((error as Error).message).to.match(/^polycloud-demo-dev-y exists in europe-west1 and was not deployed by serverless-polycloud/)
    api.state.functions.delete(`${L}/functions/polycloud-demo-dev-y`)
  })

  it('remove deletes what the service created, and nothing it did not', async () => {
    const ctx = context()
    await deployCommand(ctx, api.connection())
    await removeCommand(ctx, api.connection())
    expect(api.state.functions.size).to.equal(0)
    expect(api.state.subscriptions.size).to.equal(0)
    expect(api.state.jobs.size).to.equal(0)
    expect([...api.state.topics.keys()].sort()).to.deep.equal([`${P}/topics/polycloud-demo-dev-alerts`, `${P}/topics/t`])
    expect(ctx.written.at(-1)).to.match(/^Removed polycloud-demo \(dev\): Scheduler job polycloud-demo-dev-report-cron, subscription /)
    const again = context()
    await removeCommand(again, api.connection())
    expect(again.written).to.deep.equal(['Nothing of polycloud-demo (dev) was deployed in demo-project, europe-west1.'])
  })

  it('names the project setting when no project is set', async () => {
    const saved = process.env.GOOGLE_CLOUD_PROJECT
    delete process.env.GOOGLE_CLOUD_PROJECT
    try {
      const ctx = context(DEMO_FUNCTIONS, { providerConfig: { project: undefined } })
      let error: unknown
      try {
        await deployCommand(ctx, api.connection())
      } catch (caught) {
        error = caught
      }
      expect((error as Error).message).to.equal('provider.project: no Google Cloud project: set provider.project (or custom.polycloud.google.project), or GOOGLE_CLOUD_PROJECT')
    } finally {
      if (saved !== undefined) process.env.GOOGLE_CLOUD_PROJECT = saved
    }
  })
})
