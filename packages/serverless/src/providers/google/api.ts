/**
 * Google's clients as the deploy commands use them, created when a command runs (the plugin loads no SDK to
 * package or serve locally): Cloud Functions v2, Pub/Sub and Cloud Scheduler through their official clients over
 * REST, and the few calls those clients do not make (IAM policies of Cloud Run services and Pub/Sub resources, the
 * project number) through the same credentials. Credentials are Application Default Credentials unless a
 * connection is given (tests give one pointing at a stand-in on 127.0.0.1, with a fixed token).
 */
import { ProviderError } from '../../errors.js'

/** An authenticated HTTP request to a Google API (google-auth-library's `request`). */
export type ApiRequest = (options: { url: string; method: string; data?: unknown }) => Promise<{ data: unknown }>

/** The options Google's generated clients take (google-gax's ClientOptions). */
export type ClientOptions = NonNullable<ConstructorParameters<typeof import('@google-cloud/functions').v2.FunctionServiceClient>[0]>

export interface GoogleConnection {
  /** Options for every client: `{ fallback: true, auth | authClient, apiEndpoint?, port?, protocol? }`. */
  readonly clientOptions: ClientOptions
  readonly request: ApiRequest
  /** Base URLs of the APIs called without a client. */
  readonly endpoints: { readonly run: string; readonly pubsub: string; readonly resourceManager: string; readonly serviceUsage: string; readonly iam: string; readonly storage: string; readonly firestore: string }
}

/** What a missing client package is: the plugin does not depend on the cloud SDKs itself. */
async function load<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || (error as { code?: string }).code === 'MODULE_NOT_FOUND') {
      throw new ProviderError(
        `deploying to Google Cloud needs ${name}, which is not installed`,
        'npm install --save-dev @google-cloud/functions@4.2.2 @google-cloud/pubsub@5.3.1 @google-cloud/scheduler@5.4.0 google-auth-library@10.9.1',
      )
    }
    throw error
  }
}

/** The connection through Application Default Credentials (gcloud auth application-default login, a key, or the metadata server). */
export async function defaultConnection(): Promise<GoogleConnection> {
  const { GoogleAuth } = await load<typeof import('google-auth-library')>('google-auth-library')
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] })
  return {
    // The clients find the same credentials themselves (google-gax carries its own google-auth-library).
    clientOptions: { fallback: true },
    request: async (options) => auth.request(options),
    endpoints: {
      run: 'https://run.googleapis.com',
      pubsub: 'https://pubsub.googleapis.com',
      resourceManager: 'https://cloudresourcemanager.googleapis.com',
      serviceUsage: 'https://serviceusage.googleapis.com',
      iam: 'https://iam.googleapis.com',
      storage: 'https://storage.googleapis.com',
      firestore: 'https://firestore.googleapis.com',
    },
  }
}

/** The clients, created once per command. */
export interface GoogleClients {
  readonly functions: import('@google-cloud/functions').v2.FunctionServiceClient
  readonly publisher: import('@google-cloud/pubsub').v1.PublisherClient
  readonly subscriber: import('@google-cloud/pubsub').v1.SubscriberClient
  readonly scheduler: import('@google-cloud/scheduler').CloudSchedulerClient
  close(): Promise<void>
}

export async function createClients(connection: GoogleConnection): Promise<GoogleClients> {
  const [functions, pubsub, scheduler] = await Promise.all([
    load<typeof import('@google-cloud/functions')>('@google-cloud/functions'),
    load<typeof import('@google-cloud/pubsub')>('@google-cloud/pubsub'),
    load<typeof import('@google-cloud/scheduler')>('@google-cloud/scheduler'),
  ])
  const options = connection.clientOptions
  const clients = {
    functions: new functions.v2.FunctionServiceClient(options),
    publisher: new pubsub.v1.PublisherClient(options),
    subscriber: new pubsub.v1.SubscriberClient(options),
    scheduler: new scheduler.CloudSchedulerClient(options),
  }
  return {
    ...clients,
    async close() {
      await Promise.all(Object.values(clients).map((client) => client.close().catch(() => {})))
    },
  }
}

/** An API error as Google describes it: the canonical status (`ALREADY_EXISTS`) and the message. */
export interface ApiFailure {
  readonly status: string
  readonly message: string
}

const HTTP_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
}

const GRPC_STATUS = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
  'UNAUTHENTICATED',
]

function errorBody(value: unknown): { status?: unknown; message?: unknown; code?: unknown; details?: unknown } | undefined {
  let body = value
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body)
    } catch {
      return undefined
    }
  }
  const error = (body as { error?: unknown } | null)?.error
  return typeof error === 'object' && error !== null ? (error as { status?: unknown; message?: unknown; details?: unknown }) : undefined
}

/**
 * What went wrong in a call: the clients' errors (REST errors carry the HTTP status as `code` and the body as the
 * message; long-running operations the gRPC code), google-auth-library's (the body in `response.data`), or
 * a network error.
 */
