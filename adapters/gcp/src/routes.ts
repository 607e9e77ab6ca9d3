import {
  BaseRequest,
  createRouter,
  dispatch,
  httpFailure,
  normalizePath,
  type DispatchOptions,
  type HttpHandler,
  type HttpSource,
  type RouteMatch,
  type RouteTemplate,
  type Source,
} from '@polycloud/core/adapter'
import type { ServerResponse } from 'node:http'
import { httpContext, type FunctionOptions, type HttpFunction } from './functions-framework.js'
import { writeResponse, type FrameworkRequest } from './http.js'

/** One route of a routing function: its method and path template, the function it belongs to, its handler. */
export interface RouteBinding extends RouteTemplate {
  /** The function's name as its context reports it (`context.functionName`): the deployed function's. */
  readonly name: string
  readonly handler: HttpHandler
}

/** The path of a request target (`/notes/42?x=1` -> `/notes/42`), percent-encoded as sent. */
function pathOf(target: string): string {
  const start = /^https?:\/\//i.test(target) ? target.indexOf('/', target.indexOf('//') + 2) : 0
  if (start === -1) return '/'
  const end = target.search(/[?#]/)
  const path = end === -1 ? target.slice(start) : target.slice(start, end)
  return path === '' ? '/' : path
}

/**
 * One HTTP function serving many routes under one URL, for a platform that routes no paths per function (a Cloud
 * Run function has one URL for everything): the request's method and path pick the route (core's router: API
 * Gateway's precedence, percent-decoded parameters), its handler runs with the matched parameters as
 * `request.params` and a context named after the route's function. No match is a 404; a path served for other
 * methods a 405 with `Allow`; both as Polycloud's JSON errors.
 */
export function createRoutedHttpFunction(
  routes: readonly RouteBinding[],
  sources: readonly Source[],
  options: FunctionOptions = {},
): HttpFunction {
  for (const route of routes) {
    if (route.handler.kind !== 'http') {
      throw new TypeError(`gcp: route ${route.method} ${route.path} (${route.name}) has a ${String(route.handler.kind)} handler, not an HTTP one`)
    }
  }
  const router = createRouter(routes)
  const name = options.name
  const http = sources.filter((source) => source.kind === 'http') as HttpSource[]
  return async (req, res) => {
    let match: RouteMatch
    try {
      // The path by the one rule request.path follows on every provider (dot segments resolved).
      match = router(req.method, normalizePath(pathOf(req.originalUrl ?? req.url ?? '/')))
    } catch (refusal) {
      // 404, or 405 with Allow: answered like any HttpError.
      const context = httpContext(req, res, name)
      await writeResponse(res, httpFailure(refusal, context), context)
      return
    }
    const route = routes[match.index] as RouteBinding
    const context = httpContext(req, res, name, route.name)
    // The dispatcher every entry uses, with the route's handler and the parameters it matched.
    const options: DispatchOptions<[FrameworkRequest, ServerResponse]> = {
      provider: 'gcp',
      context: () => context,
      stream: true,
      respond: (response, _context, _req, out) => writeResponse(out, response, context),
      route: (request) => {
        if (request instanceof BaseRequest) request.setParams(match.params)
        return undefined
      },
    }
    await dispatch(route.handler, http, options, req, res)
  }
}
