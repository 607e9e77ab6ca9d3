/**
 * The shared reading of a service's functions, the same for every provider: each event planned by the target,
 * the handler module resolved and checked, the handler kinds the events agree on.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { BundleError, bundle } from './bundle.js'
import { parseHandler } from './entry.js'
import { ConfigError, locate } from './errors.js'
import type { CheckProblem, CheckRequest } from './handler-check.js'
import type {
  EventPlan,
  EventSpec,
  FunctionConfig,
  FunctionInfo,
  Kind,
  PlanContext,
  PreparedFunction,
  ProviderTarget,
  SourceRef,
} from './provider.js'
import { ALL_KINDS, providerName, type ProviderName } from './provider.js'
import { isNeutralEvent } from './schema.js'
import { apiKeysVariable, functionSecurity, KEYS_VARIABLE, preflightRoutes, serviceDefaults, type PolicyResolver } from './security.js'

type Json = Record<string, unknown>

/** The settings of one function: timeout, memory and environment resolved against the provider block. */
export function functionInfo(name: string, config: FunctionConfig, providerConfig: Readonly<Json>, defaultTimeout: number): FunctionInfo {
  const timeout = config.timeout ?? (providerConfig.timeout as number | undefined) ?? defaultTimeout
  const memorySize = config.memorySize ?? (providerConfig.memorySize as number | undefined)
  const environment: Record<string, string> = {}
  for (const source of [providerConfig.environment, config.environment]) {
    if (typeof source !== 'object' || source === null) continue
    for (const [key, value] of Object.entries(source as Json)) {
      if (value !== undefined && value !== null) environment[key] = typeof value === 'string' ? value : JSON.stringify(value)
    }
  }
  return { name, config, timeout, memorySize, environment }
}

/** Whether a function's `excludeFrom` names the provider (in any of its spellings). */
export function isExcluded(config: FunctionConfig, provider: ProviderName): boolean {
  return Array.isArray(config.excludeFrom) && config.excludeFrom.some((name) => providerName(name) === provider)
}

/** How routes are secured: `custom.polycloud.http` and the policy resolver of `@polycloud/auth`. */
export interface SecurityOptions {
  readonly http?: Json | undefined
  readonly resolve?: PolicyResolver | undefined
}

/**
 * Every Polycloud function of the service (not those with `polycloud: false`, nor excluded from this provider),
 * read and checked: first every function's settings and security, then each event planned by the target (which may
 * look at the whole service through `context.functions`), with an `OPTIONS` route added for each path whose CORS
 * preflights the generated entry answers.
 */
export function prepareFunctions<N>(
  functions: Readonly<Record<string, FunctionConfig>>,
  target: ProviderTarget<N>,
  base: PlanContext,
  security: SecurityOptions = {},
): Array<PreparedFunction<N>> {
  const defaults = serviceDefaults(security.http)
  const infos: FunctionInfo[] = []
  for (const [name, config] of Object.entries(functions)) {
    if (config.polycloud === false || isExcluded(config, target.name)) continue
    const info = functionInfo(name, config, base.providerConfig, target.defaultTimeout)
    const routeSecurity = functionSecurity(name, config, defaults, security.resolve)
    if (routeSecurity === undefined) {
      infos.push(info)
      continue
    }
    const environment = { ...info.environment }
    if (routeSecurity.resolved.auth.kind === 'key') environment[KEYS_VARIABLE] = apiKeysVariable(name, security.http?.keys as Json | undefined)
    infos.push({ ...info, environment, security: routeSecurity })
  }
  // The context delegates to the caller's (its `resources` is a getter that creates them only when asked).
  const context: PlanContext = Object.assign(Object.create(base) as PlanContext, { functions: infos })
  const preflights = target.answersPreflight?.(context) ? new Map<string, string[]>() : preflightRoutes(infos)
  const prepared: Array<PreparedFunction<N>> = []
  for (const info of infos) {
    const { name, config } = info
    const declared = (config.events ?? []).map((event, index) => {
      const key = Object.keys(event)[0] as string
      const spec: EventSpec = { key, value: event[key], path: `functions.${name}.events[${index}].${key}`, neutral: isNeutralEvent(key) }
      let plan: EventPlan<N> | undefined
      try {
        plan = target.plan(spec, info, context)
      } catch (error) {
        throw locate(spec.path, error)
      }
      if (plan === undefined) {
        throw new ConfigError(
          spec.path,
          `native event ${JSON.stringify(key)} is not served by Polycloud's ${target.title} adapter; set "polycloud: false" on the function to deploy a native handler`,
        )
      }
      return { spec, plan }
    })
    const preflight = (preflights.get(name) ?? []).map((path) => {
      const spec: EventSpec = { key: 'route', value: { method: 'OPTIONS', path }, path: `functions.${name}.events (the CORS preflight of ${path})`, neutral: true }
      const plan = target.plan(spec, info, context) as EventPlan<N>
      return { spec, plan }
    })
    const events = [...declared, ...preflight, ...(target.implicitPlans?.(info) ?? [])]
    const kinds = commonKinds(name, events)
    const handler = parseHandler(config.handler, context.servicePath, `functions.${name}.handler`)
    prepared.push({ ...info, handler, handlerText: config.handler as string, events, kinds, sources: uniqueSources(events) })
  }
  return prepared
}

