/**
 * `serverless deploy`, `remove` and `info` for Cloudflare, through Cloudflare's REST API (`api.ts`):
 *
 * deploy: the queues (dead-letter queues first) and R2 buckets the service needs are created when missing; the
 * packaged Worker is uploaded with its metadata (multipart: `metadata`, the module, its source map); its Cron
 * Triggers are set; each queue gets (or keeps, updated) the Worker as its consumer; each bucket's notification rules
 * point at its queue; the workers.dev route is turned on (or off) and custom routes set; the URL is printed. A
 * second deploy updates all of it in place.
 *
 * What deploy created is recorded in the Worker itself (a JSON binding, `POLYCLOUD_DEPLOYMENT`, which handlers never
 * see in `context.env`): `remove` deletes the Worker, its consumers, notification rules and routes, and exactly the
 * queues and buckets deploy created; resources that existed before stay (a bucket that still holds objects too).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ProviderError } from '../../errors.js'
import type { ServiceContext } from '../../provider.js'
import { cloudflareApi, credentials, type CloudflareApi } from './api.js'
import { readArtifact, type Binding, type UploadMetadata } from './package.js'
import type { CloudflarePlan, ServiceManifest } from './plan.js'

/** The binding in which deploy records what it created. */
export const RECORD_BINDING = 'POLYCLOUD_DEPLOYMENT'

export interface DeploymentRecord {
  readonly version: 1
  readonly queues: readonly string[]
  readonly buckets: readonly string[]
}

interface Queue {
  queue_id: string
  queue_name: string
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
  return { version: 1, queues: Array.isArray(json?.queues) ? json.queues : [], buckets: Array.isArray(json?.buckets) ? json.buckets : [] }
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

export async function deployCommand(context: ServiceContext<CloudflarePlan>): Promise<void> {
  const api = connect()
  const { dir, manifest, metadata } = readArtifact(context)
  const { script } = manifest
  const log = context.log
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
    queues.set(name, created)
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

  // The Worker, with the record of what deploy created.
  const record: DeploymentRecord = { version: 1, queues: [...createdQueues], buckets: [...createdBuckets] }
  const upload: UploadMetadata = { ...metadata, bindings: [...metadata.bindings, { type: 'json', name: RECORD_BINDING, json: record } satisfies Binding] }
  const form = new FormData()
  form.set('metadata', JSON.stringify(upload))
  form.set(manifest.main, new Blob([readFileSync(join(dir, manifest.main))], { type: 'application/javascript+module' }), manifest.main)
  form.set(`${manifest.main}.map`, new Blob([readFileSync(join(dir, `${manifest.main}.map`))], { type: 'application/source-map' }), `${manifest.main}.map`)
  await api.request('PUT', scriptPath(api, script), form)
  log.notice(`serverless-polycloud: uploaded Worker ${script}`)

  // Cron Triggers: the list replaces the Worker's (an empty one clears them).
  await api.request('PUT', `${scriptPath(api, script)}/schedules`, manifest.crons.map((cron) => ({ cron })))

  // Consumers: created, or updated in place; none left on queues the service no longer consumes.
  for (const queue of manifest.queues) {
    const id = (queues.get(queue.name) as Queue).queue_id
    const consumers = await api.request<Consumer[]>('GET', `/accounts/${api.account}/queues/${id}/consumers`)
    const ours = consumers.find((consumer) => consumerScript(consumer) === script)
    if (ours?.consumer_id !== undefined) await api.request('PUT', `/accounts/${api.account}/queues/${id}/consumers/${ours.consumer_id}`, consumerBody(script, queue))
    else await api.request('POST', `/accounts/${api.account}/queues/${id}/consumers`, consumerBody(script, queue))
  }
  const consumed = new Set(manifest.queues.map((queue) => queue.name))
  for (const name of createdQueues) {
    const queue = queues.get(name)
    if (queue === undefined || consumed.has(name)) continue
    await deleteConsumer(api, queue, script)
  }

  // R2 notifications, each to its function's queue.
  for (const bucket of manifest.buckets) {
    for (const rule of bucket.notifications) {
      const id = (queues.get(rule.queue) as Queue).queue_id
      const body = { rules: [{ actions: rule.actions, ...(rule.prefix ? { prefix: rule.prefix } : {}), ...(rule.suffix ? { suffix: rule.suffix } : {}), description: `${script}: ${rule.function}` }] }
      await api.request('PUT', `/accounts/${api.account}/event_notifications/r2/${encodeURIComponent(bucket.name)}/configuration/queues/${id}`, body)
    }
  }

  // workers.dev and custom routes.
  const { settings } = manifest
  await api.request('POST', `${scriptPath(api, script)}/subdomain`, { enabled: settings.workersDev })
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
    context.log.notice(`serverless-polycloud: Worker ${script} is not deployed; nothing to remove`)
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
