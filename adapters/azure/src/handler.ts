import type { InvocationContext } from '@azure/functions'
import {
  PortableContext,
  createDispatcher,
  deadlineFromEnv,
  parseTraceparent,
  type IncomingTrace,
  type LogLevel,
  type Observability,
  type PortableHandler,
  type Source,
} from '@polycloud/core/adapter'
import { unrecognisedAzureInput, type AzureInput } from './input.js'

/** What `app.http`, `app.storageQueue`, ... call: the trigger input and the invocation context. */
export type AzureFunctionHandler = (input: unknown, context: InvocationContext) => Promise<unknown>

export interface AzureHandlerOptions {
  /**
   * Whether a streamed response body is passed to the host as a stream. Default: whether HTTP streaming was
   * enabled through this package's `setup({ enableHttpStream: true })` when the invocation runs. Without
   * streaming the body is read to the end first (the host sends responses whole).
   */
  readonly stream?: boolean
  /** How errors at creation name the handler (e.g. the module export), default `handler`. */
  readonly label?: string
}

/** The Functions default timeout on the Consumption plan, in seconds (host.json `functionTimeout`). */
export const DEFAULT_TIMEOUT_SECONDS = 300

let httpStreaming = false

/** Records whether the app enabled HTTP streaming (`app.setup({ enableHttpStream })`); see `setup`. */
export function setHttpStreaming(enabled: boolean): void {
  httpStreaming = enabled
}

export function isHttpStreaming(): boolean {
  return httpStreaming
}

/**
 * Application Insights' names for the trace: `operation_Id` is the trace id (what the host files the invocation's
 * telemetry under, when the invocation continues the host's trace context), `operation_ParentId` the span the
 * invocation continues (the host's own span for the invocation).
 */
export const AZURE_OBSERVABILITY: Observability = {
  traceFields: (trace) => `"operation_Id":"${trace.traceId}"${trace.parentSpanId === undefined ? '' : `,"operation_ParentId":"${trace.parentSpanId}"`}`,
}

/** The trace the Functions host started for the invocation (`InvocationContext.traceContext`, W3C). */
export function hostTrace(context: InvocationContext): IncomingTrace | undefined {
  const trace = context.traceContext
  return trace === undefined ? undefined : parseTraceparent(trace.traceParent, trace.traceState, 'host')
}

function createContext(input: unknown, context: InvocationContext): PortableContext {
  return new PortableContext({
    provider: 'azure',
    requestId: context.invocationId,
    functionName: context.functionName,
    deadline: deadlineFromEnv(process.env, DEFAULT_TIMEOUT_SECONDS),
    env: process.env,
    native: { provider: 'azure', event: input, context },
    // Log lines go to the invocation's logger, which the host ties to the invocation in Application Insights.
    sink: (level: LogLevel, line: string) => context[level](line),
    observability: AZURE_OBSERVABILITY,
    incoming: () => hostTrace(context),
  })
}

type Args = [input: unknown, context: InvocationContext]

/**
 * An Azure Functions handler for a portable handler, reading the given native formats. Throws a TypeError at
 * creation when the handler is not a portable handler or none of the sources feeds its kind. Only the sources of
 * the handler's kind are tried, in order; the first that recognises the trigger input (by the context's trigger
 * type, else by the payload's shape) translates it. An input none recognises fails the invocation with an error
 * naming its shape. Import only the sources a function needs and the bundle holds nothing else.
 *
 * HTTP handlers resolve to an `HttpResponseInit`; event handlers resolve to nothing, or reject when an event
 * failed (the host then retries or dead-letters the delivery, per trigger).
 */
export function createAzureHandler(
  handler: PortableHandler,
  sources: readonly Source[],
  options: AzureHandlerOptions = {},
): AzureFunctionHandler {
  if (sources.length === 0) throw new TypeError('azure: createAzureHandler needs at least one source')
  const run = createDispatcher<Args>(
    handler,
    sources,
    {
      provider: 'azure',
      input: (input, context): AzureInput => ({ input, context }),
      context: (input, context) => createContext(input, context),
      unrecognised: (kind, candidates, _native, input, context) => unrecognisedAzureInput(kind, candidates, input, context),
      stream: () => options.stream ?? httpStreaming,
    },
    options.label ?? 'handler',
  )
  return run
}
