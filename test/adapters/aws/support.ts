import type { LambdaContext } from '@polycloud/aws'
import { straight, throughStream } from '../../helpers/stdout.ts'

let counter = 0

/** A Lambda context as the runtime passes it (the members Polycloud reads). */
export function lambdaContext(remainingMs = 3000): LambdaContext {
  counter++
  return {
    awsRequestId: `request-${counter}`,
    functionName: 'test-function',
    getRemainingTimeInMillis: () => remainingMs,
  }
}

/**
 * Captures what Polycloud writes to stdout while `run` runs: the handler's log lines (`lines`) and the invocations'
 * summary lines (`summaries`, marked `"polycloud":"invocation"` or `"message"`).
 */
export async function captureStdout<T>(run: () => Promise<T>): Promise<{ result: T; lines: Array<Record<string, unknown>>; summaries: Array<Record<string, unknown>> }> {
  const write = process.stdout.write.bind(process.stdout)
  const chunks: string[] = []
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    return true
  }) as typeof process.stdout.write
  throughStream()
  try {
    const result = await run()
    const all = chunks
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    return { result, lines: all.filter((line) => line.polycloud === undefined), summaries: all.filter((line) => line.polycloud !== undefined) }
  } finally {
    process.stdout.write = write
    straight()
  }
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(run: () => Promise<unknown>): Promise<Error> {
  // The failed invocation's summary line goes to stdout: captured, so the test output stays clean.
  const { result } = await captureStdout(async (): Promise<{ value: unknown } | { error: Error }> => {
    try {
      return { value: await run() }
    } catch (error) {
      return { error: error as Error }
    }
  })
  if ('error' in result) return result.error
  throw new Error(`expected a rejection, got ${JSON.stringify(result.value)}`)
}
