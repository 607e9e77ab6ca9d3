/**
 * `serverless deploy`, `remove` and `info` for Cloudflare, through Cloudflare's REST API (`api.ts`):
 *
 * deploy: the queues (dead-letter queues first) and R2 buckets the service needs are created when missing; the
 * packaged Worker is uploaded with its metadata (multipart: `metadata`, the module, its source map); its Cron
 * Triggers are set; each queue gets (or keeps, updated) the Worker as its consumer; each bucket's notification rules
 * point at its queue; the workers.dev route is turned on (or off) and custom routes set; the URL is printed. Before
 * anything is created, a preflight of reads names everything the account lacks (token permissions, R2, a
 * workers.dev subdomain, route zones). Each part is compared with what exists and written only when it differs: a
 * second deploy with nothing changed reads and uploads the Worker, nothing more.
 *
 * What deploy created is recorded in the Worker itself (a JSON binding, `POLYCLOUD_DEPLOYMENT`, which handlers never
 * see in `context.env`): `remove` deletes the Worker, its consumers, notification rules and routes, and exactly the
 * queues and buckets deploy created; resources that existed before stay (a bucket that still holds objects too).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ProviderError } from '../../errors.js'
import { deleteDataOption } from '../../resources.js'
import type { ServiceContext } from '../../provider.js'
import { cloudflareApi, CloudflareApiError, credentials, type CloudflareApi } from './api.js'
import { readArtifact, type Binding, type UploadMetadata } from './package.js'
import type { CloudflarePlan, ServiceManifest } from './plan.js'
import { deployStores, removeKeptStores, removeStores } from './stores.js'

/** The binding in which deploy records what it created. */
export const RECORD_BINDING = 'POLYCLOUD_DEPLOYMENT'

export interface DeploymentRecord {
  readonly version: 1
  readonly queues: readonly string[]
  readonly buckets: readonly string[]
  /** The stores' D1 databases deploy created (stores.ts). */
  readonly stores?: readonly string[]
}

interface Queue {
  queue_id: string
  queue_name: string
  /** The queue's consumers, as the queue list gives them. */
  consumers?: Consumer[]
}

interface Consumer {
  consumer_id?: string
  script_name?: string
  script?: string
  type?: string
  dead_letter_queue?: string
  settings?: Record<string, unknown>
}

const EMPTY: DeploymentRecord = { version: 1, queues: [], buckets: [] }

function connect(): CloudflareApi {
  return cloudflareApi(credentials())
}

const scriptPath = (api: CloudflareApi, script: string): string => `/accounts/${api.account}/workers/scripts/${encodeURIComponent(script)}`

/** The record of a deployed Worker, or undefined when the Worker does not exist. */
async function deployedRecord(api: CloudflareApi, script: string): Promise<DeploymentRecord | undefined> {
  const settings = await api.find<{ bindings?: Array<Record<string, unknown>> }>(`${scriptPath(api, script)}/settings`)
  if (settings === undefined) return undefined
  const binding = settings.bindings?.find((candidate) => candidate.name === RECORD_BINDING && candidate.type === 'json')
  const json = binding?.json as Partial<DeploymentRecord> | undefined
  return { version: 1, queues: Array.isArray(json?.queues) ? json.queues : [], buckets: Array.isArray(json?.buckets) ? json.buckets : [], stores: Array.isArray(json?.stores) ? json.stores : [] }
}

async function queuesByName(api: CloudflareApi): Promise<Map<string, Queue>> {
  const queues = await api.list<Queue>(`/accounts/${api.account}/queues`)
  return new Map(queues.map((queue) => [queue.queue_name, queue]))
}

const consumerScript = (consumer: Consumer): string | undefined => consumer.script_name ?? consumer.script

function consumerBody(script: string, queue: ServiceManifest['queues'][number]): Record<string, unknown> {
  return {
    script_name: script,
    type: 'worker',
    dead_letter_queue: queue.deadLetterQueue,
    settings: { batch_size: queue.batchSize, max_retries: queue.maxRetries, max_wait_time_ms: queue.maxWaitMs },
  }
}

async function zoneId(api: CloudflareApi, zone: string): Promise<string> {
  const zones = await api.request<Array<{ id: string; name: string }>>('GET', `/zones?name=${encodeURIComponent(zone)}`)
  const found = zones.find((candidate) => candidate.name === zone)
  if (found === undefined) throw new ProviderError(`zone ${zone} is not on this Cloudflare account`, 'custom.polycloud.cloudflare.routes[].zone names a zone (a domain) of the account')
  return found.id
}

