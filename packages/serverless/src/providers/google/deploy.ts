/**
 * `serverless deploy | remove | info | invoke` for Google Cloud, with Google's own clients (see `api.ts`).
 *
 * Deploy: the topics the events need; per Cloud Function an upload URL, the source zip PUT to it, then create the
 * function (or, when it exists, update it in place with a field mask) and wait for the long-running operation; who
 * may call each function (anyone for HTTP functions unless `public: false`; the invoking service account for
 * triggers and push subscriptions); the push subscriptions (dead-letter topic, maximum delivery attempts, ack
 * deadline from the function's timeout) and the Scheduler jobs; finally what an earlier deploy of the service
 * created and the service no longer has is deleted. Everything created carries the labels `polycloud-service` and
 * `polycloud-stage` (Scheduler jobs, which have no labels, a description), and `remove` deletes only what carries
 * them: topics the service subscribes to but did not create are left alone.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError, ProviderError } from '../../errors.js'
import type { Json, ServiceContext } from '../../provider.js'
import { call, createClients, defaultConnection, grant, isStatus, type GoogleClients, type GoogleConnection } from './api.js'
import { invocation } from './invoke-local.js'
import { packageSource } from './package.js'
import type { CloudFunctionSpec, GooglePlan, GoogleSettings, SubscriptionSpec } from './plan.js'

type Context = ServiceContext<GooglePlan>

/** How many functions are created or updated at once (each is a Cloud Build on Google's side). */
const PARALLEL = 4

const INVOKER = 'roles/run.invoker'

/** Everything a command needs about where it deploys. */
interface Target {
  readonly context: Context
  readonly settings: GoogleSettings
  readonly project: string
  readonly region: string
  readonly labels: Readonly<Record<string, string>>
  readonly connection: GoogleConnection
  readonly clients: GoogleClients
  /** The Scheduler jobs' description: jobs have no labels, so this marks them as the service's. */
  readonly marker: string
}

/** A label value: lower case letters, digits, `_` and `-`, at most 63 characters. */
export function labelValue(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63)
}

export function serviceLabels(context: Context, settings: GoogleSettings): Record<string, string> {
  return { ...settings.custom.labels, 'polycloud-service': labelValue(context.service), 'polycloud-stage': labelValue(context.stage), 'managed-by': 'serverless-polycloud' }
}

function isOurs(labels: unknown, target: Pick<Target, 'labels'>): boolean {
  const own = (labels ?? {}) as Record<string, string>
  return own['polycloud-service'] === target.labels['polycloud-service'] && own['polycloud-stage'] === target.labels['polycloud-stage']
}

async function open(context: Context, connection: GoogleConnection | undefined): Promise<Target> {
  const settings = context.plan.settings()
  for (const note of settings.notes) context.log.warning(note)
  const project = settings.project
  if (project === undefined) {
    throw new ConfigError('provider.project', 'no Google Cloud project: set provider.project (or custom.polycloud.google.project), or GOOGLE_CLOUD_PROJECT')
  }
  const resolved = connection ?? (await defaultConnection())
  return {
    context,
    settings,
    project,
    region: settings.region,
    labels: serviceLabels(context, settings),
    connection: resolved,
    clients: await createClients(resolved),
    marker: `serverless-polycloud: ${context.service} (${context.stage})`,
  }
}

const functionName = (target: Target, id: string): string => `projects/${target.project}/locations/${target.region}/functions/${id}`
const topicName = (target: Target, topic: string): string => `projects/${target.project}/topics/${topic}`
const subscriptionName = (target: Target, name: string): string => `projects/${target.project}/subscriptions/${name}`
const jobName = (target: Target, name: string): string => `projects/${target.project}/locations/${target.region}/jobs/${name}`

/** Runs `work` over the items, at most `limit` at a time; the first failure fails the whole once the others end. */
async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  let failure: unknown
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const index = next++
      try {
        results[index] = await work(items[index] as T)
      } catch (error) {
        failure ??= error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failure !== undefined) throw failure
  return results
}

// ---------------------------------------------------------------------------------------------------------------
// Deploy

