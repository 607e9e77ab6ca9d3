import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: where the demo's serverless.yml is. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = fileURLToPath(new URL('../../node_modules/serverless/bin/serverless.js', import.meta.url))

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the Serverless CLI (osls) to completion; kills it after `timeoutMs`. */
export function serverless(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return runProcess(process.execPath, [CLI, ...args], { ...options, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', ...options.env } })
}

/** Runs a command to completion (in ROOT unless told, with the given environment); kills it after `timeoutMs`. */
export function runProcess(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${options.timeoutMs ?? 120_000} ms\n${stdout}\n${stderr}`))
    }, options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** A port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return ((await freePorts(1)) as [number])[0]
}

/** `count` distinct ports free on 127.0.0.1 right now (each held until all are picked, so none is picked twice). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const server = createServer()
        server.unref()
        server.on('error', reject)
        server.listen(0, '127.0.0.1', () => resolve(server))
      }),
    ),
  )
  const ports = servers.map((server) => {
    const address = server.address()
    return typeof address === 'object' && address !== null ? address.port : 0
  })
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
}

export interface Offline {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** The local S3, SQS and SNS endpoint serverless offline started on AWS (`http://127.0.0.1:<port>`). */
  services: string
  /** The local console (`http://127.0.0.1:<port>`, on a free port), '' when it printed none. */
  console: string
  /** Everything the process wrote to stdout so far (handlers' log lines). */
  stdout(): string
  /** Everything the process wrote to stderr so far (the framework's and plugins' errors). */
  stderr(): string
  /** Resolves with the first stdout line matching, or rejects after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>
  stop(): Promise<void>
}

/**
 * Starts `serverless offline` for a service (default: the demo) on free ports of 127.0.0.1 and resolves once it
 * serves: its routes, its Lambda endpoint and its local AWS services (state in a temporary folder of its own, so
 * runs do not see each other's messages). The caller must call stop() (in an after hook), which interrupts it, waits
 * for it to exit and removes that folder.
 */
export async function startOffline(params: Record<string, string> = {}, timeoutMs = 90_000, cwd = ROOT, cli = CLI, env: NodeJS.ProcessEnv = {}): Promise<Offline> {
  // Picked together: a port the system hands out for 0 could be one just picked for another server.
  const [httpPort, lambdaPort, servicesPort] = (await freePorts(3)) as [number, number, number]
  const state = mkdtempSync(join(tmpdir(), 'polycloud-offline-state-'))
  // The plugin's own options only where the service uses the plugin (osls refuses options no plugin declares).
  const polycloud = /^\s*-\s*serverless-polycloud\s*$/m.test(readFileSync(join(cwd, 'serverless.yml'), 'utf8'))
  const args = ['offline', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort), ...(polycloud ? ['--servicesPort', String(servicesPort), '--stateDir', state, '--consolePort', '0'] : [])]
  for (const [key, value] of Object.entries(params)) args.push(`--param=${key}=${value}`)
  let offline: ServerlessProcess
  try {
    offline = await startServerless(args, { cwd, timeoutMs, cli, env })
  } catch (error) {
    rmSync(state, { recursive: true, force: true })
    throw error
  }
  const services = /local AWS on (http:\/\/127\.0\.0\.1:\d+)/.exec(offline.stderr())?.[1] ?? ''
  return {
    ...offline,
    url: `http://127.0.0.1:${httpPort}`,
    services,
    console: consoleUrl(offline),
    async stop() {
      await offline.stop()
      rmSync(state, { recursive: true, force: true })
    },
  }
}

/** The local console's address a `serverless offline` printed (`Polycloud console: http://...`), or ''. */
export function consoleUrl(run: Pick<Offline, 'stdout' | 'stderr'>): string {
  return /Polycloud console: (http:\/\/127\.0\.0\.1:\d+)/.exec(`${run.stderr()}\n${run.stdout()}`)?.[1] ?? ''
}

/** A long-running Serverless command (`offline`), with what it wrote so far. */
export type ServerlessProcess = Omit<Offline, 'url' | 'services' | 'console'>

/**
 * Starts a long-running Serverless CLI command and resolves once it printed `Server ready:` on stderr. The caller
 * must call stop() (in an after hook), which interrupts it (SIGINT, as Ctrl-C) and waits for it to exit.
 */
export async function startServerless(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cli?: string } = {},
): Promise<ServerlessProcess> {
  const timeoutMs = options.timeoutMs ?? 90_000
  const child: ChildProcess = spawn(process.execPath, [options.cli ?? CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = []
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk
    for (const waiter of [...waiters]) {
      const line = stdout.split('\n').find((candidate) => waiter.pattern.test(candidate))
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGINT')
    const killed = await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 10_000))])
    if (!killed) {
      child.kill('SIGKILL')
      await exited
    }
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`serverless ${args.join(' ')} did not get ready in ${timeoutMs} ms:\n${stderr}`))
    }, timeoutMs)
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk
      if (stderr.includes('Server ready:')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serverless ${args.join(' ')} exited with ${code} before it was ready:\n${stderr}`))
    })
  })
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    waitForLine: (pattern, waitMs) => {
      const found = stdout.split('\n').find((line) => pattern.test(line))
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no stdout line matched ${pattern} in ${waitMs} ms`)), waitMs)
        waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) })
      })
    },
    stop,
  }
}
