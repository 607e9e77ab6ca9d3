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
