/**
 * The functions' runtime service accounts on Google Cloud. When the service names none
 * (`custom.polycloud.google.serviceAccount`), every Polycloud function runs as a service account of its own, made by
 * deploy with the IAM API (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts, googleapis
 * `google/iam/admin/v1/iam.proto`), and only that account gets the bucket- and topic-level roles of the resources
 * the function `uses`: a function that uses nothing reaches nothing (the project's default compute account, which
 * the functions ran as before, holds roles/editor in most projects, so every function could read every bucket).
 * Every function, not only those that use resources, for that reason. The instances of one function (one per
 * trigger) share its account; the routing function, which runs every route's handler, has one of its own with the
 * union of their grants. Service accounts have no labels: the description marks them as the service's, and
 * `remove` deletes only what it marks.
 */
import { createHash } from 'node:crypto'
import { ProviderError } from '../../errors.js'
import { apiFailure, call, isStatus, type GoogleConnection } from './api.js'
import { ROUTER_ENTRY, type ServiceLayout } from './plan.js'

/** A function's own runtime service account. */
export interface RuntimeAccount {
  /** The function it runs: its name, or the routing function's entry point. */
  readonly function: string
  /** 6-30 characters, `[a-z]([-a-z0-9]*[a-z0-9])`: the part of the email before `@`. */
  readonly accountId: string
  readonly email: string
  readonly displayName: string
  /** `<marker>: runs <function>`: how deploy and remove know it as the service's. */
  readonly description: string
  /** The Cloud Functions that run as it (a function's instances, one per trigger). */
  readonly functionIds: readonly string[]
}

/** A service account as the IAM API answers it (the parts read here). */
export interface ServiceAccountResource {
  readonly name?: string
  readonly email?: string
  readonly description?: string
  readonly displayName?: string
}

/** Lower case letters, digits and single `-`, at most `max` characters, no `-` at either end. */
function idPart(text: string, max: number): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, max).replace(/-+$/, '')
}

/**
 * The account id of a function's runtime account: `<function>-<stage>-<hash>`, the function and the stage shortened
 * to fit IAM's 30 characters, the hash (6 hex of SHA-256 of service, stage and function) keeping ids of other
 * services, stages and functions apart and the same on every deploy.
 */
export function runtimeAccountId(service: string, stage: string, fn: string): string {
  const hash = createHash('sha256').update(`${service}\0${stage}\0${fn}`).digest('hex').slice(0, 6)
  const stagePart = idPart(stage, 8)
  const room = 30 - hash.length - 1 - (stagePart === '' ? 0 : stagePart.length + 1)
  let name = idPart(fn === ROUTER_ENTRY ? 'routes' : fn, room)
  if (!/^[a-z]/.test(name)) name = idPart(`f${name}`, room)
  return [name, stagePart, hash].filter((part) => part !== '').join('-')
}

/** A service account's email in a project (`example.com:shop` is a domain-scoped project id: `shop.example.com`). */
export function accountEmail(accountId: string, project: string): string {
  const [domain, id] = project.includes(':') ? (project.split(':') as [string, string]) : [undefined, project]
  return `${accountId}@${domain === undefined ? id : `${id}.${domain}`}.iam.gserviceaccount.com`
}

/** The runtime account of each function of the layout. */
export function runtimeAccounts(layout: ServiceLayout, names: { readonly service: string; readonly stage: string; readonly project: string; readonly marker: string }): RuntimeAccount[] {
  const byFunction = new Map<string, string[]>()
  for (const spec of layout.functions) byFunction.set(spec.entryPoint, [...(byFunction.get(spec.entryPoint) ?? []), spec.id])
  return [...byFunction].map(([fn, functionIds]) => {
    const accountId = runtimeAccountId(names.service, names.stage, fn)
    const what = fn === ROUTER_ENTRY ? "the service's routes" : fn
    return {
      function: fn,
      accountId,
      email: accountEmail(accountId, names.project),
      // IAM's limits: 100 bytes of display name, 256 of description.
      displayName: Buffer.from(`${names.service} (${names.stage}): ${what}`).subarray(0, 100).toString(),
      description: Buffer.from(`${names.marker}: runs ${what}`).subarray(0, 256).toString(),
      functionIds,
    }
  })
}

/** Whether an account carries the service's marker. */
export const isOwnAccount = (account: ServiceAccountResource, marker: string): boolean => account.description?.startsWith(`${marker}: `) === true

