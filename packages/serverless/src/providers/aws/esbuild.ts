/**
 * serverless-esbuild (which bundles the AWS entries) made to end: its errors shown once, as the framework's error,
 * and nothing of esbuild left running after a failed command.
 *
 * Why commands hung (serverless-esbuild 1.57.2, esbuild 0.28.2, osls 4.3.1): serverless-esbuild bundles each entry
 * with `esbuild.context(options)` then `context.rebuild()`. A live context holds a reference on esbuild's child
 * process (`refs.ref()` in esbuild's `buildOrContextImpl`), which keeps Node's event loop alive until
 * `context.dispose()`. serverless-esbuild disposes its contexts only in the `after:` hooks of package and invoke
 * local, which the framework skips once a hook has failed; and when `rebuild()` itself fails, the context it just
 * created is never stored (the exception leaves `bundleMapper` before `buildCache` is written), so nothing could
 * dispose it. osls ends a failed command by setting `process.exitCode` and waiting for the event loop to drain,
 * so the process waited forever on esbuild's child. Releasing esbuild's service (`esbuild.stop()`, which ends the
 * child and every context with it) in the framework's `error` hook lets the command end as soon as it has failed.
 *
 * Under `serverless offline` serverless-esbuild's file watcher rebuilds on every event it sees (several for one
 * save, each rebuild running over the last), and a failed rebuild left nothing serving: esbuild 0.28 deletes the
 * outputs of a context whose rebuild fails, so the next request failed to load the function (a 500, `Cannot find
 * module`), and each event printed the error again. Watcher rebuilds are run one at a time here (the events of a
 * rebuild under way make one more), the outputs a failed rebuild deleted are put back (the last good build keeps
 * serving: a failed rebuild still rejects, so serverless-esbuild does not tell serverless-offline to load the
 * functions again), and its error is printed once, not again until a rebuild succeeds or fails otherwise (its own
 * line for every failed rebuild, `Bundle error, waiting for a file change to reload...`, is left out).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { BundleError, isBuildFailure } from '../../bundle.js'
import { frameworkError, type FrameworkErrors } from '../../errors.js'
import type { Logger } from '../../provider.js'

/** What the plugin uses of esbuild as serverless-esbuild loaded it. */
interface Esbuild {
  stop(): Promise<void> | void
  formatMessages(messages: readonly unknown[], options: { kind: 'error' | 'warning'; color?: boolean }): Promise<string[]>
}

/** The parts of serverless-esbuild's plugin instance used here. */
interface EsbuildPlugin {
  bundle(): Promise<void>
  log?: { error(message: string): void }
  /** Where the bundles are written (`.esbuild/<folder>/.build`). */
  buildDirPath?: string
  buildOptions?: Record<string, unknown>
  buildCache?: Record<string, { result?: { warnings?: unknown[] } }>
}

interface PluginHost {
  pluginManager?: { plugins?: object[] }
}

const PLUGIN_CLASS = 'EsbuildServerlessPlugin'

/** What serverless-esbuild's file watcher logs for every rebuild that fails. */
const WATCH_FAILURE = 'Bundle error, waiting for a file change to reload...'

/** serverless-esbuild's plugin instance, when the service uses it. */
export function esbuildPlugin(serverless: unknown): EsbuildPlugin | undefined {
  const plugins = (serverless as PluginHost).pluginManager?.plugins ?? []
  return plugins.find((plugin) => plugin.constructor.name === PLUGIN_CLASS) as EsbuildPlugin | undefined
}

/** The bundles and maps under the build folder (not installed packages), with their bytes. */
function snapshot(dir: string | undefined): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  const walk = (folder: string): void => {
    let entries
    try {
      entries = readdirSync(folder, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(path)
      } else if (/\.(c|m)?js(\.map)?$/.test(entry.name)) files.set(path, readFileSync(path))
    }
  }
  if (dir !== undefined) walk(dir)
  return files
}

/** Puts back the files of a snapshot that are gone (what a failed esbuild rebuild deletes). */
function restore(files: ReadonlyMap<string, Buffer>): void {
  for (const [path, bytes] of files) {
    if (existsSync(path)) continue
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, bytes)
  }
}

/** The esbuild module serverless-esbuild itself loads (resolved from its own folder, as Node does for it). */
function esbuildOf(servicePath: string): Esbuild | undefined {
  try {
    const require = createRequire(import.meta.url)
    const pluginPath = require.resolve('serverless-esbuild', { paths: [servicePath] })
    return createRequire(pluginPath)('esbuild') as Esbuild
  } catch {
    return undefined
  }
}

