/**
 * A stand-in for Cloudflare's REST API v4 on 127.0.0.1, for deploy, remove and info tests. It keeps the account's
 * Workers, queues, consumers, R2 buckets, notification rules and zone routes in memory, checks every request the
 * way the API does (bearer token and account; each body against `test/fixtures/cloudflare-api/openapi-subset.json`;
 * the Worker upload as multipart with its `metadata` part, its main module part and bindings that name existing
 * queues and buckets; Cron Trigger syntax, where Cloudflare numbers weekdays 1-7 from Sunday) and answers in the
 * API's envelope.
 *
 * What an account may lack, answered as Cloudflare answers it (provenance in test/fixtures/cloudflare-api/README.md):
 * - the token's permission groups (`scopes`): an operation whose permission (the spec's `x-cfPermissionsRequired`)
 *   no group of the token grants is refused with 403, code 10000 "Authentication error";
 * - a workers.dev subdomain (`subdomain: null`): `GET /workers/subdomain` answers code 10007 (wrangler reads that
 *   code as "You need to register a workers.dev subdomain"), and turning a Worker's workers.dev route on is refused;
 * - R2 (`r2: false`): every R2 operation answers 403, code 10042 "Please enable R2 through the Cloudflare Dashboard.".
 *
 * D1 databases (the stores) are kept with their tables' row counts: the query API answers the two statements remove
 * sends (the tables of `sqlite_master`, a table's `count(*)`) from them, and refuses any other SQL (it runs none).
 *
 * R2 event notification rules are added, not replaced: each `PUT .../configuration/queues/<queue>` adds its rules
 * (with a rule id) to the bucket's, and a rule that overlaps one the bucket has (a shared action, and prefixes and
 * suffixes such that one object key matches both) is refused, as is a 101st rule; `DELETE` of a queue's
 * configuration removes all of that queue's rules. Cloudflare's R2 documentation, "Event notifications": "Overlapping
 * or conflicting rules that could trigger multiple notifications for the same event are not allowed", up to 100
 * rules per bucket.
 */
import { readFileSync } from 'node:fs'
import { startStandIn, type RecordedRequest, type Reply, type StandIn } from './stand-in.ts'

type Json = Record<string, unknown>
type Schema = Json

/**
 * The `secret_text` binding of the Worker upload's metadata, as cloudflare/api-schemas gives it
 * (components.schemas.workers_binding_kind_secret_text: `name`, `text` (writeOnly), `type: secret_text`, all three
 * required; the cloudflare SDK 6.5.0's `WorkersBindingKindSecretText` the same). Not in the stored subset, which
 * predates Polycloud's secrets.
 */
const SECRET_TEXT: Schema = {
  type: 'object',
  required: ['name', 'type', 'text'],
  properties: { name: { type: 'string' }, type: { enum: ['secret_text'] }, text: { type: 'string' } },
  additionalProperties: false,
}

const SUBSET = JSON.parse(readFileSync(new URL('../fixtures/cloudflare-api/openapi-subset.json', import.meta.url), 'utf8')) as {
  operations: Record<string, { operationId: string; permission?: string; body?: Schema; bodyAs?: string; query?: Record<string, Schema>; resultRequired?: string[]; multipart?: { partContentTypes: string[]; metadata: Schema; bindings: Record<string, Schema> } }>
  permissionGroups: { groups: Record<string, string[]> }
}

/** The token permission groups Cloudflare names (`Workers Scripts Write`, ...), each with the permissions it grants. */
export const PERMISSION_GROUPS: Readonly<Record<string, readonly string[]>> = SUBSET.permissionGroups.groups

/** What a token holding `groups` may do: a group grants a permission it names, or every permission under a prefix ending in `.`. */
function grants(groups: readonly string[], permission: string): boolean {
  return groups.some((group) => (PERMISSION_GROUPS[group] ?? []).some((granted) => (granted.endsWith('.') ? permission.startsWith(granted) : permission === granted)))
}

/** The token of a deploy: every Write group and Zone Read (the "Edit Cloudflare Workers" template grants these and more). */
export const ALL_SCOPES: readonly string[] = Object.keys(PERMISSION_GROUPS).filter((group) => group.endsWith('Write') || group === 'Zone Read')