interface ZoneRoute {
  id: string
  pattern: string
  script?: string
}

/** One prerequisite of a deploy the account lacks, and where to fix it. */
interface Missing {
  readonly what: string
  readonly fix: string
}

/** The refusal a read got, or undefined when it was answered. */
async function refusal(api: CloudflareApi, path: string): Promise<CloudflareApiError | undefined> {
  try {
    await api.request('GET', path)
    return undefined
  } catch (error) {
    if (error instanceof CloudflareApiError && error.status !== 429 && error.status < 500) return error
    throw error
  }
}

const AUTHENTICATION = 10000
const NOT_FOUND = 10007
const R2_NOT_ENABLED = 10042

/**
 * What the account must have before the deploy creates anything, each checked with a read: the token's
 * permission groups for what the service uses (Workers Scripts, Queues, Workers R2 Storage, Zone and Workers
 * Routes), R2 enabled when the service has buckets, a workers.dev subdomain when the Worker is served there, the
 * zones of its routes. Everything missing is reported at once, with where to fix it; nothing is created then.
 * A token that may read but not edit passes this check and is refused at the first write.
 */
export async function preflight(api: CloudflareApi, manifest: ServiceManifest): Promise<void> {
  const missing: Missing[] = []
  const scopes: string[] = []
  const account = `/accounts/${api.account}`
  const dashboard = `https://dash.cloudflare.com/${api.account}`
  const denied = (error: CloudflareApiError | undefined, scope: string): boolean => {
    if (!error?.codes.includes(AUTHENTICATION)) return false
    if (!scopes.includes(scope)) scopes.push(scope)
    return true
  }
  const unexpected = (error: CloudflareApiError | undefined): void => {
    if (error !== undefined) throw error
  }
  const scripts = await refusal(api, `${account}/workers/scripts`)
  if (!denied(scripts, 'Workers Scripts: Edit')) unexpected(scripts)
  if (manifest.queues.length > 0 || manifest.deadLetterQueues.length > 0) {
    const queues = await refusal(api, `${account}/queues?page=1&per_page=1`)
    if (!denied(queues, 'Queues: Edit')) unexpected(queues)
  }
  if (manifest.buckets.length > 0) {
    const r2 = await refusal(api, `${account}/r2/buckets?per_page=1`)
    if (r2?.codes.includes(R2_NOT_ENABLED)) {
      missing.push({ what: `R2 is not enabled on the account (the service has the bucket${manifest.buckets.length > 1 ? 's' : ''} ${manifest.buckets.map((bucket) => bucket.name).join(', ')})`, fix: `enable it once in the dashboard, R2 Object Storage: ${dashboard}/r2/overview` })
    } else if (!denied(r2, 'Workers R2 Storage: Edit')) unexpected(r2)
  }
  if (manifest.settings.workersDev) {
    const subdomain = await refusal(api, `${account}/workers/subdomain`)
    if (subdomain?.codes.includes(NOT_FOUND)) {
      missing.push({ what: 'the account has no workers.dev subdomain, which the Worker is served on', fix: `register one at ${dashboard}/workers/onboarding (Workers & Pages), or set custom.polycloud.cloudflare.workersDev: false and serve it on routes` })
    } else if (!denied(subdomain, 'Workers Scripts: Edit')) unexpected(subdomain)
  }
  for (const zone of new Set(manifest.settings.routes.flatMap((route) => (route.zone === undefined ? [] : [route.zone])))) {
    let zones: Array<{ id: string; name: string }>
    try {
      zones = await api.request<Array<{ id: string; name: string }>>('GET', `/zones?name=${encodeURIComponent(zone)}`)
    } catch (error) {
      if (error instanceof CloudflareApiError && denied(error, 'Zone: Read')) continue
      throw error
    }
    const found = zones.find((candidate) => candidate.name === zone)
    if (found === undefined) {
      missing.push({ what: `zone ${zone} (custom.polycloud.cloudflare.routes) is not on the account`, fix: `add the domain to the account (${dashboard}/add-site), or fix the route's zone` })
      continue
    }
    const routes = await refusal(api, `/zones/${found.id}/workers/routes`)
    if (!denied(routes, 'Workers Routes: Edit')) unexpected(routes)
  }
  if (scopes.length > 0) {
    missing.push({
      what: `the API token (CLOUDFLARE_API_TOKEN) lacks ${scopes.join(', ')}, or belongs to another account than CLOUDFLARE_ACCOUNT_ID`,
      fix: 'add those permissions to the token for this account: https://dash.cloudflare.com/profile/api-tokens (My Profile > API Tokens > Edit)',
    })
  }
  if (missing.length === 0) return
  throw new ProviderError(
    `Cloudflare account ${api.account} is not ready for this deploy; nothing was created or changed. Missing:\n${missing.map((item) => `  - ${item.what}\n      ${item.fix}`).join('\n')}`,
    'fix each, then deploy again',
  )
}

