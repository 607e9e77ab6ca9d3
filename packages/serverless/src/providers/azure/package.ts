/**
 * `serverless package` for Azure: the app as a Flex Consumption deployment zip, `.serverless/<service>.zip`:
 * `host.json`, `package.json` (its `main` names the bundle), `dist/app.cjs` (every function, registered through
 * @azure/functions v4, `@azure/functions-core` left to the worker) and its source map, with unix file modes.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { bundle, nodeMajor } from '../../bundle.js'
import { ConfigError } from '../../errors.js'
import type { Logger, PreparedFunction, ServiceContext } from '../../provider.js'
import { writeZip, type ZipEntry } from '../../zip.js'
import type { AzureTrigger } from './mapping.js'

type Json = Record<string, unknown>

/** Instance memory sizes of Flex Consumption, in MB. */
export const FLEX_MEMORY = [512, 2048, 4096] as const

/** Node versions Flex Consumption runs; 20 reached end of life on 2026-04-30. */
export const NODE_VERSIONS = [22, 24] as const

/** The queue settings of host.json (`extensions.queues`) the Storage queue trigger uses unless told otherwise. */
export const QUEUE_DEFAULTS = { batchSize: 16, maxDequeueCount: 5, visibilityTimeout: '00:00:00', messageEncoding: 'base64' } as const

/** The app's one bundle and the file name `main` points at. */
export const BUNDLE = 'dist/app.cjs'

export const ENTRY_FILE = 'app.js'

/** `hh:mm:ss` (and `d.hh:mm:ss` past a day), as host.json writes durations. */
export function timeSpan(seconds: number): string {
  const whole = Math.ceil(seconds)
  const days = Math.floor(whole / 86400)
  const pad = (value: number) => String(value).padStart(2, '0')
  const time = `${pad(Math.floor((whole % 86400) / 3600))}:${pad(Math.floor((whole % 3600) / 60))}:${pad(whole % 60)}`
  return days > 0 ? `${days}.${time}` : time
}

/** What the app's settings resolve to: one timeout, one instance size, one Node version for every function. */
export interface AppSettings {
  readonly timeout: number
  readonly memoryMB: (typeof FLEX_MEMORY)[number]
  readonly node: (typeof NODE_VERSIONS)[number]
  /** host.json settings the triggers asked for (`queues.batchSize`, ...). */
  readonly host: Readonly<Record<string, number>>
}

/**
 * The app-wide settings of the functions. Azure has one timeout and one instance size per app: the largest any
 * function asks for (a warning names the functions that get more than they asked). App-wide trigger settings
 * (`queues.batchSize`, `queues.maxDequeueCount`) must agree between the functions that set them.
 */
export function appSettings(functions: ReadonlyArray<PreparedFunction<AzureTrigger>>, providerConfig: Readonly<Json>, log?: Logger): AppSettings {
  const timeout = Math.max(...functions.map((fn) => fn.timeout), 1)
  const longer = functions.filter((fn) => fn.timeout < timeout).map((fn) => fn.name)
  if (longer.length > 0) log?.warning(`Azure has one function timeout per app (host.json functionTimeout): ${timeout} s, also for ${longer.join(', ')}`)
  // Flex Consumption's default instance is 2048 MB; a size asked for is rounded up to the next one Flex has.
  const memory = Math.max(...functions.map((fn) => fn.memorySize ?? 0), 0)
  const memoryMB = memory === 0 ? 2048 : FLEX_MEMORY.find((size) => size >= memory)
  if (memoryMB === undefined) {
    const fn = functions.find((candidate) => (candidate.memorySize ?? 0) === memory)
    throw new ConfigError(`functions.${fn?.name ?? '?'}.memorySize`, `${memory} MB cannot be honoured on Flex Consumption (instance sizes: ${FLEX_MEMORY.join(', ')} MB)`)
  }
  const host: Record<string, number> = {}
  const setBy: Record<string, string> = {}
  for (const fn of functions) {
    fn.events.forEach(({ spec, plan }) => {
      for (const [key, value] of Object.entries(plan.native.host ?? {})) {
        if (host[key] !== undefined && host[key] !== value) {
          throw new ConfigError(spec.path, `${key} ${value} differs from ${host[key]} set by ${setBy[key]}: it is one setting for the whole Azure app (host.json)`)
        }
        host[key] = value
        setBy[key] = spec.path
      }
    })
  }
  return { timeout, memoryMB, node: nodeVersion(providerConfig.runtime, log), host }
}

/** The Node version to run: the runtime's major, 20 moved to 22 (end of life), unknown ones refused. */
export function nodeVersion(runtime: unknown, log?: Logger): AppSettings['node'] {
  if (runtime === undefined) return 22
  const major = nodeMajor(runtime)
  if (major === 20) {
    log?.warning('Node.js 20 reached end of life on 2026-04-30 and Azure Functions no longer runs it: the app is built and deployed for Node.js 22')
    return 22
  }
  if (major === undefined || !(NODE_VERSIONS as readonly number[]).includes(major)) {
    throw new ConfigError('provider.runtime', `${JSON.stringify(runtime)} is not a Node.js version Azure Functions (Flex Consumption) runs: use nodejs22.x or nodejs24.x`)
  }
  return major as AppSettings['node']
}

/**
 * The app settings of the functions' `environment` (provider's and functions'): one set for the whole app on
 * Azure, so two functions giving one variable different values is refused.
 */
export function appEnvironment(functions: ReadonlyArray<PreparedFunction<AzureTrigger>>): Record<string, string> {
  const environment: Record<string, string> = {}
  const setBy: Record<string, string> = {}
  for (const fn of functions) {
    for (const [key, value] of Object.entries(fn.environment)) {
      if (environment[key] !== undefined && environment[key] !== value) {
        throw new ConfigError(`functions.${fn.name}.environment.${key}`, `differs from the value functions.${setBy[key]} gives it: app settings are shared by every function of an Azure app`)
      }
      environment[key] = value
      setBy[key] = fn.name
    }
  }
  return environment
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
}

/**
 * Bundles the entry and writes the zip. Source map paths are rewritten to be relative to the bundle's place in the
 * zip, so a stack trace on Azure (`NODE_OPTIONS=--enable-source-maps`) names `handlers/hello.ts` and its line.
 */
export async function packageApp(context: ServiceContext<AzureTrigger>): Promise<PackagedApp> {
  const settings = appSettings(context.functions, context.providerConfig, context.log)
  const outdir = join(context.workDir, 'dist')
  await bundle(
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
  return { zip, bytes, settings, host }
}
