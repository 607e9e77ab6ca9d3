import { adapter as aws } from '@polycloud/aws'
import { adapter as azure } from '@polycloud/azure'
import { adapter as cloudflare } from '@polycloud/cloudflare'
import { adapter as gcp } from '@polycloud/gcp'
import type { Provider } from '@polycloud/core'
import {
  InvalidRecord,
  MAX_JSON_DEPTH,
  findSource,
  nestsDeeperThan,
  tooDeepMessage,
  unrecognisedInput,
  type ProviderAdapter,
  type SourceKind,
} from '@polycloud/core/adapter'
import { describeEvent, describeInvalid, describeRequest } from './describe.js'

/** Every adapter, by the id its handlers see as `context.provider`: the one list of them here (`polycloud init` reads it too). */
export const adapters: Readonly<Record<Provider, ProviderAdapter>> = { aws, azure, gcp, cloudflare }

export const providers = Object.keys(adapters) as Provider[]

/** How deeply a payload may nest for `inspect`: as deeply as any JSON a handler receives (deeper is refused by name). */
export const MAX_DEPTH = MAX_JSON_DEPTH

export interface Inspection {
  provider: Provider
  /** The native format that recognised the payload, e.g. `aws:sqs`. */
  adapter: string
  kind: SourceKind
  /** What the handler receives: one request, or the batch's events in order (untranslatable records marked). */
  events: Array<Record<string, unknown>>
  /** How many records could not be translated (each fails on its own at run time). */
  invalid: number
}

/**
 * Translates a native payload (parsed JSON) the way the provider's adapter would, and describes the result as
 * plain JSON. With `kind`, only formats feeding handlers of that kind are tried (an SQS message carrying an S3
 * notification is a queue message, or with `kind: 'storage'` an object event). Throws an error naming the
 * provider and the shape seen when no format recognises the payload.
 */
export async function inspect(provider: Provider, json: unknown, options: { kind?: SourceKind } = {}): Promise<Inspection> {
  const adapter = adapters[provider]
  if (!adapter) throw new Error(`unknown provider ${JSON.stringify(provider)}; expected one of ${providers.join(', ')}`)
  if (nestsDeeperThan(json, MAX_DEPTH)) {
    throw new Error(`${tooDeepMessage('the payload')}, and inspect reads at most ${MAX_DEPTH}`)
  }
  const input = adapter.fromJson ? adapter.fromJson(json) : json
  const sources = options.kind ? adapter.sources.filter((source) => source.kind === options.kind) : adapter.sources
  const source = findSource(sources, input)
  if (source === undefined) throw unrecognisedInput(provider, options.kind ?? 'any', sources, json)
  try {
    if (source.kind === 'http') {
      const request = source.getRequest(input)
      return { provider, adapter: source.name, kind: 'http', events: [await describeRequest(request)], invalid: 0 }
    }
    const items = source.getEvents(input)
    const events = items.map((item) => (item instanceof InvalidRecord ? describeInvalid(item) : describeEvent(item)))
    const invalid = items.filter((item) => item instanceof InvalidRecord).length
    return { provider, adapter: source.name, kind: source.kind, events, invalid }
  } catch (error) {
    const wrapped = new Error(`${source.name}: ${(error as Error).message}`, { cause: error })
    throw wrapped
  }
}