/** An R2 notification rule as deploy writes it and as the API lists it. */
interface Rule {
  readonly actions: readonly string[]
  readonly prefix?: string
  readonly suffix?: string
  readonly description?: string
}

interface BucketNotifications {
  readonly queues?: ReadonlyArray<{ readonly queueId?: string; readonly rules?: readonly Rule[] }>
}

/** A rule's identity: its actions (in any order), prefix, suffix and description. */
const ruleKey = (rule: Rule): string => JSON.stringify([[...rule.actions].sort(), rule.prefix ?? '', rule.suffix ?? '', rule.description ?? ''])

const sameRules = (a: readonly Rule[], b: readonly Rule[]): boolean => JSON.stringify(a.map(ruleKey).sort()) === JSON.stringify(b.map(ruleKey).sort())

/** A consumer's settings as deploy writes them, for comparing with what the API lists. */
function sameConsumer(existing: Consumer, wanted: Record<string, unknown>): boolean {
  const settings = (wanted.settings ?? {}) as Record<string, unknown>
  const has = existing.settings ?? {}
  return (existing.dead_letter_queue ?? '') === wanted.dead_letter_queue && Object.entries(settings).every(([key, value]) => has[key] === value)
}

/**
 * `serverless deploy`: compares what exists with the service and changes only what differs. A second deploy with
 * nothing changed reads, uploads the Worker (its code and bindings), and writes nothing else.
 */
