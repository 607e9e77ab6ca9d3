/**
 * A local stand-in for the Google Cloud APIs the Google target deploys with: Cloud Functions v2 (with long-running
 * operations and the signed upload URL), Pub/Sub (topics, subscriptions, IAM), Cloud Scheduler, Cloud Run's IAM
 * policies, Resource Manager's project lookup, and the deployed functions' URLs. On 127.0.0.1 only.
 *
 * Every API request is checked the way Google's front end checks it, against the APIs' own definitions: the HTTP
 * rules (`google.api.http`) and request messages shipped in the pinned client packages
 * (@google-cloud/functions@4.2.2, @google-cloud/pubsub@5.3.1, @google-cloud/scheduler@5.4.0:
 * `build/protos/protos.json`, loaded with protobufjs). A field the message does not define is refused with Google's
 * "Unknown name" error, a field marked REQUIRED and missing with INVALID_ARGUMENT, a wrong type or enum value too.
 * Then it answers as the API does: ALREADY_EXISTS / NOT_FOUND, operations that complete on the first poll, enums as
 * numbers (the clients ask for `enum-encoding=int`).
 *
 * The project's setup, as the deploy's preflight reads it and as the APIs enforce it:
 * - APIs enabled (`state.services`): a call to an API that is off answers 403 PERMISSION_DENIED with a
 *   `google.rpc.ErrorInfo` detail, reason SERVICE_DISABLED, domain googleapis.com, metadata `service` and `consumer`
 *   (googleapis `google/api/error_reason.proto`; the message and the other metadata keys as Google sends them,
 *   e.g. google-gemini/gemini-cli#1343), and CreateFunction/UpdateFunction refuse the same way when an API the
 *   function needs (Cloud Build, Artifact Registry, Cloud Run; Eventarc for an event trigger) is off. Service Usage's
 *   `BatchGetServices` (`GET /v1/{parent=*\/*}/services:batchGet`, at most 30 `names`; googleapis
 *   `google/api/serviceusage/v1/serviceusage.proto`) reports each service ENABLED or DISABLED.
 * - The project's IAM policy (`state.projectPolicy`), read with Resource Manager v3 `projects.getIamPolicy`, and
 *   what the caller may do on a service account (`state.actAsDenied`), read with IAM's
 *   `serviceAccounts.testIamPermissions` (both google.iam.v1 messages, checked against the functions client's protos).
 * - Cloud Storage's JSON API for buckets (https://cloud.google.com/storage/docs/json_api/v1/buckets: insert, get,
 *   list, delete, getIamPolicy, setIamPolicy; objects list and delete), checked as its discovery document
 *   (`storage/v1/rest`) defines them: `project` required on insert and list, the Bucket resource's fields only,
 *   bucket naming rules, 409 for a name taken and for deleting a bucket that holds objects ("The bucket you tried to
 *   delete is not empty."), 412 for a policy written with a stale etag. `state.objects` seeds objects.
 * - Firestore (the stores): the admin API's databases (`FirestoreAdmin` of @google-cloud/firestore@8's
 *   `build/protos/admin_v1.json`: GetDatabase, CreateDatabase whose operation is done at once, GetField, UpdateField of
 *   a field's TTL policy) and the documents API's
 *   ListDocuments (its `/v1/{parent=projects/*\/databases/*\/documents}/{collection_id}` binding) and Commit of
 *   deletes (`v1.json`), over `state.firestore` (databases by name, document names by collection). The project's IAM
 *   policy is written with Resource Manager v3 `projects.setIamPolicy` (etag checked, conditions kept: version 3).
 * - IAM's service accounts (`google.iam.admin.v1.IAM`: CreateServiceAccount, GetServiceAccount, ListServiceAccounts,
 *   DeleteServiceAccount; googleapis `google/iam/admin/v1/iam.proto`, which no pinned client package ships: its
 *   messages are written out below, field for field): the account id 6-30 characters of `[a-z]([-a-z0-9]*[a-z0-9])`,
 *   409 ALREADY_EXISTS for an id taken, 404 for an account that is not there, pages of at most 100 (20 by default).
 *   `state.serviceAccounts` holds them by email. A function may run as, and a policy name as a member, only an
 *   account of the project that exists (or a Google-managed one: the compute account, the service agents), as
 *   Google refuses the others. What the caller may do on the project (`state.projectDenied`: permissions it lacks) is
 *   read with Resource Manager v3 `projects.testIamPermissions`.
 * - A function created by someone else while a deploy runs (`state.createRaces`): CreateFunction answers 409
 *   ALREADY_EXISTS (`request`), or accepts and its long-running operation ends with code 6 ALREADY_EXISTS
 *   (`operation`), as google-github-actions/deploy-cloud-functions#351 and #338 show it ("function ... already
 *   exists"); either way the function exists afterwards.
 */
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import protobuf from 'protobufjs'
import { OAuth2Client } from 'google-auth-library'
import type { GoogleConnection } from 'serverless-polycloud/providers/google/api'
import { startStandIn, type RecordedRequest, type Reply, type StandIn } from './stand-in.ts'

type Json = Record<string, unknown>

const load = createRequire(import.meta.url)

function root(pkg: string): protobuf.Root {
  return protobuf.Root.fromJSON(load(`${pkg}/build/protos/protos.json`) as protobuf.INamespace)
}

interface Rule {
  readonly name: string
  readonly verb: string
  readonly regex: RegExp
  readonly vars: readonly string[]
  readonly body: string
  readonly request: protobuf.Type
}

/** `/v2/{parent=projects/*\/locations/*}/functions` -> a regex with one group per variable. */
function compile(template: string): { regex: RegExp; vars: string[] } {
  const vars: string[] = []
  const pattern = template.replace(/\{([^}=]+)(?:=([^}]*))?\}|([^{]+)/g, (_all, name: string | undefined, sub: string | undefined, literal: string | undefined) => {
    if (literal !== undefined) return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    vars.push(name as string)
    const inner = (sub ?? '*')
      .split('/')
      .map((segment) => (segment === '**' ? '.+' : segment === '*' ? '[^/:]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')
    return `(${inner})`
  })
  return { regex: new RegExp(`^${pattern}$`), vars }
}

function rulesOf(rootNs: protobuf.Root, service: string): Rule[] {
  const rules: Rule[] = []
  for (const method of Object.values(rootNs.lookupService(service).methods)) {
    const options = (method.options ?? {}) as Record<string, string>
    const verb = ['get', 'post', 'put', 'patch', 'delete'].find((candidate) => options[`(google.api.http).${candidate}`] !== undefined)
    if (verb === undefined) continue
    method.resolve()
    rules.push(rule(`${service.slice(service.lastIndexOf('.') + 1)}.${method.name}`, verb, options[`(google.api.http).${verb}`] as string, options['(google.api.http).body'] ?? '', method.resolvedRequestType as protobuf.Type))
  }
  return rules
}

function rule(name: string, verb: string, template: string, body: string, request: protobuf.Type): Rule {
  const { regex, vars } = compile(template)
  return { name, verb: verb.toUpperCase(), regex, vars, body, request }
}

const WELL_KNOWN_STRINGS = new Set(['google.protobuf.Duration', 'google.protobuf.Timestamp', 'google.protobuf.FieldMask'])
const FREE_FORM = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue', 'google.protobuf.Any'])

function behaviours(field: protobuf.Field): string[] {
  const value = (field.options ?? {})['(google.api.field_behavior)'] as string | string[] | undefined
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)

function fieldOf(type: protobuf.Type, key: string): protobuf.Field | undefined {
  return type.fields[key] ?? Object.values(type.fields).find((field) => snake(field.name) === key)
}

