/** Reading the local console's pages in tests. */
import { waitFor } from '../portability/target.ts'

export async function page(consoleUrl: string, path: string): Promise<string> {
  const response = await fetch(`${consoleUrl}${path}`)
  if (response.status !== 200) throw new Error(`GET ${path} on the console answered ${response.status}`)
  return response.text()
}

export interface ShownInvocation {
  function: string
  traceId?: string
  outcome: string
  kind?: string
  durationMs?: number
  coldStart?: boolean
  lines: Array<{ text: string; message: string; level: string }>
}

/** The invocations the console keeps (its JSON view of the same model the pages show). */
export async function invocations(consoleUrl: string): Promise<ShownInvocation[]> {
  return (await (await fetch(`${consoleUrl}/api/invocations`)).json()) as ShownInvocation[]
}

/** Waits until the console shows an ended invocation of a function whose name ends with `fn` and that `match`es. */
export function ended(consoleUrl: string, fn: string, match: (invocation: ShownInvocation) => boolean = () => true, timeoutMs = 90_000): Promise<ShownInvocation> {
  return waitFor(
    `an invocation of ${fn} in the console`,
    async () => (await invocations(consoleUrl)).find((invocation) => invocation.function.endsWith(fn) && invocation.outcome !== 'running' && match(invocation)),
    timeoutMs,
    250,
  )
}

/** The function names of a trace page's timeline rows, in order. */
export function timelineFunctions(html: string): string[] {
  const timeline = /<div class="timeline" id="timeline">([\s\S]*?)<\/div><h2>|<div class="timeline" id="timeline">([\s\S]*)$/.exec(html)
  const part = timeline?.[1] ?? timeline?.[2] ?? ''
  return [...part.matchAll(/<div class="row" data-function="([^"]*)"/g)].map((match) => match[1] as string)
}
