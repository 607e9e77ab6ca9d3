/**
 * Google access tokens and the project, from the metadata server every Cloud Run function has
 * (https://cloud.google.com/compute/docs/access/authenticate-workloads#applications): `GET
 * http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token` with
 * `Metadata-Flavor: Google`, kept until a minute before it expires. `GCE_METADATA_HOST` (as google-auth-library
 * reads it) points elsewhere, for tests.
 */
import { DriverError } from '@polycloud/resources/driver'
import { request } from '@polycloud/resources/node-http'

type Env = Readonly<Record<string, string | undefined>>

export interface GoogleAuth {
  /** The `Authorization` header value, or undefined for an emulator (no credentials). */
  authorization(signal: AbortSignal | undefined): Promise<string | undefined>
  project(signal: AbortSignal | undefined): Promise<string>
}

/** The metadata server's host (`host[:port]`). */
export function metadataHost(env: Env): string {
  return env.GCE_METADATA_HOST || env.GCE_METADATA_IP || 'metadata.google.internal'
}

async function metadata(host: string, path: string, signal: AbortSignal | undefined): Promise<string> {
  const url = new URL(`http://${host}/computeMetadata/v1/${path}`)
  const response = await request({ method: 'GET', url, headers: { 'metadata-flavor': 'Google' }, signal })
  const text = await response.text()
  if (response.status !== 200) {
    throw new DriverError(response.status >= 500 ? 'Unavailable' : 'Denied', `the metadata server answered ${response.status} for ${path}: ${text.slice(0, 200)}`, { status: response.status })
  }
  return text
}

/** Tokens from the metadata server (one fetch at a time, shared by every resource of the process). */
export function metadataAuth(env: Env): GoogleAuth {
  const host = metadataHost(env)
  let token: Promise<{ value: string; expires: number }> | undefined
  let project: Promise<string> | undefined
  const fetchToken = async (signal: AbortSignal | undefined): Promise<{ value: string; expires: number }> => {
    const text = await metadata(host, 'instance/service-accounts/default/token', signal)
    let body: { access_token?: unknown; expires_in?: unknown }
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      throw new DriverError('Unavailable', 'the metadata server answered a token that is not JSON')
    }
    if (typeof body.access_token !== 'string') throw new DriverError('Unavailable', 'the metadata server answered no access_token')
    const seconds = Number(body.expires_in)
    return { value: body.access_token, expires: Date.now() + (Number.isFinite(seconds) ? seconds : 300) * 1000 }
  }
  return {
    async authorization(signal) {
      let current = token
      if (current !== undefined) {
        const value = await current.catch(() => undefined)
        if (value === undefined || value.expires - 60_000 < Date.now()) current = undefined
      }
      if (current === undefined) {
        const started = (current = fetchToken(signal))
        token = started
        started.catch(() => {
          if (token === started) token = undefined
        })
      }
      return `Bearer ${(await current).value}`
    },
    project(signal) {
      const given = env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || env.GCP_PROJECT
      if (given) return Promise.resolve(given)
      if (project === undefined) {
        const started = (project = metadata(host, 'project/project-id', signal).then((text) => text.trim()))
        started.catch(() => {
          if (project === started) project = undefined
        })
      }
      return project
    },
  }
}

/** An emulator's: no credentials; the project from the environment. */
export function emulatorAuth(env: Env): GoogleAuth {
  return {
    authorization: () => Promise.resolve(undefined),
    project: () => {
      const given = env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || env.GCP_PROJECT
      return given ? Promise.resolve(given) : Promise.reject(new DriverError('Invalid', 'no project: set GOOGLE_CLOUD_PROJECT (or the resource\'s project)'))
    },
  }
}

/** `host:port` or a URL as an origin (`STORAGE_EMULATOR_HOST=127.0.0.1:9023`, `http://127.0.0.1:9023`). */
export function emulatorOrigin(value: string): string {
  return (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`).replace(/\/+$/, '')
}
