/** A Google Cloud service context built the way the plugin builds it at `initialize`, for tests that call the target's commands in-process. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { FunctionConfig, Logger, ServiceContext } from 'serverless-polycloud/provider'
import { google } from 'serverless-polycloud/providers/google/index'
import type { GooglePlan } from 'serverless-polycloud/providers/google/plan'
import { ROOT } from '../../../helpers/serverless.ts'
import { contextFor, planFor } from '../support.ts'

/** The demo's functions, as serverless.yml declares them (variables resolved for stage dev). */
export const DEMO_FUNCTIONS: Record<string, FunctionConfig> = {
  hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
  greetings: { handler: 'handlers/greetings.default', events: [{ route: 'GET /greetings/{name}' }] },
  quotes: { handler: 'handlers/quotes.default', events: [{ route: 'POST /quotes' }] },
  report: { handler: 'handlers/report.default', events: [{ cron: '0 3 * * *' }] },
  orders: { handler: 'handlers/orders.default', events: [{ fromQueue: { name: 'orders', batchSize: 10 } }] },
  alerts: { handler: 'handlers/alerts.default', events: [{ topic: 'polycloud-demo-dev-alerts' }] },
  thumbnails: { handler: 'handlers/thumbnails.default', events: [{ bucket: { name: 'polycloud-demo-dev-uploads', on: 'created', prefix: 'images/' } }] },
}

export interface TestContext extends ServiceContext<GooglePlan> {
  readonly notices: string[]
  readonly written: string[]
}

/** Plans the functions, writes their entries to a fresh work folder, and returns the context the commands get. */
export function googleContext(
  functions: Record<string, FunctionConfig> = DEMO_FUNCTIONS,
  overrides: { providerConfig?: Record<string, unknown>; custom?: Record<string, unknown>; options?: Record<string, unknown>; stage?: string; resources?: Record<string, unknown> } = {},
): TestContext {
  // Inside the repository (.polycloud is ignored), so the entries resolve @polycloud/gcp as a service's do.
  mkdirSync(join(ROOT, '.polycloud'), { recursive: true })
  const base = mkdtempSync(join(ROOT, '.polycloud', 'test-google-'))
  const workDir = join(base, '.polycloud', 'google')
  const providerConfig = { name: 'google', runtime: 'nodejs22.x', region: 'europe-west1', project: 'demo-project', timeout: 10, memorySize: 256, environment: { LOG_LEVEL: 'info' }, ...overrides.providerConfig }
  const custom = overrides.custom ?? {}
  const stage = overrides.stage ?? 'dev'
  const options = overrides.options ?? {}
  let plan
  try {
    plan = planFor(google, functions, { service: 'polycloud-demo', stage, provider: providerConfig, custom, region: options.region as string | undefined, resources: overrides.resources })
    for (const entry of google.entries(plan, { workDir, servicePath: ROOT })) {
      mkdirSync(dirname(join(workDir, entry.file)), { recursive: true })
      writeFileSync(join(workDir, entry.file), entry.source)
    }
  } catch (error) {
    // A configuration the plugin refuses at initialize: nothing to keep.
    rmSync(base, { recursive: true, force: true })
    throw error
  }
  const notices: string[] = []
  const written: string[] = []
  const log: Logger = {
    notice: (message) => notices.push(message),
    info: () => {},
    verbose: () => {},
    warning: (message) => notices.push(`warning: ${message}`),
    error: (message) => notices.push(`error: ${message}`),
  }
  return {
    ...contextFor(plan, { region: undefined, workDir, packageDir: join(base, '.serverless'), options, log, write: (line) => written.push(line) }),
    notices,
    written,
  }
}
