/**
 * `polycloud init [dir]`: a starter service in a folder of its own. One HTTP route, one cron and one queue worker
 * (three portable handlers), their unit tests with @polycloud/testing, a serverless.yml switched by
 * POLYCLOUD_PROVIDER, and a package.json with exact versions that brings what `npm start` needs on every provider
 * (serverless-offline for AWS, azurite and the Storage clients for Azure, the Functions Framework for Google Cloud,
 * miniflare for Cloudflare), so the service packages and runs on all four with no further install or edit.
 *
 * `--packages <folder>` points the Polycloud dependencies at `npm pack` tarballs in that folder (until the packages
 * are on a registry): `file:` specs, and every Polycloud package named in devDependencies, so that the packages'
 * dependencies on each other (@polycloud/testing -> @polycloud/azure ...) are met by the tarballs instead of being
 * looked up on the registry.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join, relative, resolve } from 'node:path'
import { providers } from './inspect.js'

/** The Polycloud packages a starter uses, and the versions of everything else, as the repository pins them. */
export const STARTER_VERSIONS = {
  serverless: 'npm:osls@4.3.1',
  'serverless-esbuild': '1.57.2',
  'serverless-offline': '14.8.2',
  esbuild: '0.28.2',
  typescript: '5.9.3',
  tsx: '4.23.15',
  '@types/node': '20.19.43',
} as const

/**
 * What `serverless offline` loads on the providers other than AWS (whose serverless-offline is above), as the
 * repository pins them (packages/serverless and the root package.json): azurite and the Storage clients the local
 * Azure host feeds its queue and blob triggers with, the Functions Framework the Google functions run on, miniflare
 * (workerd) for the Worker. Development dependencies of the starter, not of the plugin: a service that never runs
 * one of these providers locally can drop them (miniflare's workerd is most of the size).
 */
export const LOCAL_RUNTIMES = {
  azurite: '3.35.0',
  '@azure/storage-blob': '12.32.0',
  '@azure/storage-queue': '12.30.0',
  '@google-cloud/functions-framework': '5.0.5',
  miniflare: '4.20260426.0',
} as const

/** The adapter packages, one per runtime `polycloud inspect` knows (`@polycloud/<context.provider>`). */
const ADAPTERS = providers.map((provider) => `@polycloud/${provider}`)

/** The adapter of the starter's default provider (POLYCLOUD_PROVIDER unset: AWS), a dependency of its handlers. */
const DEFAULT_ADAPTER = '@polycloud/aws'

/** Polycloud's own packages, all released together at one version. */
const POLYCLOUD = ['@polycloud/core', '@polycloud/resources', ...ADAPTERS, '@polycloud/testing', 'serverless-polycloud']

export class InitError extends Error {}

/** This package's version: the version of every Polycloud package the starter depends on. */
function polycloudVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return manifest.version
}

/** `@polycloud/core` -> `polycloud-core-0.1.0.tgz`, the name `npm pack` gives its tarball. */
function tarballName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`
}

/** The dependency specs of Polycloud's packages: the version, or `file:` a tarball relative to the project. */
function polycloudSpecs(projectDir: string, packagesDir: string | undefined): Record<string, string> {
  const version = polycloudVersion()
  if (packagesDir === undefined) return Object.fromEntries(POLYCLOUD.map((name) => [name, version]))
  const folder = resolve(packagesDir)
  if (!existsSync(folder)) throw new InitError(`--packages ${packagesDir}: no such folder`)
  const present = new Set(readdirSync(folder))
  const missing = POLYCLOUD.filter((name) => !present.has(tarballName(name, version)))
  if (missing.length > 0) {
    throw new InitError(
      `--packages ${packagesDir}: no tarball for ${missing.join(', ')} at version ${version} (expected ${missing.map((name) => tarballName(name, version)).join(', ')}; run \`npm run pack\` in the Polycloud repository)`,
    )
  }
  return Object.fromEntries(POLYCLOUD.map((name) => [name, `file:${relative(projectDir, join(folder, tarballName(name, version))).replaceAll('\\', '/')}`]))
}

/** A service name serverless.yml accepts, from the folder's name. */
function serviceName(dir: string): string {
  const name = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '')
  return /^[a-z]/.test(name) ? name : `service-${name || 'polycloud'}`
}

