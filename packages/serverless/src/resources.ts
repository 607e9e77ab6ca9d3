/**
 * Resources a service declares once and its functions use by logical name (`@polycloud/resources`' `bucket()`,
 * `queue()`, `topic()`):
 *
 * ```yaml
 * custom:
 *   polycloud:
 *     resources:
 *       uploads: bucket                      # deployed as <service>-<stage>-uploads
 *       orders: { kind: queue, maxReceiveCount: 3 }
 *       archive: { kind: bucket, name: acme-archive, existing: true }
 *       sessions: store                      # a key-value store (store-resources.ts: each cloud's)
 * functions:
 *   thumbnails:
 *     uses: [uploads]                        # what its code reaches; granted on each cloud
 *     events:
 *       - bucket: { name: uploads, prefix: images/ }   # an event may name a declared resource
 * ```
 *
 * Read here, once, into {@link ResourceDeclaration}s and each function's resolved `uses`; checked with located
 * sentences (an unknown name with the nearest declared one, a kind an event does not consume, a deployed name the
 * clouds refuse). Each provider's plan decides how a resource is addressed and granted; the generated entry of a
 * function with `uses` registers its handler through `withResources` with the provider's driver ({@link withResourcesCall}).
 */
import { ConfigError } from './errors.js'
import type { Json } from './provider.js'
import { nearest } from './schema.js'

/** The kinds of resource a service declares: objects, messages to consume, messages to publish, key-value entries. */
export const RESOURCE_KINDS = ['bucket', 'queue', 'topic', 'store'] as const
export type ResourceKind = (typeof RESOURCE_KINDS)[number]

/** One declared resource, as every provider's plan reads it. */
export interface ResourceDeclaration {
  /** The logical name: the key under `custom.polycloud.resources`, the name the code and the events use. */
  readonly name: string
  readonly kind: ResourceKind
  /** `custom.polycloud.resources.<name>`, for messages. */
  readonly at: string
  /** The name it has on the cloud: its `name`, else `<service>-<stage>-<logical name>` (a FIFO queue's `.fifo` is the provider's). */
  readonly deployedName: string
  /** It exists already: deploy neither creates nor deletes it. */
  readonly existing: boolean
  /** A queue delivering in order, each message once (`fifo: true`). */
  readonly fifo: boolean
  /** A queue's receives before its messages go to the dead-letter queue; undefined: the provider's default (5). */
  readonly maxReceiveCount: number | undefined
  /** The active provider's own settings for it (`azure: { ... }` in its object form), as written. */
  readonly options: Readonly<Json>
}

/** What every function that declares resources shares in the model: the declarations of what its code uses. */
export type ResourceUse = ResourceDeclaration

/** Logical names: lower-case words joined by `-`, so that every cloud takes the deployed name and a binding name. */
export const LOGICAL_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/
const LOGICAL_MAX = 40
/** Bucket names every cloud takes: S3's, R2's, Cloud Storage's and Blob Storage's containers' common ground. */
const BUCKET_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/
/** Queue and topic names: SQS's and SNS's characters, at most 80. */
const MESSAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/
/** Store names: DynamoDB's table names (3-255), Firestore's collection ids and D1's database names share these. */
const STORE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{2,79}$/

const KIND_FIELDS: Readonly<Record<ResourceKind, readonly string[]>> = {
  bucket: ['name', 'existing'],
  queue: ['name', 'existing', 'fifo', 'maxReceiveCount'],
  topic: ['name', 'existing'],
  store: ['name', 'existing'],
}

/**
 * The JSON schema of `custom.polycloud.resources`: `<name>: bucket | queue | topic`, or the object form `{ kind,
 * name, existing, fifo, maxReceiveCount, excludeFrom, <provider>: { ... } }` (each provider's own settings under its
 * name, the active provider's checked against `own`). What the schema cannot say as a sentence the reading checks.
 */
export function resourcesSchema(providers: readonly string[], provider: string, own: Json | undefined, spellings: readonly string[]): Json {
  const blocks: Json = Object.fromEntries(providers.map((name) => [name, { type: 'object' }]))
  if (own) blocks[provider] = own
  return {
    type: 'object',
    propertyNames: { pattern: LOGICAL_NAME.source, maxLength: LOGICAL_MAX },
    additionalProperties: {
      anyOf: [
        { enum: [...RESOURCE_KINDS] },
        {
          type: 'object',
          properties: {
            kind: { enum: [...RESOURCE_KINDS] },
            name: { type: 'string', minLength: 1, maxLength: 80 },
            existing: { type: 'boolean' },
            fifo: { type: 'boolean' },
            maxReceiveCount: { type: 'integer', minimum: 1, maximum: 1000 },
            excludeFrom: { type: 'array', items: { enum: [...spellings] }, uniqueItems: true, minItems: 1 },
            ...blocks,
          },
          required: ['kind'],
          additionalProperties: false,
        },
      ],
    },
  }
}