/** The Cloud Function resource for a spec. */
function functionResource(target: Target, spec: CloudFunctionSpec, storageSource: Json): Json {
  const { settings, project } = target
  const serviceAccount = settings.custom.serviceAccount
  const trigger = spec.trigger
  return {
    name: functionName(target, spec.id),
    description: spec.function === undefined ? `${target.context.service} (${target.context.stage}): the service's routes` : `${target.context.service} (${target.context.stage}): ${spec.function}`,
    labels: target.labels,
    environment: 'GEN_2',
    buildConfig: { runtime: settings.runtime, entryPoint: spec.entryPoint, source: { storageSource } },
    serviceConfig: {
      timeoutSeconds: Math.ceil(spec.timeout),
      ...(spec.memory ? { availableMemory: spec.memory } : {}),
      environmentVariables: { ...spec.environment, GOOGLE_CLOUD_PROJECT: project },
      ingressSettings: 'ALLOW_ALL',
      allTrafficOnLatestRevision: true,
      ...(serviceAccount ? { serviceAccountEmail: serviceAccount } : {}),
    },
    ...(trigger
      ? {
          eventTrigger: {
            eventType: trigger.eventType,
            ...(trigger.topic ? { pubsubTopic: topicName(target, trigger.topic) } : {}),
            eventFilters: trigger.filters.map((filter) => ({ attribute: filter.attribute, value: filter.value, ...(filter.operator ? { operator: filter.operator } : {}) })),
            retryPolicy: 'RETRY_POLICY_RETRY',
            ...(trigger.location ? { triggerRegion: trigger.location } : {}),
            ...(serviceAccount ? { serviceAccountEmail: serviceAccount } : {}),
          },
        }
      : {}),
  }
}

const FUNCTION_MASK = [
  'description',
  'labels',
  'build_config.runtime',
  'build_config.entry_point',
  'build_config.source',
  'service_config.timeout_seconds',
  'service_config.available_memory',
  'service_config.environment_variables',
  'service_config.ingress_settings',
  'service_config.service_account_email',
  'service_config.all_traffic_on_latest_revision',
]

/** A deployed function as the API returns it (the parts the commands read). */
interface DeployedFunction {
  name?: string | null
  state?: unknown
  labels?: Record<string, string> | null
  url?: string | null
  serviceConfig?: { uri?: string | null; service?: string | null; serviceAccountEmail?: string | null } | null
  eventTrigger?: { serviceAccountEmail?: string | null; eventType?: string | null; pubsubTopic?: string | null } | null
}

/** Uploads the zip for one function (a fresh upload URL each: Google consumes the object with the build). */
async function upload(target: Target, zip: Buffer, id: string): Promise<Json> {
  const parent = `projects/${target.project}/locations/${target.region}`
  const [url] = await call(`getting an upload URL for ${id}`, target.project, () =>
    target.clients.functions.generateUploadUrl({ parent, environment: 'GEN_2' }),
  )
  if (!url.uploadUrl || !url.storageSource) throw new ProviderError(`getting an upload URL for ${id} failed: the answer had no uploadUrl`, 'deploy again')
  const response = await call(`uploading the source of ${id}`, target.project, () =>
    fetch(url.uploadUrl as string, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: new Uint8Array(zip) }),
  )
  if (!response.ok) {
    throw new ProviderError(`uploading the source of ${id} failed: HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`, 'deploy again; check the network to storage.googleapis.com')
  }
  return url.storageSource as Json
}

/** Creates the function, or updates it in place when it exists; resolves with the function once ready. */
async function deployFunction(target: Target, spec: CloudFunctionSpec, zip: Buffer): Promise<DeployedFunction> {
  const { functions } = target.clients
  const resource = functionResource(target, spec, await upload(target, zip, spec.id))
  const parent = `projects/${target.project}/locations/${target.region}`
  target.context.log.notice(`Deploying ${spec.id} (${spec.trigger?.describe ?? (spec.function === undefined ? 'routes' : 'HTTP')})...`)
  let operation
  try {
    ;[operation] = await functions.createFunction({ parent, functionId: spec.id, function: resource })
  } catch (error) {
    if (!isStatus(error, 'ALREADY_EXISTS')) return call(`creating ${spec.id}`, target.project, () => Promise.reject(error))
    const [existing] = await call(`reading ${spec.id}`, target.project, () => functions.getFunction({ name: functionName(target, spec.id) }))
    if (!isOurs(existing.labels, target)) {
      throw new ProviderError(
        `${spec.id} exists in ${target.region} and was not deployed by serverless-polycloud for ${target.context.service} (${target.context.stage})`,
        'remove that function, or rename the service or the function',
      )
    }
    const paths = [...FUNCTION_MASK, ...(spec.trigger ? ['event_trigger'] : [])]
    ;[operation] = await call(`updating ${spec.id}`, target.project, () => functions.updateFunction({ function: resource, updateMask: { paths } }))
  }
  const [deployed] = await call(`deploying ${spec.id} (the build or the rollout)`, target.project, () => operation.promise())
  return deployed as DeployedFunction
}