/** The starter's files, by path relative to the project folder. */
export function starterFiles(dir: string, options: { readonly packages?: string } = {}): Record<string, string> {
  const name = serviceName(dir)
  const specs = polycloudSpecs(resolve(dir), options.packages)
  const versions: Record<string, string> = { ...STARTER_VERSIONS, ...LOCAL_RUNTIMES }
  const pick = (...names: string[]) => Object.fromEntries(names.map((dependency) => [dependency, specs[dependency] ?? (versions[dependency] as string)]))
  const manifest: Record<string, unknown> = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'serverless offline',
      package: 'serverless package',
      test: 'tsc --noEmit && node --import tsx --test test/handlers.test.ts',
    },
    engines: { node: '>=20.19' },
    dependencies: pick('@polycloud/core', DEFAULT_ADAPTER),
    devDependencies: pick(
      '@polycloud/testing',
      ...(options.packages === undefined ? [] : ['@polycloud/resources', ...ADAPTERS.filter((name) => name !== DEFAULT_ADAPTER)]),
      ...Object.keys(LOCAL_RUNTIMES),
      '@types/node',
      'esbuild',
      'serverless',
      'serverless-esbuild',
      'serverless-offline',
      'serverless-polycloud',
      'tsx',
      'typescript',
    ),
  }
  return {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          module: 'Preserve',
          moduleResolution: 'Bundler',
          allowImportingTsExtensions: true,
          noEmit: true,
          strict: true,
          skipLibCheck: true,
          isolatedModules: true,
          verbatimModuleSyntax: true,
          types: ['node'],
        },
        include: ['handlers', 'test'],
      },
      null,
      2,
    )}\n`,
    '.gitignore': ['node_modules/', '.polycloud/', '.esbuild/', '.serverless/', ''].join('\n'),
    'serverless.yml': SERVERLESS_YML(name),
    'handlers/hello.ts': HELLO,
    'handlers/nightly.ts': NIGHTLY,
    'handlers/jobs.ts': JOBS,
    'test/handlers.test.ts': TEST,
    'README.md': README(name),
  }
}

/** Writes the starter into `dir` (created if needed); refuses to overwrite a file unless `force`. */
export function init(dir: string, options: { readonly packages?: string; readonly force?: boolean } = {}): string[] {
  const files = starterFiles(dir, options)
  const existing = Object.keys(files).filter((file) => existsSync(join(dir, file)))
  if (existing.length > 0 && !options.force) {
    throw new InitError(`${dir} already has ${existing.join(', ')}; pick an empty folder, or pass --force to overwrite them`)
  }
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true })
    writeFileSync(join(dir, file), text)
  }
  return Object.keys(files)
}

const SERVERLESS_YML = (name: string) => `# A Polycloud service: portable handlers, neutral events, one file for every provider.
# Provider: POLYCLOUD_PROVIDER: aws (default), azure, google or cloudflare; npm start runs it locally on each.
service: ${name}
frameworkVersion: '4'
# Lets \${env:POLYCLOUD_PROVIDER, 'aws'} fall back to its default when the variable is unset.
useDotenv: true

provider:
  name: \${env:POLYCLOUD_PROVIDER, 'aws'}
  # Node.js 22: supported by every provider; the bundles target it too.
  runtime: nodejs22.x
  # One region for every provider: eu-west-1 is AWS's; Azure deploys to westeurope, Google Cloud to europe-west1
  # (their regions of the same area); Cloudflare has none. --region names a provider's own.
  region: \${opt:region, 'eu-west-1'}
  stage: \${opt:stage, 'dev'}
  timeout: 10
  environment:
    LOG_LEVEL: info

plugins:
  - serverless-polycloud
  - serverless-esbuild
  - serverless-offline

package:
  individually: true

custom:
  esbuild:
    bundle: true
    minify: true
    # Stack traces in logs point at handlers/*.ts (the map is read when a stack is first formatted, not at start).
    sourcemap: linked
    sourcesContent: false
    platform: node
    # CommonJS bundles named .cjs (this package.json says "type": "module").
    format: cjs
    outputFileExtension: .cjs
  serverless-offline:
    host: 127.0.0.1
    httpPort: 3000
    lambdaPort: 3002

