import { STATUS_CODES, type ServerResponse } from 'node:http'
import { HttpError, errorResponse } from '@polycloud/core/adapter'

/**
 * What Polycloud changes in the Functions Framework's request handling, before any function runs. FF answers some
 * requests itself, with Express's HTML error page (a stack trace and file paths unless NODE_ENV is `production`):
 * a JSON body that is not valid JSON, or is a JSON scalar (`42`, `null`: body-parser's strict mode), an unsupported
 * charset, a body that fails to inflate, a URL whose path does not percent-decode. Polycloud users get what every
 * other provider gives instead:
 *
 * - `application/json` bodies are parsed leniently (scalars accepted), and a body that does not parse is left to
 *   the function: FF keeps its bytes in `rawBody`, so the handler reads it as sent and `request.json()` answers the
 *   400. Binary-mode CloudEvents (`ce-specversion`) and `application/cloudevents+json` keep FF's check: an event
 *   that does not parse is refused before the function.
 * - Every error FF or Express raises before the function becomes a JSON answer with the status and the reason
 *   phrase (`{"error":"Bad Request"}`), never a stack, whatever NODE_ENV is.
 *
 * The change is made once per process, on the body-parser and Express modules FF itself loads (resolved from FF's
 * own location), when the first function is registered: FF builds its server after loading the function's module.
 */

/** Node's require, as the parts of FF's module tree are loaded with. */
type Require = (id: string) => unknown

type Middleware = (req: ParsedRequest, res: ServerResponse, next: (error?: unknown) => void) => void
type ParserFactory = (options?: Record<string, unknown>) => Middleware

interface ParsedRequest {
  headers: Record<string, string | string[] | undefined>
  body?: unknown
}

interface ExpressApplication {
  handle(req: unknown, res: ServerResponse, callback?: (error?: unknown) => void): void
}

/** Marks the modules already changed: every bundle of a service carries its own copy of this code. */
const PATCHED = Symbol.for('polycloud.gcp.framework-errors')

type Marked = Record<PropertyKey, unknown>

/** body-parser's error for a body that is not JSON. */
function isParseFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: unknown }).type === 'entity.parse.failed'
}

/** The JSON parser FF asks for, lenient for plain JSON bodies and strict (as FF has it) for CloudEvents. */
function lenientJson(original: ParserFactory): ParserFactory {
  return (options = {}) => {
    const type = options.type
    if (type !== undefined && type !== 'application/json') return original(options)
    const parse = original({ ...options, strict: false })
    return (req, res, next) =>
      parse(req, res, (error) => {
        if (error === undefined || !isParseFailure(error) || req.headers['ce-specversion'] !== undefined) return next(error)
        // FF's `verify` already kept the bytes in req.rawBody: the function reads the body as sent.
        req.body = undefined
        next()
      })
  }
}

/** The status of an error Express or one of its middleware raised, or 500. */
function statusOf(error: unknown): number {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500
}

/**
 * Answers what reached the end of FF's middleware without a response: an error raised before the function (its
 * status, the reason phrase as the message) or a request no route took (404). JSON, no stack.
 */
export function finalAnswer(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const status = error === undefined ? 404 : statusOf(error)
  if (status >= 500) console.error('request failed before the function ran:', error)
  const response = errorResponse(new HttpError(status, STATUS_CODES[status] ?? 'Error'), '')
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  res.statusCode = status
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value)
  res.end(response.body as string)
}

/** Changes the body parsing and the final error answer of the FF whose modules `load` loads (see above). */
export function adjustFramework(load: Require): void {
  const bodyParser = load('body-parser') as Marked & { json: ParserFactory }
  if (bodyParser[PATCHED] !== true) {
    bodyParser.json = lenientJson(bodyParser.json)
    bodyParser[PATCHED] = true
  }
  const application = (load('express') as { application: ExpressApplication & Marked }).application
  if (application[PATCHED] !== true) {
    const handle = application.handle
    application.handle = function (this: unknown, req, res, callback) {
      handle.call(this, req, res, callback ?? ((error?: unknown) => finalAnswer(res, error)))
    }
    application[PATCHED] = true
  }
}
