/** The settings every Google Cloud command reads from the service: region, runtime, project, layout options. */
import { nodeMajor } from '../../bundle.js'
import { ConfigError } from '../../errors.js'
import type { ServiceContext } from '../../provider.js'
import { checkRegion, googleCustom, type GoogleCustom, type GoogleEvent } from './mapping.js'
import { serviceLayout, type ServiceLayout } from './layout.js'

/** The Functions Framework version the generated source depends on (the one Polycloud is tested with). */
export const FUNCTIONS_FRAMEWORK_VERSION = '5.0.5'

/** Node majors Cloud Functions runs that are not end of life; the first is the default. */
const RUNTIMES = [22, 24]

export const DEFAULT_REGION = 'us-central1'

export interface GoogleSettings {
  readonly region: string
  /** `nodejs22`. */
  readonly runtime: string
  readonly nodeMajor: number
  /** provider.project, custom.polycloud.google.project or GOOGLE_CLOUD_PROJECT; undefined when none is set. */
  readonly project: string | undefined
  readonly custom: GoogleCustom
  readonly layout: ServiceLayout
  /** Said once to the user when a setting was adjusted (a runtime past end of life). */
  readonly notes: readonly string[]
}

/** Reads the service's Google settings; a region or runtime Google does not offer is a ConfigError naming where it was set. */
export function googleSettings(context: ServiceContext<GoogleEvent>, env: NodeJS.ProcessEnv = process.env): GoogleSettings {
  const custom = googleCustom(context.custom)
  const notes: string[] = []
  const provider = context.providerConfig
  let region: string
  let where: string
  if (typeof context.options.region === 'string') [region, where] = [context.options.region, '--region']
  else if (custom.region !== undefined) [region, where] = [custom.region, 'custom.polycloud.google.region']
  else if (typeof provider.region === 'string') [region, where] = [provider.region, 'provider.region']
  else [region, where] = [DEFAULT_REGION, 'the default region']
  checkRegion(region, where)

  let major: number
  if (custom.runtime !== undefined) {
    const wanted = nodeMajor(custom.runtime)
    if (wanted === undefined || !RUNTIMES.includes(wanted)) {
      throw new ConfigError('custom.polycloud.google.runtime', `${JSON.stringify(custom.runtime)} is not a Node runtime Cloud Functions offers before its end of life (${RUNTIMES.map((n) => `nodejs${n}`).join(', ')})`)
    }
    major = wanted
  } else {
    const written = nodeMajor(provider.runtime)
    if (written !== undefined && RUNTIMES.includes(written)) major = written
    else {
      major = RUNTIMES[0] as number
      if (provider.runtime !== undefined) {
        notes.push(
          `provider.runtime ${String(provider.runtime)} is not a Node runtime Cloud Functions offers before its end of life: deploying on nodejs${major} (set custom.polycloud.google.runtime to choose)`,
        )
      }
    }
  }
  const project = (typeof provider.project === 'string' ? provider.project : undefined) ?? custom.project ?? env.GOOGLE_CLOUD_PROJECT ?? undefined
  const layout = serviceLayout(context.functions, { service: context.service, stage: context.stage, functionUrls: custom.functionUrls !== false })
  return { region, runtime: `nodejs${major}`, nodeMajor: major, project: project === '' ? undefined : project, custom, layout, notes }
}