/** An R2 notification rule as the API stores it. */
export interface NotificationRule {
  readonly ruleId: string
  readonly createdAt: string
  readonly actions: readonly string[]
  readonly prefix?: string
  readonly suffix?: string
  readonly description?: string
}

/** Whether two rules could both fire for one event: a shared action, and one object key matching both filters. */
export function overlaps(a: Pick<NotificationRule, 'actions' | 'prefix' | 'suffix'>, b: Pick<NotificationRule, 'actions' | 'prefix' | 'suffix'>): boolean {
  if (!a.actions.some((action) => b.actions.includes(action))) return false
  const [p, q] = [a.prefix ?? '', b.prefix ?? '']
  const [s, t] = [a.suffix ?? '', b.suffix ?? '']
  // The longer prefix followed by the longer suffix is a key both match when the prefixes nest and the suffixes nest.
  return (p.startsWith(q) || q.startsWith(p)) && (s.endsWith(t) || t.endsWith(s))
}

/** Rules per bucket (R2 documentation, "Event notification rules"). */
const RULES_PER_BUCKET = 100

/** The schema errors of a value: a small JSON Schema subset (type, enum, required, properties, items, bounds, pattern). */
export function schemaErrors(schema: Schema, value: unknown, at = 'body'): string[] {
  const errors: string[] = []
  const type = schema.type as string | undefined
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value
  if (type !== undefined && !(type === actual || (type === 'number' && actual === 'integer'))) return [`${at}: expected ${type}, got ${actual}`]
  if (schema.enum !== undefined && !(schema.enum as unknown[]).includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`)
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < (schema.minLength as number)) errors.push(`${at}: shorter than ${schema.minLength}`)
    if (schema.maxLength !== undefined && value.length > (schema.maxLength as number)) errors.push(`${at}: longer than ${schema.maxLength}`)
    if (schema.pattern !== undefined && !new RegExp(schema.pattern as string).test(value)) errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`)
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < (schema.minimum as number)) errors.push(`${at}: ${value} is below ${schema.minimum}`)
    if (schema.maximum !== undefined && value > (schema.maximum as number)) errors.push(`${at}: ${value} is above ${schema.maximum}`)
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < (schema.minItems as number)) errors.push(`${at}: fewer than ${schema.minItems} items`)
    if (schema.items !== undefined) value.forEach((item, index) => errors.push(...schemaErrors(schema.items as Schema, item, `${at}[${index}]`)))
  }
  if (actual === 'object') {
    const object = value as Json
    for (const name of (schema.required as string[] | undefined) ?? []) if (!(name in object)) errors.push(`${at}.${name} is required`)
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {}
    for (const [name, item] of Object.entries(object)) {
      if (properties[name] !== undefined) errors.push(...schemaErrors(properties[name], item, `${at}.${name}`))
      else if (schema.additionalProperties === false) errors.push(`${at}.${name} is not a known field`)
    }
  }
  return errors
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, special: /^(L|W|LW|\d+W|\?)$/ },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  // Cloudflare: 1-7 with 1 = Sunday, or names; `L` and `#` as in Quartz.
  { name: 'day-of-week', min: 1, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], special: /^(\?|[1-7]L|[1-7]#[1-5])$/ },
] as const

/** Whether a cron is valid Cron Trigger syntax; the problem otherwise. */
export function cronProblem(cron: string): string | undefined {
  const parts = cron.trim().split(/\s+/)
  if (parts.length !== 5) return `${parts.length} fields, not 5`
  for (const [i, part] of parts.entries()) {
    const field = FIELDS[i] as (typeof FIELDS)[number]
    for (const item of part.split(',')) {
      if ('special' in field && field.special.test(item)) continue
      const [range, step, extra] = item.split('/')
      if (extra !== undefined || (step !== undefined && !/^\d+$/.test(step))) return `${field.name}: ${item}`
      if (range === '*') continue
      for (const value of (range ?? '').split('-')) {
        const number = 'names' in field && (field.names as readonly string[]).includes(value.toUpperCase()) ? field.min : /^\d+$/.test(value) ? Number(value) : NaN
        if (!(number >= field.min && number <= field.max)) return `${field.name}: ${JSON.stringify(value)} is not ${field.min}-${field.max}${'names' in field ? ' or a name' : ''}`
      }
    }
  }
  return undefined
}

