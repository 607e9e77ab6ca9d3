import type { ProviderAdapter } from '@polycloud/core/adapter'

// Placeholder: the cloudflare adapter is being written.
export const adapter: ProviderAdapter = { provider: 'cloudflare', sources: [] }
