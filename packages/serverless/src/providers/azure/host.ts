/**
 * The host side of the local Functions runtime: starts the Node worker (`worker.ts`) on the packaged app, sends it
 * invocations, enforces host.json's functionTimeout, writes the host's log lines (in the Functions host's own
 * wording: `Executing 'Functions.x' (Reason=..., Id=...)`, `Executed ... (Succeeded|Failed, ...)`), and starts a new
 * worker when one exits or times out, as the host does.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { ProviderError } from '../../errors.js'
import type { HostMessage, RegisteredFunction, RpcResponseShape, RpcTypedDataShape, WorkerMessage } from './rpc.js'
import { triggerOf } from './rpc.js'

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url))

export type HostLogLevel = 'debug' | 'info' | 'warn' | 'error'
export const LOG_LEVELS: readonly HostLogLevel[] = ['debug', 'info', 'warn', 'error']

/** The worker's RPC log levels as the host's. */
const RPC_LEVELS: Readonly<Record<string, HostLogLevel>> = { trace: 'debug', debug: 'debug', information: 'info', warning: 'warn', error: 'error', critical: 'error', none: 'debug' }

/** Where the host's lines go, filtered by level. */
export interface HostLog {
  (level: HostLogLevel, line: string): void
}

export function hostLog(write: (line: string) => void, minimum: HostLogLevel = 'info'): HostLog {
  const floor = LOG_LEVELS.indexOf(minimum)
  return (level, line) => {
    if (LOG_LEVELS.indexOf(level) >= floor) write(`[${new Date().toISOString()}] ${line}`)
  }
}

export interface InvocationResult {
  readonly invocationId: string
  readonly succeeded: boolean
  readonly response?: RpcResponseShape
  /** The function's error (message and stack), or the host's (timeout, worker exit). */
  readonly error?: string
}

export interface Invocation {
  readonly functionName: string
  readonly data: RpcTypedDataShape
  readonly metadata: Record<string, RpcTypedDataShape>
  /** Why it runs, as the host says it (`New queue message detected on 'orders'.`). */
  readonly reason: string
  /** Lines the host writes after `Executing` (the trigger details). */
  readonly details?: string
  readonly retryContext?: { retryCount: number; maxRetryCount: number }
}

export interface LocalHost {
  readonly functions: readonly RegisteredFunction[]
  invoke(invocation: Invocation): Promise<InvocationResult>
  /**
   * Serves another build of the app (its folder) from the next invocation on: a new worker loads it, and once it has
   * registered the same functions it takes every new invocation, while the old one finishes its own and stops.
   * Rejects, the old worker serving still, when the new one cannot load the app.
   */
  reload(appDir: string): Promise<void>
  stop(): Promise<void>
}

interface Pending {
  readonly resolve: (result: InvocationResult) => void
  readonly timer: NodeJS.Timeout
  /** The worker running the invocation. */
  readonly worker: Worker
}

interface Worker {
  readonly child: ChildProcess
  readonly functions: RegisteredFunction[]
}

/** Starts a worker on `appDir`; resolves once it has loaded the app and registered its functions. */
function startWorker(appDir: string, env: NodeJS.ProcessEnv, onMessage: (message: WorkerMessage) => void, log: HostLog): Promise<Worker> {
  const child = fork(WORKER, [appDir], {
    cwd: appDir,
    env,
    execArgv: ['--enable-source-maps'],
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  // What the app writes to stdout/stderr itself (console.log) is the host's too.
  for (const [stream, level] of [[child.stdout, 'info'], [child.stderr, 'warn']] as const) {
    let buffered = ''
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) if (line !== '') log(level, line)
    })
  }
  return new Promise((resolve, reject) => {
    const onReady = (message: WorkerMessage): void => {
      if (message.type === 'ready') {
        child.off('message', onReady)
        child.on('message', onMessage)
        resolve({ child, functions: message.functions })
      } else if (message.type === 'failed') {
        reject(new ProviderError(`the Node.js worker could not load the app: ${message.message}`))
      } else onMessage(message)
    }
    child.on('message', onReady)
    child.once('exit', (code, signal) => reject(new ProviderError(`the Node.js worker exited (${signal ?? code}) while loading the app`)))
    child.once('error', reject)
  })
}

/**
 * Starts the local host's worker on a packaged app folder. `timeoutMs` is host.json's functionTimeout: an
 * invocation still running then fails, and the worker is replaced.
 */
