/**
 * Routing by method and path template, for providers whose platform routes no paths per function: one Google Cloud
 * Functions function or one Workers script serves every `route` of a service. Templates are the neutral ones
 * (`/notes/{id}`, a greedy last `{path+}`); matching follows API Gateway: a literal segment beats a parameter, a
 * parameter beats a greedy one, a route of the request's method beats `ANY`. Path parameters are percent-decoded,
 * as API Gateway and Azure give them. `HEAD` is GET without a body (RFC 9110, 9.3.2): a HEAD request goes to the
 * path's HEAD route, else its GET route, else `ANY` (as on API Gateway and Azure, where the plugin declares a GET
 * route for HEAD too), and `Allow` lists HEAD wherever it lists GET.
 */
import { HttpError } from './errors.js'

export interface RouteTemplate {
  /** Upper-case method, or `ANY`. */
  readonly method: string
  /** `/notes/{id}`. */
  readonly path: string
}

export interface RouteMatch {
  /** The index of the matched route in the list given to {@link createRouter}. */
  readonly index: number
  readonly params: Readonly<Record<string, string>>
}

/** Matches a request's method and (percent-encoded) path; throws an HttpError 404, or 405 with `Allow`. */
export type Router = (method: string, path: string) => RouteMatch

interface Compiled {
  readonly index: number
  readonly method: string
  /** Literal segments as strings; parameters as `{ name }`, greedy as `{ name, greedy: true }`. */
  readonly segments: ReadonlyArray<string | { readonly name: string; readonly greedy: boolean }>
  /** Sort key: more specific first. */
  readonly rank: string
  /** The rank of the path alone: routes of one path are next to each other, in order, among those of one rank. */
  readonly pathRank: string
}

function compile(route: RouteTemplate, index: number): Compiled {
  const parts = route.path === '/' ? [] : route.path.replace(/^\//, '').split('/')
  const segments = parts.map((part) => {
    const param = /^\{([^{}+]+)(\+)?\}$/.exec(part)
    return param ? { name: param[1] as string, greedy: param[2] === '+' } : part
  })
  // Per segment: 0 literal, 1 parameter, 2 greedy; then ANY after a named method.
  const pathRank = segments.map((segment) => (typeof segment === 'string' ? '0' : segment.greedy ? '2' : '1')).join('')
  return { index, method: route.method.toUpperCase(), segments, pathRank, rank: pathRank + (route.method === 'ANY' ? '1' : '0') }
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The parameters of a route without any: one object, shared. */
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>)

function matchPath(route: Compiled, parts: readonly string[]): Readonly<Record<string, string>> | undefined {
  let params: Record<string, string> | undefined
  const { segments } = route
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Compiled['segments'][number]
    if (typeof segment === 'string') {
      if (parts[i] !== segment) return undefined
    } else if (segment.greedy) {
      if (i >= parts.length || parts.slice(i).join('/') === '') return undefined
      params ??= Object.create(null) as Record<string, string>
      params[segment.name] = decode(parts.slice(i).join('/'))
      return params
    } else {
      const part = parts[i]
      if (part === undefined || part === '') return undefined
      params ??= Object.create(null) as Record<string, string>
      params[segment.name] = decode(part)
    }
  }
  return parts.length === segments.length ? (params ?? NO_PARAMS) : undefined
}

/** Whether a match has no path parameters (a route without any). */
export function hasNoParams(params: Readonly<Record<string, string>>): boolean {
  return params === NO_PARAMS
}

/**
 * A HEAD request met the GET route `compiled[at]` first: a HEAD route of the same path, declared after it, still
 * takes it (routes of one specificity are in declaration order, named methods before ANY).
 */
function headRoute(compiled: readonly Compiled[], at: number, parts: readonly string[]): RouteMatch | undefined {
  const { pathRank } = compiled[at] as Compiled
  for (let i = at + 1; i < compiled.length; i++) {
    const route = compiled[i] as Compiled
    if (route.pathRank !== pathRank || route.method === 'ANY') return undefined
    if (route.method !== 'HEAD') continue
    const params = matchPath(route, parts)
    if (params !== undefined) return { index: route.index, params }
  }
  return undefined
}

/** A router over the routes, most specific first. */
export function createRouter(routes: readonly RouteTemplate[]): Router {
  const compiled = routes.map(compile).sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : a.index - b.index))
  return (method, path) => {
    const parts = path === '/' || path === '' ? [] : (path.startsWith('/') ? path.slice(1) : path).split('/')
    const upper = method.toUpperCase()
    let allowed: Set<string> | undefined
    for (let i = 0; i < compiled.length; i++) {
      const route = compiled[i] as Compiled
      const params = matchPath(route, parts)
      if (params === undefined) continue
      if (route.method === upper || route.method === 'ANY') return { index: route.index, params }
      if (upper === 'HEAD' && route.method === 'GET') return headRoute(compiled, i, parts) ?? { index: route.index, params }
      ;(allowed ??= new Set<string>()).add(route.method)
    }
    if (allowed === undefined) throw new HttpError(404, `No route for ${upper} ${path}`)
    if (allowed.has('GET')) allowed.add('HEAD')
    const allow = [...allowed].sort().join(', ')
    throw new HttpError(405, `Method ${upper} is not allowed on ${path}`, { headers: { allow } })
  }
}