export function apiFailure(error: unknown): ApiFailure {
  const raw = error as { code?: unknown; status?: unknown; message?: unknown; response?: { status?: number; data?: unknown } }
  const body = errorBody(raw.response?.data) ?? errorBody(raw.message)
  const code = typeof raw.code === 'number' ? raw.code : (raw.response?.status ?? (typeof body?.code === 'number' ? body.code : undefined))
  let status = typeof body?.status === 'string' ? body.status : undefined
  if (status === undefined && typeof code === 'number') status = code >= 100 ? HTTP_STATUS[code] : GRPC_STATUS[code]
  const message = typeof body?.message === 'string' ? body.message : typeof raw.message === 'string' ? raw.message : String(error)
  return { status: status ?? 'UNKNOWN', message }
}

export function isStatus(error: unknown, status: string): boolean {
  return apiFailure(error).status === status
}

interface ErrorDetail {
  '@type'?: string
  reason?: string
  metadata?: Record<string, string>
}

/**
 * The API a call found disabled, from the `google.rpc.ErrorInfo` of its error (reason SERVICE_DISABLED, domain
 * googleapis.com, `metadata.service`: googleapis `google/api/error_reason.proto`): google-gax puts it on the
 * error (`reason`, `errorInfoMetadata`), google-auth-library leaves it in the body's `error.details`.
 */
export function disabledService(error: unknown): string | undefined {
  const raw = error as { reason?: unknown; errorInfoMetadata?: Record<string, string>; statusDetails?: unknown; response?: { data?: unknown }; message?: unknown }
  if (raw?.reason === 'SERVICE_DISABLED' && typeof raw.errorInfoMetadata?.service === 'string') return raw.errorInfoMetadata.service
  const details: ErrorDetail[] = []
  if (Array.isArray(raw?.statusDetails)) details.push(...(raw.statusDetails as ErrorDetail[]))
  for (const source of [raw?.response?.data, raw?.message]) {
    const found = (errorBody(source) as { details?: unknown } | undefined)?.details
    if (Array.isArray(found)) details.push(...(found as ErrorDetail[]))
  }
  const info = details.find((detail) => detail?.reason === 'SERVICE_DISABLED' && typeof detail.metadata?.service === 'string')
  return info?.metadata?.service
}

/** What the user can do about an API refusal. */
function hint(status: string, project: string): string {
  switch (status) {
    case 'UNAUTHENTICATED':
      return 'sign in for Application Default Credentials: gcloud auth application-default login (or set GOOGLE_APPLICATION_CREDENTIALS to a key file)'
    case 'PERMISSION_DENIED':
      return `the deploying identity needs roles/cloudfunctions.developer, roles/run.admin, roles/pubsub.editor, roles/cloudscheduler.admin, roles/iam.serviceAccountAdmin (the functions' own service accounts) and roles/iam.serviceAccountUser on project ${project}, and the APIs enabled: gcloud services enable cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com eventarc.googleapis.com pubsub.googleapis.com cloudscheduler.googleapis.com artifactregistry.googleapis.com iam.googleapis.com --project ${project}`
    case 'NOT_FOUND':
      return `check that project ${project} exists and that the resource was deployed (serverless info)`
    case 'INVALID_ARGUMENT':
    case 'FAILED_PRECONDITION':
      return 'Google refused a setting of serverless.yml: fix the field the message names, then deploy again'
    case 'RESOURCE_EXHAUSTED':
      return 'a quota was reached: wait and deploy again, or ask for more quota in the console (IAM & Admin > Quotas)'
    case 'ALREADY_EXISTS':
      return 'a resource of that name exists and was not created by this service: remove it or rename the function'
    default:
      return 'deploy again; if it keeps failing, see the operation in the Google Cloud console (Cloud Functions > the function > Details)'
  }
}

/** Runs a call; an API error becomes a ProviderError naming what was done, Google's message and what to do. */
export async function call<T>(what: string, project: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof ProviderError) throw error
    const failure = apiFailure(error)
    const service = disabledService(error)
    if (service !== undefined) {
      throw new ProviderError(`${what} failed: ${service} is not enabled in project ${project}`, `enable it: gcloud services enable ${service} --project ${project}, wait a minute, then deploy again`)
    }
    throw new ProviderError(`${what} failed: ${failure.status}: ${failure.message}`, hint(failure.status, project))
  }
}

/** An IAM policy, as Google's IAM APIs read and write it. */
interface Policy {
  version?: number
  etag?: string
  bindings?: Array<{ role: string; members: string[] }>
}

/**
 * Grants `role` on a resource to `member` when it does not have it: read the policy, add the member, write it with
 * the etag read (a concurrent change fails the write instead of being lost). `base` is the API resource URL
 * (`https://run.googleapis.com/v2/projects/p/locations/l/services/s`); Cloud Run reads policies with GET, Pub/Sub
 * with GET too (`:getIamPolicy`).
 */
export async function grant(connection: GoogleConnection, base: string, role: string, member: string): Promise<boolean> {
  const { data } = await connection.request({ url: `${base}:getIamPolicy`, method: 'GET' })
  const policy = (data ?? {}) as Policy
  const bindings = policy.bindings ?? []
  const binding = bindings.find((candidate) => candidate.role === role)
  if (binding?.members.includes(member)) return false
  if (binding) binding.members.push(member)
  else bindings.push({ role, members: [member] })
  await connection.request({ url: `${base}:setIamPolicy`, method: 'POST', data: { policy: { ...policy, bindings } } })
  return true
}
