/** The local console's options: read by the plugin for every command, so kept apart from the console itself. */
import { ConfigError } from '../errors.js'

export const DEFAULT_CONSOLE_PORT = 3900

/** `serverless offline`'s console options, on every provider. */
export const CONSOLE_OPTIONS = {
  consolePort: { usage: `Port of the local console on 127.0.0.1 (default ${DEFAULT_CONSOLE_PORT}; 0: any free port)`, type: 'string' },
  noConsole: { usage: 'Do not serve the local console', type: 'boolean' },
} as const

/**
 * The console's port from the options (`--consolePort`), or undefined when `--noConsole`. `chosen`: the user named
 * it (a port in use is then an error; the default port in use gives way to a free one).
 */
export function consolePort(options: Readonly<Record<string, unknown>>): { port: number; chosen: boolean } | undefined {
  if (options.noConsole === true || options.noConsole === 'true') return undefined
  const raw = options.consolePort
  if (raw === undefined || raw === '') return { port: DEFAULT_CONSOLE_PORT, chosen: false }
  const port = Number(raw)
  if (typeof raw === 'boolean' || !Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('--consolePort', `${JSON.stringify(raw)} is not a port (0-65535)`)
  return { port, chosen: true }
}

