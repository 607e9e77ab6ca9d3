/**
 * What the portability suite needs from a provider's local emulation. One target per provider, in `targets/`;
 * the behaviour tests in `portability.test.ts` run unchanged over each, on the demo's own handler files, packaged
 * for that provider.
 */

/** A structured log line a portable handler wrote (`context.log`). */
export type LogLine = Record<string, unknown> & { level: string; message: string }

/**
 * A non-HTTP delivery, described neutrally; each target sends it through its cloud's real local ingress (a message
 * sent to the local queue, a publish to the local topic, an object written to the local bucket, the schedule run on
 * demand), which delivers it as the cloud does.
 */
export type Trigger =
  | { readonly kind: 'schedule'; readonly function: string }
  | { readonly kind: 'queue'; readonly function: string; readonly queue: string; readonly messages: readonly string[] }
  | {
      readonly kind: 'topic'
      readonly function: string
      readonly topic: string
      readonly body: string
      readonly attributes: Readonly<Record<string, string>>
    }
  | {
      readonly kind: 'storage'
      readonly function: string
      readonly bucket: string
      readonly key: string
      readonly size: number
      /** Objects written first, outside what the function listens to (its prefix): the function must never see them. */
      readonly ignored?: readonly string[]
    }

/** What came of a delivery. */
export interface Outcome {
  /** Indices (in the trigger's `messages`) of the messages the platform will deliver again. */
  readonly redelivered: readonly number[]
  /** The handler's log lines during the delivery. */
  readonly logs: readonly LogLine[]
}

export interface LocalTarget {
  readonly provider: string
  /**
   * Trigger kinds the provider has no equivalent of, with the reason (Cloudflare has no pub/sub topics). The suite
   * reports their tests as pending, reason in the title: never faked, never silently passed.
   */
  readonly unsupported?: Readonly<Partial<Record<Trigger['kind'], string>>>
  /**
   * Why the demo's resources (`custom.polycloud.resources`: the uploads bucket, the orders queue, the alerts topic)
   * cannot be reached under this provider's local emulation yet, if they cannot: the chain cases (upload, stored,
   * bucket event, thumbnail, download; order, alert) are then pending, the reason in their titles. A target whose
   * emulation serves them leaves it undefined, and the cases run on it unchanged.
   */
  readonly resourcesPending?: string
  /** The URL of a route path (`/hello?name=Ada`) on the local emulation. */
  url(path: string): string
  /** Delivers an event through the provider's local runtime, as the cloud would. */
  fire(trigger: Trigger): Promise<Outcome>
  /** Handler log lines written while serving HTTP since the target started. */
  httpLogs(): readonly LogLine[]
  /** Every handler log line since the target started (HTTP and events). */
  logs(): readonly LogLine[]
  /**
   * Takes the messages that are in a queue's dead-letter queue now (the queue as serverless.yml names it), from the
   * cloud's own dead-letter store: their bodies.
   */
  deadLetters(queue: string): Promise<readonly string[]>
  stop(): Promise<void>
}

/** Starts a provider's local emulation of the demo (packaged first); the suite stops it after its tests. */
export type TargetFactory = () => Promise<LocalTarget>

/** The JSON log lines in a process's output. */
export function logLines(output: string): LogLine[] {
  const lines: LogLine[] = []
  for (const text of output.split('\n')) {
    const start = text.indexOf('{"level"')
    if (start === -1) continue
    try {
      lines.push(JSON.parse(text.slice(start)) as LogLine)
    } catch {
      // Not a whole JSON line (a log prefix cut it): not a handler's line.
    }
  }
  return lines
}

/**
 * Resolves once `output()` has stopped growing for a moment (a handler's log lines reach the terminal through the
 * runtime's own pipes, a little after the invocation it belongs to has answered); at most `maxMs`.
 */
export async function quiet(output: () => string, maxMs = 3_000): Promise<void> {
  const deadline = Date.now() + maxMs
  let length = output().length
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    if (output().length === length) return
    length = output().length
  }
}

/** Resolves with `check()`'s first truthy value, polling; rejects naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
