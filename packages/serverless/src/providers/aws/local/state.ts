/**
 * State kept between runs (`.polycloud/state/aws` when the plugin starts the services): JSON files written
 * atomically (a temporary file renamed over the old one, so a crash leaves the old or the new file, never half of
 * one), saved a moment after each change and when the services stop. A file that cannot be read (torn by a crash
 * of something else, edited by hand) is moved aside with a message naming it; the service starts without it.
 */
import { mkdirSync, readFileSync, renameSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

let tmpCounter = 0

/** Writes a file atomically: to a temporary file beside it, then renamed over it. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}-${++tmpCounter}`
  try {
    await writeFile(tmp, data)
    await rename(tmp, file)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
}

/**
 * Reads a JSON state file: undefined when there is none. One that does not parse, or that `check` refuses, is
 * renamed to `<file>.corrupt-<time>` and reported through `log`, and undefined is returned: the service starts
 * empty rather than not at all, and nothing is lost.
 */
export function readJsonState<T>(file: string, what: string, log: (line: string) => void, check: (value: unknown) => value is T): T | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  let problem: string
  try {
    const value: unknown = JSON.parse(text)
    if (check(value)) return value
    problem = 'it is not the shape this version writes'
  } catch (error) {
    problem = (error as Error).message
  }
  const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`
  renameSync(file, aside)
  log(`local AWS: the saved ${what} in ${file} could not be read (${problem}); it was moved to ${aside} and the ${what} start empty`)
  return undefined
}

/**
 * Saves a value a moment after it changed (changes in a burst are written once) and on flush; one write at a time.
 * `snapshot` is called when the write happens, so the latest state is written.
 */
export class Saver {
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> = Promise.resolve()
  private dirty = false

  constructor(
    private readonly file: string | undefined,
    private readonly snapshot: () => unknown,
    private readonly onError: (error: unknown) => void,
    private readonly delayMs = 50,
  ) {
    if (file !== undefined) mkdirSync(dirname(file), { recursive: true })
  }

  /** Marks the state changed: it is written within `delayMs`. */
  changed(): void {
    if (this.file === undefined) return
    this.dirty = true
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.flush()
    }, this.delayMs)
    this.timer.unref()
  }

  /** Writes now if anything changed; resolves once every write so far is done. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    const file = this.file
    if (file === undefined || !this.dirty) return this.writing
    this.dirty = false
    this.writing = this.writing.then(() => writeFileAtomic(file, JSON.stringify(this.snapshot()))).catch(this.onError)
    return this.writing
  }
}
