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
 */
import { createRequire } from 'node:module'
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
  buildOptions?: Record<string, unknown>
  buildCache?: Record<string, { result?: { warnings?: unknown[] } }>
}

interface PluginHost {
  pluginManager?: { plugins?: object[] }
}

const PLUGIN_CLASS = 'EsbuildServerlessPlugin'

/** serverless-esbuild's plugin instance, when the service uses it. */
export function esbuildPlugin(serverless: unknown): EsbuildPlugin | undefined {
  const plugins = (serverless as PluginHost).pluginManager?.plugins ?? []
  return plugins.find((plugin) => plugin.constructor.name === PLUGIN_CLASS) as EsbuildPlugin | undefined
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
  plugin.bundle = async function bundle(this: EsbuildPlugin): Promise<void> {
    const first = calls++ === 0
    // buildOptions are read at serverless-esbuild's `initialize`, which may run after ours.
    const options = this.buildOptions
    const explicit = (serverless as { service?: { custom?: { esbuild?: { logLevel?: unknown } } } }).service?.custom?.esbuild?.logLevel
    if (options && explicit === undefined) options.logLevel = 'silent'
    // Source map settings the hand-over added to custom.esbuild after serverless-esbuild had read it.
    const custom = (serverless as { service?: { custom?: { esbuild?: Record<string, unknown> } } }).service?.custom?.esbuild ?? {}
    for (const key of ['sourcemap', 'sourcesContent']) if (options && options[key] === undefined && custom[key] !== undefined) options[key] = custom[key]
    try {
      await original.call(this)
    } catch (error) {
      if (!isBuildFailure(error) || esbuild === undefined) throw error
      const messages = await esbuild.formatMessages(error.errors, { kind: 'error', color: false })
      const failure = new BundleError(messages.map((text) => text.trimEnd().replace(/^✘ \[ERROR\] /, '').replaceAll('\n', '\n  ')), 'the functions with esbuild')
      // A rebuild of the file watcher (serverless offline): serverless-esbuild catches it and logs only a generic
      // line, so the cause is logged here; the first bundle of a command is the command's error.
      if (!first) log.error(failure.message)
      throw frameworkError(serverless as FrameworkErrors, failure.message)
    }
    if (esbuild === undefined || explicit !== undefined) return
    const warnings = Object.values(this.buildCache ?? {}).flatMap((entry) => entry.result?.warnings ?? [])
    if (warnings.length > 0) {
      for (const text of await esbuild.formatMessages(warnings, { kind: 'warning', color: false })) log.warning(text.trimEnd())
    }
  }
  return {
    async release() {
      await esbuild?.stop()
    },
  }
}
