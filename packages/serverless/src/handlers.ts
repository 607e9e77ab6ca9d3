/**
 * The handler of each function: its reference (`handlers/notes.get`) resolved to a module of the service, and,
 * before any bundling, the check that the module loads and exports a portable handler of a kind its events feed.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { BundleError, bundle } from './bundle.js'
import { ConfigError } from './errors.js'
import type { CheckProblem, CheckRequest } from './handler-check.js'
import type { Kind } from './provider.js'

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs', '.tsx', '.jsx']

export interface HandlerRef {
  /** Module path relative to the service, without extension (`handlers/notes`). */
  readonly module: string
  /** Export name (`get`, or `default`). */
  readonly exportName: string
  /** The module's file relative to the service, as found (`handlers/notes.ts`). */
  readonly file: string
}

/** `handlers/notes.get` -> module `handlers/notes`, export `get`; checks the module exists. */
export function parseHandler(handler: unknown, servicePath: string, path: string): HandlerRef {
  const match = typeof handler === 'string' ? /^(.+)\.([A-Za-z_$][\w$]*)$/.exec(handler) : null
  if (!match) throw new ConfigError(path, `${JSON.stringify(handler)} is not "<module path>.<export>" (e.g. handlers/notes.get)`)
  const module = (match[1] as string).replace(/^\.\//, '')
  const extension = EXTENSIONS.find((candidate) => existsSync(join(servicePath, module + candidate)))
  if (extension === undefined) {
    throw new ConfigError(path, `module ${module} not found (looked for ${module}{${EXTENSIONS.join(',')}})`)
  }
  return { module, exportName: match[2] as string, file: module + extension }
}

/** What the check reads of a function. */
export interface CheckedFunction {
  readonly name: string
  readonly handler: HandlerRef
  /** The kinds its events feed. */
  readonly kinds: readonly Kind[]
  readonly environment: Readonly<Record<string, string>>
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
  functions: ReadonlyArray<CheckedFunction>,
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
    const fn = byName.get(problem.id) as CheckedFunction
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