/** The service account that calls a function for its triggers and subscriptions. */
function invokerOf(target: Target, deployed: DeployedFunction): string | undefined {
  return target.settings.custom.serviceAccount ?? deployed.eventTrigger?.serviceAccountEmail ?? deployed.serviceConfig?.serviceAccountEmail ?? undefined
}

async function grantInvoker(target: Target, deployed: DeployedFunction, id: string, member: string): Promise<void> {
  const service = deployed.serviceConfig?.service
  if (!service) throw new ProviderError(`${id} has no Cloud Run service in its description`, 'deploy again')
  await call(`letting ${member} call ${id}`, target.project, () => grant(target.connection, `${target.connection.endpoints.run}/v2/${service}`, INVOKER, member))
}

async function ensureTopics(target: Target): Promise<void> {
  const { publisher } = target.clients
  await inBatches(target.settings.layout.topics, PARALLEL, async (topic) => {
    // Topics the service only subscribes to are created when missing, labelled as the service's then.
    try {
      await publisher.createTopic({ name: topicName(target, topic.name), labels: target.labels })
      target.context.log.info(`created topic ${topic.name}`)
    } catch (error) {
      if (!isStatus(error, 'ALREADY_EXISTS')) await call(`creating topic ${topic.name}`, target.project, () => Promise.reject(error))
    }
  })
}

function subscriptionResource(target: Target, spec: SubscriptionSpec, uri: string, invoker: string): Json {
  return {
    name: subscriptionName(target, spec.name),
    topic: topicName(target, spec.topic),
    labels: target.labels,
    pushConfig: { pushEndpoint: uri, oidcToken: { serviceAccountEmail: invoker, audience: uri } },
    ackDeadlineSeconds: spec.ackDeadlineSeconds,
    deadLetterPolicy: { deadLetterTopic: topicName(target, spec.deadLetterTopic), maxDeliveryAttempts: spec.maxDeliveryAttempts },
    retryPolicy: { minimumBackoff: { seconds: 10 }, maximumBackoff: { seconds: 600 } },
    // A queue's subscription never expires (Pub/Sub deletes idle ones after 31 days by default).
    expirationPolicy: {},
    enableMessageOrdering: spec.ordered,
  }
}

const SUBSCRIPTION_MASK = ['push_config', 'ack_deadline_seconds', 'dead_letter_policy', 'retry_policy', 'labels', 'expiration_policy']

async function upsertSubscription(target: Target, subscription: Json, what: string, mask: readonly string[]): Promise<void> {
  const { subscriber } = target.clients
  try {
    await subscriber.createSubscription(subscription)
  } catch (error) {
    if (!isStatus(error, 'ALREADY_EXISTS')) return call(`creating ${what}`, target.project, () => Promise.reject(error))
    const [existing] = await call(`reading ${what}`, target.project, () => subscriber.getSubscription({ subscription: subscription.name as string }))
    if (!isOurs(existing.labels, target)) throw new ProviderError(`${what} exists and was not created by serverless-polycloud for this service`, 'remove it, or rename the queue')
    await call(`updating ${what}`, target.project, () => subscriber.updateSubscription({ subscription, updateMask: { paths: [...mask] } }))
  }
}

