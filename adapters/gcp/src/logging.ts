import type { LogLevel, LogSink } from '@polycloud/core/adapter'

// Cloud Logging reads one JSON object per stdout line as a structured entry: `severity` sets the entry's
// severity, `logging.googleapis.com/trace` / `spanId` / `trace_sampled` tie it to its request's trace, the rest
// becomes jsonPayload (https://cloud.google.com/logging/docs/structured-logging).

const SEVERITY: Readonly<Record<LogLevel, string>> = {
  debug: '{"severity":"DEBUG",',
  info: '{"severity":"INFO",',
  warn: '{"severity":"WARNING",',
  error: '{"severity":"ERROR",',
}

/** Log lines as structured entries on stdout: the core's JSON line with `severity` put first. */
export const cloudLoggingSink: LogSink = (level, line) => {
  process.stdout.write(`${SEVERITY[level]}${line.slice(1)}\n`)
}

/** A request's trace: ids as Cloud Trace and Cloud Logging write them. */
export interface TraceContext {
  /** 32 hex digits. */
  readonly traceId: string
  /** 16 hex digits, when the header gives one. */
  readonly spanId: string | undefined
  readonly sampled: boolean | undefined
}

const CLOUD_TRACE = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?/
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/**
 * The trace of a request from `X-Cloud-Trace-Context: TRACE/SPAN;o=1` (span in decimal) or W3C
 * `traceparent: 00-TRACE-SPAN-01`, whichever is present (Cloud Run sends both), or undefined.
 */
export function parseTrace(cloudTrace: string | undefined, traceparent: string | undefined): TraceContext | undefined {
  if (traceparent) {
    const match = TRACEPARENT.exec(traceparent.trim())
    if (match && !/^0+$/.test(match[1] as string)) {
      return { traceId: match[1] as string, spanId: match[2], sampled: (parseInt(match[3] as string, 16) & 1) === 1 }
    }
  }
  if (cloudTrace) {
    const match = CLOUD_TRACE.exec(cloudTrace.trim())
    if (match) {
      const span = match[2] === undefined ? undefined : BigInt.asUintN(64, BigInt(match[2])).toString(16).padStart(16, '0')
      return {
        traceId: (match[1] as string).toLowerCase(),
        spanId: span === '0000000000000000' ? undefined : span,
        sampled: match[3] === undefined ? undefined : match[3] === '1',
      }
    }
  }
  return undefined
}

/** The project id for trace names, from the variables Google's libraries read (none is set by default on gen 2). */
export function projectId(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || env.GCP_PROJECT || undefined
}

/**
 * The sink for one invocation: {@link cloudLoggingSink}, plus the trace fields when the request has a trace and the
 * project is known (Cloud Logging needs `projects/PROJECT/traces/TRACE`).
 */
export function sinkFor(trace: TraceContext | undefined, project: string | undefined): LogSink {
  if (trace === undefined || project === undefined) return cloudLoggingSink
  let fields = `"logging.googleapis.com/trace":${JSON.stringify(`projects/${project}/traces/${trace.traceId}`)},`
  if (trace.spanId !== undefined) fields += `"logging.googleapis.com/spanId":"${trace.spanId}",`
  if (trace.sampled !== undefined) fields += `"logging.googleapis.com/trace_sampled":${trace.sampled},`
  return (level, line) => {
    process.stdout.write(`${SEVERITY[level]}${fields}${line.slice(1)}\n`)
  }
}
