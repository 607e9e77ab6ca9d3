import {
  PortableContext,
  assertHandler,
  findSource,
  httpFailure,
  runSource,
  runHttp,
  unrecognisedInput,
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

function createContext(event: unknown, context: LambdaContext): PortableContext {
  return new PortableContext({
    provider: 'aws',
    requestId: context.awsRequestId,
    functionName: context.functionName,
    deadline: () => context.getRemainingTimeInMillis(),
    env: process.env,
    native: { provider: 'aws', event, context },
    sink: stdoutSink,
  })
}

/**
 * A Lambda handler for a portable HTTP handler reading the given formats, tried in order; an input none
 * recognises fails the invocation with an error naming its shape. Import only the formats a function needs and
 * its bundle holds nothing else.
 */
export function createLambdaHttpHandler(
  handler: HttpHandler,
  sources: readonly HttpSource[],
  label = 'handler',
): LambdaHandler {
  assertHandler(handler, ['http'], label)
  return async (event, context) => {
    const source = findSource(sources, event)
    if (source === undefined) throw unrecognisedInput('aws', 'http', sources, event)
    const ctx = createContext(event, context)
    let response
    try {
      response = await runHttp(handler, source.getRequest(event), ctx)
    } catch (error) {
      response = httpFailure(error, ctx)
    }
    return source.getResponse(response, event)
  }
}

/** A Lambda handler for a portable event handler reading the given formats (see createLambdaHttpHandler). */
export function createLambdaEventHandler(
  handler: EventHandler,
  sources: readonly EventSource[],
  label = 'handler',
): LambdaHandler {
  assertHandler(handler, [...new Set(sources.map((source) => source.kind))], label)
  return async (event, context) => {
    const source = findSource(sources, event)
    if (source === undefined) throw unrecognisedInput('aws', handler.kind, sources, event)
    return runSource(handler as Exclude<PortableHandler, HttpHandler>, source, event, createContext(event, context))
  }
}

/**
 * A Lambda handler for any portable handler: only the given formats of the handler's kind are tried. Throws a
 * TypeError at creation when none of them feeds a handler of its kind.
 */
export function createLambdaHandler(handler: PortableHandler, sources: readonly Source[], label = 'handler'): LambdaHandler {
  assertHandler(handler, [...new Set(sources.map((source) => source.kind))], label)
  const candidates = sources.filter((source) => source.kind === handler.kind)
  return handler.kind === 'http'
    ? createLambdaHttpHandler(handler, candidates as HttpSource[], label)
    : createLambdaEventHandler(handler as EventHandler, candidates as EventSource[], label)
}