functions:
  hello:
    handler: handlers/hello.default
    events:
      - route: GET /hello
  nightly:
    handler: handlers/nightly.default
    events:
      - cron: '0 3 * * *'
  jobs:
    handler: handlers/jobs.default
    events:
      - fromQueue: jobs
`

const HELLO = `import { HttpError, http, json } from '@polycloud/core'

/** GET /hello?name=Ada: a greeting, on every provider. */
export default http((request, context) => {
  const name = request.query.get('name') ?? 'world'
  if (name.length > 100) throw new HttpError(400, 'name is longer than 100 characters')
  context.log.info('greeting', { name })
  return json({ hello: name, provider: context.provider })
})
`

const NIGHTLY = `import { schedule } from '@polycloud/core'

/** Runs at 03:00 UTC every day (cron '0 3 * * *' in serverless.yml). */
export default schedule((tick, context) => {
  context.log.info('nightly run', { at: tick.time })
})
`

const JOBS = `import { queue } from '@polycloud/core'

interface Job {
  id?: unknown
  task?: unknown
}

/** The jobs queue's worker: each message on its own; a throw sends only that message back to the queue. */
export default queue((message, context) => {
  const job = message.json<Job>()
  if (typeof job.id !== 'string' || typeof job.task !== 'string') throw new Error(\`message \${message.id}: a job needs an id and a task\`)
  context.log.info('job done', { id: job.id, task: job.task, attempt: message.attempt })
})
`

const TEST = `import assert from 'node:assert/strict'
import { test } from 'node:test'
import { queueMessage, request, scheduleEvent, send } from '@polycloud/testing'
import hello from '../handlers/hello.ts'
import jobs from '../handlers/jobs.ts'
import nightly from '../handlers/nightly.ts'

test('hello greets by name', async () => {
  const response = await request(hello, { url: '/hello?name=Ada' })
  assert.equal(response.status, 200)
  assert.deepEqual(response.json(), { hello: 'Ada', provider: 'aws' })
})

test('hello refuses a name that is too long', async () => {
  const response = await request(hello, { url: \`/hello?name=\${'a'.repeat(101)}\` })
  assert.equal(response.status, 400)
})

test('jobs: only the malformed message fails', async () => {
  const good = queueMessage({ body: { id: 'j-1', task: 'resize' } })
  const bad = queueMessage({ body: { id: 'j-2' } })
  const { failed } = await send(jobs, [good, bad])
  assert.deepEqual(failed, [bad.id])
})

test('nightly logs its run', async () => {
  const { failed, logs } = await send(nightly, scheduleEvent({ time: '2030-01-01T03:00:00.000Z' }))
  assert.deepEqual(failed, [])
  assert.equal(logs[0]?.message, 'nightly run')
})
`

const README = (name: string) => `# ${name}

A serverless service written once with Polycloud: portable handlers in \`handlers/\`, neutral events in
\`serverless.yml\`, one file for every provider.

\`\`\`sh
npm install
npm test                          # type check, then the handlers' unit tests
npm start                         # serverless offline on http://127.0.0.1:3000 (try /hello?name=Ada)
npx serverless package            # the deployable artifacts in .serverless/
npx serverless invoke local -f jobs --path event.json   # a function with a native event
\`\`\`

The same service on the other providers' local runtimes, as installed (\`npm start\` prints the address):

\`\`\`sh
POLYCLOUD_PROVIDER=azure npm start        # a local Functions host on 127.0.0.1:7071 (routes under /api), azurite
POLYCLOUD_PROVIDER=google npm start       # the Functions Framework on 127.0.0.1:8080
POLYCLOUD_PROVIDER=cloudflare npm start   # the Worker on workerd (miniflare), 127.0.0.1:8787
\`\`\`

\`azurite\` and \`@azure/storage-*\` (Azure), \`@google-cloud/functions-framework\` (Google Cloud) and \`miniflare\`
(Cloudflare) are there for those local runs only: remove the ones of providers you do not run locally.

Deploying: \`npx serverless deploy\` with the provider's credentials; \`POLYCLOUD_PROVIDER\` picks the provider.
\`provider.region\` (eu-west-1) is read by each provider as its region of the same area.
`
