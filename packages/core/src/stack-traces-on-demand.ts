/**
 * Source-mapped stack traces at no cost at load: the mapper's own code is compiled when the first stack is formatted.
 *
 * {@link mapStackTraces} (`@polycloud/core/map-stack-traces`) reads no map at load, but its code is in the bundle,
 * and V8 parses every byte of a script when it loads it: 0.47 M instructions for its 3.4 KB, at every cold start, in
 * functions that never see an error. Here the bundle holds that code as a string instead (a string costs V8 a scan,
 * not a parse), handed over by the code the bundle runs first:
 *
 *     mapStackTracesOnDemand(text)   // text: a script body that returns the exports of @polycloud/core/source-maps
 *
 * installs a stand-in `Error.prepareStackTrace`. The first stack formatted compiles the text, installs its
 * mapStackTraces (which keeps whatever `Error.prepareStackTrace` was before the stand-in) and formats the stack with
 * it; every later stack goes to the mapper directly. Where the text cannot be compiled (code generation from strings
 * disallowed), stacks stay as Node writes them. Nothing is installed where {@link mapStackTraces} would install
 * nothing: outside Node, with Node's own source maps on, or with a mapper already installed in this realm.
 * serverless-polycloud makes the text from this package's source-maps module when it writes the AWS entries.
 */

/** The members of V8's CallSite read here (core is typed without @types/node: it also runs on Workers). */
interface CallSite {
  toString(): string
}

type Prepare = ((error: Error, trace: CallSite[]) => unknown) & { [INSTALLED]?: true }

interface NodeProcess {
  readonly sourceMapsEnabled?: boolean
  getBuiltinModule?(id: string): unknown
}

/** The mark source-maps.ts sets on its `prepareStackTrace`: the same one, so neither installs over the other. */
const INSTALLED: unique symbol = Symbol.for('polycloud.mapStackTraces')

/** Installs the stand-in that compiles `source` (a script body returning `{ mapStackTraces }`) at the first stack. */
export function mapStackTracesOnDemand(source: string): void {
  const nodeProcess = (globalThis as { process?: NodeProcess }).process
  const errorClass = Error as { prepareStackTrace?: unknown }
  const previous = errorClass.prepareStackTrace as Prepare | undefined
  if (nodeProcess?.getBuiltinModule === undefined || nodeProcess.sourceMapsEnabled === true || previous?.[INSTALLED] === true) return
  const standIn: Prepare = (error, trace) => {
    if (errorClass.prepareStackTrace === standIn) {
      errorClass.prepareStackTrace = previous
      try {
        const mapper = new Function(source)() as { mapStackTraces?: unknown }
        if (typeof mapper?.mapStackTraces === 'function') mapper.mapStackTraces()
      } catch {
        // Not compiled: the stacks stay as they are (formatting a stack must never throw).
      }
    }
    const prepare = errorClass.prepareStackTrace
    if (typeof prepare === 'function' && prepare !== standIn) return (prepare as Prepare)(error, trace)
    return [Error.prototype.toString.call(error), ...trace].join('\n    at ')
  }
  standIn[INSTALLED] = true
  errorClass.prepareStackTrace = standIn
}
