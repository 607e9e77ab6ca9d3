import { readFile } from 'node:fs/promises'
import type { Provider } from '@polycloud/core'
import type { SourceKind } from '@polycloud/core/adapter'
import { inspect, providers } from './inspect.js'

const USAGE = `usage: polycloud inspect --provider <${providers.join('|')}> [--kind <kind>] <event.json>

Prints the neutral event(s) a portable handler receives for a native event payload, as JSON.
--kind narrows the formats tried to those feeding one handler kind:
  http, schedule, queue, topic, storage, changes, cloudEvent
Exit code 1, with the reason on stderr, when the payload cannot be translated.`

const KINDS = new Set(['http', 'schedule', 'queue', 'topic', 'storage', 'changes', 'cloudEvent'])

class UsageError extends Error {}

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
