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
/** A function's own runtime service account in the stand-in's project (the ids are the same on every deploy). */
const own = (id: string): string => `${id}@demo-project.iam.gserviceaccount.com`

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

    // Each function runs as a service account of its own, made by the deploy (the routing function too); the
    // triggers call as the default compute account (unset: Google's default), which holds eventarc.eventReceiver.
    const runsAs = (id: string) => ((functions.get(`${L}/functions/${id}`) as Json).serviceConfig as Json).serviceAccountEmail
    expect(runsAs('polycloud-demo-dev')).to.equal(own('routes-dev-67dbf9'))
    expect(runsAs('polycloud-demo-dev-hello')).to.equal(own('hello-dev-af7c7e'))
    expect(runsAs('polycloud-demo-dev-thumbnails')).to.equal(own('thumbnails-dev-fc8640'))
    expect(new Set([...functions.keys()].map((name) => runsAs(name.slice(name.lastIndexOf('/') + 1)))).size).to.equal(8)
    expect((thumbnails.eventTrigger as Json).serviceAccountEmail).to.equal(COMPUTE_ACCOUNT)
    expect([...api.state.serviceAccounts.keys()].sort()).to.deep.equal([...new Set([...functions.keys()].map((name) => runsAs(name.slice(name.lastIndexOf('/') + 1))))].sort())
    expect(api.state.serviceAccounts.get(own('thumbnails-dev-fc8640'))).to.deep.include({ displayName: 'polycloud-demo (dev): thumbnails', description: 'serverless-polycloud: polycloud-demo (dev): runs thumbnails' })
    // The demo's functions use no resource: their accounts hold no role anywhere.
    const holders = [...api.state.policies.values()].flatMap((policy) => policy.bindings.flatMap((binding) => binding.members))
    expect(holders.filter((member) => member.endsWith('@demo-project.iam.gserviceaccount.com'))).to.deep.equal([])

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
      // the functions' own accounts: all there; acting as them (project-wide here)
      'GET /v1/projects/demo-project/serviceAccounts',
      'POST /v3/projects/demo-project:testIamPermissions',
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

  /** Deploys the demo with one function more (whose account does not exist yet); its failure, after `restore` put the project back. */
  const deployWithExtra = (restore: () => void): Promise<unknown> =>
    deployCommand(context({ ...DEMO_FUNCTIONS, extra: { handler: 'handlers/hello.default', events: [{ route: 'GET /extra' }] } }), api.connection())
      .then(() => undefined, (caught: unknown) => caught)
      .finally(restore)

  it('names everything the project lacks before creating anything: APIs, roles, acting as the runtime account', async () => {
    const saved = { services: new Set(api.state.services), policy: [...api.state.projectPolicy] }
    api.state.services.delete('eventarc.googleapis.com')
    api.state.services.delete('cloudscheduler.googleapis.com')
    api.state.projectPolicy.splice(0)
    api.state.actAsDenied.add(COMPUTE_ACCOUNT)
    const fresh = { functions: api.state.functions.size, topics: api.state.topics.size, jobs: api.state.jobs.size }
    const before = api.standIn.requests.length
    const error = await deployWithExtra(() => {
      for (const service of saved.services) api.state.services.add(service)
      api.state.projectPolicy.push(...saved.policy)
      api.state.actAsDenied.clear()
    })
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
        `  - the deploying identity may not act as ${COMPUTE_ACCOUNT}, the triggers' and push subscriptions' service account (iam.serviceAccounts.actAs)`,
        `      gcloud iam service-accounts add-iam-policy-binding ${COMPUTE_ACCOUNT} --project demo-project --member <the deploying identity: user:you@example.com or serviceAccount:...> --role roles/iam.serviceAccountUser`,
        '  fix each, then deploy again',
      ].join('\n'),
    )
    expect(writes(before)).to.deep.equal([])
    expect({ functions: api.state.functions.size, topics: api.state.topics.size, jobs: api.state.jobs.size }).to.deep.equal(fresh)
  })

  it("names the runtime accounts the deploying identity may not create or act as, before creating anything", async () => {
    api.state.projectDenied.add('iam.serviceAccounts.create')
    api.state.projectDenied.add('iam.serviceAccounts.actAs')
    api.state.actAsDenied.add(own('hello-dev-af7c7e'))
    const before = api.standIn.requests.length
    const error = await deployWithExtra(() => {
      api.state.projectDenied.clear()
      api.state.actAsDenied.clear()
    })
    expect(error).to.be.instanceOf(ProviderError)
    const deployer = '<the deploying identity: user:you@example.com or serviceAccount:...>'
    expect((error as Error).message).to.equal(
      [
        'Google Cloud project demo-project is not ready for this deploy; nothing was created or changed. Missing:',
        "  - the deploying identity may not create the functions' runtime service accounts (iam.serviceAccounts.create): extra-dev-878549",
        `      gcloud projects add-iam-policy-binding demo-project --member ${deployer} --role roles/iam.serviceAccountAdmin`,
        `  - the deploying identity may not act as the functions' runtime service accounts it creates (iam.serviceAccounts.actAs on project demo-project): ${own('extra-dev-878549')}`,
        `      gcloud projects add-iam-policy-binding demo-project --member ${deployer} --role roles/iam.serviceAccountUser`,
        `  - the deploying identity may not act as ${own('hello-dev-af7c7e')}, the runtime service account of hello (iam.serviceAccounts.actAs)`,
        `      gcloud iam service-accounts add-iam-policy-binding ${own('hello-dev-af7c7e')} --project demo-project --member ${deployer} --role roles/iam.serviceAccountUser`,
        '  fix each, then deploy again',
      ].join('\n'),
    )
    expect(writes(before)).to.deep.equal([])
    expect(api.state.serviceAccounts.has(own('extra-dev-878549'))).to.equal(false)
  })

  it('a runtime account created meanwhile by another deploy of the service is taken; one of that id that is not the service\'s is refused', async () => {
    api.state.serviceAccounts.delete(own('hello-dev-af7c7e'))
    api.state.accountRaces.add('hello-dev-af7c7e')
    const ctx = context()
    await deployCommand(ctx, api.connection())
    expect(api.state.accountRaces.size).to.equal(0)
    expect(api.state.serviceAccounts.get(own('hello-dev-af7c7e'))?.description).to.equal('serverless-polycloud: polycloud-demo (dev): runs hello')
    expect(ctx.notices.some((line) => line.startsWith(`Created service account ${own('hello-dev-af7c7e')}`))).to.equal(false)

    const saved = api.state.serviceAccounts.get(own('hello-dev-af7c7e')) as Json
    api.state.serviceAccounts.set(own('hello-dev-af7c7e'), { ...saved, description: 'the billing job' })
    const error = await deployCommand(context(), api.connection()).then(() => undefined, (caught: unknown) => caught)
    api.state.serviceAccounts.set(own('hello-dev-af7c7e'), saved)
    expect(error).to.be.instanceOf(ProviderError)
    expect((error as Error).message).to.equal(
      `service account ${own('hello-dev-af7c7e')} exists and was not created by serverless-polycloud for this service (serverless-polycloud: polycloud-demo (dev))\n  delete it, or set custom.polycloud.google.serviceAccount to run the functions as an account of your own`,
    )
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
    // Whichever function's build is refused first (every function's source changes with `extra`: they share index.js).
    expect((error as Error).message).to.match(/^(creating|updating) polycloud-demo-dev(-[a-z0-9-]+)? failed: cloudbuild\.googleapis\.com is not enabled in project demo-project\n {2}enable it: gcloud services enable cloudbuild\.googleapis\.com --project demo-project/)
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
    // Their service accounts too.
    expect(api.state.serviceAccounts.has(own('orders-dev-bb5cfc'))).to.equal(false)
    expect(api.state.serviceAccounts.has(own('hello-dev-af7c7e'))).to.equal(true)
    await deployCommand(context(), api.connection())
    expect(api.state.serviceAccounts.has(own('orders-dev-bb5cfc'))).to.equal(true)
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
    expect(ctx.written.at(-1)).to.include(`service account ${own('routes-dev-67dbf9')}`)
    expect([...api.state.serviceAccounts.keys()]).to.deep.equal([])
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

describe('serverless/providers/google: declared resources at deploy and remove (stand-in)', function () {
  this.timeout(60_000)
  let api: GoogleStandIn
  const contexts: TestContext[] = []
  const RESOURCES = { uploads: 'bucket', orders: 'queue', alerts: 'topic', archive: { kind: 'bucket', name: 'acme-archive', existing: true } }
  const USING = {
    upload: { handler: 'handlers/uploads.default', uses: ['uploads', 'orders'], events: [{ route: 'POST /uploads' }] },
    thumbnails: { handler: 'handlers/thumbnails.default', uses: ['uploads', 'archive'], events: [{ bucket: { name: 'uploads', prefix: 'images/' } }] },
    orders: { handler: 'handlers/orders.default', uses: ['alerts'], events: [{ fromQueue: 'orders' }] },
    hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
  }
  const context = (functions: typeof USING | Record<string, never> = USING, options: Record<string, unknown> = {}, custom: Record<string, unknown> = {}): TestContext => {
    const made = googleContext(functions, { resources: RESOURCES, options, custom })
    contexts.push(made)
    return made
  }
  const members = (resource: string, role: string) => api.state.policies.get(resource)?.bindings.find((binding) => binding.role === role)?.members ?? []

  before(async () => {
    api = await startGoogleStandIn()
    api.state.buckets.set('acme-archive', { name: 'acme-archive', labels: { team: 'finance' } })
    api.state.projectPolicy.push({ role: 'roles/eventarc.eventReceiver', members: ['serviceAccount:shop-runtime@demo-project.iam.gserviceaccount.com'] })
    // The account the service names is the user's own: it exists in the project.
    api.state.serviceAccounts.set('shop-runtime@demo-project.iam.gserviceaccount.com', { name: 'projects/demo-project/serviceAccounts/shop-runtime@demo-project.iam.gserviceaccount.com', projectId: 'demo-project', uniqueId: '1', email: 'shop-runtime@demo-project.iam.gserviceaccount.com' })
  })

  after(async () => {
    await api?.stop()
    for (const made of contexts) rmSync(made.workDir.replace(/\/\.polycloud\/google$/, ''), { recursive: true, force: true })
  })

  afterEach(() => {
    expect(api.refusals, 'requests the API definitions refuse').to.deep.equal([])
  })

  /**
   * Every binding that names one of the functions' own accounts, as `resource role member` (not the user's
   * shop-runtime: a service that named it and no longer does leaves its grants, as Polycloud cannot tell they were its).
   */
  const ownGrants = () =>
    [...api.state.policies.entries()]
      .flatMap(([resource, policy]) => policy.bindings.flatMap((binding) => binding.members.filter((member) => member.endsWith('@demo-project.iam.gserviceaccount.com') && !member.includes('shop-runtime')).map((member) => `${resource} ${binding.role} ${member.slice('serviceAccount:'.length)}`)))
      .sort()
  const ROUTES = own('routes-dev-67dbf9')
  const UPLOAD = own('upload-dev-291763')
  const THUMBNAILS = own('thumbnails-dev-fc8640')
  const ORDERS = own('orders-dev-bb5cfc')
  const HELLO = own('hello-dev-af7c7e')
  /** The grants of USING: each function's account on its own `uses` (the routing function's on its routes' functions'), nothing else. */
  const USING_GRANTS = [
    `b/acme-archive roles/storage.objectUser ${THUMBNAILS}`,
    `b/polycloud-demo-dev-uploads roles/storage.objectUser ${ROUTES}`,
    `b/polycloud-demo-dev-uploads roles/storage.objectUser ${THUMBNAILS}`,
    `b/polycloud-demo-dev-uploads roles/storage.objectUser ${UPLOAD}`,
    `${P}/topics/polycloud-demo-dev-alerts roles/pubsub.publisher ${ORDERS}`,
    `${P}/topics/polycloud-demo-dev-orders roles/pubsub.publisher ${ROUTES}`,
    `${P}/topics/polycloud-demo-dev-orders roles/pubsub.publisher ${UPLOAD}`,
  ].sort()

  it('creates the declared bucket (region, uniform access, labels) and topics; grants objectUser and publisher on them only', async () => {
    await deployCommand(context(), api.connection())
    const bucket = api.state.buckets.get('polycloud-demo-dev-uploads') as Json
    expect(bucket).to.deep.include({ location: 'EUROPE-WEST1', iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: 'enforced' } })
    expect(bucket.labels).to.deep.include({ 'polycloud-service': 'polycloud-demo', 'polycloud-stage': 'dev' })
    expect(api.state.topics.has(`${P}/topics/polycloud-demo-dev-alerts`)).to.equal(true)
    expect(api.state.topics.has(`${P}/topics/polycloud-demo-dev-orders`)).to.equal(true)
    // Each function's own account gets exactly the roles of its resources: none of another function's, none for hello.
    expect(ownGrants()).to.deep.equal(USING_GRANTS)
    expect(api.state.serviceAccounts.has(HELLO)).to.equal(true)
    // The functions run as their accounts; the compute account only calls the queue's and the bucket's functions.
    expect(((api.state.functions.get(`${L}/functions/polycloud-demo-dev-upload`) as Json).serviceConfig as Json).serviceAccountEmail).to.equal(UPLOAD)
    expect(members(`${L}/services/polycloud-demo-dev-orders`, 'roles/run.invoker')).to.deep.equal([`serviceAccount:${COMPUTE_ACCOUNT}`])
    expect(members(`${L}/services/polycloud-demo-dev-thumbnails`, 'roles/run.invoker')).to.deep.equal([`serviceAccount:${COMPUTE_ACCOUNT}`])
    expect((api.state.subscriptions.get(`${P}/subscriptions/polycloud-demo-dev-orders-push`)?.pushConfig as { oidcToken: Json }).oidcToken.serviceAccountEmail).to.equal(COMPUTE_ACCOUNT)
    // Nothing at the project level: the roles are on the resources.
    expect(api.state.projectPolicy.some((binding) => binding.role === 'roles/storage.objectUser' || binding.members.some((member) => member.endsWith('@demo-project.iam.gserviceaccount.com') && !member.includes('shop-runtime')))).to.equal(false)
    // The existing bucket is only granted: not created, not labelled.
    expect(api.state.buckets.get('acme-archive')).to.deep.equal({ name: 'acme-archive', labels: { team: 'finance' } })
  })

  it("grants each function's own service account when the service sets one", async () => {
    const from = api.standIn.requests.length
    await deployCommand(context(USING, { force: true }, { serviceAccount: 'shop-runtime@demo-project.iam.gserviceaccount.com' }), api.connection())
    expect(members('b/polycloud-demo-dev-uploads', 'roles/storage.objectUser')).to.deep.equal(['serviceAccount:shop-runtime@demo-project.iam.gserviceaccount.com'])
    expect(api.standIn.requests.slice(from).some((request) => request.method === 'PUT' && request.path === '/storage/v1/b/polycloud-demo-dev-uploads/iam')).to.equal(true)
    // The accounts the functions had are deleted, and their roles taken back (the existing bucket's too).
    expect([...api.state.serviceAccounts.keys()]).to.deep.equal(['shop-runtime@demo-project.iam.gserviceaccount.com'])
    expect(ownGrants()).to.deep.equal([])
  })

  it('deploys again with nothing changed: the bucket and policies read, none written', async () => {
    const from = api.standIn.requests.length
    await deployCommand(context(USING, {}, { serviceAccount: 'shop-runtime@demo-project.iam.gserviceaccount.com' }), api.connection())
    const writes = api.standIn.requests.slice(from).filter((request) => (request.path.startsWith('/storage/') && request.method !== 'GET') || request.path.endsWith(':setIamPolicy'))
    expect(writes.map((request) => `${request.method} ${request.path}`)).to.deep.equal([])
  })

  it('takes back the role from a function that no longer uses a resource, leaving other members alone', async () => {
    const custom = { serviceAccount: 'shop-runtime@demo-project.iam.gserviceaccount.com' }
    const alerts = `${P}/topics/polycloud-demo-dev-alerts`
    const policy = api.state.policies.get(alerts) as { bindings: Array<{ role: string; members: string[] }>; etag: string }
    api.state.policies.set(alerts, { ...policy, bindings: [...policy.bindings.map((binding) => (binding.role === 'roles/pubsub.publisher' ? { ...binding, members: [...binding.members, 'user:ops@example.com'] } : binding))] })
    const ctx = context({ ...USING, orders: { handler: 'handlers/orders.default', uses: [], events: [{ fromQueue: 'orders' }] } } as typeof USING, {}, custom)
    await deployCommand(ctx, api.connection())
    expect(members(alerts, 'roles/pubsub.publisher')).to.deep.equal(['user:ops@example.com'])
    expect(ctx.notices.join('\n')).to.include(`Revoking roles/pubsub.publisher on topic polycloud-demo-dev-alerts from shop-runtime@demo-project.iam.gserviceaccount.com`)
    // Still used: kept.
    expect(members('b/polycloud-demo-dev-uploads', 'roles/storage.objectUser')).to.include('serviceAccount:shop-runtime@demo-project.iam.gserviceaccount.com')
    await deployCommand(context(USING, {}, custom), api.connection())
    expect(members(alerts, 'roles/pubsub.publisher')).to.include('serviceAccount:shop-runtime@demo-project.iam.gserviceaccount.com')
  })

  it("back to the functions' own accounts: the compute account's old grants taken back on the service's resources; a dropped use loses one account's role; a redeploy writes nothing", async () => {
    // The functions once ran as the compute account, which an earlier deploy granted; an existing bucket's own grant to it stays.
    for (const bucket of ['polycloud-demo-dev-uploads', 'acme-archive']) {
      const policy = api.state.policies.get(`b/${bucket}`) ?? { bindings: [], etag: 'CAE=' }
      api.state.policies.set(`b/${bucket}`, { ...policy, bindings: [...policy.bindings.filter((binding) => binding.role !== 'roles/storage.objectUser'), { role: 'roles/storage.objectUser', members: [`serviceAccount:${COMPUTE_ACCOUNT}`] }] })
    }
    const ctx = context(USING, { force: true })
    await deployCommand(ctx, api.connection())
    expect(ownGrants()).to.deep.equal(USING_GRANTS)
    expect(members('b/polycloud-demo-dev-uploads', 'roles/storage.objectUser')).to.not.include(`serviceAccount:${COMPUTE_ACCOUNT}`)
    expect(members('b/acme-archive', 'roles/storage.objectUser')).to.include(`serviceAccount:${COMPUTE_ACCOUNT}`)
    expect([...api.state.serviceAccounts.keys()]).to.include.members([ROUTES, UPLOAD, THUMBNAILS, ORDERS, HELLO])
    expect(ctx.notices).to.include(`Created service account ${HELLO} for hello`)

    // thumbnails no longer uses the archive: its account alone loses the role there.
    const dropped = { ...USING, thumbnails: { ...USING.thumbnails, uses: ['uploads'] } }
    await deployCommand(context(dropped), api.connection())
    expect(ownGrants()).to.deep.equal(USING_GRANTS.filter((grant) => grant !== `b/acme-archive roles/storage.objectUser ${THUMBNAILS}`))
    await deployCommand(context(), api.connection())
    expect(ownGrants()).to.deep.equal(USING_GRANTS)

    // Nothing changed: no account created, no policy written.
    const from = api.standIn.requests.length
    await deployCommand(context(), api.connection())
    const written = api.standIn.requests.slice(from).filter((request) => (request.method !== 'GET' && !/:(getIamPolicy|testIamPermissions)$/.test(request.path)))
    expect(written.map((request) => `${request.method} ${request.path}`)).to.deep.equal([])
  })

  it('refuses a bucket name another owner holds, with what to do', async () => {
    api.state.buckets.set('polycloud-demo-qa-uploads', { name: 'polycloud-demo-qa-uploads', labels: {} })
    const ctx = googleContext(USING, { resources: RESOURCES, stage: 'qa' })
    contexts.push(ctx)
    const error = await deployCommand(ctx, api.connection()).then(() => undefined, (caught: unknown) => caught)
    expect(error).to.be.instanceOf(ProviderError)
    expect((error as Error).message).to.equal(
      'bucket polycloud-demo-qa-uploads (uploads) exists and was not created by serverless-polycloud for this service\n  bucket names are global: set custom.polycloud.resources.uploads.name, or mark it existing: true to use it as it is',
    )
    api.state.buckets.delete('polycloud-demo-qa-uploads')
  })

  it('remove keeps a bucket that holds objects, saying so; --deleteObjects deletes it with its objects; an existing bucket is never touched', async () => {
    api.state.objects.set('polycloud-demo-dev-uploads', new Set(['images/cat.png', 'images/dog.png']))
    const ctx = context()
    await removeCommand(ctx, api.connection())
    expect(ctx.notices).to.include('warning: Bucket polycloud-demo-dev-uploads kept: it still holds objects (serverless remove --deleteObjects deletes it with them)')
    expect(api.state.buckets.has('polycloud-demo-dev-uploads')).to.equal(true)
    expect(api.state.topics.has(`${P}/topics/polycloud-demo-dev-alerts`)).to.equal(false)
    const purge = context(USING, { deleteObjects: true })
    await removeCommand(purge, api.connection())
    expect(api.state.buckets.has('polycloud-demo-dev-uploads')).to.equal(false)
    expect(purge.written.join('\n')).to.include('bucket polycloud-demo-dev-uploads')
    expect(api.state.buckets.has('acme-archive')).to.equal(true)
    // The functions' accounts are deleted (the user's own is not), their role on the existing bucket taken back first.
    expect(ctx.written.join('\n')).to.include(`service account ${THUMBNAILS}`)
    expect([...api.state.serviceAccounts.keys()]).to.deep.equal(['shop-runtime@demo-project.iam.gserviceaccount.com'])
    expect(members('b/acme-archive', 'roles/storage.objectUser')).to.deep.equal([`serviceAccount:${COMPUTE_ACCOUNT}`])
  })

  it('remove in a project where Cloud Storage was never enabled: no bucket to look for', async () => {
    api.state.services.delete('storage.googleapis.com')
    try {
      const ctx = context()
      await removeCommand(ctx, api.connection())
      expect(ctx.written.join('\n')).to.match(/^Nothing of polycloud-demo \(dev\) was deployed/)
    } finally {
      api.state.services.add('storage.googleapis.com')
    }
  })
})
