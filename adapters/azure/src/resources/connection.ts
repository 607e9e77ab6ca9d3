/**
 * An Azure connection as the Functions triggers read it (https://learn.microsoft.com/azure/azure-functions/functions-reference#connections):
 * the app setting `<connection>` holding a connection string, or identity-based settings `<connection>__serviceUri`,
 * `__blobServiceUri`, `__queueServiceUri`, `__tableServiceUri`, `__accountName`, `__fullyQualifiedNamespace`, `__clientId`.
 */
import { DriverError } from '@polycloud/resources/driver'

type Env = Readonly<Record<string, string | undefined>>

/** azurite's (and the Storage emulator's) well-known development account. */
export const DEV_ACCOUNT = 'devstoreaccount1'
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

/** How requests to a Storage service are authorised. */
export type StorageAuth =
  | { readonly type: 'sharedKey'; readonly account: string; readonly key: Buffer }
  | { readonly type: 'sas'; readonly token: string }
  | { readonly type: 'identity'; readonly clientId: string | undefined }

export interface StorageConnection {
  /** The service's base URL (`https://<account>.blob.core.windows.net`, or azurite's `http://127.0.0.1:10000/devstoreaccount1`). */
  readonly endpoint: string
  readonly auth: StorageAuth
}

/** `a=b;c=d` as a record (values may contain `=`). */
export function parseConnectionString(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of text.split(';')) {
    const at = part.indexOf('=')
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim()
  }
  return out
}

const DEV_PORTS = { blob: 10000, queue: 10001, table: 10002 }
const ENDPOINT_KEYS = { blob: 'BlobEndpoint', queue: 'QueueEndpoint', table: 'TableEndpoint' }

/** The Blob, Queue or Table service of a Storage connection. */
export function storageConnection(env: Env, connection: string, service: 'blob' | 'queue' | 'table'): StorageConnection {
  const text = env[connection]
  if (text !== undefined && text !== '') {
    const parts = parseConnectionString(text)
    const endpointKey = ENDPOINT_KEYS[service]
    if (parts.UseDevelopmentStorage === 'true') {
      const proxy = parts.DevelopmentStorageProxyUri ?? 'http://127.0.0.1'
      return { endpoint: `${proxy}:${DEV_PORTS[service]}/${DEV_ACCOUNT}`, auth: { type: 'sharedKey', account: DEV_ACCOUNT, key: Buffer.from(DEV_KEY, 'base64') } }
    }
    const account = parts.AccountName
    const endpoint = parts[endpointKey] ?? (account ? `${parts.DefaultEndpointsProtocol ?? 'https'}://${account}.${service}.${parts.EndpointSuffix ?? 'core.windows.net'}` : undefined)
    if (endpoint === undefined) throw new DriverError('Invalid', `app setting ${connection} is a connection string without AccountName or ${endpointKey}`)
    const base = endpoint.replace(/\/+$/, '')
    if (parts.SharedAccessSignature) return { endpoint: base, auth: { type: 'sas', token: parts.SharedAccessSignature.replace(/^\?/, '') } }
    if (!account || !parts.AccountKey) throw new DriverError('Invalid', `app setting ${connection} is a connection string without AccountName and AccountKey (or SharedAccessSignature)`)
    return { endpoint: base, auth: { type: 'sharedKey', account, key: Buffer.from(parts.AccountKey, 'base64') } }
  }
  const prefix = `${connection}__`
  const uri = env[`${prefix}${service}ServiceUri`] ?? (service === 'blob' ? env[`${prefix}serviceUri`] : undefined)
  const account = env[`${prefix}accountName`]
  const endpoint = uri ?? (account ? `https://${account}.${service}.core.windows.net` : undefined)
  if (endpoint === undefined) {
    throw new DriverError(
      'Invalid',
      `no ${service} connection: set the app setting ${connection} (a connection string) or ${prefix}${service}ServiceUri (identity-based)`,
    )
  }
  return { endpoint: endpoint.replace(/\/+$/, ''), auth: { type: 'identity', clientId: env[`${prefix}clientId`] || undefined } }
}

export type BusAuth =
  | { readonly type: 'sas'; readonly keyName: string; readonly key: string }
  | { readonly type: 'identity'; readonly clientId: string | undefined }

export interface BusConnection {
  /** `https://<namespace>.servicebus.windows.net`, or `http://127.0.0.1:<port>` for a local emulator. */
  readonly endpoint: string
  readonly auth: BusAuth
}

/**
 * A Service Bus connection: `Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=..;SharedAccessKey=..`
 * (`UseDevelopmentEmulator=true` for a local emulator, reached over plain HTTP), or `<connection>__fullyQualifiedNamespace`.
 */
export function busConnection(env: Env, connection: string): BusConnection {
  const text = env[connection]
  if (text !== undefined && text !== '') {
    const parts = parseConnectionString(text)
    const match = /^sb:\/\/([^/]+)\/?$/.exec(parts.Endpoint ?? '')
    if (!match) throw new DriverError('Invalid', `app setting ${connection} has no Endpoint=sb://<namespace>.servicebus.windows.net/`)
    if (!parts.SharedAccessKeyName || !parts.SharedAccessKey) throw new DriverError('Invalid', `app setting ${connection} has no SharedAccessKeyName and SharedAccessKey`)
    const scheme = parts.UseDevelopmentEmulator === 'true' ? 'http' : 'https'
    return { endpoint: `${scheme}://${match[1] as string}`, auth: { type: 'sas', keyName: parts.SharedAccessKeyName, key: parts.SharedAccessKey } }
  }
  const namespace = env[`${connection}__fullyQualifiedNamespace`]
  if (!namespace) throw new DriverError('Invalid', `no Service Bus connection: set the app setting ${connection} (a connection string) or ${connection}__fullyQualifiedNamespace (identity-based)`)
  return { endpoint: `https://${namespace.replace(/^sb:\/\//, '').replace(/\/+$/, '')}`, auth: { type: 'identity', clientId: env[`${connection}__clientId`] || undefined } }
}