/** The project number (the Pub/Sub service agent's account holds it). */
async function projectNumber(target: Target): Promise<string> {
  const { data } = await call(`reading project ${target.project}`, target.project, () =>
    target.connection.request({ url: `${target.connection.endpoints.resourceManager}/v3/projects/${target.project}`, method: 'GET' }),
  )
  const name = (data as { name?: unknown } | null)?.name
  const number = typeof name === 'string' ? /^projects\/(\d+)$/.exec(name)?.[1] : undefined
  if (number === undefined) throw new ProviderError(`reading project ${target.project} gave no project number`, 'deploy again')
  return number
}

async function deploySubscriptions(target: Target, deployed: ReadonlyMap<string, DeployedFunction>): Promise<void> {
  const { layout } = target.settings
  if (layout.subscriptions.length === 0) return
  for (const spec of layout.subscriptions) {
    const fn = deployed.get(spec.functionId) as DeployedFunction
    const uri = fn.serviceConfig?.uri
    const invoker = invokerOf(target, fn)
    if (!uri || !invoker) throw new ProviderError(`${spec.functionId} has no URL or service account in its description`, 'deploy again')
    await upsertSubscription(target, subscriptionResource(target, spec, uri, invoker), `subscription ${spec.name}`, SUBSCRIPTION_MASK)
  }
  for (const letter of layout.deadLetters) {
    // Pub/Sub keeps no message of a topic nobody subscribes to: this subscription keeps the dead letters 7 days.
    await upsertSubscription(
      target,
      { name: subscriptionName(target, letter.name), topic: topicName(target, letter.topic), labels: target.labels, messageRetentionDuration: { seconds: 604800 }, expirationPolicy: {} },
      `dead-letter subscription ${letter.name}`,
      ['labels', 'message_retention_duration', 'expiration_policy'],
    )
  }
  // Dead-lettering is done by the Pub/Sub service agent: it must publish to the dead-letter topics and
  // acknowledge on the subscriptions.
  const agent = `serviceAccount:service-${await projectNumber(target)}@gcp-sa-pubsub.iam.gserviceaccount.com`
  const pubsub = target.connection.endpoints.pubsub
  for (const letter of layout.deadLetters) {
    await call(`letting Pub/Sub publish dead letters to ${letter.topic}`, target.project, () =>
      grant(target.connection, `${pubsub}/v1/${topicName(target, letter.topic)}`, 'roles/pubsub.publisher', agent),
    )
  }
  for (const spec of layout.subscriptions) {
    await call(`letting Pub/Sub forward dead letters from ${spec.name}`, target.project, () =>
      grant(target.connection, `${pubsub}/v1/${subscriptionName(target, spec.name)}`, 'roles/pubsub.subscriber', agent),
    )
  }
}

async function deployJobs(target: Target): Promise<void> {
  const { scheduler } = target.clients
  const parent = `projects/${target.project}/locations/${target.region}`
  for (const spec of target.settings.layout.jobs) {
    const job = {
      name: jobName(target, spec.name),
      description: target.marker,
      schedule: spec.schedule,
      timeZone: spec.timeZone,
      pubsubTarget: {
        topicName: topicName(target, spec.topic),
        data: Buffer.from(JSON.stringify({ job: spec.name, schedule: spec.schedule, timeZone: spec.timeZone })),
        attributes: { 'polycloud-job': spec.name },
      },
    }
    let state: unknown
    try {
      ;[{ state }] = await scheduler.createJob({ parent, job })
    } catch (error) {
      if (!isStatus(error, 'ALREADY_EXISTS')) await call(`creating Scheduler job ${spec.name}`, target.project, () => Promise.reject(error))
      const [existing] = await call(`reading Scheduler job ${spec.name}`, target.project, () => scheduler.getJob({ name: job.name }))
      if (existing.description !== target.marker) throw new ProviderError(`Scheduler job ${spec.name} exists and was not created by serverless-polycloud for this service`, 'delete it, or rename the function')
      ;[{ state }] = await call(`updating Scheduler job ${spec.name}`, target.project, () =>
        scheduler.updateJob({ job, updateMask: { paths: ['description', 'schedule', 'time_zone', 'pubsub_target'] } }),
      )
    }
    const paused = state === 'PAUSED' || state === 2
    if (!spec.enabled && !paused) await call(`pausing Scheduler job ${spec.name}`, target.project, () => scheduler.pauseJob({ name: job.name }))
    if (spec.enabled && paused) await call(`resuming Scheduler job ${spec.name}`, target.project, () => scheduler.resumeJob({ name: job.name }))
  }
}

