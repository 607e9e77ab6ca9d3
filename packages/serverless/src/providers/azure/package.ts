/**
 * `serverless package` for Azure: the app as a Flex Consumption deployment zip, `.serverless/<service>.zip`:
 * `host.json`, `package.json` (its `main` names the bundle), `dist/app.cjs` (every function, registered through
 * @azure/functions v4, `@azure/functions-core` left to the worker) and its source map, with unix file modes.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { bundle } from '../../bundle.js'
import { buildInputs } from '../../reload.js'
import type { Json, ServiceContext } from '../../provider.js'
import { writeZip, type ZipEntry } from '../../zip.js'
import { ENTRY_FILE } from './entry.js'
import type { AppSettings, AzurePlan } from './plan.js'

/** The queue settings of host.json (`extensions.queues`) the Storage queue trigger uses unless told otherwise. */
export const QUEUE_DEFAULTS = { batchSize: 16, maxDequeueCount: 5, visibilityTimeout: '00:00:00', messageEncoding: 'base64' } as const

/** The app's one bundle and the file name `main` points at. */
export const BUNDLE = 'dist/app.cjs'

/** `hh:mm:ss` (and `d.hh:mm:ss` past a day), as host.json writes durations. */
export function timeSpan(seconds: number): string {
  const whole = Math.ceil(seconds)
  const days = Math.floor(whole / 86400)
  const pad = (value: number) => String(value).padStart(2, '0')
  const time = `${pad(Math.floor((whole % 86400) / 3600))}:${pad(Math.floor((whole % 3600) / 60))}:${pad(whole % 60)}`
  return days > 0 ? `${days}.${time}` : time
}

/** host.json of the app: Functions 4 extension bundle, the `api` route prefix, the timeout, the triggers' settings. */
export function hostJson(settings: AppSettings): Json {
  const extensions: Json = { http: { routePrefix: 'api' } }
  const queues: Json = { ...QUEUE_DEFAULTS }
  const serviceBus: Json = {}
  for (const [key, value] of Object.entries(settings.host)) {
    const [section, name] = key.split('.') as [string, string]
    ;(section === 'queues' ? queues : serviceBus)[name] = value
  }
  extensions.queues = queues
  if (Object.keys(serviceBus).length > 0) extensions.serviceBus = serviceBus
  return {
    version: '2.0',
    extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
    functionTimeout: timeSpan(settings.timeout),
    extensions,
    logging: { logLevel: { default: 'Information' } },
  }
}

/** The zip of a packaged app, with what went into it. */
export interface PackagedApp {
  readonly zip: string
  readonly bytes: number
  readonly settings: AppSettings
  readonly host: Json
  /** The source files bundled (absolute paths), which `offline` watches. */
  readonly inputs: readonly string[]
}

/**
 * Bundles the entry and writes the zip. Source map paths are rewritten to be relative to the bundle's place in the
 * zip, so a stack trace on Azure (`NODE_OPTIONS=--enable-source-maps`) names `handlers/hello.ts` and its line.
 */
export async function packageApp(context: ServiceContext<AzurePlan>): Promise<PackagedApp> {
  const { settings, notes } = context.plan.settings()
  for (const note of notes) context.log.warning(note)
  const outdir = join(context.workDir, 'dist')
  const { metafile } = await bundle(
    {
      entries: { app: join(context.workDir, ENTRY_FILE) },
      outdir,
      platform: 'node',
      format: 'cjs',
      target: `node${settings.node}`,
      extension: '.cjs',
      external: ['@azure/functions-core'],
      sourceRoot: context.servicePath,
    },
    `the Azure app of ${context.service}`,
  )
  const code = readFileSync(join(outdir, 'app.cjs'))
  const map = JSON.parse(readFileSync(join(outdir, 'app.cjs.map'), 'utf8')) as { sources: string[] }
  // In the zip the bundle sits in dist/ at the root of the app, as if the service folder were the root.
  const zipDist = join(context.servicePath, dirname(BUNDLE))
  map.sources = map.sources.map((source) => {
    // Libraries bundled by webpack name their sources `webpack://<package>/...`: kept as such.
    const webpack = source.indexOf('webpack:/')
    if (webpack !== -1) return `webpack://${source.slice(webpack + 'webpack:/'.length).replace(/^\/+/, '')}`
    return relative(zipDist, resolve(outdir, source)).replaceAll('\\', '/')
  })
  const host = hostJson(settings)
  const packageJson = { name: context.service, version: '1.0.0', private: true, description: `${context.service} (${context.stage}), packaged by serverless-polycloud`, main: BUNDLE }
  const entries: ZipEntry[] = [
    { name: 'host.json', data: `${JSON.stringify(host, null, 2)}\n` },
    { name: 'package.json', data: `${JSON.stringify(packageJson, null, 2)}\n` },
    { name: BUNDLE, data: code },
    { name: `${BUNDLE}.map`, data: JSON.stringify(map) },
  ]
  const zip = join(context.packageDir, `${context.service}.zip`)
  const bytes = await writeZip(zip, entries)
  return { zip, bytes, settings, host, inputs: buildInputs(metafile, context.servicePath) }
}

/** `serverless package`. */
export async function packageCommand(context: ServiceContext<AzurePlan>): Promise<void> {
  const started = Date.now()
  const app = await packageApp(context)
  context.log.notice(`Packaged ${context.plan.functions.length} functions for Azure: ${app.zip} (${Math.round(app.bytes / 1024)} KB, ${Date.now() - started} ms)`)
}
