/** Neutral HTTP routes: `GET /notes/{id}`, `ANY /files/{path+}`. */

export interface Route {
  /** Upper-case method, or `ANY`. */
  readonly method: string
  /** Starts with `/`; parameters as `{name}`, a greedy last one as `{name+}`. */
  readonly path: string
}

export class RouteError extends Error {
  override readonly name = 'RouteError'
}

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY'] as const

const SEGMENT = /^(?:[A-Za-z0-9._~!$&'()*+,;=:@%-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})$/

/** Parses `METHOD /path`, or checks a `{ method, path }` pair; throws a RouteError saying what is wrong. */
export function parseRoute(route: string | { readonly method: string; readonly path: string }): Route {
  let method: string
  let path: string
  if (typeof route === 'string') {
    const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(route)
    if (!match && route.trim().startsWith('/')) {
      throw new RouteError(
        `${JSON.stringify(route)} has no method: write the method before the path, e.g. "GET ${route.trim()}" (one of ${METHODS.join(', ')}; ANY for all)`,
      )
    }
    if (!match) {
      throw new RouteError(
        `${JSON.stringify(route)} is not "<METHOD> /path": write e.g. "GET /notes/{id}" (METHOD one of ${METHODS.join(', ')})`,
      )
    }
    method = match[1] as string
    path = match[2] as string
  } else {
    method = route.method
    path = route.path
  }
  const upper = method === '*' ? 'ANY' : method.toUpperCase()
  if (!(METHODS as readonly string[]).includes(upper)) {
    throw new RouteError(`method ${JSON.stringify(method)} is not one of ${METHODS.join(', ')}`)
  }
  if (!path.startsWith('/')) throw new RouteError(`path ${JSON.stringify(path)} must start with "/"`)
  const segments = path === '/' ? [] : path.slice(1).split('/')
  const names = new Set<string>()
  segments.forEach((segment, index) => {
    if (!SEGMENT.test(segment)) {
      throw new RouteError(`path ${JSON.stringify(path)}: segment ${JSON.stringify(segment)} is not a literal or a {parameter}`)
    }
    if (segment.startsWith('{')) {
      const name = segment.slice(1, segment.endsWith('+}') ? -2 : -1)
      if (names.has(name)) throw new RouteError(`path ${JSON.stringify(path)}: parameter {${name}} appears twice`)
      names.add(name)
      if (segment.endsWith('+}') && index !== segments.length - 1) {
        throw new RouteError(`path ${JSON.stringify(path)}: a greedy parameter {${name}+} must be the last segment`)
      }
    }
  })
  return { method: upper, path }
}

/** A path's shape: its parameters unnamed (`/notes/{id}` and `/notes/{noteId}` are one route to a platform). */
function shape(path: string): string {
  return path.replace(/\{[^{}+]+\}/g, '{}').replace(/\{[^{}]+\+\}/g, '{+}')
}

/** The path shapes a service declares `HEAD` routes on itself, among its events. */
export function declaredHeads(events: ReadonlyArray<{ readonly kind: string; readonly method?: string; readonly path?: string }>): ReadonlySet<string> {
  const heads = new Set<string>()
  for (const event of events) if (event.kind === 'route' && event.method === 'HEAD' && event.path !== undefined) heads.add(shape(event.path))
  return heads
}

/**
 * Whether a route also answers `HEAD` where the platform routes (API Gateway, Azure's HTTP triggers): HEAD is GET
 * without a body (RFC 9110, 9.3.2), so a `GET` route takes it unless the service routes HEAD on that path itself.
 * Where the entry routes (Google's routing function, the Worker), core's router does the same.
 */
export function takesHead(route: Route, heads: ReadonlySet<string>): boolean {
  return route.method === 'GET' && !heads.has(shape(route.path))
}
