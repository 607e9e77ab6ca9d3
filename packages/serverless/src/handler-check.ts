/**
 * Run by `checkHandlers` (functions.ts) in a Node process of its own: loads each handler module (bundled alone,
 * packages left to Node) and checks each function's export with the same check the generated entries run at
 * start-up (`assertHandler` of @polycloud/core). Reads the checks (JSON `CheckRequest[]`) from the file named by
 * argv[2], writes the problems (JSON `CheckProblem[]`) to the file named by argv[3], then exits whatever the modules
 * left running (a module's timers or sockets must not keep a command alive).
 */
import { assertHandler, type HandlerKind } from '@polycloud/core'
import { mapStackTraces } from '@polycloud/core/source-maps'
import { readFileSync, writeFileSync } from 'node:fs'

// A module that fails to load is reported with its stack through the bundle's inline map, read only then.
mapStackTraces()

export interface CheckRequest {
  /** The function's name. */
  readonly id: string
  /** file: URL of the bundled module. */
  readonly url: string
  readonly exportName: string
  readonly kinds: readonly HandlerKind[]
  /** How messages name the export: `handlers/notes.ts export "get"`. */
  readonly label: string
}

export interface CheckProblem {
  readonly id: string
  /** `load` when the module failed to load, `export` for a missing or wrong export. */
  readonly kind: 'load' | 'export'
  readonly message: string
}

async function check(requests: readonly CheckRequest[]): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = []
  const modules = new Map<string, Promise<Record<string, unknown>>>()
  for (const request of requests) {
    let loading = modules.get(request.url)
    if (loading === undefined) {
      loading = import(request.url) as Promise<Record<string, unknown>>
      modules.set(request.url, loading)
    }
    let namespace: Record<string, unknown>
    try {
      namespace = await loading
    } catch (error) {
      // A module of the provider's own runtime (`cloudflare:workers`) cannot load in Node: not checkable here.
      if ((error as { code?: unknown }).code === 'ERR_UNSUPPORTED_ESM_URL_SCHEME') continue
      problems.push({ id: request.id, kind: 'load', message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
      continue
    }
    if (!(request.exportName in namespace)) {
      const names = Object.keys(namespace)
      problems.push({
        id: request.id,
        kind: 'export',
        message: `${request.label} does not exist (the module exports ${names.length > 0 ? names.map((name) => JSON.stringify(name)).join(', ') : 'nothing'})`,
      })
      continue
    }
    try {
      assertHandler(namespace[request.exportName], request.kinds, request.label)
    } catch (error) {
      problems.push({ id: request.id, kind: 'export', message: (error as Error).message })
    }
  }
  return problems
}

const [, , input, output] = process.argv
check(JSON.parse(readFileSync(input as string, 'utf8')) as CheckRequest[]).then(
  (problems) => {
    writeFileSync(output as string, JSON.stringify(problems))
    process.exit(0)
  },
  (error: unknown) => {
    process.stderr.write(`handler check failed: ${String(error)}\n`)
    process.exit(1)
  },
)