export interface CloudflareState {
  scripts: Map<string, { metadata: Json; parts: Record<string, { type: string; size: number }>; schedules: string[]; subdomain: boolean; handlers: string[] }>
  queues: Map<string, { queue_id: string; queue_name: string; created_on: string; modified_on: string; consumers: Array<Json & { consumer_id: string }> }>
  /** R2 buckets, with their objects' keys and sizes. */
  buckets: Map<string, { name: string; creation_date: string; objects: Map<string, number> }>
  /** Notification rules by bucket, then by queue id. */
  notifications: Map<string, Map<string, NotificationRule[]>>
  routes: Map<string, Array<{ id: string; pattern: string; script?: string }>>
  /** D1 databases by uuid, each with its tables' row counts. */
  databases: Map<string, { uuid: string; name: string; created_at: string; version: string; tables: Map<string, number> }>
}

export interface CloudflareStandIn extends StandIn {
  /** `http://127.0.0.1:<port>/client/v4`: CLOUDFLARE_API_BASE_URL. */
  readonly baseUrl: string
  readonly state: CloudflareState
  /** The operationIds called, in order. */
  operations(): string[]
}

const ok = (result: unknown, extra: Json = {}): Reply => ({ status: 200, body: { success: true, errors: [], messages: [], result, ...extra } })
const fail = (status: number, code: number, message: string): Reply => ({ status, body: { success: false, errors: [{ code, message }], messages: [], result: null } })

const compiled = Object.entries(SUBSET.operations).map(([key, operation]) => {
  const [method, template] = key.split(' ') as [string, string]
  const names: string[] = []
  // An R2 object key is the rest of the path, slashes and all.
  const pattern = new RegExp(`^${template.replace(/\{([a-z_]+)\}/g, (_m, name: string) => (names.push(name), name === 'object_key' ? '(.+)' : '([^/]+)'))}$`)
  const body = operation.body ?? (operation.bodyAs ? SUBSET.operations[operation.bodyAs]?.body : undefined)
  return { method, pattern, names, operation, body }
})

let sequence = 0
const id = (): string => (++sequence).toString(16).padStart(32, '0')

export interface CloudflareStandInOptions {
  readonly token: string
  readonly account: string
  /** The account's workers.dev subdomain; null: none registered yet. */
  readonly subdomain?: string | null
  readonly zones?: Record<string, string>
  /** The token's permission groups (default ALL_SCOPES). */
  readonly scopes?: readonly string[]
  /** Whether R2 is enabled on the account (default true). */
  readonly r2?: boolean
}

