import azureFunctions from '@azure/functions'
import type { HttpRequestInit, InvocationContext as InvocationContextType, InvocationContextInit, LogLevel } from '@azure/functions'
import { fromJson, type AzureInput } from '@polycloud/azure'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'

// The library is CommonJS: its default export holds the classes (named ESM imports fail at run time).
export const { HttpRequest, HttpResponse, InvocationContext } = azureFunctions

export interface LogEntry {
  level: LogLevel
  args: unknown[]
}

export interface Invocation {
  context: InvocationContextType
  logs: LogEntry[]
  /** The JSON lines the handler and Polycloud logged, parsed, with the Azure level each went to (no summary lines). */
  lines(): Array<Record<string, unknown> & { azureLevel: LogLevel }>
  /** The summary lines (`"polycloud":"invocation"`, `"message"`), parsed. */
  summaries(): Array<Record<string, unknown> & { azureLevel: LogLevel }>
}

/** Log entries that are not summary lines (a summary line carries `"polycloud":`). */
export function handlerLogs(logs: readonly LogEntry[]): LogEntry[] {
  return logs.filter((entry) => !(typeof entry.args[0] === 'string' && entry.args[0].includes('"polycloud":"')))
}

let counter = 0

/**
 * A real `InvocationContext` for a trigger (`{ type: 'queueTrigger', queueName: 'orders' }`), capturing what is
 * logged on it.
 */
export function invocation(trigger: Record<string, unknown> | undefined, init: Partial<InvocationContextInit> = {}): Invocation {
  const logs: LogEntry[] = []
  counter++
  const context = new InvocationContext({
    invocationId: `invocation-${counter}`,
    functionName: 'testFunction',
    logHandler: (level, ...args) => logs.push({ level, args }),
    ...(trigger === undefined ? {} : { options: { trigger: { name: 'trigger', type: 'unknown', ...trigger } } }),
    ...init,
  })
  return {
    context,
    logs,
    lines: () => parsed(logs).filter((line) => line.polycloud === undefined),
    summaries: () => parsed(logs).filter((line) => line.polycloud !== undefined),
  }
}

function parsed(logs: readonly LogEntry[]): Array<Record<string, unknown> & { azureLevel: LogLevel }> {
  return logs
    .filter((entry) => typeof entry.args[0] === 'string' && (entry.args[0] as string).startsWith('{'))
    .map((entry) => ({ ...(JSON.parse(entry.args[0] as string) as Record<string, unknown>), azureLevel: entry.level }))
}

/** An `AzureInput` for a source: the trigger input and a context for the given trigger. */
export function azureInput<T>(input: T, trigger?: Record<string, unknown>, init: Partial<InvocationContextInit> = {}): AzureInput<T> {
  return { input, context: invocation(trigger, init).context }
}

/** A real `HttpRequest` (the library's test constructor). */
export function httpRequest(init: HttpRequestInit): InstanceType<typeof HttpRequest> {
  return new HttpRequest(init)
}

/** Every Azure fixture as the adapter reads it (through `fromJson`), by path. */
export function azureFixtures(): Array<[string, AzureInput]> {
  return fixturePaths('azure').map((path) => [path, fromJson(fixture(path))])
}

/** Reads a stream to the end as text. */
export async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text()
}
