/**
 * Log lines the Node adapters write go straight to file descriptor 1 (`writeStdout` in @polycloud/core/adapter),
 * past `process.stdout.write`. A test that reads them by replacing `process.stdout.write` routes them through it
 * while it reads (`throughStream()`), and puts the straight writes back when done (`straight()`).
 */
import { setStdoutWriter } from '@polycloud/core/adapter'

export function throughStream(): void {
  setStdoutWriter((text) => void process.stdout.write(text))
}

export function straight(): void {
  setStdoutWriter(undefined)
}