export async function startCloudflareStandIn(options: CloudflareStandInOptions): Promise<CloudflareStandIn> {
  const scopes = options.scopes ?? ALL_SCOPES
  const accountSubdomain = options.subdomain === undefined ? 'polycloud-test' : options.subdomain
  const state: CloudflareState = { scripts: new Map(), queues: new Map(), buckets: new Map(), notifications: new Map(), routes: new Map(), databases: new Map() }
  const zones = options.zones ?? { 'example.com': 'zone0000000000000000000000000001' }
  const called: string[] = []
  const now = (): string => new Date().toISOString()
  const queueByName = (name: string) => [...state.queues.values()].find((queue) => queue.queue_name === name)

  async function route(request: RecordedRequest): Promise<Reply> {
    if (request.headers.authorization !== `Bearer ${options.token}`) return fail(403, 10000, 'Authentication error')
    const path = request.path.replace(/^\/client\/v4/, '')
    const match = compiled.map((entry) => ({ entry, found: entry.method === request.method ? entry.pattern.exec(path) : null })).find(({ found }) => found !== null)
    if (match === undefined || match.found === null) return fail(404, 7003, `No route for that URI: ${request.method} ${path}`)
    const { entry } = match
    const params = Object.fromEntries(entry.names.map((name, index) => [name, decodeURIComponent((match.found as RegExpExecArray)[index + 1] as string)]))
    if (params.account_id !== undefined && params.account_id !== options.account) return fail(403, 10000, 'Authentication error')
    called.push(entry.operation.operationId)
    if (entry.operation.permission !== undefined && !grants(scopes, entry.operation.permission)) return fail(403, 10000, 'Authentication error')
    if (options.r2 === false && /^r2-/.test(entry.operation.operationId)) return fail(403, 10042, 'Please enable R2 through the Cloudflare Dashboard.')
    if (entry.operation.query !== undefined) {
      for (const [name, value] of request.query) {
        const schema = entry.operation.query[name]
        if (schema === undefined) return fail(400, 10001, `invalid request: unknown query parameter ${name}`)
        const errors = schemaErrors(schema, schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value, name)
        if (errors.length > 0) return fail(400, 10001, `invalid request: ${errors.join('; ')}`)
      }
    }
    let body: unknown
    if (entry.body !== undefined) {
      if (!String(request.headers['content-type']).startsWith('application/json')) return fail(400, 10001, 'expected an application/json body')
      try {
        body = JSON.parse(request.body.toString('utf8'))
      } catch {
        return fail(400, 10001, 'the body is not JSON')
      }
      const errors = schemaErrors(entry.body, body)
      if (errors.length > 0) return fail(400, 10001, `invalid request: ${errors.join('; ')}`)
    }
    const reply = await handle(entry.operation.operationId, params, body, request)
    const required = entry.operation.resultRequired
    const result = (reply.body as Json | undefined)?.result
    if (reply.status === 200 && required !== undefined && result !== null && typeof result === 'object') {
      for (const item of Array.isArray(result) ? result : [result]) {
        for (const name of required) if (!(name in (item as Json))) throw new Error(`stand-in answer lacks ${name}`)
      }
    }
    return reply
  }

  async function upload(name: string, request: RecordedRequest): Promise<Reply> {
    const type = String(request.headers['content-type'] ?? '')
    if (!type.startsWith('multipart/form-data')) return fail(400, 10021, 'the Worker upload is multipart/form-data')
    const form = await new Response(new Uint8Array(request.body), { headers: { 'content-type': type } }).formData()
    const raw = form.get('metadata')
    if (raw === null) return fail(400, 10021, 'the upload has no metadata part')
    let metadata: Json
    try {
      metadata = JSON.parse(typeof raw === 'string' ? raw : await raw.text()) as Json
    } catch {
      return fail(400, 10021, 'the metadata part is not JSON')
    }
    const subset = SUBSET.operations['PUT /accounts/{account_id}/workers/scripts/{script_name}']?.multipart as NonNullable<(typeof SUBSET.operations)[string]['multipart']>
    const spec = { ...subset, bindings: { ...subset.bindings, secret_text: SECRET_TEXT } as Record<string, Schema> }
    const errors = schemaErrors(spec.metadata, metadata, 'metadata')
    if (errors.length > 0) return fail(400, 10021, errors.join('; '))
    const parts: Record<string, { type: string; size: number }> = {}
    for (const [key, value] of form.entries()) {
      if (key === 'metadata' || typeof value === 'string') continue
      if (!spec.partContentTypes.includes(value.type)) return fail(400, 10021, `part ${key} has content type ${JSON.stringify(value.type)}`)
      parts[key] = { type: value.type, size: value.size }
    }
    const main = metadata.main_module
    if (typeof main !== 'string' || parts[main] === undefined) return fail(400, 10021, `main_module ${JSON.stringify(main)} names no part of the upload`)
    if (!/module$/.test(parts[main].type)) return fail(400, 10021, `main_module ${main} is not an ES module part (${parts[main].type})`)
    const date = metadata.compatibility_date
    if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) return fail(400, 10021, `compatibility_date ${JSON.stringify(date)} is not a date`)
    if (Date.parse(date) > Date.now()) return fail(400, 10021, `compatibility_date ${date} is in the future`)
    const seen = new Set<string>()
    for (const binding of (metadata.bindings as Json[] | undefined) ?? []) {
      const schema = spec.bindings[String(binding.type)]
      if (schema === undefined) return fail(400, 10021, `binding ${String(binding.name)}: unknown type ${JSON.stringify(binding.type)}`)
      const bindingErrors = schemaErrors(schema, binding, `binding ${String(binding.name)}`)
      if (bindingErrors.length > 0) return fail(400, 10021, bindingErrors.join('; '))
      if (seen.has(binding.name as string)) return fail(400, 10021, `binding name ${String(binding.name)} is used twice`)
      seen.add(binding.name as string)
      if (binding.type === 'queue' && queueByName(binding.queue_name as string) === undefined) return fail(400, 11000, `Queue "${String(binding.queue_name)}" does not exist`)
      if (binding.type === 'r2_bucket' && !state.buckets.has(binding.bucket_name as string)) return fail(400, 10085, `R2 bucket "${String(binding.bucket_name)}" does not exist`)
      if (binding.type === 'd1' && !state.databases.has(binding.database_id as string)) return fail(400, 10021, `binding ${String(binding.name)}: D1 database ${String(binding.database_id)} does not exist`)
    }
    const previous = state.scripts.get(name)
    state.scripts.set(name, { metadata, parts, schedules: previous?.schedules ?? [], subdomain: previous?.subdomain ?? false, handlers: ['fetch', 'queue', 'scheduled'] })
    return ok({ id: name, etag: id(), handlers: ['fetch', 'queue', 'scheduled'], created_on: now(), modified_on: now(), usage_model: 'standard' })
  }

  async function handle(operation: string, params: Record<string, string>, body: unknown, request: RecordedRequest): Promise<Reply> {
    const script = params.script_name === undefined ? undefined : state.scripts.get(params.script_name)
    const noScript = (): Reply => fail(404, 10007, 'This Worker does not exist on your account.')
    const queue = params.queue_id === undefined ? undefined : state.queues.get(params.queue_id)
    const noQueue = (): Reply => fail(404, 11000, 'Queue does not exist')
    switch (operation) {
      case 'worker-script-upload-worker-module':
        return upload(params.script_name as string, request)
      case 'worker-script-delete-worker':
        if (script === undefined) return noScript()
        for (const candidate of state.queues.values()) {
          if (candidate.consumers.some((consumer) => consumer.script_name === params.script_name)) return fail(400, 10064, `the Worker is the consumer of queue ${candidate.queue_name}: remove the consumer first`)
        }
        state.scripts.delete(params.script_name as string)
        return ok(null)
      case 'worker-script-get-settings':
        // secret_text's `text` is writeOnly in the spec: the settings read never returns it.
        return script === undefined ? noScript() : ok({ bindings: ((script.metadata.bindings as Json[] | undefined) ?? []).map((binding) => (binding.type === 'secret_text' ? { name: binding.name, type: binding.type } : binding)), compatibility_date: script.metadata.compatibility_date, compatibility_flags: script.metadata.compatibility_flags ?? [] })
      case 'worker-cron-trigger-get-cron-triggers':
        return script === undefined ? noScript() : ok({ schedules: script.schedules.map((cron) => ({ cron, created_on: now(), modified_on: now() })) })
      case 'worker-cron-trigger-update-cron-triggers': {
        if (script === undefined) return noScript()
        const crons = (body as Array<{ cron: string }>).map((item) => item.cron)
        for (const cron of crons) {
          const problem = cronProblem(cron)
          if (problem !== undefined) return fail(400, 10100, `Invalid cron expression "${cron}": ${problem}`)
        }
        script.schedules = crons
        return ok({ schedules: crons.map((cron) => ({ cron, created_on: now(), modified_on: now() })) })
      }
      case 'worker-script-post-subdomain':
        if (script === undefined) return noScript()
        if ((body as { enabled: boolean }).enabled && accountSubdomain === null) return fail(400, 10007, 'This account has no workers.dev subdomain: register one first.')
        script.subdomain = (body as { enabled: boolean }).enabled
        return ok({ enabled: script.subdomain, previews_enabled: false })
      case 'worker-script-get-subdomain':
        return script === undefined ? noScript() : ok({ enabled: script.subdomain, previews_enabled: false })
      case 'worker-subdomain-get-subdomain':
        return accountSubdomain === null ? fail(404, 10007, 'workers.dev subdomain not found') : ok({ subdomain: accountSubdomain })
      case 'worker-script-list-workers':
        return ok([...state.scripts.entries()].map(([name, entry]) => ({ id: name, handlers: entry.handlers, created_on: now(), modified_on: now() })))
      case 'r2-list-buckets':
        return ok({ buckets: [...state.buckets.values()].map((bucket) => ({ name: bucket.name, creation_date: bucket.creation_date, location: 'WEUR' })) })
      case 'queue-v2-list-queues': {
        const all = [...state.queues.values()].map(({ consumers, ...rest }) => ({ ...rest, producers_total_count: 0, producers: [], consumers_total_count: consumers.length, consumers }))
        const page = Number(request.query.get('page') ?? 1)
        const perPage = Number(request.query.get('per_page') ?? 20)
        const slice = all.slice((page - 1) * perPage, page * perPage)
        return ok(slice, { result_info: { page, per_page: perPage, count: slice.length, total_count: all.length, total_pages: Math.max(1, Math.ceil(all.length / perPage)) } })
      }
      case 'queue-v2-create-queue': {
        const name = (body as { queue_name: string }).queue_name
        if (queueByName(name) !== undefined) return fail(409, 11009, `A queue named ${name} already exists`)
        const created = { queue_id: id(), queue_name: name, created_on: now(), modified_on: now(), consumers: [] }
        state.queues.set(created.queue_id, created)
        const { consumers: _consumers, ...result } = created
        return ok(result)
      }
      case 'queue-v2-delete-queue':
        if (queue === undefined) return noQueue()
        if (queue.consumers.length > 0) return fail(400, 11001, `queue ${queue.queue_name} still has a consumer`)
        state.queues.delete(queue.queue_id)
        return ok(null)
      case 'queue-v2-list-queue-consumers':
        return queue === undefined ? noQueue() : ok(queue.consumers.map((consumer) => ({ ...consumer, queue_name: queue.queue_name })))
      case 'queue-v2-create-queue-consumer':
      case 'queue-v2-update-queue-consumer': {
        if (queue === undefined) return noQueue()
        const request = body as { script_name: string; dead_letter_queue?: string; settings?: Json }
        if (!state.scripts.has(request.script_name)) return fail(400, 10007, `Worker ${request.script_name} does not exist on your account.`)
        if (request.dead_letter_queue !== undefined && queueByName(request.dead_letter_queue) === undefined) return fail(400, 11000, `dead letter queue ${request.dead_letter_queue} does not exist`)
        if (request.dead_letter_queue === queue.queue_name) return fail(400, 11002, 'a queue cannot be its own dead letter queue')
        const consumer = { ...request, type: 'worker', consumer_id: params.consumer_id ?? id(), created_on: now() }
        if (operation === 'queue-v2-create-queue-consumer') {
          if (queue.consumers.length > 0) return fail(400, 11003, `queue ${queue.queue_name} already has a consumer`)
          queue.consumers.push(consumer)
        } else {
          const index = queue.consumers.findIndex((existing) => existing.consumer_id === params.consumer_id)
          if (index === -1) return fail(404, 11004, 'Consumer does not exist')
          queue.consumers[index] = consumer
        }
        return ok({ ...consumer, queue_name: queue.queue_name, dead_letter_queue: consumer.dead_letter_queue ?? '', settings: consumer.settings ?? {} })
      }
      case 'queue-v2-delete-queue-consumer': {
        if (queue === undefined) return noQueue()
        const index = queue.consumers.findIndex((consumer) => consumer.consumer_id === params.consumer_id)
        if (index === -1) return fail(404, 11004, 'Consumer does not exist')
        queue.consumers.splice(index, 1)
        return ok(null)
      }
      case 'r2-create-bucket': {
        const name = (body as { name: string }).name
        if (state.buckets.has(name)) return fail(409, 10004, 'The bucket you tried to create already exists, and you own it.')
        const bucket = { name, creation_date: now(), objects: new Map<string, number>() }
        state.buckets.set(name, bucket)
        return ok({ name, creation_date: bucket.creation_date, location: 'WEUR' })
      }
      case 'r2-get-bucket': {
        const bucket = state.buckets.get(params.bucket_name as string)
        return bucket === undefined ? fail(404, 10006, 'The specified bucket does not exist.') : ok({ name: bucket.name, creation_date: bucket.creation_date, location: 'WEUR' })
      }
      case 'r2-delete-bucket': {
        const bucket = state.buckets.get(params.bucket_name as string)
        if (bucket === undefined) return fail(404, 10006, 'The specified bucket does not exist.')
        if (bucket.objects.size > 0) return fail(409, 10008, 'The bucket you tried to delete is not empty.')
        state.buckets.delete(bucket.name)
        state.notifications.delete(bucket.name)
        return ok({})
      }
      case 'r2-list-objects': {
        const bucket = state.buckets.get(params.bucket_name as string)
        if (bucket === undefined) return fail(404, 10006, 'The specified bucket does not exist.')
        const prefix = request.query.get('prefix') ?? ''
        const keys = [...bucket.objects.keys()].filter((key) => key.startsWith(prefix)).sort()
        const perPage = Number(request.query.get('per_page') ?? 1000)
        const after = request.query.get('cursor')
        const start = after === null ? 0 : keys.findIndex((key) => key > Buffer.from(after, 'base64url').toString())
        const page = (start === -1 ? [] : keys.slice(start)).slice(0, perPage)
        const more = start !== -1 && start + perPage < keys.length
        const result = page.map((key) => ({ key, size: bucket.objects.get(key), etag: '0'.repeat(32), last_modified: now() }))
        return ok(result, { result_info: { per_page: perPage, ...(more ? { cursor: Buffer.from(page.at(-1) as string).toString('base64url') } : {}) } })
      }
      case 'r2-delete-object': {
        const bucket = state.buckets.get(params.bucket_name as string)
        if (bucket === undefined) return fail(404, 10006, 'The specified bucket does not exist.')
        bucket.objects.delete(params.object_key as string)
        return ok({ key: params.object_key })
      }
      case 'r2-get-event-notification-configs': {
        if (!state.buckets.has(params.bucket_name as string)) return fail(404, 10006, 'The specified bucket does not exist.')
        const rules = state.notifications.get(params.bucket_name as string) ?? new Map<string, NotificationRule[]>()
        const queues = [...rules.entries()].map(([queueId, list]) => ({ queueId, queueName: state.queues.get(queueId)?.queue_name ?? '', rules: list }))
        return ok({ bucketName: params.bucket_name, queues })
      }
      case 'r2-put-event-notification-config':
      case 'r2-delete-event-notification-config': {
        if (!state.buckets.has(params.bucket_name as string)) return fail(404, 10006, 'The specified bucket does not exist.')
        if (queue === undefined) return noQueue()
        const rules = state.notifications.get(params.bucket_name as string) ?? new Map<string, NotificationRule[]>()
        if (operation === 'r2-delete-event-notification-config') {
          rules.delete(queue.queue_id)
          state.notifications.set(params.bucket_name as string, rules)
          return ok({})
        }
        // Rules are added to the bucket's: none may overlap another (this request's included).
        const existing = [...rules.values()].flat()
        const added: NotificationRule[] = []
        for (const rule of (body as { rules: Array<Omit<NotificationRule, 'ruleId' | 'createdAt'>> }).rules) {
          const clash = [...existing, ...added].find((other) => overlaps(rule, other))
          if (clash !== undefined) {
            return fail(409, 11013, `conflicting event notification rules: ${JSON.stringify(rule)} overlaps rule ${clash.ruleId} (${JSON.stringify({ actions: clash.actions, prefix: clash.prefix, suffix: clash.suffix })})`)
          }
          added.push({ ...rule, ruleId: id(), createdAt: now() })
        }
        if (existing.length + added.length > RULES_PER_BUCKET) return fail(400, 11014, `a bucket has at most ${RULES_PER_BUCKET} event notification rules`)
        rules.set(queue.queue_id, [...(rules.get(queue.queue_id) ?? []), ...added])
        state.notifications.set(params.bucket_name as string, rules)
        return ok({ event_notification_detail_id: added[0]?.ruleId ?? id() })
      }
      case 'cloudflare-d1-list-databases': {
        const name = request.query.get('name')
        const all = [...state.databases.values()].filter((database) => name === null || database.name.includes(name)).map(({ tables: _tables, ...database }) => database)
        const page = Number(request.query.get('page') ?? 1)
        const perPage = Number(request.query.get('per_page') ?? 1000)
        const slice = all.slice((page - 1) * perPage, page * perPage)
        return ok(slice, { result_info: { page, per_page: perPage, count: slice.length, total_count: all.length } })
      }
      case 'cloudflare-d1-create-database': {
        const name = (body as { name: string }).name
        if ([...state.databases.values()].some((database) => database.name === name)) return fail(400, 7502, `A database with that name already exists: ${name}`)
        const created = { uuid: crypto.randomUUID(), name, created_at: now(), version: 'production', tables: new Map<string, number>() }
        state.databases.set(created.uuid, created)
        return ok({ uuid: created.uuid, name, created_at: created.created_at, version: created.version })
      }
      case 'cloudflare-d1-delete-database': {
        if (!state.databases.delete(params.database_id as string)) return fail(404, 7404, 'The database could not be found')
        return ok(null)
      }
      case 'cloudflare-d1-query-database': {
        const database = state.databases.get(params.database_id as string)
        if (database === undefined) return fail(404, 7404, 'The database could not be found')
        const { sql } = body as { sql: string }
        const meta = { changed_db: false, changes: 0, duration: 0.1, rows_read: 0, rows_written: 0, size_after: 4096 }
        if (/^SELECT name FROM sqlite_master WHERE type = 'table'/.test(sql)) return ok([{ results: [...database.tables.keys()].map((table) => ({ name: table })), success: true, meta }])
        const count = /^SELECT count\(\*\) AS (\w+) FROM "(\w+)"$/.exec(sql)
        if (count !== null) {
          const rows = database.tables.get(count[2] as string)
          if (rows === undefined) return fail(400, 7500, `no such table: ${count[2]}: SQLITE_ERROR`)
          return ok([{ results: [{ [count[1] as string]: rows }], success: true, meta }])
        }
        return fail(400, 7500, `stand-in: the statement ${JSON.stringify(sql)} is not emulated`)
      }
      case 'zones-get': {
        const name = request.query.get('name')
        return ok(Object.entries(zones).filter(([zone]) => name === null || zone === name).map(([zone, zoneId]) => ({ id: zoneId, name: zone })))
      }
      case 'worker-routes-list-routes':
      case 'worker-routes-create-route':
      case 'worker-routes-update-route':
      case 'worker-routes-delete-route': {
        if (!Object.values(zones).includes(params.zone_id as string)) return fail(404, 7003, 'Could not route to the zone')
        const routes = state.routes.get(params.zone_id as string) ?? []
        state.routes.set(params.zone_id as string, routes)
        if (operation === 'worker-routes-list-routes') return ok(routes)
        if (operation === 'worker-routes-delete-route') {
          const index = routes.findIndex((existing) => existing.id === params.route_id)
          if (index === -1) return fail(404, 10020, 'Route not found')
          routes.splice(index, 1)
          return ok({ id: params.route_id })
        }
        const input = body as { pattern: string; script?: string }
        if (input.script !== undefined && !state.scripts.has(input.script)) return fail(400, 10007, 'This Worker does not exist on your account.')
        if (operation === 'worker-routes-create-route') {
          if (routes.some((existing) => existing.pattern === input.pattern)) return fail(409, 10020, 'A route with the same pattern already exists')
          const created = { id: id(), ...input }
          routes.push(created)
          return ok(created)
        }
        const index = routes.findIndex((existing) => existing.id === params.route_id)
        if (index === -1) return fail(404, 10020, 'Route not found')
        routes[index] = { id: params.route_id as string, ...input }
        return ok(routes[index])
      }
      default:
        return fail(404, 7003, `stand-in: ${operation} is not emulated`)
    }
  }

  const standIn = await startStandIn(route)
  return { ...standIn, baseUrl: `${standIn.url}/client/v4`, state, operations: () => [...called] }
}
