/**
 * The Azure local host of the demo (`POLYCLOUD_PROVIDER=azure serverless offline`), on free ports of 127.0.0.1 with
 * azurite's data in a temporary folder; stop() interrupts it (Ctrl-C) and waits for it and its children to end.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, ROOT } from './serverless.ts'

const CLI = fileURLToPath(new URL('../../node_modules/serverless/bin/serverless.js', import.meta.url))

export interface AzureHost {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** azurite's connection string (when a trigger needed storage). */
  readonly connectionString: string | undefined
  readonly port: number
  /** Everything the host wrote to stdout so far. */
  stdout(): string
  /** Everything the command wrote to stderr so far. */
  stderr(): string
  /** Resolves with the first stdout line after `from` (an offset in stdout) matching, or rejects after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number, from?: number): Promise<string>
  /** Resolves with the process's exit code once it has ended. */
  exited(): Promise<number | null>
  stop(): Promise<void>
}

export async function startAzureHost(options: { readonly cwd?: string; readonly args?: readonly string[]; readonly timeoutMs?: number; readonly cli?: string } = {}): Promise<AzureHost> {
  const port = await freePort()
  const storage = mkdtempSync(join(tmpdir(), 'polycloud-azurite-'))
  const args = ['offline', '--port', String(port), '--blobPort', '0', '--queuePort', '0', '--storage', storage, '--consolePort', '0', ...(options.args ?? [])]
  const child = spawn(process.execPath, [options.cli ?? CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', POLYCLOUD_PROVIDER: 'azure' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT')
      const ended = await Promise.race([exit.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 15_000))])
      if (!ended) {
        child.kill('SIGKILL')
        await exit
      }
    }
    rmSync(storage, { recursive: true, force: true })
  }
  const waitForLine = (pattern: RegExp, timeoutMs: number, from = 0): Promise<string> =>
    new Promise((resolve, reject) => {
      const started = Date.now()
      const check = (): void => {
        const line = stdout.slice(from).split('\n').find((candidate) => pattern.test(candidate))
        if (line !== undefined) return resolve(line)
        if (child.exitCode !== null) return reject(new Error(`the host exited (${child.exitCode}) before a line matched ${pattern}:\n${stdout}\n${stderr}`))
        if (Date.now() - started > timeoutMs) return reject(new Error(`no line matched ${pattern} in ${timeoutMs} ms:\n${stdout.slice(from)}\n${stderr}`))
        setTimeout(check, 25)
      }
      check()
    })
  try {
    await waitForLine(/^Host started: /, options.timeoutMs ?? 90_000)
  } catch (error) {
    await stop()
    throw error
  }
  const azurite = /azurite: blob (http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1), queue (http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1)/.exec(stdout)
  const connectionString = azurite
    ? `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=${azurite[1]};QueueEndpoint=${azurite[2]}`
    : undefined
  return { url: `http://127.0.0.1:${port}`, port, connectionString, stdout: () => stdout, stderr: () => stderr, waitForLine, exited: () => exit, stop }
}

/** The outcome of each invocation of a function the host logged after `from`: invocation id -> succeeded. */
export function outcomes(stdout: string, functionName: string): Map<string, boolean> {
  const out = new Map<string, boolean>()
  const pattern = new RegExp(`Executed 'Functions\\.${functionName}' \\((Succeeded|Failed), Id=([0-9a-f-]+)`, 'g')
  for (const match of stdout.matchAll(pattern)) out.set(match[2] as string, match[1] === 'Succeeded')
  return out
}