/** The service's functions, subscriptions and jobs as deployed now (by their labels / description). */
async function deployedResources(target: Target): Promise<{ functions: DeployedFunction[]; subscriptions: Json[]; topics: Json[]; jobs: Json[] }> {
  const { functions, subscriber, publisher, scheduler } = target.clients
  const parent = `projects/${target.project}/locations/${target.region}`
  const filter = `labels.polycloud-service=${target.labels['polycloud-service']} AND labels.polycloud-stage=${target.labels['polycloud-stage']}`
  const [fns] = await call('listing functions', target.project, () => functions.listFunctions({ parent, filter }))
  const [subscriptions] = await call('listing subscriptions', target.project, () => subscriber.listSubscriptions({ project: `projects/${target.project}` }))
  const [topics] = await call('listing topics', target.project, () => publisher.listTopics({ project: `projects/${target.project}` }))
  const [jobs] = await call('listing Scheduler jobs', target.project, () => scheduler.listJobs({ parent }))
  return {
    functions: (fns as DeployedFunction[]).filter((fn) => isOurs(fn.labels, target)),
    subscriptions: (subscriptions as Json[]).filter((subscription) => isOurs(subscription.labels, target)),
    topics: (topics as Json[]).filter((topic) => isOurs(topic.labels, target)),
    jobs: (jobs as Json[]).filter((job) => job.description === target.marker),
  }
}

const lastSegment = (name: unknown): string => String(name).slice(String(name).lastIndexOf('/') + 1)

/** Deletes what the service created; `keep` says which names stay (a redeploy keeps what the service still has). */
async function deleteResources(target: Target, keep: { functions: Set<string>; subscriptions: Set<string>; topics: Set<string>; jobs: Set<string> }): Promise<string[]> {
  const { functions, subscriber, publisher, scheduler } = target.clients
  const current = await deployedResources(target)
  const deleted: string[] = []
  for (const job of current.jobs) {
    if (keep.jobs.has(lastSegment(job.name))) continue
    await call(`deleting Scheduler job ${lastSegment(job.name)}`, target.project, () => scheduler.deleteJob({ name: job.name as string }))
    deleted.push(`Scheduler job ${lastSegment(job.name)}`)
  }
  for (const subscription of current.subscriptions) {
    if (keep.subscriptions.has(lastSegment(subscription.name))) continue
    await call(`deleting subscription ${lastSegment(subscription.name)}`, target.project, () => subscriber.deleteSubscription({ subscription: subscription.name as string }))
    deleted.push(`subscription ${lastSegment(subscription.name)}`)
  }
  const doomed = current.functions.filter((fn) => !keep.functions.has(lastSegment(fn.name)))
  await inBatches(doomed, PARALLEL, async (fn) => {
    target.context.log.notice(`Deleting ${lastSegment(fn.name)}...`)
    await call(`deleting ${lastSegment(fn.name)}`, target.project, async () => {
      const [operation] = await functions.deleteFunction({ name: fn.name as string })
      await operation.promise()
    })
    deleted.push(`function ${lastSegment(fn.name)}`)
  })
  for (const topic of current.topics) {
    if (keep.topics.has(lastSegment(topic.name))) continue
    await call(`deleting topic ${lastSegment(topic.name)}`, target.project, () => publisher.deleteTopic({ topic: topic.name as string }))
    deleted.push(`topic ${lastSegment(topic.name)}`)
  }
  return deleted
}

function routeLines(target: Target, urls: ReadonlyMap<string, string>): string[] {
  const router = target.settings.layout.router
  const base = router ? urls.get(router.id) : undefined
  if (!router || !base) return []
  return ['endpoints:', ...router.routes.map((route) => `  ${route.method.padEnd(7)} ${base}${route.path}  (${route.function})`)]
}

