/** CORS: preflight answers and the headers every response of a route carries. */
import type { ResolvedCors } from './policy.js'

/** The origin a response may name: the request's when allowed (echoed), `*` for any origin without credentials. */
export function allowedOrigin(cors: ResolvedCors, origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined
  if (cors.origins === '*') return cors.credentials ? origin : '*'
  return cors.origins.includes(origin.toLowerCase()) ? origin : undefined
}

/** The CORS headers of an actual (not preflight) response, for a request from `origin`. */
export function responseHeaders(cors: ResolvedCors, origin: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  // A response that depends on the Origin header says so, so caches keep one copy per origin.
  if (cors.origins !== '*' || cors.credentials) headers.vary = 'Origin'
  const allowed = allowedOrigin(cors, origin)
  if (allowed === undefined) return headers
  headers['access-control-allow-origin'] = allowed
  if (cors.credentials) headers['access-control-allow-credentials'] = 'true'
  if (cors.exposeHeaders.length > 0) headers['access-control-expose-headers'] = cors.exposeHeaders.join(', ')
  return headers
}

/** Whether a request is a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(method: string, origin: string | undefined, requestMethod: string | undefined): boolean {
  return method === 'OPTIONS' && origin !== undefined && requestMethod !== undefined
}

/**
 * The answer to a preflight: 204 with the allowed methods and headers when the origin, method and headers are
 * allowed; 204 without `Access-Control-Allow-*` otherwise (the browser then refuses the real request).
 */
export function preflightHeaders(cors: ResolvedCors, origin: string, requestMethod: string, requestHeaders: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' }
  const allowed = allowedOrigin(cors, origin)
  if (allowed === undefined || !cors.methods.includes(requestMethod.toUpperCase())) return headers
  const asked = (requestHeaders ?? '').split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== '')
  if (asked.some((item) => !cors.headers.includes(item))) return headers
  headers['access-control-allow-origin'] = allowed
  headers['access-control-allow-methods'] = cors.methods.join(', ')
  if (cors.headers.length > 0) headers['access-control-allow-headers'] = cors.headers.join(', ')
  if (cors.credentials) headers['access-control-allow-credentials'] = 'true'
  if (cors.maxAge !== undefined) headers['access-control-max-age'] = String(cors.maxAge)
  return headers
}