/** The handler kinds every event of a function can feed; none means the events cannot share one handler. */
export function commonKinds(functionName: string, events: ReadonlyArray<{ readonly spec: EventSpec; readonly plan: EventPlan<unknown> }>): Kind[] {
  if (events.length === 0) return [...ALL_KINDS]
  let kinds = [...events[0]!.plan.kinds]
  for (const { plan } of events.slice(1)) kinds = kinds.filter((kind) => plan.kinds.includes(kind))
  if (kinds.length === 0) {
    const described = events.map(({ spec, plan }) => `${spec.key} (${plan.kinds.join('/')})`).join(', ')
    throw new ConfigError(`functions.${functionName}.events`, `these events cannot share one portable handler: ${described}`)
  }
  return kinds
}

function uniqueSources(events: ReadonlyArray<{ readonly plan: EventPlan<unknown> }>): SourceRef[] {
  const seen = new Set<string>()
  const out: SourceRef[] = []
  for (const { plan } of events) {
    for (const source of plan.sources) {
      const key = `${source.module}#${source.name}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push(source)
    }
  }
  return out
}

/** How long loading the handler modules may take before the check gives up on them. */
const CHECK_TIMEOUT_MS = 30_000

/** Lets the bundled ESM check modules call `require` and read `__dirname`, as CommonJS handlers do. */
const ESM_SHIMS = [
  "import { createRequire as __polycloudRequire } from 'node:module'",
  "import { fileURLToPath as __polycloudPath } from 'node:url'",
  'const require = __polycloudRequire(import.meta.url)',
  'const __filename = __polycloudPath(import.meta.url)',
  "const __dirname = __polycloudPath(new URL('.', import.meta.url))",
].join('\n')

/**
 * Checks, before any bundling, that each function's handler module loads and exports a portable handler of a kind
 * its events feed: the same check the generated entry runs at start-up, so a wiring mistake fails the command
 * (`package`, `deploy`, `offline`, `invoke local`) with the file, the export and the kinds named, instead of a
 * deployed function failing its first invocation.
 *
 * Each module is bundled alone (packages left to Node, inline source maps) into `<workDir>/check/` and loaded in a
 * Node process of its own with the function's environment, which exits once it has answered: a module's timers
 * or sockets cannot keep the command alive. A module esbuild cannot build is left to the bundler, which reports it
 * with the options the service gives it (loaders, defines).
 */
export async function checkHandlers(
  functions: ReadonlyArray<PreparedFunction<unknown>>,
  options: { readonly servicePath: string; readonly workDir: string; readonly adapter?: string; readonly timeoutMs?: number },
): Promise<void> {
  if (functions.length === 0) return
  const { servicePath } = options
  if (options.adapter !== undefined) {
    try {
      createRequire(join(servicePath, 'package.json')).resolve(options.adapter)
    } catch {
      throw new ConfigError('functions', `the generated entries import ${options.adapter}, which is not installed in ${servicePath}: npm install ${options.adapter}`)
    }
  }
  const dir = join(options.workDir, 'check')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const files = [...new Set(functions.map((fn) => fn.handler.file))]
  const names = new Map(files.map((file, index) => [file, `module${index}`]))
  try {
    await bundle(
      {
        entries: Object.fromEntries(files.map((file) => [names.get(file) as string, join(servicePath, file)])),
        outdir: dir,
        platform: 'node',
        format: 'esm',
        target: `node${process.versions.node.split('.')[0]}`,
        extension: '.mjs',
        packages: 'external',
        sourcemap: 'inline',
        minify: false,
        sourceRoot: servicePath,
        banner: ESM_SHIMS,
      },
      'the handler modules',
    )
  } catch (error) {
    if (error instanceof BundleError) return
    throw error
  }
  const requests: CheckRequest[] = functions.map((fn) => ({
    id: fn.name,
    url: pathToFileURL(join(dir, `${names.get(fn.handler.file)}.mjs`)).href,
    exportName: fn.handler.exportName,
    kinds: fn.kinds,
    label: `${fn.handler.file} export ${JSON.stringify(fn.handler.exportName)}`,
  }))
  const input = join(dir, 'requests.json')
  const output = join(dir, 'problems.json')
  writeFileSync(input, JSON.stringify(requests))
  await runCheck(input, output, servicePath, functions[0]!.environment, options.timeoutMs ?? CHECK_TIMEOUT_MS, files)
  const problems = JSON.parse(readFileSync(output, 'utf8')) as CheckProblem[]
  if (problems.length === 0) return
  const byName = new Map(functions.map((fn) => [fn.name, fn]))
  const reported = new Set<string>()
  const lines: string[] = []
  for (const problem of problems) {
    const fn = byName.get(problem.id) as PreparedFunction<unknown>
    if (problem.kind === 'load') {
      // One module, one report, however many functions it serves.
      if (reported.has(fn.handler.file)) continue
      reported.add(fn.handler.file)
      lines.push(`functions.${fn.name}.handler: ${fn.handler.file} failed to load: ${loadError(problem.message, servicePath, files.map((file) => [join(dir, `${names.get(file)}.mjs`), file]))}`)
    } else {
      lines.push(`functions.${fn.name}.handler: ${problem.message}`)
    }
  }
  const [first, ...rest] = lines as [string, ...string[]]
  const at = first.indexOf(': ')
  throw new ConfigError(first.slice(0, at), [first.slice(at + 2), ...rest].join('\n'))
}

/** Runs the check process; rejects with a ConfigError when it fails or does not answer in time. */
function runCheck(input: string, output: string, cwd: string, environment: Readonly<Record<string, string>>, timeoutMs: number, files: readonly string[]): Promise<void> {
  const worker = fileURLToPath(new URL('./handler-check.js', import.meta.url))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, input, output], {
      cwd,
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new ConfigError('functions', `loading the handler modules (${files.join(', ')}) did not finish in ${timeoutMs / 1000} s: does one wait at its top level for something that never comes?`))
    }, timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else if (signal !== 'SIGKILL') reject(new Error(`the handler check exited with ${signal ?? code}: ${stderr.trim()}`))
    })
  })
}

/**
 * A load failure's stack, as the user can act on it: the check's bundles named by the handler files they were
 * built from, paths relative to the service, the frames of the check's own machinery dropped.
 */
function loadError(stack: string, servicePath: string, bundles: ReadonlyArray<readonly [string, string]>): string {
  const root = servicePath.endsWith(sep) ? servicePath : servicePath + sep
  const [message, ...frames] = stack.split('\n')
  const kept = frames.filter((frame) => !/node:internal|handler-check\.[jt]s|\(<anonymous>\)|^\s*at async Promise/.test(frame))
  let text = [message, ...kept].join('\n')
  for (const [bundled, file] of bundles) text = text.replaceAll(pathToFileURL(bundled).href, file).replaceAll(bundled, file)
  return text.replaceAll(pathToFileURL(root).href, '').replaceAll(root, '')
}
