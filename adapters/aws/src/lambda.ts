import {
  PortableContext,
  createDispatcher,
  createEventDispatcher,
  createHttpDispatcher,
  parseXRay,
  xrayTraceId,
  type DispatchOptions,
  type EventHandler,
  type EventSource,
  type HttpHandler,
  type HttpSource,
  type IncomingTrace,
  type LogSink,
  type Observability,
  type PortableHandler,
  type Source,
  writeStdout,
} from '@polycloud/core/adapter'

/** The members of the Lambda context object Polycloud reads. */
export interface LambdaContext {
  awsRequestId: string
  functionName: string
  getRemainingTimeInMillis(): number
  [key: string]: unknown
}

export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown>

/** Log lines go straight to stdout: CloudWatch stores each as one JSON record, without the console prefix. */
const stdoutSink: LogSink = (_level, line) => writeStdout(`${line}\n`)

/**
 * CloudWatch's conventions: Lambda's JSON log format reads `level` and an RFC 3339 `timestamp` (its log-level
 * filtering uses them), Logs Insights discovers the other fields; `xrayTraceId` is the trace in X-Ray's form
 * (`1-5759e988-bd862e3fe1be46a994272793`), the id the X-Ray console and CloudWatch's trace views search logs by. An
 * HTTP request without a `traceparent` continues the X-Ray trace (`_X_AMZN_TRACE_ID`, else `X-Amzn-Trace-Id`).
 */
export const AWS_OBSERVABILITY: Observability = {
  timeKey: 'timestamp',
  traceFields: (trace) => `"xrayTraceId":"${xrayTraceId(trace.traceId)}"`,
  traceHeader: 'x-amzn-trace-id',
  parseTraceHeader: parseXRay,
}

/** The X-Ray trace Lambda started for the invocation: the runtime sets `_X_AMZN_TRACE_ID` before each one. */
const lambdaTrace = (): IncomingTrace | undefined => parseXRay(process.env._X_AMZN_TRACE_ID)

/** How the Lambda entry points dispatch: the event is the input; the id, name and deadline are Lambda's own. */
const LAMBDA: DispatchOptions<[unknown, LambdaContext]> = {
  provider: 'aws',
  context: (event, context) =>
    new PortableContext({
      provider: 'aws',
      requestId: context.awsRequestId,
      functionName: context.functionName,
      deadline: () => context.getRemainingTimeInMillis(),
      env: process.env,
      native: { provider: 'aws', event, context },
      sink: stdoutSink,
      observability: AWS_OBSERVABILITY,
      incoming: lambdaTrace,
    }),
}

/**
 * A Lambda handler for any portable handler, reading the given formats: only those of the handler's kind are tried,
 * in order. Throws a TypeError at creation when the handler is not a portable handler, or none of the formats feeds
 * its kind. An input none recognises fails the invocation with an error naming its shape. Import only the formats a
 * function needs and its bundle holds nothing else.
 */
export function createLambdaHandler(handler: PortableHandler, sources: readonly Source[], label = 'handler'): LambdaHandler {
  return createDispatcher(handler, sources, LAMBDA, label)
}

/** {@link createLambdaHandler} for an HTTP handler and HTTP formats (its bundle holds none of the event path). */
export function createLambdaHttpHandler(handler: HttpHandler, sources: readonly HttpSource[], label = 'handler'): LambdaHandler {
  return createHttpDispatcher(handler, sources, LAMBDA, label)
}

/** {@link createLambdaHandler} for an event handler and event formats (its bundle holds none of the HTTP path). */
export function createLambdaEventHandler(handler: EventHandler, sources: readonly EventSource[], label = 'handler'): LambdaHandler {
  return createEventDispatcher(handler, sources, LAMBDA, label)
}