/**
 * Wraps serverless-esbuild's `bundle` (every hook and its file watcher call it through the instance): esbuild's
 * own log is silenced (unless the service sets `custom.esbuild.logLevel`) and its errors become one BundleError
 * with esbuild's code frames, which the framework shows once without a stack trace; warnings of a successful
 * build are logged. Returns `release`, to call when a command fails.
 */
export function manageEsbuild(serverless: unknown, servicePath: string, log: Logger): { release(): Promise<void> } | undefined {
  const plugin = esbuildPlugin(serverless)
  if (plugin === undefined) return undefined
  const esbuild = esbuildOf(servicePath)
  const original = plugin.bundle
  let calls = 0
  /** The watcher's rebuild under way, and the one its events asked for meanwhile. */
  let running: Promise<void> | undefined
  let queued: Promise<void> | undefined
  /** The error printed last, until a rebuild succeeds. */
  let printed: string | undefined

  const watcherRebuild = async (self: EsbuildPlugin): Promise<void> => {
    const outputs = snapshot(self.buildDirPath)
    try {
      await build(self, false)
      printed = undefined
    } catch (error) {
      restore(outputs)
      const message = error instanceof Error ? error.message : String(error)
      if (message !== printed) {
        printed = message
        log.error(`${message}\nThe last good build keeps serving until the next change.`)
      }
      throw error
    }
  }

  // serverless-esbuild's line for each failed rebuild: the cause is printed above, once.
  const pluginLog = plugin.log
  if (pluginLog !== undefined) {
    // osls's logger is a function whose levels are lazy, read-only properties: a proxy stands in for it.
    const error = (message: string): void => (message === WATCH_FAILURE ? undefined : pluginLog.error(message))
    plugin.log = new Proxy(pluginLog, { get: (target, name) => (name === 'error' ? error : Reflect.get(target, name)) })
  }

  const schedule = (self: EsbuildPlugin): Promise<void> => {
    if (running === undefined) {
      running = watcherRebuild(self).finally(() => (running = undefined))
      return running
    }
    queued ??= running.then(() => {
      queued = undefined
      return schedule(self)
    })
    return queued
  }

  /** One bundle of every function: the command's first (`first`: its failure is the command's error), or a rebuild. */
  const build = async (self: EsbuildPlugin, first: boolean): Promise<void> => {
    // buildOptions are read at serverless-esbuild's `initialize`, which may run after ours.
    const options = self.buildOptions
    const explicit = (serverless as { service?: { custom?: { esbuild?: { logLevel?: unknown } } } }).service?.custom?.esbuild?.logLevel
    if (options && explicit === undefined) options.logLevel = 'silent'
    // Source map settings the hand-over added to custom.esbuild after serverless-esbuild had read it.
    const custom = (serverless as { service?: { custom?: { esbuild?: Record<string, unknown> } } }).service?.custom?.esbuild ?? {}
    for (const key of ['sourcemap', 'sourcesContent']) if (options && options[key] === undefined && custom[key] !== undefined) options[key] = custom[key]
    try {
      await original.call(self)
    } catch (error) {
      if (!isBuildFailure(error) || esbuild === undefined) throw error
      const messages = await esbuild.formatMessages(error.errors, { kind: 'error', color: false })
      const failure = new BundleError(messages.map((text) => text.trimEnd().replace(/^✘ \[ERROR\] /, '').replaceAll('\n', '\n  ')), 'the functions with esbuild')
      // The first bundle of a command is the command's error; a rebuild's is printed by the watcher's caller.
      throw first ? frameworkError(serverless as FrameworkErrors, failure.message) : failure
    }
    if (esbuild === undefined || explicit !== undefined) return
    const warnings = Object.values(self.buildCache ?? {}).flatMap((entry) => entry.result?.warnings ?? [])
    if (warnings.length > 0) {
      for (const text of await esbuild.formatMessages(warnings, { kind: 'warning', color: false })) log.warning(text.trimEnd())
    }
  }

  plugin.bundle = function bundle(this: EsbuildPlugin): Promise<void> {
    // The first call is the command's own bundle; later ones come from the file watcher (serverless offline).
    return calls++ === 0 ? build(this, true) : schedule(this)
  }
  return {
    async release() {
      await esbuild?.stop()
    },
  }
}
