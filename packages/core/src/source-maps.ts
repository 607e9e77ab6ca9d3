/**
 * Stack traces that name the TypeScript sources of a bundle, at no cost until a stack is formatted (Node.js only).
 *
 * `--enable-source-maps` reads, parses and indexes every loaded module's source map when the module is compiled:
 * for a 19 KB Lambda bundle with its 30 KB map, 15.9 M instructions on Node 20 and 11.8 M on Node 22 at every cold
 * start, more than the whole adapter; Node 24 defers the map but still measures every line of the bundle (2.0 M).
 * Turning source maps on later (`process.setSourceMapsEnabled`) maps no module loaded before it, on any of them.
 *
 * {@link mapStackTraces} costs one function at load instead: the first stack formatted reads the map of each file in
 * it (the last `//# sourceMappingURL=` of the file, a linked file or a data URL), keeps it, and writes the frames of
 * mapped files exactly as Node does with `--enable-source-maps` on the running version. Everything else of the stack
 * (the first line, frames without a map) stays Node's own formatting.
 */

/** The members of V8's CallSite read here (core is typed without @types/node: it also runs on Workers). */
interface CallSite {
  getFileName(): string | null | undefined
  getLineNumber(): number | null
  getColumnNumber(): number | null
  getEnclosingLineNumber(): number | null
  getEnclosingColumnNumber(): number | null
  getFunctionName(): string | null
  getMethodName(): string | null
  getTypeName(): string | null
  isAsync(): boolean
  isConstructor(): boolean
}

/** The parts of Node's modules used, loaded with `process.getBuiltinModule` when a stack is first formatted. */
interface NodeModules {
  fs: { readFileSync(path: string, encoding: 'utf8'): string }
  path: { isAbsolute(path: string): boolean; resolve(...paths: string[]): string; dirname(path: string): string }
  url: { fileURLToPath(url: string): string }
  module: { SourceMap: new (payload: object) => SourceMapLike }
  buffer: { Buffer: { from(text: string, encoding: 'base64'): { toString(encoding: 'utf8'): string } } }
}

interface NodeProcess {
  readonly sourceMapsEnabled?: boolean
  readonly versions?: { readonly node?: string }
  getBuiltinModule?(id: string): unknown
}

const nodeProcess = (globalThis as { process?: NodeProcess }).process

/** What `node:module`'s SourceMap returns for a generated position (an empty object when nothing maps there). */
interface Entry {
  originalSource?: string
  originalLine?: number
  originalColumn?: number
  name?: string
}

interface SourceMapLike {
  findEntry(line: number, column: number): Entry
}

type Prepare = (error: Error, trace: CallSite[]) => unknown

const AT = '\n    at '
const INSTALLED: unique symbol = Symbol.for('polycloud.mapStackTraces')
const URL_COMMENT = /\/[*/]#\s+sourceMappingURL=([^\s'"]+)/g
const SCHEME = /^[A-Za-z][A-Za-z\d+.-]*:/

/**
 * Maps the frames of stack traces to the sources named by each file's source map, reading a map only when a stack
 * that goes through its file is formatted. Does nothing where Node already maps stacks (`--enable-source-maps`,
 * `process.setSourceMapsEnabled(true)`), when it is already installed in this realm, or outside Node.
 */
export function mapStackTraces(): void {
  const errorClass = Error as { prepareStackTrace?: unknown }
  const previous = errorClass.prepareStackTrace as (Prepare & { [INSTALLED]?: true }) | undefined
  if (nodeProcess?.getBuiltinModule === undefined || nodeProcess.sourceMapsEnabled === true || previous?.[INSTALLED] === true) return
  const maps = new Map<string, SourceMapLike | null>()
  const prepare: Prepare & { [INSTALLED]?: true } = (error, trace) => {
    const text = typeof previous === 'function' ? previous(error, trace) : defaultFormat(error, trace)
    // Node's format ends with one line per frame: those of mapped files are replaced; anything else is kept.
    if (typeof text !== 'string') return text
    const lines = text.split(AT)
    const first = lines.length - trace.length
    if (first < 1) return text
    try {
      trace.forEach((site, index) => {
        const frame = lines[first + index] === String(site) ? mapFrame(maps, site, trace[index + 1]) : undefined
        if (frame !== undefined) lines[first + index] = frame
      })
    } catch {
      // A frame that cannot be mapped is written as it is: formatting a stack must never throw.
    }
    return lines.join(AT)
  }
  prepare[INSTALLED] = true
  errorClass.prepareStackTrace = prepare
}

/** V8's format, for a realm without Node's own `Error.prepareStackTrace`. */
function defaultFormat(error: Error, trace: readonly CallSite[]): string {
  return [Error.prototype.toString.call(error), ...trace].join(AT)
}

