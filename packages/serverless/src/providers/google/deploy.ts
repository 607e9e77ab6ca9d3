/**
 * `serverless deploy | remove | info | invoke` for Google Cloud, with Google's own clients (see `api.ts`).
 *
 * Deploy: the topics the events need; each function's own runtime service account (accounts.ts) unless the service
 * names one; per Cloud Function an upload URL, the source zip PUT to it, then create the
 * function (or, when it exists, update it in place with a field mask) and wait for the long-running operation; who
 * may call each function (anyone for HTTP functions unless `public: false`; the invoking service account for
 * triggers and push subscriptions); the push subscriptions (dead-letter topic, maximum delivery attempts, ack
 * deadline from the function's timeout) and the Scheduler jobs; finally what an earlier deploy of the service
 * created and the service no longer has is deleted. Before anything is created, a preflight of reads names every
 * prerequisite the project lacks (APIs, the roles triggers need, creating and acting as the service accounts). What
 * exists is compared with the service and written only when it differs: a function whose source and settings are
 * unchanged (its `polycloud-fingerprint` label) is not uploaded nor rebuilt, so a second deploy with nothing changed
 * only reads (`--force` redeploys every function). Everything created carries the labels `polycloud-service` and
 * `polycloud-stage` (Scheduler jobs and service accounts, which have no labels, a description), and `remove` deletes only what carries
 * them: topics the service subscribes to but did not create are left alone.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ConfigError, ProviderError } from '../../errors.js'
import type { Json, ServiceContext } from '../../provider.js'
import { apiFailure, call, createClients, defaultConnection, disabledService, grant, isStatus, type GoogleClients, type GoogleConnection } from './api.js'
import { deletesObjects } from '../../resources.js'
import { invocation } from './invoke-local.js'
import { packageSource } from './package.js'
import { deployStores, removeStores, storeAccess } from './stores.js'
import { deleteDataOption } from '../../resources.js'
import { deleteAccounts, ensureAccounts, isOwnAccount, onceKnown, listAccounts, runtimeAccounts, type RuntimeAccount, type ServiceAccountResource } from './accounts.js'
import { GOOGLE_ROLES, ROUTER_ENTRY, type CloudFunctionSpec, type GoogleGrant, type GooglePlan, type GoogleSettings, type SubscriptionSpec } from './plan.js'

type Context = ServiceContext<GooglePlan>

/** How many functions are created or updated at once (each is a Cloud Build on Google's side). */
const PARALLEL = 4

const INVOKER = 'roles/run.invoker'

/** The project's default compute service account: the triggers' and push subscriptions' when the service names none. */
const computeAccount = (number: string): string => `${number}-compute@developer.gserviceaccount.com`

/** The account a Cloud Function runs as: the service's named one, else the function's own (accounts.ts). */
function runtimeOf(target: Target, id: string): string | undefined {
  return target.settings.custom.serviceAccount ?? target.own.find((account) => account.functionIds.includes(id))?.email
}

