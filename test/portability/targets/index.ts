/** The providers whose local emulation the portability suite runs on. */
import type { TargetFactory } from '../target.ts'
import { startAws } from './aws.ts'
import { startAzure } from './azure.ts'
import { startCloudflare } from './cloudflare.ts'
import { startGoogle } from './google.ts'

export const TARGETS: Readonly<Record<string, TargetFactory>> = {
  aws: startAws,
  azure: startAzure,
  cloudflare: startCloudflare,
  google: startGoogle,
}
