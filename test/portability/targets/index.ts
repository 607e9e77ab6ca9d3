/** The providers whose local emulation the portability suite runs on. */
import type { TargetFactory } from '../target.ts'
import { startAws } from './aws.ts'
import { startCloudflare } from './cloudflare.ts'

export const TARGETS: Readonly<Record<string, TargetFactory>> = {
  aws: startAws,
  cloudflare: startCloudflare,
}
