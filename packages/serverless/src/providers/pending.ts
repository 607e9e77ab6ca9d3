/** A provider whose target is not written yet: every function is refused at `initialize`, naming the provider. */
import { ConfigError } from '../errors.js'
import type { ProviderName, ProviderTarget } from '../provider.js'

export function pending(name: ProviderName, title: string, adapter: string): ProviderTarget {
  return {
    name,
    title,
    adapter,
    defaultTimeout: 60,
    plan() {
      throw new ConfigError('', `provider ${name} is not supported by this version of serverless-polycloud yet (its runtime adapter ${adapter} is)`)
    },
    entries: () => [],
  }
}
