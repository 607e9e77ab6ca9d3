/** The local console's options: read by the plugin for every command, so kept apart from the console itself. */
import { ConfigError } from '../errors.js'

export const DEFAULT_CONSOLE_PORT = 4000

/** `serverless offline`'s console options, on every provider. */
export const CONSOLE_OPTIONS = {
  consolePort: { usage: `Port of the local console on 127.0.0.1 (default ${DEFAULT_CONSOLE_PORT}; 0: any free port)`, type: 'string' },
  noConsole: { usage: 'Do not serve the local console', type: 'boolean' },
} as const

/** The console's port from the options (`--consolePort`), or undefined when `--noConsole`. */
export function consolePort(options: Readonly<Record<string, unknown>>): number | undefined {
  if (options.noConsole === true || options.noConsole === 'true' || options.console === false) return undefined
  const raw = options.consolePort
  const port = raw === undefined || raw === '' ? DEFAULT_CONSOLE_PORT : Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('--consolePort', `${JSON.stringify(raw)} is not a port (0-65535)`)
  return port
}

