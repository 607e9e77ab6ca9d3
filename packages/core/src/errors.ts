/**
 * An error that becomes an HTTP response with its status. Its message is sent to the client, so it must not hold
 * secrets; anything else a handler throws becomes a generic 500 whose details only reach the log.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  readonly status: number
  readonly headers: Readonly<Record<string, string>> | undefined
  /** JSON-serialisable details sent to the client beside the message. */
  readonly details: unknown

  constructor(
    status: number,
    message?: string,
    options: { headers?: Record<string, string>; details?: unknown; cause?: unknown } = {},
  ) {
    super(message ?? defaultReason(status), options.cause === undefined ? undefined : { cause: options.cause })
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError status must be an integer from 400 to 599, got ${String(status)}`)
    }
    this.status = status
    this.headers = options.headers
    this.details = options.details
  }
}

/**
 * A native event that Polycloud cannot translate: an unrecognised shape, or a recognised one with a field that no
 * real provider would send. The message names the provider, what was wrong and where.
 */
export class EventError extends Error {
  override readonly name = 'EventError'
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  207: 'Multi-Status',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** The standard reason phrase of a status, or its class's name (e.g. `Client Error` for an unlisted 4xx). */
export function defaultReason(status: number): string {
  return REASONS[status] ?? CLASSES[Math.floor(status / 100)] ?? 'Unknown'
}

const CLASSES: Record<number, string> = { 1: 'Informational', 2: 'Success', 3: 'Redirection', 4: 'Client Error', 5: 'Server Error' }
