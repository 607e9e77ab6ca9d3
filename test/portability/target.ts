/**
 * What the portability suite needs from a provider's local emulation. One target per provider, in `targets/`;
 * the behaviour tests in `portability.test.ts` run unchanged over each, on the demo's own handler files, packaged
 * for that provider.
 */

/** A structured log line a portable handler wrote (`context.log`). */
export type LogLine = Record<string, unknown> & { level: string; message: string }

/** A non-HTTP delivery, described neutrally; each target turns it into its cloud's native payload. */
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
  /** The URL of a route path (`/hello?name=Ada`) on the local emulation. */
  url(path: string): string
  /** Delivers an event through the provider's local runtime, as the cloud would. */
  fire(trigger: Trigger): Promise<Outcome>
  /** Handler log lines written while serving HTTP since the target started. */
  httpLogs(): readonly LogLine[]
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
