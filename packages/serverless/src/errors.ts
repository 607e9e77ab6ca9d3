/** A configuration problem, located: `functions.getNote.events[0].route: method "FETCH" is not one of ...`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`)
  }
}

/**
 * A thrown mapping error as a ConfigError at `path`: a ConfigError without a path (raised deep in a mapping that
 * does not know where the event is) gets it, RouteError and ScheduleError messages are kept, anything else is
 * rethrown as it is.
 */
export function locate(path: string, error: unknown): unknown {
  if (error instanceof ConfigError) return error.path === '' ? new ConfigError(path, error.problem) : error
  if (error instanceof Error && (error.name === 'RouteError' || error.name === 'ScheduleError')) return new ConfigError(path, error.message)
  return error
}

/**
 * A provider API or tool refused something: its own message, and what the user can do about it. The plugin shows
 * both, without a stack trace.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(hint ? `${message}\n  ${hint}` : message)
  }
}

/** The parts of the framework the plugin's errors go through. */
export interface FrameworkErrors {
  classes: { Error: new (message: string, code?: string) => Error }
}

/**
 * An error the framework shows as it is: its message, prefixed with the plugin's name, and no stack trace (osls
 * prints the stack of any other error).
 */
export function frameworkError(serverless: FrameworkErrors, message: string): Error {
  return new serverless.classes.Error(`serverless-polycloud: ${message}`, 'POLYCLOUD_CONFIGURATION')
}