/** Checks a JSON value against a message type as Google's JSON parser does; pushes what it refuses. */
function check(type: protobuf.Type, value: unknown, where: string, errors: string[], required = true): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push(`Invalid value at '${where}' (type.googleapis.com/${type.fullName.slice(1)}), ${JSON.stringify(value)}`)
    return
  }
  for (const [key, item] of Object.entries(value)) {
    const field = fieldOf(type, key)
    if (field === undefined) {
      errors.push(`Invalid JSON payload received. Unknown name "${key}" at '${where}': Cannot find field.`)
      continue
    }
    field.resolve()
    const at = where === '' ? field.name : `${where}.${field.name}`
    if (field.map) {
      if (typeof item !== 'object' || item === null) errors.push(`Invalid value at '${at}': a map must be an object`)
      else for (const [name, entry] of Object.entries(item)) checkValue(field, entry, `${at}[${name}]`, errors)
    } else if (field.repeated) {
      if (!Array.isArray(item)) errors.push(`Invalid value at '${at}': a repeated field must be an array`)
      else item.forEach((entry, index) => checkValue(field, entry, `${at}[${index}]`, errors))
    } else checkValue(field, item, at, errors)
  }
  if (!required) return
  for (const field of Object.values(type.fields)) {
    if (!behaviours(field).includes('REQUIRED')) continue
    const present = (value as Json)[field.name] ?? (value as Json)[snake(field.name)]
    if (present === undefined || present === null || present === '') errors.push(`Field '${where === '' ? field.name : `${where}.${field.name}`}' is required.`)
  }
}

function checkValue(field: protobuf.Field, value: unknown, at: string, errors: string[]): void {
  const resolved = field.resolvedType
  if (resolved instanceof protobuf.Type) {
    const name = resolved.fullName.slice(1)
    if (WELL_KNOWN_STRINGS.has(name)) {
      if (typeof value !== 'string') errors.push(`Invalid value at '${at}' (type.googleapis.com/${name}), ${JSON.stringify(value)}`)
      else if (name === 'google.protobuf.Duration' && !/^-?\d+(\.\d{1,9})?s$/.test(value)) errors.push(`Invalid value at '${at}' (type.googleapis.com/${name}), Field '${at}', Illegal duration format`)
      return
    }
    if (FREE_FORM.has(name) || name === 'google.protobuf.Empty') return
    check(resolved, value, at, errors)
    return
  }
  if (resolved instanceof protobuf.Enum) {
    const ok = (typeof value === 'number' && Object.values(resolved.values).includes(value)) || (typeof value === 'string' && value in resolved.values)
    if (!ok) errors.push(`Invalid value at '${at}' (type.googleapis.com/${resolved.fullName.slice(1)}), ${JSON.stringify(value)}`)
    return
  }
  const type = field.type
  const valid =
    type === 'string' ? typeof value === 'string'
    : type === 'bool' ? typeof value === 'boolean'
    : type === 'bytes' ? typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)
    : ['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'].includes(type) ? (typeof value === 'string' && /^-?\d+$/.test(value)) || Number.isInteger(value)
    : ['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32'].includes(type) ? Number.isInteger(value)
    : ['double', 'float'].includes(type) ? typeof value === 'number'
    : true
  if (!valid) errors.push(`Invalid value at '${at}' (${type}), ${JSON.stringify(value)}`)
}

/** Sets `a.b.c` of an object. */
function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.')
  let current = target
  for (const key of keys.slice(0, -1)) current = (current[key] ??= {}) as Json
  current[keys[keys.length - 1] as string] = value
}

const camel = (name: string): string => name.replace(/_([a-z])/g, (_all, letter: string) => letter.toUpperCase())

/** Applies an update mask (`build_config.runtime,labels`) from `source` onto `target`. */
function applyMask(target: Json, source: Json, mask: string): void {
  for (const path of mask.split(',').filter(Boolean)) {
    const keys = path.split('.').map(camel)
    let from: unknown = source
    for (const key of keys) from = (from as Json | undefined)?.[key]
    let into = target
    for (const key of keys.slice(0, -1)) into = (into[key] ??= {}) as Json
    const last = keys[keys.length - 1] as string
    if (from === undefined) delete into[last]
    else into[last] = structuredClone(from)
  }
}

/**
 * The messages of `google/iam/admin/v1/iam.proto` the deploy sends (googleapis/googleapis), as protobufjs JSON:
 * ServiceAccount (name 1, project_id 2 output only, unique_id 4 output only, email 5 output only, display_name 6,
 * etag 7 bytes, description 8, oauth2_client_id 9 output only, disabled 11 output only), CreateServiceAccountRequest
 * (name 1 and account_id 2 required, service_account 3), ListServiceAccountsRequest (name 1 required, page_size 2,
 * page_token 3), Get and DeleteServiceAccountRequest (name 1 required).
 */
