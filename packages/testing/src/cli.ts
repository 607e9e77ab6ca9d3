import { readFile } from 'node:fs/promises'
import type { Provider } from '@polycloud/core'
import type { SourceKind } from '@polycloud/core/adapter'
import { init, InitError } from './init.js'
import { signWithKeyFile, startIssuer } from './issuer.js'
import { inspect, providers } from './inspect.js'

const USAGE = `usage: polycloud inspect --provider <${providers.join('|')}> [--kind <kind>] <event.json>
       polycloud init [dir] [--packages <folder of npm pack tarballs>] [--force]
       polycloud issuer [--port 4000] [--keys .polycloud/dev-issuer.json]
       polycloud token [--sub <subject>] [--scope "<scopes>"] [--aud <audience>] [--expires 1h] [--issuer <url>] [--keys <file>]

inspect: prints the neutral event(s) a portable handler receives for a native event payload, as JSON.
  --kind narrows the formats tried to those feeding one handler kind:
    http, schedule, queue, topic, storage, changes, cloudEvent
  Exit code 1, with the reason on stderr, when the payload cannot be translated.
init: writes a starter service to dir (default: the current folder): package.json with exact versions,
  tsconfig.json, serverless.yml with an HTTP route, a cron and a queue, three portable handlers, their tests
  with @polycloud/testing, and a .gitignore. --packages uses the tarballs \`npm pack\` wrote for the Polycloud
  packages (until they are on a registry); --force overwrites files that exist.
issuer: a development OpenID issuer on 127.0.0.1 (discovery and JWKS), for routes declared with auth: { jwt },
  until Ctrl-C. Its key is kept in --keys, so tokens stay valid across restarts.
token: prints a token signed with that key (default: issuer http://127.0.0.1:4000, audience polycloud-demo,
  subject developer, scope profile, valid 1 hour).`

const KINDS = new Set(['http', 'schedule', 'queue', 'topic', 'storage', 'changes', 'cloudEvent'])

class UsageError extends Error {}

const DEFAULT_KEYS = '.polycloud/dev-issuer.json'

/** `--name value` and `--name=value` options, checked against the names a command takes. */
function options(args: string[], names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined]
    const name = flag.replace(/^--/, '')
    if (!flag.startsWith('--') || !names.includes(name)) throw new UsageError(`unknown option ${arg}`)
    const value = inline ?? args[++i]
    if (value === undefined) throw new UsageError(`${flag} needs a value`)
    out[name] = value
  }
  return out
}

async function runIssuer(args: string[]): Promise<number> {
  const given = options(args, ['port', 'keys'])
  const port = Number(given.port ?? 4000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${given.port} is not a port`)
  const issuer = await startIssuer({ port, keyFile: given.keys ?? DEFAULT_KEYS })
  process.stdout.write(`polycloud issuer: ${issuer.url} (JWKS ${issuer.url}/.well-known/jwks.json); Ctrl-C stops it\n`)
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await issuer.stop()
  return 0
}

async function runToken(args: string[]): Promise<number> {
  const given = options(args, ['sub', 'scope', 'aud', 'expires', 'issuer', 'keys'])
  const token = await signWithKeyFile(given.keys ?? DEFAULT_KEYS, given.issuer ?? 'http://127.0.0.1:4000', { sub: given.sub ?? 'developer', scope: given.scope ?? 'profile' }, {
    audience: given.aud ?? 'polycloud-demo',
    expiresIn: given.expires ?? '1h',
  })
  process.stdout.write(`${token}\n`)
  return 0
}

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
  let parsed
  try {
    if (args[0] === 'init') return runInit(args.slice(1))
    if (args[0] === 'issuer') return await runIssuer(args.slice(1))
    if (args[0] === 'token') return await runToken(args.slice(1))
    parsed = parse(args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`polycloud: ${error.message}\n${USAGE}\n`)
    return 2
  }
  let text: string
  try {
    text = await readFile(parsed.file, 'utf8')
  } catch (error) {
    process.stderr.write(`polycloud inspect: cannot read ${parsed.file}: ${(error as Error).message}\n`)
    return 1
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    process.stderr.write(`polycloud inspect: ${parsed.file} is not valid JSON: ${(error as Error).message}\n`)
    return 1
  }
  try {
    const result = await inspect(parsed.provider, json, { kind: parsed.kind })
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    const undecodable = result.events.filter((event) => 'bodyUndecodable' in event).length
    if (undecodable > 0) {
      process.stderr.write(`polycloud inspect: ${undecodable} body(ies) cannot be decoded (marked "bodyUndecodable"): the handler's read fails\n`)
    }
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
