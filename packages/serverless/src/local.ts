/**
 * What every provider's local emulation shares: schedules fired on time, child processes (azurite, a runtime)
 * started on 127.0.0.1 and stopped with the command, and serving until Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { ConfigError } from './errors.js'
import { nextRun, parseSchedule, type Schedule } from './schedule.js'

/** A schedule to fire locally: its name (for the log), its neutral expression, and what firing it does. */
export interface LocalJob {
  readonly name: string
  readonly expression: string
  fire(time: Date): Promise<void>
}

export interface Stoppable {
  stop(): Promise<void>
}

/**
 * Fires each job at its next run, then the one after, until stopped. A failing job is reported through `onError`
 * and keeps its schedule. Timers are unref'd: they never keep the process alive on their own.
 */
export function startScheduler(jobs: readonly LocalJob[], onError: (job: LocalJob, error: unknown) => void, now: () => Date = () => new Date()): Stoppable {
  const timers = new Set<NodeJS.Timeout>()
  let stopped = false
  const plan = (job: LocalJob, schedule: Schedule): void => {
    if (stopped) return
    const at = nextRun(schedule, now())
    // setTimeout holds at most 2^31-1 ms (24.8 days): wake up earlier and plan again.
    const wait = Math.min(at.getTime() - now().getTime(), 2 ** 31 - 1)
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (now().getTime() < at.getTime()) return plan(job, schedule)
      job.fire(at).catch((error: unknown) => onError(job, error))
      plan(job, schedule)
    }, Math.max(0, wait))
    timer.unref()
    timers.add(timer)
  }
  for (const job of jobs) plan(job, parseSchedule(job.expression))
  return {
    async stop() {
      stopped = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    },
  }
}

/** A child process started for the local emulation; `stop` interrupts it and waits for it to end (killing it after 5 s). */
export interface LocalProcess extends Stoppable {
  readonly child: ChildProcess
  /** Everything it wrote so far. */
  output(): string
}

/**
 * Starts a command and resolves once a line of its output matches `ready`; rejects with its output when it exits
 * first or is not ready in `timeoutMs`.
 */
export function startProcess(
  command: string,
  args: readonly string[],
  options: {
    readonly ready: RegExp
    readonly timeoutMs?: number
    readonly env?: NodeJS.ProcessEnv
    readonly cwd?: string
    readonly name: string
    /** Opens an IPC channel to the child (`child.send`, `process.on('message')` there). */
    readonly ipc?: boolean
  },
): Promise<LocalProcess> {
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const ended = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000).unref())])
    if (!ended) {
      child.kill('SIGKILL')
      await exited
    }
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`${options.name} did not start in ${options.timeoutMs ?? 30_000} ms:\n${output}`))
    }, options.timeoutMs ?? 30_000)
    const onData = (chunk: Buffer): void => {
      output += chunk
      if (options.ready.test(output)) {
        clearTimeout(timer)
        resolve({ child, output: () => output, stop })
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`${options.name} could not start: ${error.message}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${options.name} exited (${signal ?? code}) before it was ready:\n${output}`))
    })
  })
}

/** Stops what a command started, in reverse order of start; one part's failure does not keep the others running. */
export async function stopAll(parts: readonly Stoppable[]): Promise<void> {
  for (const part of [...parts].reverse()) await part.stop().catch(() => {})
}

/**
 * Keeps the command running until SIGINT or SIGTERM (Ctrl-C), then stops everything in reverse order of start and
 * resolves. Used by every provider's `serverless offline`.
 */
export function serveUntilInterrupted(parts: readonly Stoppable[]): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false
    const stop = (): void => {
      if (stopping) return
      stopping = true
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      void stopAll(parts).then(resolve)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

/**
 * `POLYCLOUD_OFFLINE_RETRY_SECONDS`: how long a local emulation waits before it delivers a failed message or event
 * again, instead of the deployed delay (an SQS visibility timeout, Pub/Sub's 10-600 s backoff, Lambda's one and two
 * minutes for asynchronous events). Only the wait changes: the number of attempts before a message is dead-lettered
 * or dropped stays as deployed. Undefined when the variable is not set.
 */
export const RETRY_VARIABLE = 'POLYCLOUD_OFFLINE_RETRY_SECONDS'

export function localRetrySeconds(env: Readonly<Record<string, string | undefined>> = process.env): number | undefined {
  const text = env[RETRY_VARIABLE]
  if (text === undefined || text.trim() === '') return undefined
  const seconds = Number(text)
  if (!/^\s*\d+\s*$/.test(text) || seconds > 43_200) throw new ConfigError(RETRY_VARIABLE, `${JSON.stringify(text)} is not a whole number of seconds from 0 to 43200`)
  return seconds
}