const IAM_ADMIN: protobuf.INamespace = {
  nested: {
    google: {
      nested: {
        iam: {
          nested: {
            admin: {
              nested: {
                v1: {
                  nested: {
                    ServiceAccount: {
                      fields: {
                        name: { type: 'string', id: 1 },
                        projectId: { type: 'string', id: 2, options: { '(google.api.field_behavior)': 'OUTPUT_ONLY' } },
                        uniqueId: { type: 'string', id: 4, options: { '(google.api.field_behavior)': 'OUTPUT_ONLY' } },
                        email: { type: 'string', id: 5, options: { '(google.api.field_behavior)': 'OUTPUT_ONLY' } },
                        displayName: { type: 'string', id: 6, options: { '(google.api.field_behavior)': 'OPTIONAL' } },
                        etag: { type: 'bytes', id: 7, options: { deprecated: true } },
                        description: { type: 'string', id: 8, options: { '(google.api.field_behavior)': 'OPTIONAL' } },
                        oauth2ClientId: { type: 'string', id: 9, options: { '(google.api.field_behavior)': 'OUTPUT_ONLY' } },
                        disabled: { type: 'bool', id: 11, options: { '(google.api.field_behavior)': 'OUTPUT_ONLY' } },
                      },
                    },
                    CreateServiceAccountRequest: {
                      fields: {
                        name: { type: 'string', id: 1, options: { '(google.api.field_behavior)': 'REQUIRED' } },
                        accountId: { type: 'string', id: 2, options: { '(google.api.field_behavior)': 'REQUIRED' } },
                        serviceAccount: { type: 'ServiceAccount', id: 3 },
                      },
                    },
                    ListServiceAccountsRequest: {
                      fields: {
                        name: { type: 'string', id: 1, options: { '(google.api.field_behavior)': 'REQUIRED' } },
                        pageSize: { type: 'int32', id: 2 },
                        pageToken: { type: 'string', id: 3 },
                      },
                    },
                    GetServiceAccountRequest: { fields: { name: { type: 'string', id: 1, options: { '(google.api.field_behavior)': 'REQUIRED' } } } },
                    DeleteServiceAccountRequest: { fields: { name: { type: 'string', id: 1, options: { '(google.api.field_behavior)': 'REQUIRED' } } } },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
}

/** A project's own service account (`x@<project>.iam.gserviceaccount.com`), which must exist to be used; Google-managed ones (the compute account, the `service-<number>@` service agents) are not checked. */
const PROJECT_ACCOUNT = /^(?!service-\d+@)[^@]+@(?!gcp-sa-)[^@]+\.iam\.gserviceaccount\.com$/

export interface GoogleStandInState {
  readonly functions: Map<string, Json>
  readonly topics: Map<string, Json>
  readonly subscriptions: Map<string, Json>
  readonly jobs: Map<string, Json>
  /** IAM policies by resource name (Cloud Run services, topics, subscriptions). */
  readonly policies: Map<string, { bindings: Array<{ role: string; members: string[] }>; etag: string }>
  /** Uploaded zips by upload id (undefined until the PUT). */
  readonly uploads: Map<string, Buffer | undefined>
  /** Cloud Storage buckets by name (as the JSON API answers them), with their objects' names. */
  readonly buckets: Map<string, Json>
  readonly objects: Map<string, Set<string>>
  /** Requests to the deployed functions' URLs. */
  readonly invocations: RecordedRequest[]
  /** The APIs enabled on the project (`pubsub.googleapis.com`, ...). */
  readonly services: Set<string>
  /** The project's IAM policy bindings. */
  readonly projectPolicy: Array<{ role: string; members: string[]; condition?: { title?: string; description?: string; expression?: string } }>
  /** Firestore: databases by name (`projects/<p>/databases/(default)`), document names by collection id. */
  readonly firestore: { readonly databases: Map<string, Json>; readonly documents: Map<string, string[]>; readonly fields: Map<string, Json> }
  /** Service accounts the caller may not act as (`iam.serviceAccounts.actAs`). */
  readonly actAsDenied: Set<string>
  /** The project's service accounts, by email (as ServiceAccount resources). */
  readonly serviceAccounts: Map<string, Json>
  /** Permissions the caller lacks on the project (`iam.serviceAccounts.actAs` there covers every account of it). */
  readonly projectDenied: Set<string>
  /** Account ids another deploy creates (with the same fields) just before this one: its create answers 409. */
  readonly accountRaces: Set<string>
  /**
   * IAM's eventual consistency: how many writes naming an account just created (a policy binding it, a function
   * running as it) are refused as if it did not exist, as Google answers for up to a minute; 0 by default.
   */
  propagationWrites: number
  /** Function ids another deploy creates while this one runs: refused at the request, or inside the operation. */
  readonly createRaces: Map<string, 'request' | 'operation'>
}

export interface GoogleStandIn {
  readonly standIn: StandIn
  readonly state: GoogleStandInState
  /** Requests refused for not matching the API definitions, with the reasons (a test expects none). */
  readonly refusals: Array<{ method: string; path: string; errors: string[] }>
  /** Makes the next request whose path matches answer this error instead (a Google error body). */
  failNext(pattern: RegExp, code: number, status: string, message: string): void
  connection(): GoogleConnection
  stop(): Promise<void>
}

export const STAND_IN_PROJECT_NUMBER = '123456789012'

/** The APIs a project has, with their titles (as the console and SERVICE_DISABLED messages name them). */
export const GOOGLE_APIS: Readonly<Record<string, string>> = {
  'cloudfunctions.googleapis.com': 'Cloud Functions API',
  'cloudbuild.googleapis.com': 'Cloud Build API',
  'artifactregistry.googleapis.com': 'Artifact Registry API',
  'run.googleapis.com': 'Cloud Run Admin API',
  'eventarc.googleapis.com': 'Eventarc API',
  'pubsub.googleapis.com': 'Cloud Pub/Sub API',
  'cloudscheduler.googleapis.com': 'Cloud Scheduler API',
  'storage.googleapis.com': 'Cloud Storage API',
  'cloudresourcemanager.googleapis.com': 'Cloud Resource Manager API',
  'serviceusage.googleapis.com': 'Service Usage API',
  'iam.googleapis.com': 'Identity and Access Management (IAM) API',
  'firestore.googleapis.com': 'Cloud Firestore API',
}

/** The Cloud Storage service agent and the default compute service account of the stand-in's project. */
export const STORAGE_AGENT = `service-${STAND_IN_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`
export const COMPUTE_ACCOUNT = `${STAND_IN_PROJECT_NUMBER}-compute@developer.gserviceaccount.com`

/** Which API serves a rule (`FunctionService.CreateFunction` -> cloudfunctions.googleapis.com). */
function apiOf(rule: string): string {
  const prefix = rule.slice(0, rule.indexOf('.'))
  return (
    {
      FunctionService: 'cloudfunctions.googleapis.com',
      Operations: 'cloudfunctions.googleapis.com',
      Publisher: 'pubsub.googleapis.com',
      Subscriber: 'pubsub.googleapis.com',
      PubSub: 'pubsub.googleapis.com',
      CloudScheduler: 'cloudscheduler.googleapis.com',
      Run: 'run.googleapis.com',
      ResourceManager: 'cloudresourcemanager.googleapis.com',
      IAM: 'iam.googleapis.com',
      FirestoreAdmin: 'firestore.googleapis.com',
      FirestoreOperations: 'firestore.googleapis.com',
      Firestore: 'firestore.googleapis.com',
    } as Record<string, string>
  )[prefix] as string
}

export async function startGoogleStandIn(): Promise<GoogleStandIn> {
  const functionsRoot = root('@google-cloud/functions')
  const pubsubRoot = root('@google-cloud/pubsub')
  const schedulerRoot = root('@google-cloud/scheduler')
  const iamType = (name: string) => functionsRoot.lookupType(`google.iam.v1.${name}`)
  const iamAdminRoot = protobuf.Root.fromJSON(IAM_ADMIN)
  const iamAdmin = (name: string) => iamAdminRoot.lookupType(`google.iam.admin.v1.${name}`)
  // The package exports no subpaths: its protos are read beside its entry point.
  const firestoreProtos = join(dirname(load.resolve('@google-cloud/firestore')), '..', 'protos')
  const firestoreAdmin = protobuf.Root.fromJSON(JSON.parse(readFileSync(join(firestoreProtos, 'admin_v1.json'), 'utf8')) as protobuf.INamespace)
  const firestoreData = protobuf.Root.fromJSON(JSON.parse(readFileSync(join(firestoreProtos, 'v1.json'), 'utf8')) as protobuf.INamespace)
  const rules: Rule[] = [
    // ListDocuments of a top-level collection: its additional binding (the primary one takes nested collections).
    rule('Firestore.ListDocuments', 'get', '/v1/{parent=projects/*/databases/*/documents}/{collection_id}', '', firestoreData.lookupType('google.firestore.v1.ListDocumentsRequest')),
    rule('Firestore.Commit', 'post', '/v1/{database=projects/*/databases/*}/documents:commit', '*', firestoreData.lookupType('google.firestore.v1.CommitRequest')),
    ...rulesOf(firestoreAdmin, 'google.firestore.admin.v1.FirestoreAdmin'),
    rule('FirestoreOperations.GetOperation', 'get', '/v1/{name=projects/*/databases/*/operations/*}', '', firestoreAdmin.lookupType('google.longrunning.GetOperationRequest')),
    rule('ResourceManager.SetIamPolicy', 'post', '/v3/{resource=projects/*}:setIamPolicy', '*', iamType('SetIamPolicyRequest')),
    ...rulesOf(functionsRoot, 'google.cloud.functions.v2.FunctionService'),
    // The functions client's own rule for its operations (it overrides google.longrunning's).
    rule('Operations.GetOperation', 'get', '/v2/{name=projects/*/locations/*/operations/*}', '', functionsRoot.lookupType('google.longrunning.GetOperationRequest')),
    ...rulesOf(pubsubRoot, 'google.pubsub.v1.Publisher'),
    ...rulesOf(pubsubRoot, 'google.pubsub.v1.Subscriber'),
    ...rulesOf(schedulerRoot, 'google.cloud.scheduler.v1.CloudScheduler'),
    // IAM of Cloud Run services (run.googleapis.com v2) and of Pub/Sub resources: google.iam.v1 messages.
    rule('Run.GetIamPolicy', 'get', '/v2/{resource=projects/*/locations/*/services/*}:getIamPolicy', '', iamType('GetIamPolicyRequest')),
    rule('Run.SetIamPolicy', 'post', '/v2/{resource=projects/*/locations/*/services/*}:setIamPolicy', '*', iamType('SetIamPolicyRequest')),
    rule('PubSub.GetIamPolicy', 'get', '/v1/{resource=projects/*/topics/*}:getIamPolicy', '', iamType('GetIamPolicyRequest')),
    rule('PubSub.SetIamPolicy', 'post', '/v1/{resource=projects/*/topics/*}:setIamPolicy', '*', iamType('SetIamPolicyRequest')),
    rule('PubSub.GetIamPolicy', 'get', '/v1/{resource=projects/*/subscriptions/*}:getIamPolicy', '', iamType('GetIamPolicyRequest')),
    rule('PubSub.SetIamPolicy', 'post', '/v1/{resource=projects/*/subscriptions/*}:setIamPolicy', '*', iamType('SetIamPolicyRequest')),
    // Resource Manager v3 projects.getIamPolicy and IAM v1 serviceAccounts.testIamPermissions: google.iam.v1 messages.
    rule('ResourceManager.GetIamPolicy', 'post', '/v3/{resource=projects/*}:getIamPolicy', '*', iamType('GetIamPolicyRequest')),
    rule('IAM.TestIamPermissions', 'post', '/v1/{resource=projects/*/serviceAccounts/*}:testIamPermissions', '*', iamType('TestIamPermissionsRequest')),
    rule('ResourceManager.TestIamPermissions', 'post', '/v3/{resource=projects/*}:testIamPermissions', '*', iamType('TestIamPermissionsRequest')),
    // IAM v1 service accounts: the HTTP rules of google.iam.admin.v1.IAM.
    rule('IAM.ListServiceAccounts', 'get', '/v1/{name=projects/*}/serviceAccounts', '', iamAdmin('ListServiceAccountsRequest')),
    rule('IAM.GetServiceAccount', 'get', '/v1/{name=projects/*/serviceAccounts/*}', '', iamAdmin('GetServiceAccountRequest')),
    rule('IAM.CreateServiceAccount', 'post', '/v1/{name=projects/*}/serviceAccounts', '*', iamAdmin('CreateServiceAccountRequest')),
    rule('IAM.DeleteServiceAccount', 'delete', '/v1/{name=projects/*/serviceAccounts/*}', '', iamAdmin('DeleteServiceAccountRequest')),
  ]
  const state: GoogleStandInState = {
    functions: new Map(),
    topics: new Map(),
    subscriptions: new Map(),
    jobs: new Map(),
    policies: new Map(),
    uploads: new Map(),
    buckets: new Map(),
    objects: new Map(),
    invocations: [],
    services: new Set(Object.keys(GOOGLE_APIS)),
    projectPolicy: [
      { role: 'roles/pubsub.publisher', members: [`serviceAccount:${STORAGE_AGENT}`] },
      { role: 'roles/eventarc.eventReceiver', members: [`serviceAccount:${COMPUTE_ACCOUNT}`] },
    ],
    actAsDenied: new Set(),
    serviceAccounts: new Map(),
    projectDenied: new Set(),
    accountRaces: new Set(),
    propagationWrites: 0,
    createRaces: new Map(),
    firestore: { databases: new Map(), documents: new Map(), fields: new Map() },
  }
  let projectEtag = 'BwYAAAAAAAA='
  const refusals: GoogleStandIn['refusals'] = []
  const failures: Array<{ pattern: RegExp; reply: Reply }> = []
  const operations = new Map<string, Json>()
  let base = ''
  let operationCount = 0

  const error = (code: number, status: string, message: string): Reply => ({ status: code, body: { error: { code, message, status } } })
  /** Google's answer to a call of an API the project has not enabled. */
  const disabled = (service: string): Reply => {
    const title = GOOGLE_APIS[service] ?? service
    const activationUrl = `https://console.developers.google.com/apis/api/${service}/overview?project=${STAND_IN_PROJECT_NUMBER}`
    return {
      status: 403,
      body: {
        error: {
          code: 403,
          message: `${title} has not been used in project ${STAND_IN_PROJECT_NUMBER} before or it is disabled. Enable it by visiting ${activationUrl} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.`,
          status: 'PERMISSION_DENIED',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'SERVICE_DISABLED',
              domain: 'googleapis.com',
              metadata: { service, consumer: `projects/${STAND_IN_PROJECT_NUMBER}`, containerInfo: STAND_IN_PROJECT_NUMBER, serviceTitle: title, activationUrl },
            },
            { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Google developers console API activation', url: activationUrl }] },
          ],
        },
      },
    }
  }
  /** The first API a function's create or update needs that is off. */
  const neededOff = (resource: Json): string | undefined =>
    ['cloudbuild.googleapis.com', 'artifactregistry.googleapis.com', 'run.googleapis.com', ...(resource.eventTrigger ? ['eventarc.googleapis.com'] : [])].find((service) => !state.services.has(service))
  const notFound = (what: string) => error(404, 'NOT_FOUND', `Resource '${what}' was not found`)
  const exists = (what: string) => error(409, 'ALREADY_EXISTS', `Resource '${what}' already exists`)
  const operation = (parent: string, response: Json, failure?: { code: number; message: string }): Reply => {
    const name = `${parent}/operations/operation-${++operationCount}`
    operations.set(name, failure ? { name, done: true, error: failure } : { name, done: true, response })
    return { status: 200, body: { name, done: false, metadata: { '@type': 'type.googleapis.com/google.cloud.functions.v2.OperationMetadata', createTime: new Date().toISOString() } } }
  }

  /** Output fields Google fills in on a deployed function. */
  const deployedFunction = (resource: Json, id: string, location: string): Json => {
    const serviceConfig = (resource.serviceConfig ?? {}) as Json
    const eventTrigger = resource.eventTrigger as Json | undefined
    return {
      ...resource,
      state: 1,
      updateTime: new Date().toISOString(),
      url: `https://${location}-demo.cloudfunctions.net/${id}`,
      serviceConfig: { ...serviceConfig, uri: `${base}/run/${id}`, service: `projects/${resource.name!.toString().split('/')[1]}/locations/${location}/services/${id}`, serviceAccountEmail: serviceConfig.serviceAccountEmail ?? COMPUTE_ACCOUNT },
      ...(eventTrigger ? { eventTrigger: { ...eventTrigger, trigger: `projects/p/locations/${location}/triggers/${id}-trigger`, serviceAccountEmail: eventTrigger.serviceAccountEmail ?? COMPUTE_ACCOUNT } } : {}),
    }
  }

  /** Checks the function's source: an upload that was PUT and not consumed yet. */
  const takeUpload = (resource: Json): Reply | undefined => {
    const object = ((((resource.buildConfig as Json | undefined)?.source as Json | undefined)?.storageSource as Json | undefined)?.object ?? '') as string
    const id = object.replace(/\.zip$/, '')
    const zip = state.uploads.get(id)
    if (zip === undefined) return error(400, 'FAILED_PRECONDITION', `Could not find the uploaded source ${object}: generate an upload URL and upload the zip first`)
    if (zip.subarray(0, 2).toString() !== 'PK') return error(400, 'INVALID_ARGUMENT', `The uploaded source ${object} is not a zip file`)
    state.uploads.delete(id)
    return undefined
  }

  const policyOf = (resource: string) => state.policies.get(resource) ?? { bindings: [], etag: 'BwYAAAAAAAA=' }
  /** Accounts just created, with how many more policy writes may not name them yet. */
  const propagating = new Map<string, number>()

  /** A service account by `projects/{p|-}/serviceAccounts/{email|unique id}`. */
  const accountOf = (name: string): Json | undefined => {
    const key = name.split('/serviceAccounts/')[1] ?? ''
    return state.serviceAccounts.get(key) ?? [...state.serviceAccounts.values()].find((account) => account.uniqueId === key)
  }
  /** Google's refusal of a policy naming a project service account that does not exist. */
  const unknownMember = (bindings: ReadonlyArray<{ members: readonly string[] }>): Reply | undefined => {
    const members = bindings.flatMap((binding) => binding.members).filter((candidate) => candidate.startsWith('serviceAccount:') && PROJECT_ACCOUNT.test(candidate.slice(15)))
    const member = members.find((candidate) => !state.serviceAccounts.has(candidate.slice(15))) ?? members.find((candidate) => (propagating.get(candidate.slice(15)) ?? 0) > 0)
    if (member === undefined) return undefined
    const lag = propagating.get(member.slice(15))
    if (lag !== undefined) propagating.set(member.slice(15), lag - 1)
    return error(400, 'INVALID_ARGUMENT', `Service account ${member.slice(15)} does not exist.`)
  }
  /** Google's refusal of a function that runs as (or is triggered as) a project service account that does not exist. */
  const unknownRunner = (resource: Json): Reply | undefined => {
    const emails = [((resource.serviceConfig ?? {}) as Json).serviceAccountEmail, ((resource.eventTrigger ?? {}) as Json).serviceAccountEmail].filter((email): email is string => typeof email === 'string' && PROJECT_ACCOUNT.test(email))
    const missing = emails.find((email) => !state.serviceAccounts.has(email)) ?? emails.find((email) => (propagating.get(email) ?? 0) > 0)
    if (missing === undefined) return undefined
    const lag = propagating.get(missing)
    if (lag !== undefined) propagating.set(missing, lag - 1)
    return error(400, 'INVALID_ARGUMENT', `Service account projects/-/serviceAccounts/${missing} was not found.`)
  }

  const behave = (name: string, params: Json, body: Json, query: URLSearchParams): Reply => {
    switch (name) {
      case 'FunctionService.GenerateUploadUrl': {
        const id = randomBytes(8).toString('hex')
        state.uploads.set(id, undefined)
        const location = (params.parent as string).split('/')[3]
        return { status: 200, body: { uploadUrl: `${base}/upload/${id}`, storageSource: { bucket: `gcf-v2-uploads-${STAND_IN_PROJECT_NUMBER}.${location}.cloudfunctions.appspot.com`, object: `${id}.zip` } } }
      }
      case 'FunctionService.CreateFunction': {
        const id = query.get('functionId') ?? ''
        if (!/^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(id)) return error(400, 'INVALID_ARGUMENT', `Invalid function id '${id}'`)
        const fullName = `${params.parent as string}/functions/${id}`
        const race = state.createRaces.get(id)
        if (race !== undefined) {
          // Another deploy of the service creates the function first.
          state.createRaces.delete(id)
          const location = (params.parent as string).split('/')[3] as string
          state.functions.set(fullName, deployedFunction({ ...body, name: fullName }, id, location))
          if (race === 'operation') return operation(params.parent as string, {}, { code: 6, message: `Function ${id} in region ${location} in project ${String(params.parent).split('/')[1]} already exists` })
        }
        if (state.functions.has(fullName)) return exists(fullName)
        const resource = body
        const off = neededOff(resource)
        if (off !== undefined) return disabled(off)
        if (resource.name !== undefined && resource.name !== fullName) return error(400, 'INVALID_ARGUMENT', `function.name ${String(resource.name)} does not match ${fullName}`)
        const topic = (resource.eventTrigger as Json | undefined)?.pubsubTopic as string | undefined
        if (topic && !state.topics.has(topic)) return error(400, 'INVALID_ARGUMENT', `Pub/Sub topic ${topic} does not exist`)
        const runner = unknownRunner(resource)
        if (runner) return runner
        const refused = takeUpload(resource)
        if (refused) return refused
        const deployed = deployedFunction({ ...resource, name: fullName }, id, (params.parent as string).split('/')[3] as string)
        state.functions.set(fullName, deployed)
        return operation(params.parent as string, { '@type': 'type.googleapis.com/google.cloud.functions.v2.Function', ...deployed })
      }
      case 'FunctionService.UpdateFunction': {
        const fullName = params['function.name'] as string
        const existing = state.functions.get(fullName)
        if (!existing) return notFound(fullName)
        const mask = query.get('updateMask') ?? ''
        const off = neededOff(body)
        if (off !== undefined) return disabled(off)
        if (mask.includes('build_config.source')) {
          const refused = takeUpload(body)
          if (refused) return refused
        }
        const updated = structuredClone(existing)
        applyMask(updated, body, mask)
        const runner = unknownRunner(updated)
        if (runner) return runner
        const id = fullName.slice(fullName.lastIndexOf('/') + 1)
        const deployed = deployedFunction(updated, id, fullName.split('/')[3] as string)
        state.functions.set(fullName, deployed)
        return operation(fullName.split('/functions/')[0] as string, { '@type': 'type.googleapis.com/google.cloud.functions.v2.Function', ...deployed })
      }
      case 'FunctionService.GetFunction':
        return state.functions.has(params.name as string) ? { status: 200, body: state.functions.get(params.name as string) } : notFound(params.name as string)
      case 'FunctionService.ListFunctions': {
        const filters = [...(query.get('filter') ?? '').matchAll(/labels\.([\w-]+)=([\w-]+)/g)].map((match) => [match[1] as string, match[2] as string])
        const functions = [...state.functions.entries()]
          .filter(([fullName]) => fullName.startsWith(`${params.parent as string}/`))
          .map(([, fn]) => fn)
          .filter((fn) => filters.every(([key, value]) => ((fn.labels ?? {}) as Json)[key as string] === value))
        return { status: 200, body: { functions } }
      }
      case 'FunctionService.DeleteFunction': {
        if (!state.functions.delete(params.name as string)) return notFound(params.name as string)
        return operation((params.name as string).split('/functions/')[0] as string, { '@type': 'type.googleapis.com/google.protobuf.Empty' })
      }
      case 'Operations.GetOperation':
        return operations.has(params.name as string) ? { status: 200, body: operations.get(params.name as string) } : notFound(params.name as string)
      case 'Publisher.CreateTopic':
        if (state.topics.has(params.name as string)) return exists(params.name as string)
        state.topics.set(params.name as string, { ...body, name: params.name })
        return { status: 200, body: state.topics.get(params.name as string) }
      case 'Publisher.GetTopic':
        return state.topics.has(params.topic as string) ? { status: 200, body: state.topics.get(params.topic as string) } : notFound(params.topic as string)
      case 'Publisher.ListTopics':
        return { status: 200, body: { topics: [...state.topics.values()].filter((topic) => String(topic.name).startsWith(`${params.project as string}/`)) } }
      case 'Publisher.DeleteTopic':
        return state.topics.delete(params.topic as string) ? { status: 200, body: {} } : notFound(params.topic as string)
      case 'Subscriber.CreateSubscription': {
        if (state.subscriptions.has(params.name as string)) return exists(params.name as string)
        if (!state.topics.has(body.topic as string)) return error(404, 'NOT_FOUND', `Resource not found (resource=${String(body.topic)}).`)
        const refused = checkSubscription(body)
        if (refused) return refused
        state.subscriptions.set(params.name as string, { ackDeadlineSeconds: 10, ...body, name: params.name })
        return { status: 200, body: state.subscriptions.get(params.name as string) }
      }
      case 'Subscriber.GetSubscription':
        return state.subscriptions.has(params.subscription as string) ? { status: 200, body: state.subscriptions.get(params.subscription as string) } : notFound(params.subscription as string)
      case 'Subscriber.UpdateSubscription': {
        const fullName = params['subscription.name'] as string
        const existing = state.subscriptions.get(fullName)
        if (!existing) return notFound(fullName)
        const subscription = body.subscription as Json
        const refused = checkSubscription(subscription)
        if (refused) return refused
        if (typeof body.updateMask !== 'string' || body.updateMask === '') return error(400, 'INVALID_ARGUMENT', 'The update_mask in the UpdateSubscriptionRequest must be set.')
        applyMask(existing, subscription, body.updateMask)
        return { status: 200, body: existing }
      }
      case 'Subscriber.ListSubscriptions':
        return { status: 200, body: { subscriptions: [...state.subscriptions.values()].filter((s) => String(s.name).startsWith(`${params.project as string}/`)) } }
      case 'Subscriber.DeleteSubscription':
        return state.subscriptions.delete(params.subscription as string) ? { status: 200, body: {} } : notFound(params.subscription as string)
      case 'CloudScheduler.CreateJob': {
        const job = body
        const fullName = job.name as string
        if (!fullName.startsWith(`${params.parent as string}/jobs/`)) return error(400, 'INVALID_ARGUMENT', `Job name ${fullName} is not under ${String(params.parent)}`)
        if (state.jobs.has(fullName)) return exists(fullName)
        if (String(job.schedule ?? '').trim().split(/\s+/).length !== 5) return error(400, 'INVALID_ARGUMENT', `Schedule has an invalid format: ${String(job.schedule)}`)
        state.jobs.set(fullName, { ...job, state: 1, userUpdateTime: new Date().toISOString() })
        return { status: 200, body: state.jobs.get(fullName) }
      }
      case 'CloudScheduler.UpdateJob': {
        const fullName = params['job.name'] as string
        const existing = state.jobs.get(fullName)
        if (!existing) return notFound(fullName)
        applyMask(existing, body, query.get('updateMask') ?? '')
        return { status: 200, body: existing }
      }
      case 'CloudScheduler.GetJob':
        return state.jobs.has(params.name as string) ? { status: 200, body: state.jobs.get(params.name as string) } : notFound(params.name as string)
      case 'CloudScheduler.ListJobs':
        return { status: 200, body: { jobs: [...state.jobs.values()].filter((job) => String(job.name).startsWith(`${params.parent as string}/`)) } }
      case 'CloudScheduler.DeleteJob':
        return state.jobs.delete(params.name as string) ? { status: 200, body: {} } : notFound(params.name as string)
      case 'CloudScheduler.PauseJob':
      case 'CloudScheduler.ResumeJob': {
        const job = state.jobs.get(params.name as string)
        if (!job) return notFound(params.name as string)
        job.state = name.endsWith('PauseJob') ? 2 : 1
        return { status: 200, body: job }
      }
      case 'ResourceManager.GetIamPolicy':
        return { status: 200, body: { version: state.projectPolicy.some((binding) => binding.condition !== undefined) ? 3 : 1, etag: projectEtag, bindings: state.projectPolicy } }
      case 'ResourceManager.SetIamPolicy': {
        const policy = body.policy as { bindings?: GoogleStandInState['projectPolicy']; etag?: string; version?: number }
        if (policy.etag !== undefined && policy.etag !== projectEtag) return error(409, 'ABORTED', 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.')
        const bindings = policy.bindings ?? []
        const unknown = unknownMember(bindings)
        if (unknown) return unknown
        if (bindings.some((binding) => binding.condition !== undefined) && policy.version !== 3) return error(400, 'INVALID_ARGUMENT', 'Policy version 3 is required for a policy with conditional role bindings.')
        state.projectPolicy.splice(0, state.projectPolicy.length, ...bindings)
        projectEtag = Buffer.from(randomBytes(6)).toString('base64')
        return { status: 200, body: { version: policy.version ?? 1, etag: projectEtag, bindings } }
      }
      case 'FirestoreAdmin.GetDatabase': {
        const database = state.firestore.databases.get(params.name as string)
        return database === undefined ? notFound(params.name as string) : { status: 200, body: database }
      }
      case 'FirestoreAdmin.CreateDatabase': {
        const id = query.get('databaseId') ?? ''
        const name = `${params.parent as string}/databases/${id}`
        if (state.firestore.databases.has(name)) return exists(name)
        const database = { ...body, name, uid: randomBytes(8).toString('hex'), createTime: new Date().toISOString(), concurrencyMode: 'PESSIMISTIC' }
        state.firestore.databases.set(name, database)
        return { status: 200, body: { name: `${name}/operations/create-${++operationCount}`, done: true, response: { '@type': 'type.googleapis.com/google.firestore.admin.v1.Database', ...database } } }
      }
      case 'FirestoreAdmin.GetField': {
        const database = (params.name as string).split('/collectionGroups/')[0] as string
        if (!state.firestore.databases.has(database)) return notFound(database)
        return { status: 200, body: state.firestore.fields.get(params.name as string) ?? { name: params.name, indexConfig: { usesAncestorConfig: true, ancestorField: `${database}/collectionGroups/__default__/fields/*` } } }
      }
      case 'FirestoreAdmin.UpdateField': {
        const fieldName = String(params['field.name'] ?? body.name)
        const database = fieldName.split('/collectionGroups/')[0] as string
        if (!state.firestore.databases.has(database)) return notFound(database)
        if (query.get('updateMask') !== 'ttlConfig' || body.ttlConfig === undefined) return error(501, 'UNIMPLEMENTED', 'The stand-in updates ttlConfig only')
        const field = { name: fieldName, ttlConfig: { state: 'CREATING' } }
        state.firestore.fields.set(fieldName, field)
        return { status: 200, body: { name: `${database}/operations/ttl-${++operationCount}`, done: false, metadata: { '@type': 'type.googleapis.com/google.firestore.admin.v1.FieldOperationMetadata', field: fieldName } } }
      }
      case 'FirestoreOperations.GetOperation':
        return { status: 200, body: { name: params.name, done: true } }
      case 'Firestore.ListDocuments': {
        const database = (params.parent as string).replace(/\/documents$/, '')
        if (!state.firestore.databases.has(database)) return notFound(database)
        const names = state.firestore.documents.get(params.collection_id as string) ?? []
        const size = Number(query.get('pageSize') ?? 300)
        const now = new Date().toISOString()
        return { status: 200, body: names.length === 0 ? {} : { documents: names.slice(0, size).map((document) => ({ name: document, fields: {}, createTime: now, updateTime: now })) } }
      }
      case 'Firestore.Commit': {
        if (!state.firestore.databases.has(params.database as string)) return notFound(params.database as string)
        const writes = (body.writes ?? []) as Array<{ delete?: string }>
        if (writes.length > 500) return error(400, 'INVALID_ARGUMENT', 'maximum 500 writes allowed per request')
        for (const write of writes) {
          if (write.delete === undefined) return error(501, 'UNIMPLEMENTED', 'The stand-in commits deletes only')
          const collection = write.delete.split('/documents/')[1]?.split('/')[0] ?? ''
          state.firestore.documents.set(collection, (state.firestore.documents.get(collection) ?? []).filter((name) => name !== write.delete))
        }
        return { status: 200, body: { writeResults: writes.map(() => ({ updateTime: new Date().toISOString() })), commitTime: new Date().toISOString() } }
      }
      case 'ResourceManager.TestIamPermissions':
        return { status: 200, body: { permissions: ((body.permissions ?? []) as string[]).filter((permission) => !state.projectDenied.has(permission)) } }
      case 'IAM.CreateServiceAccount': {
        const id = String(body.accountId)
        if (!/^[a-z](?:[-a-z0-9]*[a-z0-9])$/.test(id) || id.length < 6 || id.length > 30) return error(400, 'INVALID_ARGUMENT', `Invalid account ID '${id}': it must be 6-30 characters, match [a-z]([-a-z0-9]*[a-z0-9])`)
        if (state.projectDenied.has('iam.serviceAccounts.create')) return error(403, 'PERMISSION_DENIED', `Permission 'iam.serviceAccounts.create' denied on resource (or it may not exist).`)
        const project = (params.name as string).split('/')[1] as string
        const email = `${id}@${project}.iam.gserviceaccount.com`
        if (state.serviceAccounts.has(email)) return error(409, 'ALREADY_EXISTS', `Service account ${id} already exists within project projects/${project}.`)
        const given = (body.serviceAccount ?? {}) as Json
        const raced = state.accountRaces.delete(id)
        const uniqueId = String(100000000000000000000n + BigInt(state.serviceAccounts.size + 1))
        const account = { name: `projects/${project}/serviceAccounts/${email}`, projectId: project, uniqueId, email, ...(given.displayName ? { displayName: given.displayName } : {}), ...(given.description ? { description: given.description } : {}), etag: 'MDEwMjE5MjA=', oauth2ClientId: uniqueId }
        state.serviceAccounts.set(email, account)
        if (state.propagationWrites > 0) propagating.set(email, state.propagationWrites)
        if (raced) return error(409, 'ALREADY_EXISTS', `Service account ${id} already exists within project projects/${project}.`)
        return { status: 200, body: account }
      }
      case 'IAM.GetServiceAccount': {
        const account = accountOf(params.name as string)
        return account === undefined ? notFound(params.name as string) : { status: 200, body: account }
      }
      case 'IAM.ListServiceAccounts': {
        const size = Number(query.get('pageSize') ?? 20)
        if (size > 100) return error(400, 'INVALID_ARGUMENT', 'page_size must be at most 100')
        const project = (params.name as string).split('/')[1] as string
        const all = [...state.serviceAccounts.values()].filter((account) => account.projectId === project)
        const from = Number(query.get('pageToken') ?? 0)
        const accounts = all.slice(from, from + (size || 20))
        const next = from + accounts.length < all.length ? String(from + accounts.length) : undefined
        return { status: 200, body: { ...(accounts.length > 0 ? { accounts } : {}), ...(next ? { nextPageToken: next } : {}) } }
      }
      case 'IAM.DeleteServiceAccount': {
        const account = accountOf(params.name as string)
        if (account === undefined) return notFound(params.name as string)
        state.serviceAccounts.delete(account.email as string)
        return { status: 200, body: {} }
      }
      case 'IAM.TestIamPermissions': {
        const account = (params.resource as string).split('/serviceAccounts/')[1] as string
        if (PROJECT_ACCOUNT.test(account) && accountOf(params.resource as string) === undefined) return notFound(params.resource as string)
        const asked = (body.permissions ?? []) as string[]
        return { status: 200, body: { permissions: asked.filter((permission) => !(permission === 'iam.serviceAccounts.actAs' && state.actAsDenied.has(account))) } }
      }
      case 'Run.GetIamPolicy':
      case 'PubSub.GetIamPolicy':
      case 'Run.SetIamPolicy':
      case 'PubSub.SetIamPolicy': {
        const resource = params.resource as string
        const known =
          name.startsWith('Run.') ? [...state.functions.values()].some((fn) => (fn.serviceConfig as Json).service === resource)
          : resource.includes('/topics/') ? state.topics.has(resource)
          : state.subscriptions.has(resource)
        if (!known) return notFound(resource)
        if (name.endsWith('GetIamPolicy')) return { status: 200, body: policyOf(resource) }
        const policy = body.policy as { bindings?: Array<{ role: string; members: string[] }>; etag?: string }
        if (policy.etag !== undefined && policy.etag !== policyOf(resource).etag) return error(409, 'ABORTED', 'There were concurrent policy changes.')
        const unknown = unknownMember(policy.bindings ?? [])
        if (unknown) return unknown
        const next = { bindings: policy.bindings ?? [], etag: Buffer.from(randomBytes(6)).toString('base64') }
        state.policies.set(resource, next)
        return { status: 200, body: next }
      }
      default:
        return error(501, 'UNIMPLEMENTED', `The stand-in does not implement ${name}`)
    }
  }

  const checkSubscription = (subscription: Json): Reply | undefined => {
    const ack = subscription.ackDeadlineSeconds as number | undefined
    if (ack !== undefined && (ack < 10 || ack > 600)) return error(400, 'INVALID_ARGUMENT', `The ack deadline must be between 10 and 600 seconds, got ${ack}.`)
    const policy = subscription.deadLetterPolicy as Json | undefined
    if (policy) {
      const attempts = policy.maxDeliveryAttempts as number
      if (attempts < 5 || attempts > 100) return error(400, 'INVALID_ARGUMENT', 'max_delivery_attempts must be between 5 and 100.')
      if (!state.topics.has(policy.deadLetterTopic as string)) return error(404, 'NOT_FOUND', `Dead letter topic ${String(policy.deadLetterTopic)} not found`)
    }
    return undefined
  }

  /** Service Usage BatchGetServices: the state of each named service of the project. */
  const batchGetServices = (parent: string, query: URLSearchParams): Reply => {
    if (!state.services.has('serviceusage.googleapis.com')) return disabled('serviceusage.googleapis.com')
    const names = query.getAll('names')
    const unknown = [...query.keys()].filter((key) => key !== 'names' && key !== '$alt')
    if (unknown.length > 0) return error(400, 'INVALID_ARGUMENT', `Invalid JSON payload received. Unknown name "${unknown[0]}": Cannot bind query parameter.`)
    if (names.length === 0 || names.length > 30) return error(400, 'INVALID_ARGUMENT', 'A single request can get between 1 and 30 services.')
    const services = []
    for (const name of names) {
      const match = /^(projects\/[^/]+)\/services\/([a-z0-9.-]+)$/.exec(name)
      if (!match || match[1] !== parent) return error(400, 'INVALID_ARGUMENT', `Service name ${name} is not a service of ${parent}`)
      const service = match[2] as string
      services.push({ name: `projects/${STAND_IN_PROJECT_NUMBER}/services/${service}`, parent: `projects/${STAND_IN_PROJECT_NUMBER}`, config: { name: service, title: GOOGLE_APIS[service] ?? service }, state: state.services.has(service) ? 'ENABLED' : 'DISABLED' })
    }
    return { status: 200, body: { services } }
  }

  /** The Bucket resource's fields (discovery document `storage/v1`, schema Bucket). */
  const BUCKET_FIELDS = new Set([
    'acl', 'autoclass', 'billing', 'cors', 'customPlacementConfig', 'defaultEventBasedHold', 'defaultObjectAcl', 'encryption', 'etag', 'generation',
    'hierarchicalNamespace', 'iamConfiguration', 'id', 'ipFilter', 'kind', 'labels', 'lifecycle', 'location', 'locationType', 'logging', 'metageneration',
    'name', 'objectRetention', 'owner', 'projectNumber', 'retentionPolicy', 'rpo', 'satisfiesPZI', 'satisfiesPZS', 'selfLink', 'softDeletePolicy',
    'storageClass', 'timeCreated', 'updated', 'versioning', 'website',
  ])
  const IAM_CONFIGURATION_FIELDS = new Set(['bucketPolicyOnly', 'uniformBucketLevelAccess', 'publicAccessPrevention'])
  /** Bucket names: 3-63 characters of lower-case letters, digits, `-`, `_` and `.`, a letter or digit first and last, not `goog...`. */
  const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/
  const storageError = (code: number, reason: string, message: string): Reply => ({ status: code, body: { error: { code, message, errors: [{ message, domain: 'global', reason }] } } })

  /** Cloud Storage's JSON API: buckets and their IAM policies, the objects' listing and deletion. */
  const cloudStorage = (request: RecordedRequest): Reply => {
    if (!state.services.has('storage.googleapis.com')) return disabled('storage.googleapis.com')
    const path = request.path.slice('/storage/v1'.length)
    const query = request.query
    const body = (): Json | undefined => {
      try {
        return JSON.parse(request.body.toString('utf8') || '{}') as Json
      } catch {
        return undefined
      }
    }
    let match: RegExpExecArray | null
    if (path === '/b') {
      const project = query.get('project')
      if (!project) return storageError(400, 'required', 'Required parameter: project')
      if (request.method === 'GET') {
        const max = Number(query.get('maxResults') ?? 1000)
        const names = [...state.buckets.keys()].sort()
        const from = query.get('pageToken') ? names.indexOf(query.get('pageToken') as string) : 0
        const items = names.slice(from, from + max).map((name) => state.buckets.get(name) as Json)
        const next = names[from + max]
        return { status: 200, body: { kind: 'storage#buckets', ...(items.length > 0 ? { items } : {}), ...(next ? { nextPageToken: next } : {}) } }
      }
      if (request.method !== 'POST') return storageError(405, 'methodNotAllowed', `${request.method} is not allowed on /b`)
      const bucket = body()
      if (bucket === undefined) return storageError(400, 'parseError', 'Parse Error')
      const unknown = Object.keys(bucket).filter((key) => !BUCKET_FIELDS.has(key))
      const unknownIam = Object.keys((bucket.iamConfiguration ?? {}) as Json).filter((key) => !IAM_CONFIGURATION_FIELDS.has(key))
      if (unknown.length > 0 || unknownIam.length > 0) return storageError(400, 'invalid', `Invalid JSON payload received. Unknown name "${[...unknown, ...unknownIam.map((key) => `iamConfiguration.${key}`)][0]}".`)
      const name = bucket.name
      if (typeof name !== 'string' || name === '') return storageError(400, 'required', 'Required')
      if (!BUCKET_NAME.test(name) || name.startsWith('goog')) return storageError(400, 'invalid', 'Invalid bucket name: \'' + name + '\'')
      const prevention = (bucket.iamConfiguration as { publicAccessPrevention?: unknown } | undefined)?.publicAccessPrevention
      if (prevention !== undefined && prevention !== 'inherited' && prevention !== 'enforced') return storageError(400, 'invalid', `Invalid argument: publicAccessPrevention '${String(prevention)}'`)
      if (state.buckets.has(name)) return storageError(409, 'conflict', 'Your previous request to create the named bucket succeeded and you already own it.')
      const now = new Date().toISOString()
      const created = { kind: 'storage#bucket', id: name, selfLink: `https://www.googleapis.com/storage/v1/b/${name}`, projectNumber: STAND_IN_PROJECT_NUMBER, metageneration: '1', storageClass: 'STANDARD', locationType: 'region', timeCreated: now, updated: now, etag: 'CAE=', ...bucket, location: String(bucket.location ?? 'US').toUpperCase() }
      state.buckets.set(name, created)
      return { status: 200, body: created }
    }
    if ((match = /^\/b\/([^/]+)(\/iam|\/o|\/o\/(.+))?$/.exec(path)) === null) return storageError(404, 'notFound', 'Not Found')
    const name = decodeURIComponent(match[1] as string)
    const bucket = state.buckets.get(name)
    if (bucket === undefined) return storageError(404, 'notFound', 'The specified bucket does not exist.')
    const objects = state.objects.get(name) ?? new Set<string>()
    const rest = match[2]
    if (rest === undefined) {
      if (request.method === 'GET') return { status: 200, body: bucket }
      if (request.method !== 'DELETE') return storageError(405, 'methodNotAllowed', `${request.method} is not allowed on a bucket here`)
      if (objects.size > 0) return storageError(409, 'conflict', 'The bucket you tried to delete is not empty.')
      state.buckets.delete(name)
      state.policies.delete(`b/${name}`)
      return { status: 204 }
    }
    if (rest === '/iam') {
      const current = state.policies.get(`b/${name}`) ?? { bindings: [], etag: 'CAE=' }
      if (request.method === 'GET') return { status: 200, body: { kind: 'storage#policy', resourceId: `projects/_/buckets/${name}`, version: 1, ...current } }
      if (request.method !== 'PUT') return storageError(405, 'methodNotAllowed', `${request.method} is not allowed on a bucket's policy`)
      const policy = body() as { bindings?: Array<{ role: string; members: string[] }>; etag?: string } | undefined
      if (policy === undefined || !Array.isArray(policy.bindings)) return storageError(400, 'invalid', 'Invalid policy: bindings')
      if (policy.etag !== undefined && policy.etag !== current.etag) return storageError(412, 'conditionNotMet', 'Precondition Failed')
      for (const binding of policy.bindings) {
        if (!/^roles\/storage\.[a-zA-Z]+$/.test(binding.role)) return storageError(400, 'invalid', `Role ${binding.role} is not supported for this resource.`)
        if (binding.members.some((member) => !/^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|projectOwner|projectEditor|projectViewer):.+)$/.test(member))) return storageError(400, 'invalid', 'Invalid argument: members')
      }
      const unknown = unknownMember(policy.bindings)
      if (unknown) return storageError(400, 'invalid', ((unknown.body as Json).error as Json).message as string)
      const next = { bindings: policy.bindings, etag: Buffer.from(randomBytes(6)).toString('base64') }
      state.policies.set(`b/${name}`, next)
      return { status: 200, body: { kind: 'storage#policy', resourceId: `projects/_/buckets/${name}`, version: 1, ...next } }
    }
    if (rest === '/o') {
      if (request.method !== 'GET') return storageError(405, 'methodNotAllowed', `${request.method} is not allowed on a bucket's objects here`)
      const max = Number(query.get('maxResults') ?? 1000)
      const items = [...objects].sort().slice(0, max).map((object) => ({ name: object, bucket: name, generation: '1' }))
      return { status: 200, body: { kind: 'storage#objects', ...(items.length > 0 ? { items } : {}), ...(objects.size > max ? { nextPageToken: items.at(-1)?.name } : {}) } }
    }
    const object = decodeURIComponent(match[3] as string)
    if (request.method !== 'DELETE') return storageError(405, 'methodNotAllowed', `${request.method} is not allowed on an object here`)
    if (!objects.delete(object)) return storageError(404, 'notFound', `No such object: ${name}/${object}`)
    return { status: 204 }
  }

  const route = (request: RecordedRequest): Reply => {
    const failure = failures.findIndex((candidate) => candidate.pattern.test(`${request.method} ${request.path}`))
    if (failure !== -1) return failures.splice(failure, 1)[0]!.reply
    if (request.path.startsWith('/run/')) {
      state.invocations.push(request)
      return { status: 200, body: { invoked: request.path, method: request.method, authorized: request.headers.authorization !== undefined } }
    }
    if (request.method === 'PUT' && request.path.startsWith('/upload/')) {
      const id = request.path.slice('/upload/'.length)
      if (!state.uploads.has(id)) return { status: 403, body: 'SignatureDoesNotMatch' }
      if (request.headers['content-type'] !== 'application/zip') return { status: 403, body: 'the signed URL requires content-type application/zip' }
      state.uploads.set(id, request.body)
      return { status: 200 }
    }
    if (request.headers.authorization !== 'Bearer stand-in-token') return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.')
    if (request.method === 'GET' && /^\/v3\/projects\/[^/:]+$/.test(request.path)) {
      if (!state.services.has('cloudresourcemanager.googleapis.com')) return disabled('cloudresourcemanager.googleapis.com')
      return { status: 200, body: { name: `projects/${STAND_IN_PROJECT_NUMBER}`, projectId: request.path.split('/')[3], state: 'ACTIVE' } }
    }
    if (request.path.startsWith('/storage/v1/')) return cloudStorage(request)
    const batchGet = /^\/v1\/(projects\/[^/]+)\/services:batchGet$/.exec(request.path)
    if (request.method === 'GET' && batchGet) return batchGetServices(batchGet[1] as string, request.query)
    const path = decodeURIComponent(request.path)
    const matched = rules.find((candidate) => candidate.verb === request.method && candidate.regex.test(path))
    if (!matched) return error(404, 'NOT_FOUND', `No API method for ${request.method} ${request.path}`)
    const api = apiOf(matched.name)
    if (!state.services.has(api)) return disabled(api)
    const params: Json = {}
    const match = matched.regex.exec(path) as RegExpExecArray
    matched.vars.forEach((name, index) => (params[name] = match[index + 1]))
    const errors: string[] = []
    let body: Json = {}
    if (matched.body !== '') {
      try {
        body = JSON.parse(request.body.toString('utf8') || '{}') as Json
      } catch {
        errors.push('Invalid JSON payload received.')
      }
    } else if (request.body.length > 0) errors.push('This method takes no request body.')
    // The whole request message: path variables, query parameters and the body where the rule puts it.
    const message: Json = {}
    for (const [name, value] of Object.entries(params)) setPath(message, name, value)
    for (const [key, value] of request.query) {
      if (key === '$alt') continue
      if (fieldOf(matched.request, key) === undefined) errors.push(`Invalid JSON payload received. Unknown name "${key}": Cannot bind query parameter.`)
      // A query parameter is text, read as its field's type (a number field takes digits).
      else message[key] = ['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'double', 'float'].includes(fieldOf(matched.request, key)?.type ?? '') && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value
    }
    if (matched.body === '*') Object.assign(message, body)
    else if (matched.body !== '') {
      const field = fieldOf(matched.request, matched.body) as protobuf.Field
      setPath(message, field.name, { ...((message[field.name] as Json | undefined) ?? {}), ...body })
    }
    check(matched.request, message, '', errors)
    if (errors.length > 0) {
      refusals.push({ method: request.method, path: request.path, errors })
      return { status: 400, body: { error: { code: 400, message: errors.join('\n'), status: 'INVALID_ARGUMENT' } } }
    }
    return behave(matched.name, params, matched.body === '*' || matched.body === '' ? body : (message[fieldOf(matched.request, matched.body)!.name] as Json), request.query)
  }

  const standIn = await startStandIn(route)
  base = standIn.url
  return {
    standIn,
    state,
    refusals,
    failNext(pattern, code, status, message) {
      failures.push({ pattern, reply: error(code, status, message) })
    },
    connection() {
      const authClient = new OAuth2Client()
      authClient.setCredentials({ access_token: 'stand-in-token', expiry_date: Date.now() + 3_600_000 })
      return {
        clientOptions: { fallback: true, apiEndpoint: '127.0.0.1', port: standIn.port, protocol: 'http', authClient } as unknown as GoogleConnection['clientOptions'],
        request: async (options) => authClient.request(options),
        endpoints: { run: standIn.url, pubsub: standIn.url, resourceManager: standIn.url, serviceUsage: standIn.url, iam: standIn.url, storage: standIn.url, firestore: standIn.url },
      }
    },
    stop: () => standIn.stop(),
  }
}
