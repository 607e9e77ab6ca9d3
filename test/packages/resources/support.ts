/** What the resource driver tests share: an inbox of delivered events, waited on without timing assumptions. */
import { InvalidRecord } from '@polycloud/core/adapter'

/** Events pushed by a subscriber, taken in order by the test. */
export class Inbox<T> {
  readonly #items: T[] = []
  readonly #waiters = new Set<() => void>()

  push(...items: T[]): void {
    this.#items.push(...items)
    for (const wake of this.#waiters) wake()
  }

  /** The next `count` items, once they have all arrived (rejects after `timeoutMs`, naming how many did). */
  async take(count: number, timeoutMs = 30_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs
    while (this.#items.length < count) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`expected ${count} deliveries, ${this.#items.length} arrived in ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer)
          this.#waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, Math.min(left, 250))
        this.#waiters.add(wake)
      })
    }
    return this.#items.splice(0, count)
  }

  get size(): number {
    return this.#items.length
  }
}

/** The Azure Functions Node library's `tryJsonParse` (@azure/functions, fromRpcTypedData): what a trigger's text becomes. */
export function tryJsonParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A source's events, failing loudly on a record it could not translate (the test's delivery is wrong then). */
export function translated<E>(items: ReadonlyArray<E | InvalidRecord>): E[] {
  return items.map((item) => {
    if (item instanceof InvalidRecord) throw new Error(`the source refused the delivery: ${item.error.message}`, { cause: item.error })
    return item
  })
}