export async function startHost(options: { readonly appDir: string; readonly env: NodeJS.ProcessEnv; readonly timeoutMs: number; readonly log: HostLog }): Promise<LocalHost> {
  const { env, timeoutMs, log } = options
  /** The app a new worker loads (a reload changes it). */
  let appDir = options.appDir
  const pending = new Map<string, Pending>()
  let stopping = false
  let worker: Worker
  let starting: Promise<Worker> | undefined

  const settle = (invocationId: string, result: Omit<InvocationResult, 'invocationId'>): void => {
    const entry = pending.get(invocationId)
    if (!entry) return
    pending.delete(invocationId)
    clearTimeout(entry.timer)
    entry.resolve({ invocationId, ...result })
  }

  const onMessage = (message: WorkerMessage): void => {
    if (message.type === 'log') {
      const level = RPC_LEVELS[message.level.toLowerCase()] ?? 'info'
      log(level, message.category === 'system' ? `Worker: ${message.message}` : message.message)
    } else if (message.type === 'result') {
      settle(message.invocationId, message.error ? { succeeded: false, error: message.error.stack } : { succeeded: true, ...(message.response ? { response: message.response } : {}) })
    }
  }

  /** Workers replaced by a reload, finishing their invocations. */
  const retiring = new Set<Worker>()

  /** When a worker exits: its invocations fail, and the serving one is replaced, as the host does. */
  const supervise = (started: Worker): Worker => {
    started.child.once('exit', (code, signal) => {
      retiring.delete(started)
      for (const [id, entry] of [...pending]) if (entry.worker === started) settle(id, { succeeded: false, error: `the language worker exited (${signal ?? code}) during the invocation` })
      if (stopping || worker !== started) return
      log('warn', `The language worker exited (${signal ?? code}); starting a new one`)
      starting = launch().then((next) => (worker = next))
      starting.catch((error: unknown) => log('error', `The language worker could not be restarted: ${(error as Error).message}`))
    })
    return started
  }

  const launch = async (): Promise<Worker> => supervise(await startWorker(appDir, env, onMessage, log))

  worker = await launch()
  const functions = worker.functions

  /** Stops a worker: a `stop` message (its app's terminate hooks run), then SIGKILL after 3 s. */
  const stopWorker = async (target: Worker): Promise<void> => {
    const child = target.child
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.send({ type: 'stop' } satisfies HostMessage, () => {})
    const ended = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref())])
    if (!ended) {
      child.kill('SIGKILL')
      await exited
    }
  }

  /** Stops a replaced worker once the invocations it runs have ended. */
  const retire = async (old: Worker): Promise<void> => {
    while ([...pending.values()].some((entry) => entry.worker === old)) await new Promise((resolve) => setTimeout(resolve, 25))
    await stopWorker(old)
  }

  const restart = (): void => {
    const old = worker
    starting = launch().then((next) => (worker = next))
    starting.catch((error: unknown) => log('error', `The language worker could not be restarted: ${(error as Error).message}`))
    old.child.kill('SIGKILL')
  }

  return {
    functions,
    async invoke(invocation) {
      if (starting) await starting.catch(() => {})
      const invocationId = randomUUID()
      const fn = functions.find((candidate) => candidate.name === invocation.functionName)
      if (fn === undefined) return { invocationId, succeeded: false, error: `no function ${invocation.functionName}` }
      const started = Date.now()
      log('info', `Executing 'Functions.${fn.name}' (Reason='${invocation.reason}', Id=${invocationId})`)
      if (invocation.details) log('info', invocation.details)
      const result = await new Promise<InvocationResult>((resolve) => {
        const timer = setTimeout(() => {
          log('error', `Timeout value of ${Math.round(timeoutMs / 1000)} s exceeded by function 'Functions.${fn.name}' (Id: '${invocationId}'). Initiating cancellation.`)
          settle(invocationId, { succeeded: false, error: `Timeout value of ${Math.round(timeoutMs / 1000)} s was exceeded by function: Functions.${fn.name}` })
          restart()
        }, timeoutMs)
        pending.set(invocationId, { resolve, timer, worker })
        const message: HostMessage = {
          type: 'invoke',
          invocationId,
          functionName: fn.name,
          inputData: [{ name: triggerOf(fn).name, data: invocation.data }],
          triggerMetadata: invocation.metadata,
          ...(invocation.retryContext ? { retryContext: invocation.retryContext } : {}),
        }
        worker.child.send(message, (error) => {
          if (error) settle(invocationId, { succeeded: false, error: `the language worker is gone: ${error.message}` })
        })
      })
      const duration = Date.now() - started
      if (result.succeeded) log('info', `Executed 'Functions.${fn.name}' (Succeeded, Id=${invocationId}, Duration=${duration}ms)`)
      else log('error', `Executed 'Functions.${fn.name}' (Failed, Id=${invocationId}, Duration=${duration}ms)\n${result.error ?? ''}`)
      return result
    },
    async reload(nextDir) {
      if (starting) await starting.catch(() => {})
      let next: Worker
      try {
        next = await startWorker(nextDir, env, onMessage, log)
      } catch (error) {
        throw new ProviderError(`the new build was not loaded: ${(error as Error).message}`)
      }
      const names = (list: readonly RegisteredFunction[]) => list.map((fn) => fn.name).sort().join(', ')
      if (names(next.functions) !== names(functions)) {
        await stopWorker(next)
        throw new ProviderError(`the new build registers the functions ${names(next.functions)}, not ${names(functions)}: restart serverless offline to serve them`)
      }
      const old = worker
      appDir = nextDir
      worker = supervise(next)
      retiring.add(old)
      void retire(old)
    },
    async stop() {
      stopping = true
      if (starting) await starting.catch(() => {})
      await Promise.all([worker, ...retiring].map(stopWorker))
    },
  }
}
