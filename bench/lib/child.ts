// Bench children: `node <file> <args>` whose answer is the last line of its stdout. The functions measured log
// (a summary line per invocation by default), so a child may write millions of lines: only the tail is kept.
import { spawn } from 'node:child_process'

/** The last stdout bytes kept (the answer line is far shorter). */
const TAIL_BYTES = 1 << 16

export interface ChildOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly timeoutMs: number
}

/** Runs `node file ...args` (without NODE_OPTIONS); resolves with the end of its stdout, rejects with its stderr. */
export function runNode(file: string, args: readonly string[], options: ChildOptions): Promise<string> {
  const env = { ...(options.env ?? process.env) }
  delete env.NODE_OPTIONS
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let tail = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-TAIL_BYTES)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-TAIL_BYTES)
      if (options.env?.POLYCLOUD_BENCH_ECHO === '1') process.stderr.write(chunk)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(tail)
      else reject(new Error(`${file} ${args.slice(0, 2).join(' ')} failed (${signal ?? `exit ${String(code)}`}): ${stderr.trim()}`))
    })
  })
}

/** The last non-empty line of a child's output. */
export function lastLine(output: string): string {
  return output.trim().split('\n').pop() ?? ''
}
