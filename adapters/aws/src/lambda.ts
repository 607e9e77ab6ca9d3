import {
  PortableContext,
  findSource,
  httpFailure,
  runEvents,
  runHttp,
  unrecognisedInput,
  type EventSource,
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
 * A Lambda handler for a portable handler, reading the given native formats. Only the sources of the handler's
 * kind are tried, in order; an input none recognises fails the invocation with an error naming its shape.
 * Import only the sources a function needs and the bundle holds nothing else.
 */
export function createLambdaHandler(handler: PortableHandler, sources: readonly Source[]): LambdaHandler {
  const candidates = sources.filter((source) => source.kind === handler.kind)
  if (handler.kind === 'http') {
    const http = candidates as HttpSource[]
    return async (event, context) => {
      const source = findSource(http, event)
      if (source === undefined) throw unrecognisedInput('aws', 'http', http, event)
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
  const events = candidates as EventSource[]
  return async (event, context) => {
    const source = findSource(events, event)
    if (source === undefined) throw unrecognisedInput('aws', handler.kind, events, event)
    const ctx = createContext(event, context)
    const items = source.getEvents(event)
    const failed = await runEvents(handler as Parameters<typeof runEvents>[0], items, ctx, source.isOrdered?.(event) ?? false)
    return source.getResult(event, failed)
  }
}
