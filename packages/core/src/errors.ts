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
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/** The reason phrase of a common error status, or `HTTP <status>`. */
export function defaultReason(status: number): string {
  return REASONS[status] ?? `HTTP ${status}`
}
