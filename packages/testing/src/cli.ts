import { readFile } from 'node:fs/promises'
import type { Provider } from '@polycloud/core'
import type { SourceKind } from '@polycloud/core/adapter'
import { init, InitError } from './init.js'
import { inspect, providers } from './inspect.js'

const USAGE = `usage: polycloud inspect --provider <${providers.join('|')}> [--kind <kind>] <event.json>
       polycloud init [dir] [--packages <folder of npm pack tarballs>] [--force]

inspect: prints the neutral event(s) a portable handler receives for a native event payload, as JSON.
  --kind narrows the formats tried to those feeding one handler kind:
    http, schedule, queue, topic, storage, changes, cloudEvent
  Exit code 1, with the reason on stderr, when the payload cannot be translated.
init: writes a starter service to dir (default: the current folder): package.json with exact versions,
  tsconfig.json, serverless.yml with an HTTP route, a cron and a queue, three portable handlers, their tests
  with @polycloud/testing, and a .gitignore. --packages uses the tarballs \`npm pack\` wrote for the Polycloud
  packages (until they are on a registry); --force overwrites files that exist.`

const KINDS = new Set(['http', 'schedule', 'queue', 'topic', 'storage', 'changes', 'cloudEvent'])

class UsageError extends Error {}

/** `init [dir] [--packages <folder>] [--force]`. */
function parseInit(args: string[]): { dir: string; packages: string | undefined; force: boolean } {
  let packages: string | undefined
  let force = false
  const dirs: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const [flag, inline] = arg.startsWith('--') ? arg.split('=', 2) : [arg, undefined]
    if (flag === '--packages') {
      packages = inline ?? args[++i]
      if (packages === undefined) throw new UsageError('--packages needs a folder')
    } else if (flag === '--force') {
      force = true
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`)
    } else {
      dirs.push(arg)
    }
  }
  if (dirs.length > 1) throw new UsageError('give one folder')
  return { dir: dirs[0] ?? '.', packages, force }
}

function runInit(args: string[]): number {
  const { dir, packages, force } = parseInit(args)
  try {
    const files = init(dir, { ...(packages !== undefined ? { packages } : {}), force })
    process.stdout.write(
      `polycloud init: wrote ${files.length} files to ${dir}:\n  ${files.join('\n  ')}\n\nNext:\n  cd ${dir}\n  npm install\n  npm test\n  npm start    # http://127.0.0.1:3000/hello\n`,
    )
    return 0
  } catch (error) {
    if (!(error instanceof InitError)) throw error
    process.stderr.write(`polycloud init: ${error.message}\n`)
    return 1
  }
}

function parse(args: string[]): { provider: Provider; kind: SourceKind | undefined; file: string } {
  const [command, ...rest] = args
  if (command !== 'inspect') throw new UsageError(command === undefined ? 'no command given' : `unknown command ${command}`)
  let provider: string | undefined
  let kind: string | undefined
  const files: string[] = []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string
    const [flag, inline] = arg.startsWith('--') ? arg.split('=', 2) : [arg, undefined]
    if (flag === '--provider' || flag === '--kind') {
      const value = inline ?? rest[++i]
      if (value === undefined) throw new UsageError(`${flag} needs a value`)
      if (flag === '--provider') provider = value
      else kind = value
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`)
    } else {
      files.push(arg)
    }
  }
  if (provider === undefined) throw new UsageError('--provider is required')
  if (!(providers as string[]).includes(provider)) {
    throw new UsageError(`unknown provider ${provider}; expected one of ${providers.join(', ')}`)
  }
  if (kind !== undefined && !KINDS.has(kind)) throw new UsageError(`unknown kind ${kind}`)
  if (files.length !== 1) throw new UsageError(files.length === 0 ? 'no event file given' : 'give one event file')
  return { provider: provider as Provider, kind: kind as SourceKind | undefined, file: files[0] as string }
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  let options
  try {
    if (args[0] === 'init') return runInit(args.slice(1))
    options = parse(args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`polycloud: ${error.message}\n${USAGE}\n`)
    return 2
  }
  let text: string
  try {
    text = await readFile(options.file, 'utf8')
  } catch (error) {
    process.stderr.write(`polycloud inspect: cannot read ${options.file}: ${(error as Error).message}\n`)
    return 1
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    process.stderr.write(`polycloud inspect: ${options.file} is not valid JSON: ${(error as Error).message}\n`)
    return 1
  }
  try {
    const result = await inspect(options.provider, json, { kind: options.kind })
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    if (result.invalid > 0) {
      process.stderr.write(`polycloud inspect: ${result.invalid} record(s) could not be translated (marked "invalid")\n`)
      return 1
    }
    return 0
  } catch (error) {
    process.stderr.write(`polycloud inspect: ${(error as Error).message}\n`)
    return 1
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`polycloud: unexpected failure: ${String(error)}\n`)
    process.exitCode = 1
  },
)