export async function deployCommand(context: ServiceContext<CloudflarePlan>): Promise<void> {
  const api = connect()
  const { dir, manifest, metadata } = readArtifact(context)
  const { script } = manifest
  const log = context.log
  await preflight(api, manifest)
  const previous = (await deployedRecord(api, script)) ?? EMPTY
  const createdQueues = new Set(previous.queues)
  const createdBuckets = new Set(previous.buckets)

  // Queues: dead-letter queues before the queues whose consumers name them; then those the code sends to.
  const queues = await queuesByName(api)
  for (const producer of manifest.producers) {
    if (producer.existing && !queues.has(producer.name)) {
      throw new ProviderError(`queue ${producer.name} does not exist on the account`, 'create it, or drop "existing: true" from its declaration so that deploy creates it')
    }
  }
  const needed = [...manifest.deadLetterQueues, ...manifest.queues.map((queue) => queue.name), ...manifest.producers.map((queue) => queue.name)]
  for (const name of [...new Set(needed)]) {
    if (queues.has(name)) continue
    const created = await api.request<Queue>('POST', `/accounts/${api.account}/queues`, { queue_name: name })
    queues.set(name, { ...created, consumers: [] })
    createdQueues.add(name)
    log.info(`serverless-polycloud: created queue ${name}`)
  }

  // R2 buckets: created unless marked existing (then they must be there).
  for (const bucket of manifest.buckets) {
    const found = await api.find(`/accounts/${api.account}/r2/buckets/${encodeURIComponent(bucket.name)}`)
    if (found !== undefined) continue
    if (bucket.existing) throw new ProviderError(`R2 bucket ${bucket.name} does not exist on the account`, 'create it, or drop "existing: true" so that deploy creates it')
    await api.request('POST', `/accounts/${api.account}/r2/buckets`, { name: bucket.name })
    createdBuckets.add(bucket.name)
    log.info(`serverless-polycloud: created R2 bucket ${bucket.name}`)
  }

  // The stores' D1 databases: found or created, bound by id.
  const createdStores = new Set(previous.stores ?? [])
  const storeBindings = await deployStores(api, manifest.stores, createdStores, (line) => log.info(line))

  // The Worker, with the record of what deploy created.
  const record: DeploymentRecord = { version: 1, queues: [...createdQueues], buckets: [...createdBuckets], ...(createdStores.size > 0 ? { stores: [...createdStores] } : {}) }
  const upload: UploadMetadata = { ...metadata, bindings: [...metadata.bindings, ...storeBindings, { type: 'json', name: RECORD_BINDING, json: record } satisfies Binding] }
  const form = new FormData()
  form.set('metadata', JSON.stringify(upload))
  form.set(manifest.main, new Blob([readFileSync(join(dir, manifest.main))], { type: 'application/javascript+module' }), manifest.main)
  form.set(`${manifest.main}.map`, new Blob([readFileSync(join(dir, `${manifest.main}.map`))], { type: 'application/source-map' }), `${manifest.main}.map`)
  await api.request('PUT', scriptPath(api, script), form)
  log.notice(`serverless-polycloud: uploaded Worker ${script}`)

  // Cron Triggers: the list replaces the Worker's (an empty one clears them); written when it differs.
  const schedules = await api.request<{ schedules?: Array<{ cron: string }> }>('GET', `${scriptPath(api, script)}/schedules`)
  const deployedCrons = (schedules.schedules ?? []).map((schedule) => schedule.cron)
  if (JSON.stringify([...deployedCrons].sort()) !== JSON.stringify([...manifest.crons].sort())) {
    await api.request('PUT', `${scriptPath(api, script)}/schedules`, manifest.crons.map((cron) => ({ cron })))
  }

  // Consumers: created, or updated when their settings differ; none left on queues the service no longer consumes.
  for (const queue of manifest.queues) {
    const listed = queues.get(queue.name) as Queue
    const id = listed.queue_id
    const consumers = listed.consumers ?? (await api.request<Consumer[]>('GET', `/accounts/${api.account}/queues/${id}/consumers`))
    const ours = consumers.find((consumer) => consumerScript(consumer) === script)
    const wanted = consumerBody(script, queue)
    if (ours?.consumer_id === undefined) await api.request('POST', `/accounts/${api.account}/queues/${id}/consumers`, wanted)
    else if (!sameConsumer(ours, wanted)) await api.request('PUT', `/accounts/${api.account}/queues/${id}/consumers/${ours.consumer_id}`, wanted)
  }
  const consumed = new Set(manifest.queues.map((queue) => queue.name))
  for (const name of createdQueues) {
    const queue = queues.get(name)
    if (queue === undefined || consumed.has(name)) continue
    if (queue.consumers !== undefined && !queue.consumers.some((consumer) => consumerScript(consumer) === script)) continue
    await deleteConsumer(api, queue, script)
  }

  // R2 notifications, each function's rules to its queue. The API adds rules (and refuses overlapping ones), so a
  // queue's rules are rewritten only when they differ: its old rules deleted first, then the new ones added.
  const ownQueues = new Set([...createdQueues, ...manifest.queues.map((queue) => queue.name)].flatMap((name) => queues.get(name)?.queue_id ?? []))
  const bucketNames = new Set([...manifest.buckets.map((bucket) => bucket.name), ...createdBuckets])
  for (const name of bucketNames) {
    const bucket = manifest.buckets.find((candidate) => candidate.name === name)
    const path = `/accounts/${api.account}/event_notifications/r2/${encodeURIComponent(name)}/configuration`
    const current = await api.find<BucketNotifications>(path)
    if (current === undefined) continue
    const wanted = new Map<string, Rule[]>()
    for (const rule of bucket?.notifications ?? []) {
      const id = (queues.get(rule.queue) as Queue).queue_id
      wanted.set(id, [...(wanted.get(id) ?? []), { actions: rule.actions, ...(rule.prefix ? { prefix: rule.prefix } : {}), ...(rule.suffix ? { suffix: rule.suffix } : {}), description: `${script}: ${rule.function}` }])
    }
    const existing = new Map((current.queues ?? []).flatMap((entry) => (entry.queueId !== undefined && ownQueues.has(entry.queueId) ? [[entry.queueId, entry.rules ?? []] as const] : [])))
    const changed = [...new Set([...wanted.keys(), ...existing.keys()])].filter((id) => !sameRules(existing.get(id) ?? [], wanted.get(id) ?? []))
    for (const id of changed) if (existing.has(id)) await api.request('DELETE', `${path}/queues/${id}`)
    for (const id of changed) {
      const rules = wanted.get(id)
      if (rules !== undefined) await api.request('PUT', `${path}/queues/${id}`, { rules })
    }
  }

  // workers.dev and custom routes, each changed only when it differs.
  const { settings } = manifest
  const served = await api.find<{ enabled?: boolean }>(`${scriptPath(api, script)}/subdomain`)
  if ((served?.enabled ?? false) !== settings.workersDev) await api.request('POST', `${scriptPath(api, script)}/subdomain`, { enabled: settings.workersDev })
  const urls: string[] = []
  if (settings.workersDev) {
    const subdomain = await api.request<{ subdomain: string }>('GET', `/accounts/${api.account}/workers/subdomain`)
    urls.push(`https://${script}.${subdomain.subdomain}.workers.dev`)
  }
  for (const route of settings.routes) {
    if (route.zone === undefined) throw new ProviderError(`route ${route.pattern} names no zone`, 'give each of custom.polycloud.cloudflare.routes a zone (the domain it belongs to)')
    const zone = await zoneId(api, route.zone)
    const existing = (await api.request<ZoneRoute[]>('GET', `/zones/${zone}/workers/routes`)).find((candidate) => candidate.pattern === route.pattern)
    if (existing === undefined) await api.request('POST', `/zones/${zone}/workers/routes`, { pattern: route.pattern, script })
    else if (existing.script !== script) await api.request('PUT', `/zones/${zone}/workers/routes/${existing.id}`, { pattern: route.pattern, script })
    urls.push(`https://${route.pattern}`)
  }
  context.write(describe(manifest, urls, manifest.crons))
}

