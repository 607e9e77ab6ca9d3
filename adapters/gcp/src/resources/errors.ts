/** Google API errors (`{ error: { code, message, status, errors: [{ reason }] } }`) as DriverErrors. */
import { CloudError, DriverError, statusCode, type ResourceErrorCode } from '@polycloud/resources/driver'
import type { HttpResponse } from '@polycloud/resources/node-http'

const REASONS: Readonly<Record<string, ResourceErrorCode>> = {
  rateLimitExceeded: 'Throttled',
  userRateLimitExceeded: 'Throttled',
  RESOURCE_EXHAUSTED: 'Throttled',
  backendError: 'Unavailable',
  UNAVAILABLE: 'Unavailable',
  PERMISSION_DENIED: 'Denied',
  UNAUTHENTICATED: 'Denied',
  NOT_FOUND: 'NotFound',
  DEADLINE_EXCEEDED: 'Timeout',
}

/** The error of a failed answer, read from its JSON body. */
export async function googleError(service: string, response: HttpResponse, text?: string): Promise<DriverError> {
  const body = text ?? (await response.text().catch(() => ''))
  let error: { code?: unknown; message?: unknown; status?: unknown; errors?: Array<{ reason?: unknown }> } = {}
  try {
    const parsed = JSON.parse(body) as { error?: typeof error }
    if (typeof parsed.error === 'object' && parsed.error !== null) error = parsed.error
  } catch {
    // Not Google's JSON error: the text is the message.
  }
  const reason = String(error.errors?.[0]?.reason ?? error.status ?? '')
  const message = typeof error.message === 'string' ? error.message : body.trim() || `HTTP ${response.status}`
  const code = REASONS[reason] ?? statusCode(response.status)
  return new DriverError(code, `${service} answered ${response.status}${reason === '' ? '' : ` ${reason}`}: ${message.split('\n')[0]}`, {
    status: response.status,
    cause: new CloudError(service, reason, message, response.status),
  })
}
