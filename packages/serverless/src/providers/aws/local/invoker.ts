/**
 * Invokes functions through a Lambda Invoke endpoint (`POST /2015-03-31/functions/<name>/invocations`), such as
 * serverless-offline's on its `lambdaPort`, with plain fetch. Synchronous invocations only
 * (`X-Amz-Invocation-Type: RequestResponse`): the delivery engine needs each result (partial batch responses,
 * retries of asynchronous events), and serverless-offline runs `Event` invocations without awaiting them, so a
 * failure would go unseen.
 *
 * serverless-offline 14.8 answers (its `src/lambda/routes/invocations`): the result as the 200 body (a string
 * result in quotes, not JSON-escaped; undefined as an empty body); a function that throws as 200 with
 * `X-Amz-Function-Error: Unhandled` and `{"errorMessage", "errorType", "trace"}`; an unknown function as 404 with
 * `x-amzn-ErrorType: ResourceNotFoundException` and `{"Message", "Type"}`. Lambda itself answers function errors
 * with 200 and `X-Amz-Function-Error` too.
 */
import type { Invoker } from './delivery.js'

/** An invocation that failed: the function's error (type and message), or the endpoint's. */
export class InvocationError extends Error {
  override readonly name = 'InvocationError'
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message)
  }
}

export interface LambdaInvokerOptions {
  /** The longest an invocation may take before it counts as failed (ms); 15 minutes, Lambda's maximum. */
  readonly timeoutMs?: number
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** An Invoker calling the Lambda Invoke API at `endpoint` (e.g. `http://127.0.0.1:3002`). */
export function lambdaInvoker(endpoint: string, options: LambdaInvokerOptions = {}): Invoker {
  const base = endpoint.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 15 * 60_000
  return async (functionName, event, signal) => {
    let response: Response
    try {
      response = await fetch(`${base}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
        body: JSON.stringify(event),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      })
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError'
      throw new InvocationError(timedOut ? 'Sandbox.Timedout' : 'ServiceUnavailable', timedOut ? `${functionName} did not answer in ${timeoutMs} ms` : `${base} could not be reached: ${(error as Error).message}`)
    }
    const text = await response.text()
    const body = parse(text) as Record<string, unknown> | undefined
    const endpointError = response.headers.get('x-amzn-errortype')
    if (endpointError !== null || response.status >= 300) {
      const message = typeof body?.Message === 'string' ? body.Message : typeof body?.message === 'string' ? body.message : text.slice(0, 500)
      throw new InvocationError(endpointError ?? `HTTP ${response.status}`, `invoking ${functionName}: ${message}`)
    }
    const functionError = response.headers.get('x-amz-function-error')
    if (functionError !== null) {
      const type = typeof body?.errorType === 'string' ? body.errorType : functionError
      throw new InvocationError(type, typeof body?.errorMessage === 'string' ? body.errorMessage : text.slice(0, 500))
    }
    if (text === '') return undefined
    if (body === undefined && text.trim() !== 'null') throw new InvocationError('Runtime.InvalidResponse', `${functionName} returned a response that is not JSON`)
    return body
  }
}