/** The frame as Node writes it with source maps on, or undefined when its file has no map or no entry there. */
function mapFrame(maps: Map<string, SourceMapLike | null>, site: CallSite, caller: CallSite | undefined): string | undefined {
  const file = site.getFileName()
  const line = site.getLineNumber()
  const column = site.getColumnNumber()
  if (!file || line === null || column === null) return undefined
  const map = mapOf(maps, file)
  if (map === null) return undefined
  const { originalSource, originalLine, originalColumn } = map.findEntry(line - 1, column - 1)
  if (originalSource === undefined || originalLine === undefined || originalColumn === undefined) return undefined
  const name = originalName(map, site, caller)
  const fnName = site.getFunctionName() ?? site.getMethodName()
  const prefix = site.isAsync() ? 'async ' : site.isConstructor() ? 'new ' : ''
  const typeName = site.getTypeName()
  const namePrefix = typeName !== null && typeName !== 'global' ? `${typeName}.` : ''
  const where = `${originalSource}:${originalLine + 1}:${originalColumn + 1}`
  let text: string
  if (Number(nodeProcess?.versions?.node?.split('.')[0]) < 22) {
    // Node 20: a mapped name replaces the whole name, type included; Node 22 and later keep the type (`Object.handle`).
    const generated = `${namePrefix}${fnName || '<anonymous>'}`
    text = `${prefix}${name && name !== generated ? name : generated} (${where})`
  } else {
    text = `${prefix}${namePrefix}${name || fnName || '<anonymous>'} (${where})`
  }
  return text
}

/** The function's name in the sources: the enclosing function's, else the one its caller in the same file called. */
function originalName(map: SourceMapLike, site: CallSite, caller: CallSite | undefined): string | undefined {
  const enclosing = map.findEntry((site.getEnclosingLineNumber() ?? 0) - 1, (site.getEnclosingColumnNumber() ?? 0) - 1)
  if (enclosing.name) return enclosing.name
  if (caller === undefined || caller.getFileName() !== site.getFileName()) return undefined
  return map.findEntry((caller.getLineNumber() ?? 0) - 1, (caller.getColumnNumber() ?? 0) - 1).name
}

/** The file's source map, read once; null when it has none (or it cannot be read: the frames stay as they are). */
function mapOf(maps: Map<string, SourceMapLike | null>, file: string): SourceMapLike | null {
  let map = maps.get(file)
  if (map === undefined) {
    map = null
    try {
      map = readMap(file)
    } finally {
      maps.set(file, map)
    }
  }
  return map
}

/** Node's modules, loaded at the first stack formatted (a `require` of them at load costs millions of instructions). */
function node(): NodeModules | undefined {
  const get = nodeProcess?.getBuiltinModule
  if (typeof get !== 'function') return undefined
  const load = (id: string) => get.call(nodeProcess, id)
  return {
    fs: load('node:fs'),
    path: load('node:path'),
    url: load('node:url'),
    module: load('node:module'),
    buffer: load('node:buffer'),
  } as NodeModules
}

function readMap(file: string): SourceMapLike | null {
  if (file.startsWith('node:')) return null
  const modules = node()
  if (modules === undefined) return null
  const { fs, path, url, module, buffer } = modules
  const filePath = file.startsWith('file:') ? url.fileURLToPath(file) : file
  if (!path.isAbsolute(filePath)) return null
  let last: string | undefined
  for (const match of fs.readFileSync(filePath, 'utf8').matchAll(URL_COMMENT)) last = match[1]
  if (last === undefined) return null
  let text: string
  let base: string
  const data = /^data:application\/json[^,]*?(;base64)?,/.exec(last)
  if (data) {
    const body = last.slice(data[0].length)
    text = data[1] ? buffer.Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body)
    base = filePath
  } else if (SCHEME.test(last) && !last.startsWith('file:')) {
    return null
  } else {
    base = last.startsWith('file:') ? url.fileURLToPath(last) : path.resolve(path.dirname(filePath), decodeURIComponent(last))
    text = fs.readFileSync(base, 'utf8')
  }
  const payload = JSON.parse(text) as { sources?: unknown; sourceRoot?: unknown }
  if (!Array.isArray(payload.sources)) return null
  // Sources as Node writes them in a stack: absolute paths (file URLs made paths), other URLs as they are.
  const root = typeof payload.sourceRoot === 'string' ? payload.sourceRoot : ''
  payload.sources = payload.sources.map((source: unknown) => {
    const name = `${root}${String(source)}`
    if (name.startsWith('file:')) return url.fileURLToPath(name)
    if (SCHEME.test(name) || path.isAbsolute(name)) return name
    return path.resolve(path.dirname(base), name)
  })
  payload.sourceRoot = ''
  return new module.SourceMap(payload)
}
