/**
 * Log lines to standard output on Node, as cheaply as the platform allows. `process.stdout` is made on first use,
 * and making it costs a cold start ~33 M instructions (for a pipe, as the clouds' log collectors attach one, Node
 * builds a socket stream), more than the whole adapter. A line written straight to file descriptor 1 costs a system
 * call and nothing at load. Node writes stdout synchronously on Linux (files, pipes and terminals alike), so lines
 * written either way keep their order with the handler's own `console.log` lines.
 *
 * Straight writes are used only in a process's main thread: a worker thread's `process.stdout` is a stream the parent
 * reads (serverless-offline runs handlers in worker threads and shows their output), so there the stream is used. A
 * write the descriptor refuses (a non-blocking pipe that is full, a closed descriptor) goes through the stream from
 * then on, with the rest of the line: nothing is lost or written twice.
 */

interface NodeFs {
  writeSync(fd: number, text: string): number
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number
}

interface NodeProcess {
  readonly stdout: { write(text: string | Uint8Array): boolean }
  readonly chdir?: { readonly name: string }
  getBuiltinModule?(id: string): unknown
}

interface NodeBufferClass {
  from(text: string, encoding: 'utf8'): Uint8Array
  byteLength(text: string, encoding: 'utf8'): number
}

/** Writes one chunk of text to standard output. */
export type StdoutWriter = (text: string) => void

const nodeProcess = (globalThis as { process?: NodeProcess }).process

let chosen: StdoutWriter | undefined
let override: StdoutWriter | undefined

/** Writes through `process.stdout` (the stream). */
const streamWriter: StdoutWriter = (text) => {
  nodeProcess?.stdout.write(text)
}

function choose(): StdoutWriter {
  const get = nodeProcess?.getBuiltinModule
  if (get === undefined) return streamWriter
  // A worker thread's process.chdir is Node's stand-in that throws (Node documents chdir as unavailable in worker
  // threads): the test costs nothing, where loading node:worker_threads for isMainThread costs ~37 M instructions.
  if (nodeProcess?.chdir?.name === 'unavailableInWorker') return streamWriter
  const fs = get('node:fs') as NodeFs
  const { Buffer } = get('node:buffer') as { Buffer: NodeBufferClass }
  const direct: StdoutWriter = (text) => {
    let written = 0
    try {
      // A string goes in one call; a short write (a signal, a full pipe) continues from the bytes written.
      written = fs.writeSync(1, text)
      // All written when the count is the text's UTF-8 length (Buffer.byteLength: a few hundred instructions for a
      // line, where scanning it for non-ASCII characters with a regular expression cost ~3,000).
      if (written === text.length && Buffer.byteLength(text, 'utf8') === written) return
      const bytes = Buffer.from(text, 'utf8')
      while (written < bytes.length) written += fs.writeSync(1, bytes, written, bytes.length - written)
    } catch {
      chosen = streamWriter
      nodeProcess?.stdout.write(written === 0 ? text : Buffer.from(text, 'utf8').subarray(written))
    }
  }
  return direct
}

/** Writes `text` (a whole line, with its newline) to standard output. */
export function writeStdout(text: string): void {
  if (override !== undefined) override(text)
  else (chosen ??= choose())(text)
}

/**
 * Sends what {@link writeStdout} writes to `writer` instead, until called with `undefined`: for a host that collects
 * the lines itself, and for tests that read them.
 */
export function setStdoutWriter(writer: StdoutWriter | undefined): void {
  override = writer
}
