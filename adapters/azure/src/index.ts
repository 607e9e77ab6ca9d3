import type { ProviderAdapter } from '@polycloud/core/adapter'

// Placeholder: the azure adapter is being written.
export const adapter: ProviderAdapter = { provider: 'azure', sources: [] }