function summary(target: Target, urls: ReadonlyMap<string, string>): string {
  const { layout } = target.settings
  const lines = [`Service ${target.context.service} (${target.context.stage}) in ${target.project}, ${target.region}:`, ...routeLines(target, urls), 'functions:']
  for (const spec of layout.functions) {
    const what = spec.trigger?.describe ?? (spec.function === undefined ? 'routes' : layout.subscriptions.some((s) => s.functionId === spec.id) ? 'push endpoint' : 'HTTP')
    lines.push(`  ${spec.id}: ${what}${spec.signature === 'http' && urls.get(spec.id) ? `  ${urls.get(spec.id)}` : ''}`)
  }
  for (const subscription of layout.subscriptions) {
    lines.push(`queue ${subscription.queue}: topic ${subscription.topic} -> ${subscription.name} (push, ${subscription.maxDeliveryAttempts} attempts, then ${subscription.deadLetterTopic})`)
  }
  for (const job of layout.jobs) lines.push(`schedule ${job.name}: ${job.schedule} ${job.timeZone}${job.enabled ? '' : ' (paused)'} -> topic ${job.topic}`)
  return lines.join('\n')
}

/** `serverless deploy`. */
export async function deployCommand(context: Context, connection?: GoogleConnection): Promise<void> {
  const target = await open(context, connection)
  try {
    const packaged = await packageSource(context, target.settings)
    const zip = readFileSync(packaged.zip)
    const { layout } = target.settings
    await ensureTopics(target)
    const results = await inBatches(layout.functions, PARALLEL, async (spec) => [spec, await deployFunction(target, spec, zip)] as const)
    const deployed = new Map(results.map(([spec, fn]) => [spec.id, fn]))
    const urls = new Map(results.map(([spec, fn]) => [spec.id, fn.serviceConfig?.uri ?? '']))
    const pushed = new Set(layout.subscriptions.map((subscription) => subscription.functionId))
    for (const [spec, fn] of results) {
      if (spec.signature === 'http' && !pushed.has(spec.id)) {
        if (target.settings.custom.public !== false) await grantInvoker(target, fn, spec.id, 'allUsers')
      } else {
        const invoker = invokerOf(target, fn)
        if (invoker) await grantInvoker(target, fn, spec.id, `serviceAccount:${invoker}`)
      }
    }
    await deploySubscriptions(target, deployed)
    await deployJobs(target)
    const deleted = await deleteResources(target, {
      functions: new Set(layout.functions.map((fn) => fn.id)),
      subscriptions: new Set([...layout.subscriptions.map((s) => s.name), ...layout.deadLetters.map((d) => d.name)]),
      topics: new Set(layout.topics.map((topic) => topic.name)),
      jobs: new Set(layout.jobs.map((job) => job.name)),
    })
    for (const what of deleted) context.log.notice(`Deleted ${what} (no longer in the service)`)
    context.write(summary(target, urls))
  } finally {
    await target.clients.close()
  }
}

/** `serverless remove`: deletes every resource labelled as the service's (stage included), nothing else. */
export async function removeCommand(context: Context, connection?: GoogleConnection): Promise<void> {
  const target = await open(context, connection)
  try {
    const none = new Set<string>()
    const deleted = await deleteResources(target, { functions: none, subscriptions: none, topics: none, jobs: none })
    context.write(deleted.length === 0 ? `Nothing of ${context.service} (${context.stage}) was deployed in ${target.project}, ${target.region}.` : `Removed ${context.service} (${context.stage}): ${deleted.join(', ')}`)
  } finally {
    await target.clients.close()
  }
}

const STATES: Record<number, string> = { 0: 'STATE_UNSPECIFIED', 1: 'ACTIVE', 2: 'FAILED', 3: 'DEPLOYING', 4: 'DELETING', 5: 'UNKNOWN' }

