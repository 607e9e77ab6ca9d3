/**
 * Every provider target, by the name users write. A target's module holds its mapping and entries only; what
 * its commands need (SDKs, local runtimes) is imported when a command runs, so packaging for AWS loads nothing of
 * the other clouds.
 */
import type { ProviderName, ProviderTarget } from '../provider.js'
import { aws } from './aws/index.js'
import { azure } from './azure/index.js'
import { cloudflare } from './cloudflare/index.js'
import { google } from './google/index.js'

export const TARGETS: Readonly<Record<ProviderName, ProviderTarget>> = {
  aws: aws as ProviderTarget,
  azure: azure as ProviderTarget,
  google: google as ProviderTarget,
  cloudflare: cloudflare as ProviderTarget,
}