/** Everything a command needs about where it deploys. */
interface Target {
  readonly context: Context
  readonly settings: GoogleSettings
  readonly project: string
  readonly region: string
  readonly labels: Readonly<Record<string, string>>
  readonly connection: GoogleConnection
  readonly clients: GoogleClients
  /** The Scheduler jobs' and service accounts' description: they have no labels, so this marks them as the service's. */
  readonly marker: string
  /** The functions' own runtime accounts; none when the service names its account (`custom.polycloud.google.serviceAccount`). */
  readonly own: readonly RuntimeAccount[]
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
  if (settings.regionNote !== undefined) context.log.notice(`${settings.regionNote} (custom.polycloud.google.region or --region to choose)`)
  const project = settings.project
  if (project === undefined) {
    throw new ConfigError('provider.project', 'no Google Cloud project: set provider.project (or custom.polycloud.google.project), or GOOGLE_CLOUD_PROJECT')
  }
  const resolved = connection ?? (await defaultConnection())
  const marker = `serverless-polycloud: ${context.service} (${context.stage})`
  return {
    context,
    settings,
    project,
    region: settings.region,
    labels: serviceLabels(context, settings),
    connection: resolved,
    clients: await createClients(resolved),
    marker,
    own: settings.custom.serviceAccount === undefined ? runtimeAccounts(settings.layout, { service: context.service, stage: context.stage, project, marker }) : [],
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

/** The label holding a digest of a function's source and settings: an unchanged function is not deployed again. */
const FINGERPRINT = 'polycloud-fingerprint'

/** The Cloud Function resource for a spec. */
function functionResource(target: Target, spec: CloudFunctionSpec, storageSource: Json, fingerprint: string): Json {
  const { settings, project } = target
  const serviceAccount = settings.custom.serviceAccount
  const runtimeAccount = runtimeOf(target, spec.id)
  const trigger = spec.trigger
  return {
    name: functionName(target, spec.id),
    description: spec.function === undefined ? `${target.context.service} (${target.context.stage}): the service's routes` : `${target.context.service} (${target.context.stage}): ${spec.function}`,
    labels: { ...target.labels, [FINGERPRINT]: fingerprint },
    environment: 'GEN_2',
    buildConfig: { runtime: settings.runtime, entryPoint: spec.entryPoint, source: { storageSource } },
    serviceConfig: {
      timeoutSeconds: Math.ceil(spec.timeout),
      ...(spec.memory ? { availableMemory: spec.memory } : {}),
      environmentVariables: { ...spec.environment, GOOGLE_CLOUD_PROJECT: project },
      ingressSettings: 'ALLOW_ALL',
      allTrafficOnLatestRevision: true,
      ...(runtimeAccount ? { serviceAccountEmail: runtimeAccount } : {}),
    },
    ...(trigger
      ? {
          eventTrigger: {
            eventType: trigger.eventType,
            ...(trigger.topic ? { pubsubTopic: topicName(target, trigger.topic) } : {}),
            eventFilters: trigger.filters.map((filter) => ({ attribute: filter.attribute, value: filter.value, ...(filter.operator ? { operator: filter.operator } : {}) })),
            retryPolicy: 'RETRY_POLICY_RETRY',
            ...(trigger.location ? { triggerRegion: trigger.location } : {}),
            // The trigger calls the function as the named account, else as the default compute account (Google's
            // default when unset), which holds roles/eventarc.eventReceiver; the function's own account does not.
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

/**
 * A digest of what a function is deployed from: the files of the source its instance loads (package.json,
 * index.js, its bundle and source map) and the resource without its source. Equal digests: nothing to deploy.
 */
function fingerprintOf(target: Target, spec: CloudFunctionSpec, sourceDir: string): string {
  const hash = createHash('sha256')
  for (const file of ['package.json', 'index.js', `functions/${spec.entryPoint}.js`, `functions/${spec.entryPoint}.js.map`]) {
    const path = join(sourceDir, file)
    hash.update(`${file}\0`).update(existsSync(path) ? readFileSync(path) : Buffer.alloc(0)).update('\0')
  }
  hash.update(JSON.stringify(functionResource(target, spec, {}, '')))
  return hash.digest('hex').slice(0, 40)
}

/** Whether a listed function is serving (state ACTIVE, as a number or a name). */
const isActive = (state: unknown): boolean => state === 1 || state === 'ACTIVE'

/** Uploads the zip and updates the function in place (every field the service sets, with a field mask). */
async function updateFunction(target: Target, spec: CloudFunctionSpec, zip: Buffer, fingerprint: string): Promise<DeployedFunction> {
  const resource = functionResource(target, spec, await upload(target, zip, spec.id), fingerprint)
  const paths = [...FUNCTION_MASK, ...(spec.trigger ? ['event_trigger'] : [])]
  const [operation] = await call(`updating ${spec.id}`, target.project, () => target.clients.functions.updateFunction({ function: resource, updateMask: { paths } }))
  const [deployed] = await call(`deploying ${spec.id} (the build or the rollout)`, target.project, () => operation.promise())
  return deployed as DeployedFunction
}

function notOurs(target: Target, spec: CloudFunctionSpec): ProviderError {
  return new ProviderError(
    `${spec.id} exists in ${target.region} and was not deployed by serverless-polycloud for ${target.context.service} (${target.context.stage})`,
    'remove that function, or rename the service or the function',
  )
}

/**
 * Deploys one function: nothing when the deployed one has the same fingerprint (and is ACTIVE), an update in place
 * when it exists, a create otherwise. A create can meet a function of that name made meanwhile (another deploy of
 * the service) in two ways, refused at once with 409 or accepted and then failed inside the long-running operation
 * with ALREADY_EXISTS: either way the function is read again and, when it is the service's, updated in place.
 */
async function deployFunction(target: Target, spec: CloudFunctionSpec, zip: Buffer, existing: DeployedFunction | undefined, fingerprint: string): Promise<{ fn: DeployedFunction; changed: boolean }> {
  const log = target.context.log
  if (existing !== undefined) {
    if (!isOurs(existing.labels, target)) throw notOurs(target, spec)
    if (target.context.options.force !== true && existing.labels?.[FINGERPRINT] === fingerprint && isActive(existing.state)) {
      log.info(`${spec.id} unchanged`)
      return { fn: existing, changed: false }
    }
    log.notice(`Updating ${spec.id} (${spec.trigger?.describe ?? (spec.function === undefined ? 'routes' : 'HTTP')})...`)
    return { fn: await updateFunction(target, spec, zip, fingerprint), changed: true }
  }
  const { functions } = target.clients
  const resource = functionResource(target, spec, await upload(target, zip, spec.id), fingerprint)
  const parent = `projects/${target.project}/locations/${target.region}`
  log.notice(`Deploying ${spec.id} (${spec.trigger?.describe ?? (spec.function === undefined ? 'routes' : 'HTTP')})...`)
  try {
    const [operation] = await functions.createFunction({ parent, functionId: spec.id, function: resource })
    const [deployed] = await operation.promise()
    return { fn: deployed as DeployedFunction, changed: true }
  } catch (error) {
    if (!isStatus(error, 'ALREADY_EXISTS')) return call(`creating ${spec.id}`, target.project, () => Promise.reject(error))
    const [found] = await call(`reading ${spec.id}`, target.project, () => functions.getFunction({ name: functionName(target, spec.id) }))
    if (!isOurs(found.labels, target)) throw notOurs(target, spec)
    log.notice(`${spec.id} was created meanwhile: updating it in place...`)
    return { fn: await updateFunction(target, spec, zip, fingerprint), changed: true }
  }
}

/**
 * The service account that calls a function for its triggers and push subscriptions: the service's named one, else
 * the trigger's as deployed, else the default compute account (never the function's own runtime account).
 */
function invokerOf(target: Target, deployed: DeployedFunction, number: string): string {
  return target.settings.custom.serviceAccount ?? deployed.eventTrigger?.serviceAccountEmail ?? computeAccount(number)
}

async function grantInvoker(target: Target, deployed: DeployedFunction, id: string, member: string): Promise<void> {
  const service = deployed.serviceConfig?.service
  if (!service) throw new ProviderError(`${id} has no Cloud Run service in its description`, 'deploy again')
  await call(`letting ${member} call ${id}`, target.project, () => grant(target.connection, `${target.connection.endpoints.run}/v2/${service}`, INVOKER, member))
}

async function ensureTopics(target: Target, existing: ReadonlySet<string>): Promise<void> {
  const { publisher } = target.clients
  const missing = target.settings.layout.topics.filter((topic) => !existing.has(topic.name))
  await inBatches(missing, PARALLEL, async (topic) => {
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

/** A duration as the clients decode it (`{ seconds: '10' }`, a Long) or as written (`{ seconds: 10 }`, `'10s'`), in seconds. */
function seconds(value: unknown): number {
  if (typeof value === 'string') return Number.parseFloat(value)
  const duration = value as { seconds?: unknown; nanos?: unknown } | null | undefined
  return Number(String(duration?.seconds ?? 0)) + Number(duration?.nanos ?? 0) / 1e9
}

/** The fields of a subscription deploy sets, as comparable values. */
function subscriptionState(subscription: Json | undefined): string {
  const value = subscription ?? {}
  const push = value.pushConfig as { pushEndpoint?: string; oidcToken?: { serviceAccountEmail?: string; audience?: string } } | null | undefined
  const letter = value.deadLetterPolicy as { deadLetterTopic?: string; maxDeliveryAttempts?: number } | null | undefined
  const retry = value.retryPolicy as { minimumBackoff?: unknown; maximumBackoff?: unknown } | null | undefined
  return JSON.stringify({
    topic: value.topic,
    push: push?.pushEndpoint ? [push.pushEndpoint, push.oidcToken?.serviceAccountEmail ?? '', push.oidcToken?.audience ?? ''] : null,
    ack: value.ackDeadlineSeconds ?? 10,
    letter: letter?.deadLetterTopic ? [letter.deadLetterTopic, letter.maxDeliveryAttempts ?? 0] : null,
    retry: retry ? [seconds(retry.minimumBackoff), seconds(retry.maximumBackoff)] : null,
    labels: Object.entries((value.labels ?? {}) as Record<string, string>).sort(),
    retention: value.messageRetentionDuration === undefined || value.messageRetentionDuration === null ? null : seconds(value.messageRetentionDuration),
    expires: seconds((value.expirationPolicy as { ttl?: unknown } | null | undefined)?.ttl),
  })
}

/** Creates a subscription, or updates the service's own one when its settings differ (a listed one is compared first). */
async function upsertSubscription(target: Target, subscription: Json, what: string, mask: readonly string[], existing: ReadonlyMap<string, Json>): Promise<void> {
  const { subscriber } = target.clients
  const update = async (current: Json): Promise<void> => {
    if (!isOurs(current.labels, target)) throw new ProviderError(`${what} exists and was not created by serverless-polycloud for this service`, 'remove it, or rename the queue')
    if (subscriptionState(current) === subscriptionState(subscription)) return
    await call(`updating ${what}`, target.project, () => subscriber.updateSubscription({ subscription, updateMask: { paths: [...mask] } }))
  }
  const listed = existing.get(subscription.name as string)
  if (listed !== undefined) return update(listed)
  try {
    await subscriber.createSubscription(subscription)
  } catch (error) {
    if (!isStatus(error, 'ALREADY_EXISTS')) return call(`creating ${what}`, target.project, () => Promise.reject(error))
    const [current] = await call(`reading ${what}`, target.project, () => subscriber.getSubscription({ subscription: subscription.name as string }))
    await update(current as Json)
  }
}

/** The project number (the Pub/Sub service agent's account holds it), from Resource Manager; its errors as they come. */
async function readProjectNumber(target: Target): Promise<string> {
  const { data } = await target.connection.request({ url: `${target.connection.endpoints.resourceManager}/v3/projects/${target.project}`, method: 'GET' })
  const name = (data as { name?: unknown } | null)?.name
  const number = typeof name === 'string' ? /^projects\/(\d+)$/.exec(name)?.[1] : undefined
  if (number === undefined) throw new ProviderError(`reading project ${target.project} gave no project number`, 'deploy again')
  return number
}

// ---------------------------------------------------------------------------------------------------------------
// Cloud Storage: the declared buckets and the roles on them (JSON API, https://cloud.google.com/storage/docs/json_api/v1/buckets)

/** A bucket as the JSON API answers it (the parts the commands read). */
interface StoredBucket {
  readonly name?: string
  readonly labels?: Record<string, string>
}

const bucketUrl = (target: Target, bucket: string, rest = ''): string => `${target.connection.endpoints.storage}/storage/v1/b/${encodeURIComponent(bucket)}${rest}`

/** A JSON API read: its answer, or undefined for 404. */
async function storageRead<T>(target: Target, what: string, url: string): Promise<T | undefined> {
  try {
    return (await target.connection.request({ url, method: 'GET' })).data as T
  } catch (error) {
    if (isStatus(error, 'NOT_FOUND')) return undefined
    return call(what, target.project, () => Promise.reject(error))
  }
}

/**
 * Creates each declared bucket that does not exist: in the functions' region, uniform bucket-level access (IAM
 * only, no object ACLs), public access prevented, labelled as the service's. One of that name that is not the
 * service's is refused: bucket names are global.
 */
async function ensureBuckets(target: Target): Promise<void> {
  for (const spec of target.settings.layout.buckets) {
    const existing = await storageRead<StoredBucket>(target, `reading bucket ${spec.name}`, bucketUrl(target, spec.name))
    if (existing !== undefined) {
      if (!isOurs(existing.labels, target)) throw new ProviderError(`bucket ${spec.name} (${spec.resource}) exists and was not created by serverless-polycloud for this service`, `bucket names are global: set custom.polycloud.resources.${spec.resource}.name, or mark it existing: true to use it as it is`)
      continue
    }
    target.context.log.notice(`Creating bucket ${spec.name} (${spec.resource})`)
    const bucket = {
      name: spec.name,
      location: target.region,
      labels: target.labels,
      iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: 'enforced' },
    }
    await call(`creating bucket ${spec.name}`, target.project, () =>
      target.connection.request({ url: `${target.connection.endpoints.storage}/storage/v1/b?project=${encodeURIComponent(target.project)}`, method: 'POST', data: bucket }),
    ).catch((error: unknown) => {
      if (error instanceof ProviderError && /ALREADY_EXISTS/.test(error.message)) {
        throw new ProviderError(`bucket name ${spec.name} (${spec.resource}) is taken: ${error.message.replace(/^.*ALREADY_EXISTS: /, '')}`, `bucket names are global: set custom.polycloud.resources.${spec.resource}.name to another name`)
      }
      throw error
    })
  }
}

/** The runtime accounts of the Cloud Functions named, each once. */
const accountsOf = (target: Target, functionIds: readonly string[]): string[] => [...new Set(functionIds.flatMap((id) => runtimeOf(target, id) ?? []))]

/** The runtime accounts of the Cloud Functions whose code uses a store (the routing function when a route's function does). */
function storeAccounts(target: Target): string[] {
  const users = new Set(target.context.plan.functions.filter((fn) => fn.resources.some((resource) => resource.kind === 'store')).map((fn) => fn.name))
  const ids = target.settings.layout.functions.filter((spec) => (spec.function !== undefined ? users.has(spec.function) : spec.routes.some((route) => users.has(route.function)))).map((spec) => spec.id)
  return accountsOf(target, ids)
}

/**
 * Grants each role of the plan on its bucket or topic to the runtime service accounts of the functions that use it
 * (`custom.polycloud.google.serviceAccount`, else each function's own account), read-modify-write of the
 * resource's IAM policy with its etag. A binding that is there is not written again.
 */
async function deployGrants(target: Target, fresh: boolean): Promise<void> {
  for (const spec of target.settings.layout.grants) {
    for (const account of accountsOf(target, spec.functionIds)) {
      const member = `serviceAccount:${account}`
      const granted = await call(`granting ${spec.role} on ${spec.kind} ${spec.name} to ${account}`, target.project, () => onceKnown(fresh, () => grantOn(target, spec, member)))
      if (granted) target.context.log.notice(`Granted ${account} ${spec.role} on ${spec.kind} ${spec.name} (${spec.resource})`)
    }
  }
}

/** Adds `member` to the role's binding of a bucket's or topic's policy; false when it is there. */
async function grantOn(target: Target, spec: GoogleGrant, member: string): Promise<boolean> {
  if (spec.kind === 'topic') return grant(target.connection, `${target.connection.endpoints.pubsub}/v1/${topicName(target, spec.name)}`, spec.role, member)
  // Cloud Storage reads a bucket's policy with GET .../iam and writes it with PUT (buckets.getIamPolicy, setIamPolicy).
  const url = bucketUrl(target, spec.name, '/iam')
  const { data } = await target.connection.request({ url, method: 'GET' })
  const policy = (data ?? {}) as { bindings?: Array<{ role: string; members: string[] }>; etag?: string }
  const bindings = policy.bindings ?? []
  const binding = bindings.find((candidate) => candidate.role === spec.role)
  if (binding?.members.includes(member)) return false
  if (binding) binding.members.push(member)
  else bindings.push({ role: spec.role, members: [member] })
  await target.connection.request({ url, method: 'PUT', data: { bindings, ...(policy.etag ? { etag: policy.etag } : {}) } })
  return true
}

/**
 * Takes back Polycloud's role, on the service's own buckets and declared topics and on the resources its functions
 * use, from the accounts the service's functions run or ran as (the runtime accounts, and `former`: the service's
 * own accounts of functions it no longer has) when no function that runs as it uses the resource any more (a
 * function that dropped a `uses`), so a redeploy leaves exactly the grants of the plan. `legacy` (the default
 * compute account the functions ran as before they had their own) is taken back on the service's own resources
 * only: on an `existing` one it may hold the role for reasons of its own. Other members and roles are left as they
 * are. `keepAny: false` (remove) takes the role back from all of them; a resource that is gone is skipped.
 */
async function revokeStaleGrants(target: Target, former: Iterable<string>, legacy: string | undefined, keepAny = true): Promise<void> {
  const { layout } = target.settings
  const accounts = new Set([...layout.functions.flatMap((fn) => runtimeOf(target, fn.id) ?? []), ...former].map((account) => `serviceAccount:${account}`))
  const owned = new Set([...layout.buckets.map((bucket) => `bucket:${bucket.name}`), ...layout.topics.map((topic) => `topic:${topic.name}`)])
  const wanted = new Map<string, Set<string>>()
  if (keepAny) for (const spec of layout.grants) wanted.set(`${spec.kind}:${spec.name}`, new Set(accountsOf(target, spec.functionIds).map((account) => `serviceAccount:${account}`)))
  const resources = new Map<string, { kind: 'bucket' | 'topic'; name: string; role: string }>()
  for (const bucket of layout.buckets) resources.set(`bucket:${bucket.name}`, { kind: 'bucket', name: bucket.name, role: GOOGLE_ROLES.objectUser })
  for (const topic of layout.topics) if (topic.role === 'queue' || topic.role === 'topic') resources.set(`topic:${topic.name}`, { kind: 'topic', name: topic.name, role: GOOGLE_ROLES.publisher })
  for (const spec of layout.grants) resources.set(`${spec.kind}:${spec.name}`, { kind: spec.kind, name: spec.name, role: spec.role })
  // The functions' own accounts are the service's alone: on an existing declared resource no function uses any
  // more, their role is taken back too (a named account's is left: it may hold the role for reasons of its own).
  if (target.own.length > 0) {
    for (const declared of target.context.plan.model.resources) {
      if (!declared.existing) continue
      if (declared.kind === 'bucket') resources.set(`bucket:${declared.deployedName}`, { kind: 'bucket', name: declared.deployedName, role: GOOGLE_ROLES.objectUser })
      else if (declared.kind === 'queue' || declared.kind === 'topic') resources.set(`topic:${declared.deployedName}`, { kind: 'topic', name: declared.deployedName, role: GOOGLE_ROLES.publisher })
    }
  }
  for (const resource of resources.values()) {
    const keep = wanted.get(`${resource.kind}:${resource.name}`) ?? new Set<string>()
    const url = resource.kind === 'bucket' ? bucketUrl(target, resource.name, '/iam') : `${target.connection.endpoints.pubsub}/v1/${topicName(target, resource.name)}`
    const read = resource.kind === 'bucket' ? { url, method: 'GET' as const } : { url: `${url}:getIamPolicy`, method: 'GET' as const }
    let answer: { data: unknown }
    try {
      answer = await target.connection.request(read)
    } catch (error) {
      // Remove: a resource deleted already, or an API never enabled, holds no grant.
      if (!keepAny && (isStatus(error, 'NOT_FOUND') || disabledService(error) !== undefined)) continue
      answer = await call(`reading the policy of ${resource.kind} ${resource.name}`, target.project, () => Promise.reject(error))
    }
    const policy = (answer.data ?? {}) as { bindings?: Array<{ role: string; members: string[] }>; etag?: string }
    const binding = (policy.bindings ?? []).find((candidate) => candidate.role === resource.role)
    const ours = (member: string): boolean => accounts.has(member) || (legacy !== undefined && owned.has(`${resource.kind}:${resource.name}`) && member === `serviceAccount:${legacy}`)
    const stale = (binding?.members ?? []).filter((member) => ours(member) && !keep.has(member))
    if (binding === undefined || stale.length === 0) continue
    binding.members = binding.members.filter((member) => !stale.includes(member))
    const bindings = (policy.bindings ?? []).filter((candidate) => candidate.members.length > 0)
    target.context.log.notice(`Revoking ${resource.role} on ${resource.kind} ${resource.name} from ${stale.map((member) => member.slice('serviceAccount:'.length)).join(', ')} (${keepAny ? 'no function that runs as it uses it any more' : 'the service is removed'})`)
    await call(`revoking ${resource.role} on ${resource.kind} ${resource.name}`, target.project, () =>
      resource.kind === 'bucket'
        ? target.connection.request({ url, method: 'PUT', data: { bindings, ...(policy.etag ? { etag: policy.etag } : {}) } })
        : target.connection.request({ url: `${url}:setIamPolicy`, method: 'POST', data: { policy: { ...policy, bindings } } }),
    )
  }
}

/** The service's buckets (by label) in the project. */
async function ourBuckets(target: Target): Promise<string[]> {
  const names: string[] = []
  let pageToken: string | undefined
  do {
    const url = `${target.connection.endpoints.storage}/storage/v1/b?project=${encodeURIComponent(target.project)}${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`
    let data: unknown
    try {
      ;({ data } = await target.connection.request({ url, method: 'GET' }))
    } catch (error) {
      // Cloud Storage never enabled: the service created no bucket.
      if (disabledService(error) === 'storage.googleapis.com') return names
      return call('listing buckets', target.project, () => Promise.reject(error))
    }
    const page = (data ?? {}) as { items?: StoredBucket[]; nextPageToken?: string }
    for (const bucket of page.items ?? []) if (bucket.name && isOurs(bucket.labels, target)) names.push(bucket.name)
    pageToken = page.nextPageToken
  } while (pageToken)
  return names
}

/**
 * Deletes the service's buckets that `keep` does not name. A bucket that holds objects is kept with a warning,
 * unless --deleteObjects: then its objects are deleted first (Cloud Storage deletes only empty buckets).
 */
async function deleteBuckets(target: Target, keep: ReadonlySet<string>): Promise<string[]> {
  const deleted: string[] = []
  const purge = deletesObjects(target.context.options)
  for (const bucket of await ourBuckets(target)) {
    if (keep.has(bucket)) continue
    const listing = (name: string) => `${bucketUrl(target, name, '/o')}?maxResults=${purge ? 1000 : 1}&fields=${encodeURIComponent('items(name,generation),nextPageToken')}`
    let page = (await storageRead<{ items?: Array<{ name: string }> }>(target, `listing bucket ${bucket}`, listing(bucket))) ?? {}
    if ((page.items ?? []).length > 0 && !purge) {
      target.context.log.warning(`Bucket ${bucket} kept: it still holds objects (serverless remove --deleteObjects deletes it with them)`)
      continue
    }
    while ((page.items ?? []).length > 0) {
      for (const item of page.items ?? []) {
        await call(`deleting ${item.name} from bucket ${bucket}`, target.project, () => target.connection.request({ url: bucketUrl(target, bucket, `/o/${encodeURIComponent(item.name)}`), method: 'DELETE' }))
      }
      page = (await storageRead<{ items?: Array<{ name: string }> }>(target, `listing bucket ${bucket}`, listing(bucket))) ?? {}
    }
    target.context.log.notice(`Deleting bucket ${bucket}...`)
    await call(`deleting bucket ${bucket}`, target.project, () => target.connection.request({ url: bucketUrl(target, bucket), method: 'DELETE' }))
    deleted.push(`bucket ${bucket}`)
  }
  return deleted
}

// ---------------------------------------------------------------------------------------------------------------
// Preflight

/** Roles that carry `pubsub.topics.publish` (what Cloud Storage's service agent needs for bucket triggers). */
const PUBLISHER_ROLES = ['roles/pubsub.publisher', 'roles/pubsub.editor', 'roles/pubsub.admin', 'roles/editor', 'roles/owner']
/** Roles that carry `eventarc.events.receiveEvent` (what an Eventarc trigger's service account needs). */
const RECEIVER_ROLES = ['roles/eventarc.eventReceiver', 'roles/eventarc.admin', 'roles/editor', 'roles/owner']

/** The APIs a deploy of the service uses (Cloud Functions builds with Cloud Build into Artifact Registry and runs on Cloud Run). */
export function neededApis(layout: GoogleSettings['layout'], ownAccounts = false): string[] {
  const triggers = layout.functions.flatMap((fn) => (fn.trigger ? [fn.trigger] : []))
  return [
    'cloudfunctions.googleapis.com',
    'cloudbuild.googleapis.com',
    'artifactregistry.googleapis.com',
    'run.googleapis.com',
    'cloudresourcemanager.googleapis.com',
    ...(layout.topics.length > 0 || layout.subscriptions.length > 0 || layout.grants.some((grant) => grant.kind === 'topic') ? ['pubsub.googleapis.com'] : []),
    ...(triggers.length > 0 ? ['eventarc.googleapis.com'] : []),
    ...(layout.jobs.length > 0 ? ['cloudscheduler.googleapis.com'] : []),
    ...(ownAccounts ? ['iam.googleapis.com'] : []),
    ...(triggers.some((trigger) => trigger.eventType.startsWith('google.cloud.storage.')) || layout.buckets.length > 0 || layout.grants.some((grant) => grant.kind === 'bucket') ? ['storage.googleapis.com'] : []),
  ]
}

/** A read's answer, or what refused it. */
async function attempt<T>(run: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; value?: undefined; error: unknown }> {
  try {
    return { ok: true, value: await run() }
  } catch (error) {
    return { ok: false, error }
  }
}

/**
 * What the project must have before the deploy creates anything, each checked with a read: the APIs the service
 * uses enabled (Service Usage), Cloud Storage's service agent allowed to publish to Pub/Sub when a bucket triggers
 * a function, the triggers' service account allowed to receive Eventarc events, and the deploying identity allowed
 * to act as the triggers' account (the named one: the functions' runtime account too) and to create and act as the
 * functions' own accounts (on the project, else on each that exists). Everything missing is reported at once, each
 * with the command that fixes it, and nothing is created. A check the identity may not make is named in a warning
 * and skipped. Resolves with the project number and the project's service accounts (by email; none when not listed).
 */
export async function preflight(target: Target): Promise<{ number: string; accounts: ReadonlyMap<string, ServiceAccountResource> }> {
  const { project, settings, connection } = target
  const { layout } = settings
  const missing: Array<{ what: string; fix: string }> = []
  const unchecked: string[] = []
  const off = new Set<string>()
  const refusal = (error: unknown, what: string): void => {
    const service = disabledService(error)
    if (service !== undefined) off.add(service)
    else if (apiFailure(error).status === 'PERMISSION_DENIED') unchecked.push(`${what} (${apiFailure(error).message.split('\n')[0]})`)
    else throw error instanceof ProviderError ? error : new ProviderError(`checking ${what} failed: ${apiFailure(error).status}: ${apiFailure(error).message}`, 'deploy again')
  }
  const numberRead = await attempt(() => readProjectNumber(target))
  if (!numberRead.ok) refusal(numberRead.error, `project ${project}`)
  const number = numberRead.value
  const consumer = `projects/${number ?? project}`
  const apis = neededApis(layout, target.own.length > 0)
  const names = apis.map((api) => `names=${encodeURIComponent(`${consumer}/services/${api}`)}`).join('&')
  const states = await attempt(() => connection.request({ url: `${connection.endpoints.serviceUsage}/v1/${consumer}/services:batchGet?${names}`, method: 'GET' }))
  if (!states.ok) refusal(states.error, 'which APIs are enabled (serviceusage.services.get)')
  for (const service of ((states.value?.data as { services?: Array<{ name?: string; state?: unknown }> } | undefined)?.services ?? [])) {
    if (service.state !== 'ENABLED' && service.state !== 2) off.add(lastSegment(service.name))
  }
  if (off.size > 0) missing.push({ what: `APIs not enabled: ${[...off].join(', ')}`, fix: `gcloud services enable ${[...off].join(' ')} --project ${project}` })

  const triggered = layout.functions.filter((fn) => fn.trigger !== undefined)
  const buckets = triggered.filter((fn) => fn.trigger?.eventType.startsWith('google.cloud.storage.'))
  // The account the triggers and push subscriptions call the functions as (the functions' own when the service names it).
  const triggerAccount = settings.custom.serviceAccount ?? (number === undefined ? undefined : computeAccount(number))
  if (number !== undefined && triggered.length > 0 && !off.has('cloudresourcemanager.googleapis.com')) {
    const policy = await attempt(() => connection.request({ url: `${connection.endpoints.resourceManager}/v3/projects/${project}:getIamPolicy`, method: 'POST', data: { options: { requestedPolicyVersion: 3 } } }))
    if (!policy.ok) refusal(policy.error, `the roles of project ${project} (resourcemanager.projects.getIamPolicy)`)
    else {
      const bindings = ((policy.value.data as { bindings?: Array<{ role?: string; members?: string[] }> } | null)?.bindings ?? [])
      const holds = (member: string, roles: readonly string[]) => bindings.some((binding) => roles.includes(binding.role ?? '') && (binding.members ?? []).includes(member))
      const agent = `service-${number}@gs-project-accounts.iam.gserviceaccount.com`
      if (buckets.length > 0 && !holds(`serviceAccount:${agent}`, PUBLISHER_ROLES)) {
        missing.push({
          what: `Cloud Storage's service agent ${agent} may not publish to Pub/Sub (roles/pubsub.publisher), which bucket triggers need (${buckets.map((fn) => fn.id).join(', ')})`,
          fix: `gcloud projects add-iam-policy-binding ${project} --member serviceAccount:${agent} --role roles/pubsub.publisher`,
        })
      }
      if (triggerAccount !== undefined && !holds(`serviceAccount:${triggerAccount}`, RECEIVER_ROLES)) {
        missing.push({
          what: `the triggers' service account ${triggerAccount} may not receive Eventarc events (roles/eventarc.eventReceiver), which event triggers need (${triggered.map((fn) => fn.id).join(', ')})`,
          fix: `gcloud projects add-iam-policy-binding ${project} --member serviceAccount:${triggerAccount} --role roles/eventarc.eventReceiver`,
        })
      }
    }
  }
  const deployer = '<the deploying identity: user:you@example.com or serviceAccount:...>'
  /** Whether the deploying identity may act as an existing account: true, false, or undefined when it could not be checked or the account does not exist. */
  const mayActAs = async (account: string, what: string): Promise<boolean | undefined> => {
    const url = `${connection.endpoints.iam}/v1/projects/-/serviceAccounts/${account}:testIamPermissions`
    const test = await attempt(() => connection.request({ url, method: 'POST', data: { permissions: ['iam.serviceAccounts.actAs'] } }))
    if (test.ok) return ((test.value.data as { permissions?: string[] } | null)?.permissions ?? []).includes('iam.serviceAccounts.actAs')
    // The IAM API is not one a service with a named account needs: when it is off, the check is skipped, not required.
    const service = disabledService(test.error)
    if (service !== undefined) unchecked.push(`acting as ${account} (${service} is not enabled)`)
    else if (!isStatus(test.error, 'NOT_FOUND')) refusal(test.error, `acting as ${what}`)
    return undefined
  }
  // The named account runs the functions; the compute account calls them for their triggers and subscriptions.
  if (triggerAccount !== undefined && (settings.custom.serviceAccount !== undefined || triggered.length > 0 || layout.subscriptions.length > 0)) {
    const role = settings.custom.serviceAccount !== undefined ? "the functions' runtime service account" : "the triggers' and push subscriptions' service account"
    if ((await mayActAs(triggerAccount, triggerAccount)) === false) {
      missing.push({
        what: `the deploying identity may not act as ${triggerAccount}, ${role} (iam.serviceAccounts.actAs)`,
        fix: `gcloud iam service-accounts add-iam-policy-binding ${triggerAccount} --project ${project} --member ${deployer} --role roles/iam.serviceAccountUser`,
      })
    }
  }
  let accounts: ReadonlyMap<string, ServiceAccountResource> = new Map()
  if (target.own.length === 0 && !off.has('iam.googleapis.com')) {
    // A service that names its account now: the accounts it made before, if it may list them, are to delete.
    const listed = await attempt(() => listAccounts(target))
    if (listed.ok) accounts = listed.value
  } else if (!off.has('iam.googleapis.com')) {
    const listed = await attempt(() => listAccounts(target))
    if (!listed.ok) refusal(listed.error, `the project's service accounts (iam.serviceAccounts.list)`)
    else {
      accounts = listed.value
      const absent = target.own.filter((account) => !accounts.has(account.email))
      // Acting as every account of the project (roles/iam.serviceAccountUser on the project) covers the accounts to create.
      const permissions = ['iam.serviceAccounts.actAs', ...(absent.length > 0 ? ['iam.serviceAccounts.create'] : [])]
      const test = await attempt(() => connection.request({ url: `${connection.endpoints.resourceManager}/v3/projects/${project}:testIamPermissions`, method: 'POST', data: { permissions } }))
      if (!test.ok) refusal(test.error, `the deploying identity's permissions on project ${project} (resourcemanager.projects.testIamPermissions)`)
      else {
        const granted = new Set((test.value.data as { permissions?: string[] } | null)?.permissions ?? [])
        if (absent.length > 0 && !granted.has('iam.serviceAccounts.create')) {
          missing.push({
            what: `the deploying identity may not create the functions' runtime service accounts (iam.serviceAccounts.create): ${absent.map((account) => account.accountId).join(', ')}`,
            fix: `gcloud projects add-iam-policy-binding ${project} --member ${deployer} --role roles/iam.serviceAccountAdmin`,
          })
        }
        if (!granted.has('iam.serviceAccounts.actAs')) {
          if (absent.length > 0) {
            missing.push({
              what: `the deploying identity may not act as the functions' runtime service accounts it creates (iam.serviceAccounts.actAs on project ${project}): ${absent.map((account) => account.email).join(', ')}`,
              fix: `gcloud projects add-iam-policy-binding ${project} --member ${deployer} --role roles/iam.serviceAccountUser`,
            })
          }
          for (const account of target.own.filter((candidate) => accounts.has(candidate.email))) {
            if ((await mayActAs(account.email, account.email)) !== false) continue
            missing.push({
              what: `the deploying identity may not act as ${account.email}, the runtime service account of ${account.function === ROUTER_ENTRY ? 'the routing function' : account.function} (iam.serviceAccounts.actAs)`,
              fix: `gcloud iam service-accounts add-iam-policy-binding ${account.email} --project ${project} --member ${deployer} --role roles/iam.serviceAccountUser`,
            })
          }
        }
      }
    }
  }
  for (const what of unchecked) target.context.log.warning(`serverless-polycloud: could not check ${what}; the deploy goes on`)
  if (missing.length > 0) {
    throw new ProviderError(
      `Google Cloud project ${project} is not ready for this deploy; nothing was created or changed. Missing:\n${missing.map((item) => `  - ${item.what}\n      ${item.fix}`).join('\n')}`,
      'fix each, then deploy again',
    )
  }
  if (number === undefined) throw new ProviderError(`reading project ${project} gave no project number`, `check that project ${project} exists and that you may read it`)
  return { number, accounts }
}

async function deploySubscriptions(target: Target, deployed: ReadonlyMap<string, DeployedFunction>, existing: ReadonlyMap<string, Json>, number: string): Promise<void> {
  const { layout } = target.settings
  if (layout.subscriptions.length === 0) return
  for (const spec of layout.subscriptions) {
    const fn = deployed.get(spec.functionId) as DeployedFunction
    const uri = fn.serviceConfig?.uri
    const invoker = invokerOf(target, fn, number)
    if (!uri) throw new ProviderError(`${spec.functionId} has no URL in its description`, 'deploy again')
    await upsertSubscription(target, subscriptionResource(target, spec, uri, invoker), `subscription ${spec.name}`, SUBSCRIPTION_MASK, existing)
  }
  for (const letter of layout.deadLetters) {
    // Pub/Sub keeps no message of a topic nobody subscribes to: this subscription keeps the dead letters 7 days.
    await upsertSubscription(
      target,
      { name: subscriptionName(target, letter.name), topic: topicName(target, letter.topic), labels: target.labels, messageRetentionDuration: { seconds: 604800 }, expirationPolicy: {} },
      `dead-letter subscription ${letter.name}`,
      ['labels', 'message_retention_duration', 'expiration_policy'],
      existing,
    )
  }
  // Dead-lettering is done by the Pub/Sub service agent: it must publish to the dead-letter topics and
  // acknowledge on the subscriptions.
  const agent = `serviceAccount:service-${number}@gcp-sa-pubsub.iam.gserviceaccount.com`
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

/** Bytes as the clients decode them (a Buffer, a Uint8Array or base64 text), in base64. */
function base64(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return ''
}

/** The fields of a Scheduler job deploy sets, as comparable values. */
function jobState(job: Json): string {
  const target = (job.pubsubTarget ?? {}) as { topicName?: string; data?: unknown; attributes?: Record<string, string> }
  return JSON.stringify([job.description, job.schedule, job.timeZone, target.topicName, base64(target.data), Object.entries(target.attributes ?? {}).sort()])
}

async function deployJobs(target: Target, existing: ReadonlyMap<string, Json>): Promise<void> {
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
    const update = async (current: Json): Promise<unknown> => {
      if (current.description !== target.marker) throw new ProviderError(`Scheduler job ${spec.name} exists and was not created by serverless-polycloud for this service`, 'delete it, or rename the function')
      if (jobState(current) === jobState(job)) return current.state
      const [updated] = await call(`updating Scheduler job ${spec.name}`, target.project, () =>
        scheduler.updateJob({ job, updateMask: { paths: ['description', 'schedule', 'time_zone', 'pubsub_target'] } }),
      )
      return updated.state
    }
    let state: unknown
    const listed = existing.get(job.name)
    if (listed !== undefined) state = await update(listed)
    else {
      try {
        ;[{ state }] = await scheduler.createJob({ parent, job })
      } catch (error) {
        if (!isStatus(error, 'ALREADY_EXISTS')) await call(`creating Scheduler job ${spec.name}`, target.project, () => Promise.reject(error))
        const [current] = await call(`reading Scheduler job ${spec.name}`, target.project, () => scheduler.getJob({ name: job.name }))
        state = await update(current as Json)
      }
    }
    const paused = state === 'PAUSED' || state === 2
    if (!spec.enabled && !paused) await call(`pausing Scheduler job ${spec.name}`, target.project, () => scheduler.pauseJob({ name: job.name }))
    if (spec.enabled && paused) await call(`resuming Scheduler job ${spec.name}`, target.project, () => scheduler.resumeJob({ name: job.name }))
  }
}

/** What the project holds: the service's functions (by label), and every topic, subscription and job. */
async function inventory(target: Target): Promise<{ functions: DeployedFunction[]; subscriptions: Json[]; topics: Json[]; jobs: Json[] }> {
  const { functions, subscriber, publisher, scheduler } = target.clients
  const parent = `projects/${target.project}/locations/${target.region}`
  const filter = `labels.polycloud-service=${target.labels['polycloud-service']} AND labels.polycloud-stage=${target.labels['polycloud-stage']}`
  const [fns] = await call('listing functions', target.project, () => functions.listFunctions({ parent, filter }))
  const [subscriptions] = await call('listing subscriptions', target.project, () => subscriber.listSubscriptions({ project: `projects/${target.project}` }))
  const [topics] = await call('listing topics', target.project, () => publisher.listTopics({ project: `projects/${target.project}` }))
  const [jobs] = await call('listing Scheduler jobs', target.project, () => scheduler.listJobs({ parent }))
  return { functions: fns as DeployedFunction[], subscriptions: subscriptions as Json[], topics: topics as Json[], jobs: jobs as Json[] }
}

/** The service's functions, subscriptions and jobs as deployed now (by their labels / description). */
async function deployedResources(target: Target): Promise<{ functions: DeployedFunction[]; subscriptions: Json[]; topics: Json[]; jobs: Json[] }> {
  const { functions: fns, subscriptions, topics, jobs } = await inventory(target)
  return {
    functions: fns.filter((fn) => isOurs(fn.labels, target)),
    subscriptions: subscriptions.filter((subscription) => isOurs(subscription.labels, target)),
    topics: topics.filter((topic) => isOurs(topic.labels, target)),
    jobs: jobs.filter((job) => job.description === target.marker),
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
    const { number, accounts } = await preflight(target)
    const packaged = await packageSource(context, target.settings)
    const zip = readFileSync(packaged.zip)
    const { layout } = target.settings
    const current = await inventory(target)
    const byName = <T extends { name?: unknown }>(items: readonly T[]) => new Map(items.map((item) => [String(item.name), item]))
    const functions = byName(current.functions)
    await ensureTopics(target, new Set(current.topics.map((topic) => lastSegment(topic.name))))
    await ensureBuckets(target)
    const fresh = (await ensureAccounts(target, target.own, accounts, (line) => context.log.notice(line))).length > 0
    const storeUsers = storeAccounts(target)
    await onceKnown(fresh, () => deployStores(target, context.plan.model.resources, storeUsers, (line) => context.log.notice(line), target.own.map((account) => account.email).filter((email) => !storeUsers.includes(email))))
    const results = await inBatches(layout.functions, PARALLEL, async (spec) => {
      // A function that runs as an account just created may be refused until IAM knows it: deployed again then
      // (a create accepted and failed inside its operation is found and updated in place).
      const deployed = await onceKnown(fresh, () => deployFunction(target, spec, zip, functions.get(functionName(target, spec.id)), fingerprintOf(target, spec, packaged.sourceDir)))
      return [spec, deployed.fn, deployed.changed] as const
    })
    const unchanged = results.filter(([, , changed]) => !changed).length
    if (unchanged > 0) context.log.notice(`${unchanged} of ${results.length} functions unchanged: not deployed again (--force deploys them all)`)
    const deployed = new Map(results.map(([spec, fn]) => [spec.id, fn]))
    const urls = new Map(results.map(([spec, fn]) => [spec.id, fn.serviceConfig?.uri ?? '']))
    const pushed = new Set(layout.subscriptions.map((subscription) => subscription.functionId))
    for (const [spec, fn] of results) {
      if (spec.signature === 'http' && !pushed.has(spec.id)) {
        if (target.settings.custom.public !== false) await grantInvoker(target, fn, spec.id, 'allUsers')
      } else {
        await grantInvoker(target, fn, spec.id, `serviceAccount:${invokerOf(target, fn, number)}`)
      }
    }
    await deployGrants(target, fresh)
    // The service's own accounts of functions it no longer has, which the last step deletes.
    const kept = new Set(target.own.map((account) => account.email))
    const former = [...accounts.values()].filter((account) => isOwnAccount(account, target.marker) && account.email !== undefined && !kept.has(account.email)).map((account) => account.email as string)
    const declared = context.plan.model.resources.some((resource) => resource.kind === 'bucket' || resource.kind === 'queue' || resource.kind === 'topic')
    if (layout.buckets.length > 0 || layout.grants.length > 0 || (declared && target.own.length > 0)) await revokeStaleGrants(target, former, target.own.length > 0 ? computeAccount(number) : undefined)
    await deploySubscriptions(target, deployed, byName(current.subscriptions), number)
    await deployJobs(target, byName(current.jobs))
    const deleted = await deleteResources(target, {
      functions: new Set(layout.functions.map((fn) => fn.id)),
      subscriptions: new Set([...layout.subscriptions.map((s) => s.name), ...layout.deadLetters.map((d) => d.name)]),
      topics: new Set(layout.topics.map((topic) => topic.name)),
      jobs: new Set(layout.jobs.map((job) => job.name)),
    })
    // Buckets the service no longer declares (while it declares any: a service without buckets does not call Cloud Storage; remove deletes them).
    if (layout.buckets.length > 0) deleted.push(...(await deleteBuckets(target, new Set(layout.buckets.map((bucket) => bucket.name)))))
    if (former.length > 0) {
      if (context.plan.model.resources.some((resource) => resource.kind === 'store')) await storeAccess(target, [], former)
      deleted.push(...(await deleteAccounts(target, kept, accounts)))
    }
    for (const what of deleted) context.log.notice(`Deleted ${what} (no longer in the service)`)
    context.write(summary(target, urls))
  } finally {
    await target.clients.close()
  }
}

/** The project's service accounts; none when the IAM API was never enabled (the service created none then). */
async function projectAccounts(target: Target): Promise<ReadonlyMap<string, ServiceAccountResource>> {
  try {
    return await listAccounts(target)
  } catch (error) {
    if (disabledService(error) === 'iam.googleapis.com') return new Map()
    return call('listing service accounts', target.project, () => Promise.reject(error))
  }
}

/** `serverless remove`: deletes every resource labelled as the service's (stage included), nothing else. */
export async function removeCommand(context: Context, connection?: GoogleConnection): Promise<void> {
  const target = await open(context, connection)
  try {
    const none = new Set<string>()
    const deleted = await deleteResources(target, { functions: none, subscriptions: none, topics: none, jobs: none })
    deleted.push(...(await deleteBuckets(target, none)))
    // The service's own accounts: the planned ones and any of functions it had before.
    const accounts = target.own.length > 0 ? [...(await projectAccounts(target)).values()].filter((account) => isOwnAccount(account, target.marker)) : []
    const emails = [...new Set([...target.own.map((account) => account.email), ...accounts.flatMap((account) => account.email ?? [])])]
    if (context.plan.model.resources.some((resource) => resource.kind === 'store')) {
      const storeUsers = target.own.length > 0 ? emails : storeAccounts(target)
      deleted.push(...(await removeStores(target, context.plan.model.resources, storeUsers, deleteDataOption(context.options), (line) => context.log.warning(line))))
    }
    if (target.own.length > 0) {
      // Their roles on what stays (an existing bucket or topic, a bucket kept with its objects), then the accounts.
      await revokeStaleGrants(target, emails, undefined, false)
      deleted.push(...(await deleteAccounts(target, none, new Map(accounts.map((account) => [account.email as string, account])))))
    }
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
