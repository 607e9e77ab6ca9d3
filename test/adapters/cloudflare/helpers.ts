import { readFileSync } from 'node:fs'
import type { ExecutionContextLike, MessageBatchLike, QueueMessageLike } from '@polycloud/cloudflare'

/** What ack()/retry() calls a fake batch recorded, in call order. */
export interface Settled {
  acked: string[]
  retried: string[]
}

export interface MessageInit {
  id: string
  body: unknown
  timestamp?: Date
  attempts?: number
}

/** A MessageBatch shaped as workerd hands it over, whose ack/retry calls are recorded. */
export function fakeBatch(queue: string, messages: MessageInit[]): { batch: MessageBatchLike; settled: Settled } {
  const settled: Settled = { acked: [], retried: [] }
  const batch: MessageBatchLike = {
    queue,
    messages: messages.map(
      (init): QueueMessageLike => ({
        id: init.id,
        timestamp: init.timestamp ?? new Date('2024-05-24T19:36:45.000Z'),
        body: init.body,
        attempts: init.attempts ?? 1,
        ack: () => void settled.acked.push(init.id),
        retry: () => void settled.retried.push(init.id),
      }),
    ),
    ackAll: () => {
      throw new Error('ackAll must not be used: messages are settled one by one')
    },
    retryAll: () => {
      throw new Error('retryAll must not be used: messages are settled one by one')
    },
  }
  return { batch, settled }
}

/** An ExecutionContext that records waitUntil promises. */
export function fakeExecutionContext(): ExecutionContextLike & { promises: Promise<unknown>[] } {
  const promises: Promise<unknown>[] = []
  return {
    promises,
    waitUntil: (promise) => void promises.push(promise),
    passThroughOnException: () => {},
  }
}

/** Runs `fn` with console.log/warn/error captured; returns what was written, by level. */
export async function captureConsole<T>(fn: () => Promise<T>): Promise<{ result: T; lines: Array<[string, string]>; summaries: Array<[string, string]> }> {
  const all: Array<[string, string]> = []
  const saved = { log: console.log, warn: console.warn, error: console.error }
  console.log = (line: string) => void all.push(['log', line])
  console.warn = (line: string) => void all.push(['warn', line])
  console.error = (line: string) => void all.push(['error', line])
  try {
    const result = await fn()
    // Summary lines (`"polycloud":"invocation"`) apart from the handler's own.
    const summary = ([, line]: [string, string]): boolean => typeof line === 'string' && line.includes('"polycloud":"')
    return { result, lines: all.filter((entry) => !summary(entry)), summaries: all.filter(summary) }
  } finally {
    Object.assign(console, saved)
  }
}

/** A body from test/fixtures/cloudflare-extra (documented examples from Cloudflare's R2 docs), freshly parsed. */
export function r2Body(name: string): Record<string, unknown> {
  const url = new URL(`../../fixtures/cloudflare-extra/${name}.json`, import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>
}
