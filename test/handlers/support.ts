/**
 * What the tests of the chatbot and IoT handlers share: a chat webhook call signed as the platform signs it, a device
 * reading, and the backends the flows run on (the in-memory resources, or the in-memory queue and topic with the
 * stores on a provider's real local store: dynalite, azurite's Table service).
 */
import type { ResourceAddress, ResourceDriver, StoreBackend } from '@polycloud/resources/driver'
import { memoryResources, request, type MemoryResources, type TestResponse } from '@polycloud/testing'
import chat, { signature } from '../../handlers/chat.ts'

export const SECRET = 'test-signing-secret'
export const CHAT_ENV = { CHAT_SIGNING_SECRET: SECRET }

/** The function's clock, in whole seconds. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export interface ChatCall {
  /** The signed Unix time (default: now). */
  readonly timestamp?: number
  /** The secret that signs it (default: the function's). */
  readonly secret?: string
  /** Headers added to (or replacing) the signed ones. */
  readonly headers?: Record<string, string>
  readonly env?: Record<string, string>
}

/** A webhook call to POST /chat/{conversation} as the platform signs it (`timestamp`, `secret`, `headers` to tamper with). */
export async function postChat(conversation: string, body: unknown, options: ChatCall = {}): Promise<TestResponse> {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  const timestamp = String(options.timestamp ?? nowSeconds())
  const headers = { 'content-type': 'application/json', 'x-chat-timestamp': timestamp, 'x-chat-signature': await signature(options.secret ?? SECRET, timestamp, text), ...options.headers }
  return request(chat, { method: 'POST', url: `/chat/${conversation}`, params: { conversation }, headers, body: text }, { env: options.env ?? CHAT_ENV })
}

/** A device reading as devices send it. */
export function reading(id: string, value: number, time = '2026-12-07T10:00:00Z', device = 'thermo-1'): Record<string, unknown> {
  return { device, id, time, value, unit: 'C' }
}

/** The logical resources of the two flows. */
export const DECLARED = { sessions: 'store', devices: 'store', readings: 'queue', alerts: 'topic' } as const

/** Where the flows' stores live: the in-memory store, or a provider's local store reached by its driver. */
export interface FlowBackend {
  readonly name: string
  /** The driver the handlers use, over `memory`'s queue and topic (so the test sees what was sent). */
  driver(memory: MemoryResources): ResourceDriver
  stop(): Promise<void>
}

export const memoryBackend: FlowBackend = {
  name: 'the in-memory store',
  driver: (memory) => memory,
  stop: async () => {},
}

/**
 * The in-memory queue and topic, and the stores on `provider`'s driver at `addresses` (what `POLYCLOUD_RESOURCES`
 * would name) with the environment `env` (the emulator's endpoint and credentials).
 */
export function storesOn(name: string, provider: ResourceDriver, addresses: Readonly<Record<string, ResourceAddress>>, env: Readonly<Record<string, string>>, stop: () => Promise<void>): FlowBackend {
  const open = provider.store
  if (open === undefined) throw new Error(`the ${provider.provider} driver has no stores`)
  return {
    name,
    driver: (memory) => ({
      ...memory,
      provider: provider.provider,
      locate: (kind, logical) => (kind === 'store' ? addresses[logical] : memory.locate?.(kind, logical)),
      store: (logical, address): StoreBackend | Promise<StoreBackend> => open.call(provider, logical, address, { env }),
    }),
    stop,
  }
}

/** Fresh in-memory resources declaring the flows' resources. */
export const flowMemory = (as: 'aws' | 'cloudflare' = 'aws'): MemoryResources => memoryResources({ as, declared: as === 'cloudflare' ? { sessions: 'store', devices: 'store', readings: 'queue' } : DECLARED })