/** The schema of a function's `uses`: the logical names of the resources its code uses. */
export const USES_SCHEMA = { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true } as const

export interface ResourceReading {
  readonly service: string
  readonly stage: string
  /** The active provider's name (its block in a resource's object form). */
  readonly provider: string
  /** Whether a name users write (`excludeFrom: [gcp]`) means the active provider. */
  means(spelling: string): boolean
}

/** The declarations of the active provider, and the names declared but excluded from it (`excludeFrom`). */
export interface DeclaredResources {
  readonly declared: readonly ResourceDeclaration[]
  readonly excluded: readonly string[]
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** `custom.polycloud.resources` read and checked. */
export function readResources(raw: unknown, reading: ResourceReading): DeclaredResources {
  if (raw === undefined || raw === null) return { declared: [], excluded: [] }
  if (!isObject(raw)) throw new ConfigError('custom.polycloud.resources', 'maps logical names to a kind (uploads: bucket) or { kind, ... }')
  const declared: ResourceDeclaration[] = []
  const excluded: string[] = []
  for (const [name, value] of Object.entries(raw)) {
    const at = `custom.polycloud.resources.${name}`
    if (!LOGICAL_NAME.test(name) || name.length > LOGICAL_MAX) {
      throw new ConfigError(at, `a resource's logical name is lower-case letters and digits, words joined by "-", at most ${LOGICAL_MAX} characters (the clouds' names and bindings are made from it)`)
    }
    const config: Json = typeof value === 'string' ? { kind: value } : isObject(value) ? value : {}
    const kind = config.kind
    if (!(RESOURCE_KINDS as readonly unknown[]).includes(kind)) {
      throw new ConfigError(at, `is a ${RESOURCE_KINDS.slice(0, -1).join(', a ')} or a ${RESOURCE_KINDS.at(-1)} (written "${name}: bucket", or { kind: bucket, ... }), not ${JSON.stringify(kind ?? value)}`)
    }
    const typed = kind as ResourceKind
    for (const field of ['name', 'existing', 'fifo', 'maxReceiveCount']) {
      if (config[field] !== undefined && !KIND_FIELDS[typed].includes(field)) throw new ConfigError(`${at}.${field}`, `is a queue's setting, not a ${typed}'s`)
    }
    const exclusions = Array.isArray(config.excludeFrom) ? config.excludeFrom : []
    if (exclusions.some((spelling) => typeof spelling === 'string' && reading.means(spelling))) {
      excluded.push(name)
      continue
    }
    const written = typeof config.name === 'string' ? config.name : undefined
    const deployedName = written ?? `${reading.service}-${reading.stage}-${name}`
    const subject = written === undefined ? `would be deployed as ${JSON.stringify(deployedName)} (<service>-<stage>-<name>), which` : `name ${JSON.stringify(deployedName)}`
    const fix = written === undefined ? '; give it a name of its own (name: ...)' : ''
    if (typed === 'bucket' && !BUCKET_NAME.test(deployedName)) {
      throw new ConfigError(at, `${subject} is not a bucket name every cloud takes: 3-63 lower-case letters, digits and single "-" between them${fix}`)
    }
    if (typed === 'store' && !STORE_NAME.test(deployedName)) {
      throw new ConfigError(at, `${subject} is not a store name the clouds take: 3-80 letters, digits, "-" and "_"${fix}`)
    }
    if ((typed === 'queue' || typed === 'topic') && !MESSAGE_NAME.test(deployedName)) {
      throw new ConfigError(at, `${subject} is not a ${typed} name the clouds take: at most 80 letters, digits, "-" and "_"${fix}`)
    }
    const own = config[reading.provider]
    declared.push({
      name,
      kind: typed,
      at,
      deployedName,
      existing: config.existing === true,
      fifo: config.fifo === true,
      maxReceiveCount: typeof config.maxReceiveCount === 'number' ? config.maxReceiveCount : undefined,
      options: isObject(own) ? own : {},
    })
  }
  return { declared, excluded }
}

/**
 * A function's `uses`, resolved to the declarations: an unknown name is refused with the nearest declared one; a
 * name declared but excluded from the active provider is left out (its calls fail there with `NotDeclared`, and
 * `declared()` tells the code so).
 */
export function resolveUses(fn: string, uses: unknown, resources: DeclaredResources): ResourceDeclaration[] {
  if (uses === undefined || uses === null) return []
  const at = `functions.${fn}.uses`
  if (!Array.isArray(uses)) throw new ConfigError(at, 'lists the logical names of the resources the function uses: uses: [uploads, orders]')
  const resolved: ResourceDeclaration[] = []
  uses.forEach((name, index) => {
    if (typeof name !== 'string') throw new ConfigError(`${at}[${index}]`, `is a resource's logical name, not ${JSON.stringify(name)}`)
    if (resources.excluded.includes(name)) return
    const found = resources.declared.find((declaration) => declaration.name === name)
    if (found === undefined) throw new ConfigError(`${at}[${index}]`, unknownResource(name, resources))
    if (found.fifo) {
      throw new ConfigError(`${at}[${index}]`, `${JSON.stringify(name)} is a FIFO queue, which queue().send cannot send to yet (it takes no message group): consume it with fromQueue, and send to a standard queue`)
    }
    if (!resolved.includes(found)) resolved.push(found)
  })
  return resolved
}

/** The sentence for a name no resource has: the nearest declared name, or how to declare it. */
function unknownResource(name: string, resources: DeclaredResources): string {
  const names = [...resources.declared.map((declaration) => declaration.name), ...resources.excluded]
  if (names.length === 0) return `${JSON.stringify(name)} is not declared: declare it under custom.polycloud.resources (${name}: bucket, queue, topic or store)`
  const near = nearest(name, names)
  return `${JSON.stringify(name)} is not declared in custom.polycloud.resources${near ? `; did you mean ${JSON.stringify(near)}?` : ''} (declared: ${names.join(', ')})`
}

/** The event keys that consume each kind, for messages (no event consumes a store: its code reads it). */
const CONSUMES: Readonly<Record<Exclude<ResourceKind, 'store'>, string>> = { bucket: 'bucket', queue: 'fromQueue', topic: 'topic' }

/**
 * The declaration an event names by its logical name (`fromQueue: orders`, `topic: alerts`, `bucket: uploads`), or
 * undefined when it names none (the event then means what it meant before resources existed). An event naming a
 * resource of another kind, or one excluded from the active provider, is refused.
 */
export function declarationOf(event: { readonly key: string; readonly kind: string }, name: string | undefined, resources: DeclaredResources): ResourceDeclaration | undefined {
  if (name === undefined) return undefined
  if (resources.excluded.includes(name)) {
    throw new ConfigError('', `resource ${JSON.stringify(name)} is excluded from this provider (custom.polycloud.resources.${name}.excludeFrom): exclude the function too (excludeFrom), or the resource no more`)
  }
  const found = resources.declared.find((declaration) => declaration.name === name)
  if (found === undefined) return undefined
  const expected = event.kind === 'queue' ? 'queue' : event.kind === 'topic' ? 'topic' : 'bucket'
  if (found.kind === 'store') {
    throw new ConfigError('', `${JSON.stringify(name)} is declared as a store (custom.polycloud.resources.${name}), which no event consumes: its functions read and write it (uses: [${name}]); ${event.key} takes a ${expected}`)
  }
  if (found.kind !== expected) {
    throw new ConfigError(
      '',
      `${JSON.stringify(name)} is declared as a ${found.kind} (custom.polycloud.resources.${name}), and ${event.key} takes a ${expected}: use "${CONSUMES[found.kind]}: ${name}", or declare a ${expected}`,
    )
  }
  return found
}

/**
 * `POLYCLOUD_RESOURCES` (see `@polycloud/resources`' addressing): the logical name of each resource the functions
 * use mapped to the provider's addressing entry, in the order they are declared.
 */
export function addressing<A>(functions: ReadonlyArray<{ readonly resources: readonly ResourceDeclaration[] }>, address: (resource: ResourceDeclaration) => A): Record<string, A> {
  const used = new Map<string, ResourceDeclaration>()
  for (const fn of functions) for (const resource of fn.resources) used.set(resource.name, resource)
  return Object.fromEntries([...used.values()].map((resource) => [resource.name, address(resource)]))
}

/** `serverless remove --deleteData` (also `--delete-data`): stores that still hold entries are deleted with them. */
export function deleteDataOption(options: Readonly<Record<string, unknown>>): boolean {
  const given = options.deleteData ?? options['delete-data']
  return given === true || given === 'true'
}

/** The environment variable (a Worker var on Cloudflare) holding a function's addressing. */
export const RESOURCES_VARIABLE = 'POLYCLOUD_RESOURCES'

/** `serverless remove --deleteObjects`: the buckets deploy created are deleted with their objects, not kept while they hold any. */
export function deletesObjects(options: Readonly<Record<string, unknown>>): boolean {
  return options.deleteObjects === true || options.deleteObjects === 'true'
}

/** The imports an entry with functions that declare resources needs: `withResources` and the provider's driver. */
export function resourcesImports(adapter: string, driver: string): string[] {
  return ["import { withResources } from '@polycloud/resources'", `import { ${driver} } from '${adapter}/resources'`]
}

/**
 * A function's handler as its entry registers it: `withResources(handler, driver, uses)` when it declares resources
 * (`driver` an expression: `awsResources()`, or the entry's one shared driver), the handler as it is otherwise.
 */
export function withResourcesCall(fn: { readonly resources: readonly ResourceDeclaration[] }, handler: string, driver: string): string {
  if (fn.resources.length === 0) return handler
  return `withResources(${handler}, ${driver}, ${JSON.stringify(fn.resources.map((resource) => resource.name))})`
}