async function deleteConsumer(api: CloudflareApi, queue: Queue, script: string): Promise<void> {
  const consumers = await api.request<Consumer[]>('GET', `/accounts/${api.account}/queues/${queue.queue_id}/consumers`)
  for (const consumer of consumers) {
    if (consumerScript(consumer) === script && consumer.consumer_id !== undefined) {
      await api.request('DELETE', `/accounts/${api.account}/queues/${queue.queue_id}/consumers/${consumer.consumer_id}`)
    }
  }
}

function describe(manifest: ServiceManifest, urls: readonly string[], crons: readonly string[]): string {
  const lines = [`service: ${manifest.service}`, `stage: ${manifest.stage}`, `worker: ${manifest.script}`]
  lines.push(urls.length === 0 ? 'url: none (workersDev: false and no routes)' : `url: ${urls.join(', ')}`)
  const routes = manifest.functions.flatMap((fn) => fn.routes.map((route) => `  ${route.method} ${route.path} -> ${fn.name}`))
  if (routes.length > 0) lines.push('routes:', ...routes)
  if (crons.length > 0) {
    lines.push('crons:', ...crons.map((cron) => `  ${cron} -> ${manifest.functions.filter((fn) => fn.crons.some((own) => own.cron === cron)).map((fn) => fn.name).join(', ') || '(no function of this service)'}`))
  }
  if (manifest.queues.length > 0) {
    lines.push('queues:', ...manifest.queues.map((queue) => `  ${queue.name} -> ${queue.function} (batch ${queue.batchSize}, ${queue.maxRetries} retries, then ${queue.deadLetterQueue})`))
  }
  if (manifest.buckets.length > 0) {
    lines.push('buckets:', ...manifest.buckets.map((bucket) => `  ${bucket.name} -> ${bucket.notifications.map((rule) => `${rule.function} (${rule.actions.join(', ')}${rule.prefix ? `, prefix ${rule.prefix}` : ''}${rule.suffix ? `, suffix ${rule.suffix}` : ''})`).join(', ')}`))
  }
  return lines.join('\n')
}