/** `serverless info`: the deployed functions (state, trigger, URL), the routes, the queues and schedules. */
export async function infoCommand(context: Context, connection?: GoogleConnection): Promise<void> {
  const target = await open(context, connection)
  try {
    const current = await deployedResources(target)
    if (current.functions.length === 0) {
      context.write(`${context.service} (${context.stage}) is not deployed in ${target.project}, ${target.region}.`)
      return
    }
    const urls = new Map(current.functions.map((fn) => [lastSegment(fn.name), fn.serviceConfig?.uri ?? '']))
    const lines = [`Service ${context.service} (${context.stage}) in ${target.project}, ${target.region}:`, ...routeLines(target, urls), 'functions:']
    for (const fn of current.functions) {
      const state = typeof fn.state === 'number' ? STATES[fn.state] : String(fn.state)
      const trigger = fn.eventTrigger?.eventType ? `${fn.eventTrigger.eventType}${fn.eventTrigger.pubsubTopic ? ` on ${lastSegment(fn.eventTrigger.pubsubTopic)}` : ''}` : 'HTTPS'
      lines.push(`  ${lastSegment(fn.name)}: ${state}, ${trigger}, ${fn.serviceConfig?.uri ?? ''}`)
    }
    for (const subscription of current.subscriptions) {
      const push = (subscription.pushConfig as { pushEndpoint?: string } | undefined)?.pushEndpoint
      lines.push(`subscription ${lastSegment(subscription.name)}: topic ${lastSegment(subscription.topic)}${push ? ` -> ${push}` : ' (pull)'}`)
    }
    for (const job of current.jobs) lines.push(`schedule ${lastSegment(job.name)}: ${String(job.schedule)} ${String(job.timeZone)}`)
    context.write(lines.join('\n'))
  } finally {
    await target.clients.close()
  }
}

/** The payload of `invoke`: `--data` (JSON, or text for an HTTP function's body) or `--path` (a JSON file). */
function invokePayload(context: Context): unknown {
  const { data, path } = context.options
  if (typeof path === 'string') {
    try {
      return JSON.parse(readFileSync(resolve(context.servicePath, path), 'utf8')) as unknown
    } catch (error) {
      throw new ConfigError('--path', `cannot read JSON from ${path}: ${(error as Error).message}`)
    }
  }
  if (typeof data === 'string') {
    try {
      return JSON.parse(data) as unknown
    } catch {
      return { method: 'POST', path: '/', body: data }
    }
  }
  return { method: 'GET', path: '/' }
}

/**
 * `serverless invoke -f <function>`: one request to the deployed function's URL, as `invoke local` sends it (an
 * HTTP request description, a push body or a CloudEvent), with an ID token when the credentials can make one.
 */
export async function invokeCommand(context: Context, connection?: GoogleConnection & { idToken?: (audience: string) => Promise<string | undefined> }): Promise<void> {
  const name = context.options.function
  const target = await open(context, connection)
  try {
    const spec = target.settings.layout.functions.find((candidate) => candidate.function === name)
    if (spec === undefined) {
      throw new ConfigError('--function', `${JSON.stringify(name)} is not a deployed function of the service (${target.settings.layout.functions.flatMap((fn) => fn.function ?? []).join(', ')})`)
    }
    const request = invocation(spec, invokePayload(context))
    const [fn] = await call(`reading ${spec.id}`, target.project, () => target.clients.functions.getFunction({ name: functionName(target, spec.id) }))
    const uri = fn.serviceConfig?.uri
    if (!uri) throw new ProviderError(`${spec.id} has no URL yet`, 'deploy the service first (serverless deploy)')
    const token = await (connection?.idToken ?? idTokenFor)(uri).catch(() => undefined)
    const headers: Record<string, string> = { ...request.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) }
    const response = await call(`calling ${spec.id}`, target.project, () =>
      fetch(`${uri}${request.path}`, { method: request.method, headers, ...(request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD' ? { body: request.body } : {}) }),
    )
    const text = await response.text()
    let body: unknown = text
    try {
      body = text === '' ? null : JSON.parse(text)
    } catch {
      // Not JSON: printed as text.
    }
    context.write(JSON.stringify({ status: response.status, body }, null, 2))
    if (response.status === 401 || response.status === 403) {
      context.log.warning(`${spec.id} refused the call: it needs an identity token of an account with ${INVOKER} (a service account key in GOOGLE_APPLICATION_CREDENTIALS can make one)`)
    }
  } finally {
    await target.clients.close()
  }
}

/** An ID token for the function's URL from Application Default Credentials, when they can make one. */
async function idTokenFor(audience: string): Promise<string | undefined> {
  const { GoogleAuth } = await import('google-auth-library')
  const client = await new GoogleAuth().getIdTokenClient(audience)
  return client.idTokenProvider.fetchIdToken(audience)
}
