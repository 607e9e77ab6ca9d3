import type { ProviderAdapter } from '@polycloud/core/adapter'

// Placeholder: the gcp adapter is being written.
export const adapter: ProviderAdapter = { provider: 'gcp', sources: [] }