interface AccountTarget {
  readonly project: string
  readonly connection: Pick<GoogleConnection, 'request' | 'endpoints'>
  readonly marker: string
}

const accountsUrl = (target: AccountTarget): string => `${target.connection.endpoints.iam}/v1/projects/${target.project}/serviceAccounts`

/** Every service account of the project, by email (ListServiceAccounts, 100 a page). */
export async function listAccounts(target: AccountTarget): Promise<Map<string, ServiceAccountResource>> {
  const found = new Map<string, ServiceAccountResource>()
  let pageToken: string | undefined
  do {
    const url = `${accountsUrl(target)}?pageSize=100${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`
    const { data } = await target.connection.request({ url, method: 'GET' })
    const page = (data ?? {}) as { accounts?: ServiceAccountResource[]; nextPageToken?: string }
    for (const account of page.accounts ?? []) if (account.email) found.set(account.email, account)
    pageToken = page.nextPageToken || undefined
  } while (pageToken)
  return found
}

function notOurs(account: RuntimeAccount, target: AccountTarget): ProviderError {
  return new ProviderError(
    `service account ${account.email} exists and was not created by serverless-polycloud for this service (${target.marker})`,
    'delete it, or set custom.polycloud.google.serviceAccount to run the functions as an account of your own',
  )
}

/**
 * Creates the runtime accounts that do not exist (`existing`: the project's, by email). One created meanwhile
 * (409 ALREADY_EXISTS) is read and taken when it is the service's; one of that id that is not is refused.
 */
export async function ensureAccounts(target: AccountTarget, accounts: readonly RuntimeAccount[], existing: ReadonlyMap<string, ServiceAccountResource>, log: (line: string) => void): Promise<RuntimeAccount[]> {
  const created: RuntimeAccount[] = []
  for (const account of accounts) {
    const found = existing.get(account.email)
    if (found !== undefined) {
      if (!isOwnAccount(found, target.marker)) throw notOurs(account, target)
      continue
    }
    try {
      await target.connection.request({ url: accountsUrl(target), method: 'POST', data: { accountId: account.accountId, serviceAccount: { displayName: account.displayName, description: account.description } } })
      created.push(account)
      log(`Created service account ${account.email} for ${account.function === ROUTER_ENTRY ? 'the routing function' : account.function}`)
    } catch (error) {
      if (!isStatus(error, 'ALREADY_EXISTS')) await call(`creating service account ${account.accountId}`, target.project, () => Promise.reject(error))
      const { data } = await call(`reading service account ${account.email}`, target.project, () => target.connection.request({ url: `${accountsUrl(target)}/${account.email}`, method: 'GET' }))
      if (!isOwnAccount((data ?? {}) as ServiceAccountResource, target.marker)) throw notOurs(account, target)
      created.push(account)
    }
  }
  return created
}

/** Google's refusal of a policy or a function that names a service account it does not know (yet). */
const unknownAccount = (error: unknown): boolean => /service account .*(does not exist|not found)/i.test(apiFailure(error).message)

/**
 * Runs `run` and, while `fresh` (accounts were just created) and Google does not know an account yet, again after
 * 1, 2, 4, 8, 16 and 32 s: IAM is eventually consistent, and a new account may be refused in a policy or as a
 * function's for a minute ("Service account ... does not exist"). Any other failure, or the last, is the caller's.
 */
export async function onceKnown<T>(fresh: boolean, run: () => Promise<T>): Promise<T> {
  for (let wait = 1000; ; wait *= 2) {
    try {
      return await run()
    } catch (error) {
      if (!fresh || wait > 32_000 || !unknownAccount(error)) throw error
      await new Promise((done) => setTimeout(done, wait))
    }
  }
}

/** Deletes the service's accounts that `keep` does not name (by email); a gone one is not an error. */
export async function deleteAccounts(target: AccountTarget, keep: ReadonlySet<string>, existing?: ReadonlyMap<string, ServiceAccountResource>): Promise<string[]> {
  const accounts = existing ?? (await call('listing service accounts', target.project, () => listAccounts(target)))
  const deleted: string[] = []
  for (const [email, account] of accounts) {
    if (keep.has(email) || !isOwnAccount(account, target.marker)) continue
    try {
      await target.connection.request({ url: `${accountsUrl(target)}/${email}`, method: 'DELETE' })
    } catch (error) {
      if (!isStatus(error, 'NOT_FOUND')) await call(`deleting service account ${email}`, target.project, () => Promise.reject(error))
    }
    deleted.push(`service account ${email}`)
  }
  return deleted
}
