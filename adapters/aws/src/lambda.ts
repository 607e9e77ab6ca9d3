import {
  PortableContext,
  createDispatcher,
  createEventDispatcher,
  createHttpDispatcher,
  type DispatchOptions,
  type EventHandler,
  type EventSource,
  type HttpHandler,
  type HttpSource,
  type LogSink,
  type PortableHandler,
  type Source,
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
const stdoutSink: LogSink = (_level, line) => {
  process.stdout.write(`${line}\n`)
}

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
