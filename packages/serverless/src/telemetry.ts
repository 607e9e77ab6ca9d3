/**
 * `custom.polycloud.telemetry`: the OpenTelemetry opt-in. Read and checked here; when on, every function's
 * environment names the collector (OpenTelemetry's own variables: the traces endpoint, the export headers, the
 * service name) and every generated entry installs `@polycloud/telemetry` with the sampling ratio. When off (absent,
 * or `enabled: false`), nothing of it reaches a function: the entries and their bundles are what they were.
 *
 * ```yaml
 * custom:
 *   polycloud:
 *     telemetry:
 *       endpoint: https://otlp.example.com:4318     # the collector's OTLP/HTTP base URL (/v1/traces is added)
 *       headers: { x-api-key: ${env:OTLP_KEY} }      # sent with every export
 *       sampleRatio: 0.25                            # share of fresh traces recorded (default 1)
 *       serviceName: shop                            # service.name (default: the service)
 *       timeoutMs: 2000                              # an export's bound (default 2000)
 *       enabled: ${param:telemetry, true}            # per stage
 * ```
 */
import { ConfigError } from './errors.js'
import type { Json } from './provider.js'

/** The opt-in, read. */
export interface TelemetrySettings {
  /** The full OTLP/HTTP traces URL (`.../v1/traces`). */
  readonly endpoint: string
  readonly headers: Readonly<Record<string, string>>
  readonly sampleRatio: number
  readonly serviceName: string
  readonly timeoutMs: number
}

const AT = 'custom.polycloud.telemetry'
const KEYS = new Set(['endpoint', 'headers', 'sampleRatio', 'serviceName', 'timeoutMs', 'enabled'])
// An HTTP header name (RFC 9110 token).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** `true`, `false`, or the same as text (what `${param:...}` resolves to). */
function flag(value: unknown, at: string): boolean {
  if (value === true || value === 'true') return true
  if (value === false || value === 'false') return false
  throw new ConfigError(at, `must be true or false, got ${JSON.stringify(value)}`)
}

/** The traces URL of a collector's base URL: `/v1/traces` added unless the path ends with it already. */
export function tracesUrl(endpoint: unknown, at = `${AT}.endpoint`): string {
  if (typeof endpoint !== 'string' || endpoint.trim() === '') throw new ConfigError(at, 'must be the collector\'s OTLP/HTTP URL (https://collector.example.com:4318)')
  let url: URL
  try {
    url = new URL(endpoint.trim())
  } catch {
    throw new ConfigError(at, `${JSON.stringify(endpoint)} is not a URL (https://collector.example.com:4318)`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(at, `must be an http or https URL, got ${JSON.stringify(endpoint)}`)
  if (url.username !== '' || url.password !== '') throw new ConfigError(at, 'must not carry credentials: put them in headers')
  if (url.search !== '' || url.hash !== '') throw new ConfigError(at, 'must have no query or fragment')
  const path = url.pathname.replace(/\/+$/, '')
  return `${url.origin}${path.endsWith('/v1/traces') ? path : `${path}/v1/traces`}`
}

/** `custom.polycloud.telemetry` read; undefined when absent or `enabled: false`. Bad values: a ConfigError naming the key. */
export function readTelemetry(value: unknown, service: string): TelemetrySettings | undefined {
  if (value === undefined || value === null) return undefined
  if (!isObject(value)) throw new ConfigError(AT, `must be an object ({ endpoint, headers?, sampleRatio?, serviceName?, timeoutMs?, enabled? }), got ${JSON.stringify(value)}`)
  for (const key of Object.keys(value)) {
    if (!KEYS.has(key)) throw new ConfigError(`${AT}.${key}`, `is not a telemetry setting (${[...KEYS].join(', ')})`)
  }
  if (value.enabled !== undefined && !flag(value.enabled, `${AT}.enabled`)) return undefined
  const endpoint = tracesUrl(value.endpoint)
  const headers: Record<string, string> = {}
  if (value.headers !== undefined) {
    if (!isObject(value.headers)) throw new ConfigError(`${AT}.headers`, 'must be an object of header names and text values')
    for (const [name, text] of Object.entries(value.headers)) {
      if (!TOKEN.test(name)) throw new ConfigError(`${AT}.headers`, `${JSON.stringify(name)} is not an HTTP header name`)
      if (typeof text !== 'string' && typeof text !== 'number') throw new ConfigError(`${AT}.headers.${name}`, `must be text, got ${JSON.stringify(text)}`)
      headers[name.toLowerCase()] = String(text)
    }
  }
  const sampleRatio = value.sampleRatio === undefined ? 1 : Number(value.sampleRatio)
  if (typeof value.sampleRatio === 'boolean' || (typeof value.sampleRatio === 'string' && value.sampleRatio.trim() === '') || !(sampleRatio >= 0 && sampleRatio <= 1)) {
    throw new ConfigError(`${AT}.sampleRatio`, `must be a number from 0 to 1, got ${JSON.stringify(value.sampleRatio)}`)
  }
  const serviceName = value.serviceName === undefined ? service : value.serviceName
  if (typeof serviceName !== 'string' || serviceName === '') throw new ConfigError(`${AT}.serviceName`, `must be a non-empty text, got ${JSON.stringify(value.serviceName)}`)
  const timeoutMs = value.timeoutMs === undefined ? 2000 : value.timeoutMs
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    throw new ConfigError(`${AT}.timeoutMs`, `must be a whole number of milliseconds from 1 to 60000, got ${JSON.stringify(value.timeoutMs)}`)
  }
  return { endpoint, headers, sampleRatio, serviceName, timeoutMs }
}

/**
 * The variables the opt-in gives every function (OpenTelemetry's names, which `@polycloud/telemetry` reads): none
 * without it. Header values URL-encoded, as `OTEL_EXPORTER_OTLP_HEADERS` specifies.
 */
export function telemetryEnvironment(telemetry: TelemetrySettings | undefined): Record<string, string> {
  if (telemetry === undefined) return {}
  const environment: Record<string, string> = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: telemetry.endpoint, OTEL_SERVICE_NAME: telemetry.serviceName }
  const headers = Object.entries(telemetry.headers)
  if (headers.length > 0) environment.OTEL_EXPORTER_OTLP_HEADERS = headers.map(([name, text]) => `${name}=${encodeURIComponent(text)}`).join(',')
  return environment
}

/** The entry lines that install the opt-in: none without it (the bundle is what it was). */
export function telemetryLines(telemetry: TelemetrySettings | undefined): string[] {
  if (telemetry === undefined) return []
  return ["import { installTelemetry } from '@polycloud/telemetry'", `installTelemetry(${JSON.stringify({ sampleRatio: telemetry.sampleRatio, timeoutMs: telemetry.timeoutMs })})`]
}
