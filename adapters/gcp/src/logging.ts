import { parseCloudTrace, perEnvironment, writeStdout, type LogLevel, type LogSink, type Observability } from '@polycloud/core/adapter'

// Cloud Logging reads one JSON object per stdout line as a structured entry: `severity` sets the entry's
// severity, `logging.googleapis.com/trace` / `spanId` / `trace_sampled` tie it to its trace in Cloud Trace, `message`
// is the text shown, the rest becomes jsonPayload (https://cloud.google.com/logging/docs/structured-logging).

const SEVERITY: Readonly<Record<LogLevel, string>> = {
  debug: '"severity":"DEBUG",',
  info: '"severity":"INFO",',
  warn: '"severity":"WARNING",',
  error: '"severity":"ERROR",',
}

type Env = Readonly<Record<string, string | undefined>>

/** The project id for trace names, from the variables Google's libraries read (none is set by default on gen 2). */
export function projectId(env: Env): string | undefined {
  return env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || env.GCP_PROJECT || undefined
}

/** `"projects/<project>/traces/` as JSON text ('' when no project is known): read once per environment. */
function readTracePrefix(env: Env): string {
  const project = projectId(env)
  return project === undefined ? '' : JSON.stringify(`projects/${project}/traces/`).slice(0, -1)
}

/**
 * Cloud Logging's conventions: `severity` first (DEBUG, INFO, WARNING, ERROR); the trace as
 * `logging.googleapis.com/trace` (`projects/<project>/traces/<trace id>`, when the project is known from
 * GOOGLE_CLOUD_PROJECT, GCLOUD_PROJECT or GCP_PROJECT), `logging.googleapis.com/spanId` (this invocation's span) and
 * `logging.googleapis.com/trace_sampled`. An HTTP request without a valid `traceparent` continues
 * `X-Cloud-Trace-Context` (Cloud Run sends both).
 */
export const GCP_OBSERVABILITY: Observability = {
  levelFields: SEVERITY,
  traceFields: (trace, env) => {
    const prefix = perEnvironment(env, readTracePrefix)
    return prefix === '' ? '' : `"logging.googleapis.com/trace":${prefix}${trace.traceId}","logging.googleapis.com/spanId":"${trace.spanId}","logging.googleapis.com/trace_sampled":${trace.sampled}`
  },
  traceHeader: 'x-cloud-trace-context',
  parseTraceHeader: parseCloudTrace,
}

/** Log lines (Cloud Logging's severity already first) as structured entries on stdout. */
export const stdoutSink: LogSink = (_level, line) => writeStdout(`${line}\n`)

/** A JSON line written outside an invocation, as a structured entry: its `severity` put first. */
export const cloudLoggingSink: LogSink = (level, line) => {
  writeStdout(`{${SEVERITY[level]}${line.slice(1)}\n`)
}
