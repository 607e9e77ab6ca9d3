/**
 * Hot reload for the local emulations the plugin runs itself (`serverless offline` on Azure, Google Cloud and
 * Cloudflare), as serverless-esbuild gives AWS: the folders of the source files the running build read (esbuild's
 * metafile inputs, outside `node_modules`, the work and package folders and the local state) are watched; a change
 * to one of those files, or to any code file beside them (a new module the code is about to import), rebuilds the
 * service once things are quiet (150 ms), one rebuild at a time, and a build that succeeds is swapped in: the next
 * request runs the new code. A rebuild or a swap that fails leaves the last good build serving, and its error is
 * printed once: not again for the same error, however many saves or watcher events repeat it.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs'
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import type { Metafile } from 'esbuild'
import type { Stoppable } from './local.js'
import type { Logger } from './provider.js'

/** A build the emulation serves: the absolute paths of the source files it was built from. */
export interface Build {
  readonly inputs: readonly string[]
}

export interface ReloadOptions<B extends Build> {
  /** The build serving now. */
  readonly current: B
  /** Builds the service again (throws with the bundler's errors). */
  build(): Promise<B>
  /** Serves `next` from the next request on; throws, serving `previous` still, when `next` cannot be served. */
  swap(next: B, previous: B): Promise<void>
  /** Releases a build no longer served, never served, or served when the reloader stops (its temporary files). */
  discard?(build: B): void | Promise<void>
  readonly log: Pick<Logger, 'notice' | 'error'>
  /** How long the files must be quiet before a rebuild (ms). */
  readonly quietMs?: number
}

/** Stopping it ends the watching, waits for a rebuild under way, and discards the build served last. */
export interface Reloader<B extends Build> extends Stoppable {
  /** The build serving now. */
  current(): B
  /** Resolves once no rebuild is pending or running (for tests and orderly stops). */
  idle(): Promise<void>
}

/** Folders whose files never trigger a rebuild: dependencies, generated and packaged output, local state. */
const IGNORED = new Set(['node_modules', '.polycloud', '.serverless', '.esbuild', '.build', '.azurite', '.git'])

/** Files whose appearance or change beside the sources rebuilds (a module about to be imported). */
const CODE = new Set(['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx', '.json'])

/** The source files of a build, from esbuild's metafile (paths relative to `root`, its working directory). */
export function buildInputs(metafile: Metafile, root: string): string[] {
  return Object.keys(metafile.inputs)
    .filter((input) => !/^[a-z-]*:/.test(input) && !input.startsWith('('))
    .map((input) => (isAbsolute(input) ? input : resolve(root, input)))
}

/** The inputs worth watching: existing files outside the ignored folders. */
export function watchedInputs(inputs: readonly string[]): string[] {
  return inputs.filter((path) => !path.split(sep).some((part) => IGNORED.has(part)) && existsSync(path))
}

/**
 * Watches the build's sources and swaps in each good rebuild until stopped. The watchers never keep the process
 * alive by themselves.
 */
export function hotReload<B extends Build>(options: ReloadOptions<B>): Reloader<B> {
  const quietMs = options.quietMs ?? 150
  let current = options.current
  let files = new Set<string>()
  const watchers = new Map<string, FSWatcher>()
  const changed = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let again = false
  let stopped = false
  /** The last error printed, until a build succeeds: the same error is not printed twice. */
  let lastError: string | undefined

  const follow = (build: Build): void => {
    files = new Set(watchedInputs(build.inputs))
    const dirs = new Set([...files].map((file) => dirname(file)))
    for (const [dir, watcher] of watchers) {
      if (dirs.has(dir)) continue
      watcher.close()
      watchers.delete(dir)
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null) return
          const path = join(dir, name.toString())
          if (files.has(path) || CODE.has(extname(path))) touched(path)
        })
        // A folder removed or unreadable: its files no longer trigger rebuilds until a build reads them again.
        watcher.on('error', () => {
          watcher.close()
          watchers.delete(dir)
        })
        watchers.set(dir, watcher)
      } catch {
        // The folder is gone already.
      }
    }
  }

  const touched = (path: string): void => {
    if (stopped || basename(path).startsWith('.')) return
    changed.add(path)
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      if (running) again = true
      else running = rebuild()
    }, quietMs)
    timer.unref()
  }

  const rebuild = async (): Promise<void> => {
    try {
      await rebuildUntilQuiet()
    } finally {
      running = undefined
    }
  }

  const rebuildUntilQuiet = async (): Promise<void> => {
    do {
      again = false
      const files = [...changed].map((path) => relative(process.cwd(), path) || path)
      changed.clear()
      const started = Date.now()
      let next: B | undefined
      try {
        next = await options.build()
        if (stopped) {
          await options.discard?.(next)
          return
        }
        await options.swap(next, current)
        const previous = current
        current = next
        lastError = undefined
        follow(current)
        await options.discard?.(previous)
        options.log.notice(`Reloaded after a change to ${files.join(', ')} (${Date.now() - started} ms): the next request runs the new code`)
      } catch (error) {
        if (next !== undefined && next !== current) await Promise.resolve(options.discard?.(next)).catch(() => {})
        const message = error instanceof Error ? error.message : String(error)
        if (message !== lastError) {
          lastError = message
          options.log.error(`The rebuild after a change to ${files.join(', ')} failed; the last good build keeps serving until the next change.\n${message}`)
        }
      }
    } while (again && !stopped)
  }

  follow(current)
  return {
    current: () => current,
    async idle() {
      while (timer !== undefined || running !== undefined) {
        if (running) await running
        else await new Promise((done) => setTimeout(done, quietMs))
      }
    },
    async stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      for (const watcher of watchers.values()) watcher.close()
      watchers.clear()
      if (running) await running
      await options.discard?.(current)
    },
  }
}