export async function removeCommand(context: ServiceContext<CloudflarePlan>): Promise<void> {
  const api = connect()
  const manifest = context.plan.manifest()
  const { script } = manifest
  const record = await deployedRecord(api, script)
  if (record === undefined) {
    // A store kept by an earlier remove (it held entries) outlives the Worker's record: --deleteData finds it by name.
    const kept = await removeKeptStores(api, manifest, context)
    context.log.notice(`serverless-polycloud: Worker ${script} is not deployed; ${kept.length > 0 ? `removed ${kept.join(', ')}` : 'nothing to remove'}`)
    return
  }
  const queues = await queuesByName(api)
  for (const name of new Set([...manifest.queues.map((queue) => queue.name), ...record.queues])) {
    const queue = queues.get(name)
    if (queue !== undefined) await deleteConsumer(api, queue, script)
  }
  for (const bucket of manifest.buckets) {
    const notified = bucket.notifications.flatMap((rule) => queues.get(rule.queue) ?? [])
    if (notified.length === 0) continue
    // A bucket removed by hand has no notifications left to delete.
    if ((await api.find(`/accounts/${api.account}/r2/buckets/${encodeURIComponent(bucket.name)}`)) === undefined) continue
    for (const queue of notified) await api.request('DELETE', `/accounts/${api.account}/event_notifications/r2/${encodeURIComponent(bucket.name)}/configuration/queues/${queue.queue_id}`)
  }
  for (const route of manifest.settings.routes) {
    if (route.zone === undefined) continue
    const zone = await zoneId(api, route.zone)
    for (const found of await api.request<ZoneRoute[]>('GET', `/zones/${zone}/workers/routes`)) {
      if (found.pattern === route.pattern && found.script === script) await api.request('DELETE', `/zones/${zone}/workers/routes/${found.id}`)
    }
  }
  await api.request('DELETE', scriptPath(api, script))
  const removed = [`Worker ${script}`]
  for (const name of record.queues) {
    const queue = queues.get(name)
    if (queue === undefined) continue
    await api.request('DELETE', `/accounts/${api.account}/queues/${queue.queue_id}`)
    removed.push(`queue ${name}`)
  }
  // A bucket that still holds objects is kept: deleting data is the user's decision (--deleteObjects).
  const deleteObjects = context.options.deleteObjects === true || context.options.deleteObjects === 'true'
  for (const name of record.buckets) {
    const bucket = `/accounts/${api.account}/r2/buckets/${encodeURIComponent(name)}`
    if ((await api.find(bucket)) === undefined) continue
    const objects = await api.listByCursor<{ key: string }>(`${bucket}/objects`, 1000)
    if (objects.length > 0 && !deleteObjects) {
      context.log.warning(`serverless-polycloud: R2 bucket ${name} was kept: it still holds ${objects.length} object(s); serverless remove --deleteObjects deletes them with the bucket`)
      continue
    }
    for (const object of objects) await api.request('DELETE', `${bucket}/objects/${object.key.split('/').map(encodeURIComponent).join('/')}`)
    try {
      await api.request('DELETE', bucket)
      removed.push(`R2 bucket ${name}${objects.length > 0 ? ` and its ${objects.length} object(s)` : ''}`)
    } catch (error) {
      // Written to since it was listed: kept, as the API refused.
      if (!(error instanceof ProviderError)) throw error
      context.log.warning(`serverless-polycloud: R2 bucket ${name} was kept: ${error.message.split('\n')[0]}`)
    }
  }
  removed.push(...(await removeStores(api, record.stores ?? [], deleteDataOption(context.options), (line) => context.log.warning(`serverless-polycloud: ${line}`))))
  context.write(`removed: ${removed.join(', ')}`)
}

export async function infoCommand(context: ServiceContext<CloudflarePlan>): Promise<void> {
  const api = connect()
  const manifest = context.plan.manifest()
  const { script } = manifest
  if ((await deployedRecord(api, script)) === undefined) {
    context.write(`service: ${manifest.service}\nstage: ${manifest.stage}\nworker: ${script} (not deployed)`)
    return
  }
  const schedules = await api.request<{ schedules?: Array<{ cron: string }> }>('GET', `${scriptPath(api, script)}/schedules`)
  const subdomain = await api.find<{ enabled?: boolean }>(`${scriptPath(api, script)}/subdomain`)
  const urls: string[] = []
  if (subdomain?.enabled) urls.push(`https://${script}.${(await api.request<{ subdomain: string }>('GET', `/accounts/${api.account}/workers/subdomain`)).subdomain}.workers.dev`)
  for (const route of manifest.settings.routes) urls.push(`https://${route.pattern}`)
  const queues = await queuesByName(api)
  const lines = [describe(manifest, urls, (schedules.schedules ?? []).map((schedule) => schedule.cron))]
  const missing = manifest.queues.filter((queue) => !queues.has(queue.name)).map((queue) => queue.name)
  if (missing.length > 0) lines.push(`not deployed yet: queue ${missing.join(', ')} (run serverless deploy)`)
  context.write(lines.join('\n'))
}
