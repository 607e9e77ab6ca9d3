/**
 * `serverless package` for Google Cloud: the source zip Cloud Functions (gen 2) builds as it is, one per service.
 * `package.json` (main, engines, the Functions Framework as the only dependency), `index.js` (loads the bundle of
 * the function an instance serves), `functions/<entry point>.js` (each entry bundled with its handler and the
 * adapter, CommonJS, with a linked source map). The Functions Framework stays out of the bundles: Google's build
 * installs it from package.json, and the functions register with that copy.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { bundle } from '../../bundle.js'
import { buildInputs } from '../../reload.js'
import type { ServiceContext } from '../../provider.js'
import { writeZip, type ZipEntry } from '../../zip.js'
import { ENTRY_DIR, mainModule } from './entry.js'
import { FUNCTIONS_FRAMEWORK_VERSION, type GooglePlan, type GoogleSettings } from './plan.js'

/** The folder of the packaged source in the work folder (what the zip holds, and what `offline` serves). */
export const SOURCE_DIR = 'source'

export interface PackagedService {
  readonly settings: GoogleSettings
  /** The unpacked source. */
  readonly sourceDir: string
  readonly zip: string
  readonly zipBytes: number
  /** The source files bundled (absolute paths), which `offline` watches. */
  readonly inputs: readonly string[]
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : [path]
  })
}

/** The zip's path for the service. */
export function zipPath(context: ServiceContext<GooglePlan>): string {
  return join(context.packageDir, `${context.service}.zip`)
}

/**
 * Writes the source Cloud Functions builds into `sourceDir` (emptied first): the bundles, `package.json` and
 * `index.js`. Resolves with the source files bundled (absolute paths).
 */
export async function writeSource(context: ServiceContext<GooglePlan>, settings: GoogleSettings, sourceDir: string): Promise<string[]> {
  rmSync(sourceDir, { recursive: true, force: true })
  mkdirSync(join(sourceDir, 'functions'), { recursive: true })
  const entryPoints = [...new Set(settings.layout.functions.map((fn) => fn.entryPoint))]
  const { metafile } = await bundle(
    {
      entries: Object.fromEntries(entryPoints.map((name) => [name, join(context.workDir, ENTRY_DIR, `${name}.ts`)])),
      outdir: join(sourceDir, 'functions'),
      platform: 'node',
      format: 'cjs',
      target: `node${settings.nodeMajor}`,
      extension: '.js',
      external: ['@google-cloud/functions-framework'],
      sourceRoot: context.servicePath,
    },
    `the ${context.service} service for Google Cloud`,
  )
  const manifest = {
    name: context.service,
    version: '1.0.0',
    private: true,
    description: `${context.service} (${context.stage}), packaged by serverless-polycloud for Cloud Functions gen 2`,
    main: 'index.js',
    engines: { node: `${settings.nodeMajor}.x` },
    dependencies: { '@google-cloud/functions-framework': FUNCTIONS_FRAMEWORK_VERSION },
  }
  writeFileSync(join(sourceDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  writeFileSync(join(sourceDir, 'index.js'), mainModule(entryPoints))
  return buildInputs(metafile, context.servicePath)
}

/** Bundles the entries and writes the source folder and its zip. */
export async function packageSource(context: ServiceContext<GooglePlan>, settings = context.plan.settings()): Promise<PackagedService> {
  const sourceDir = join(context.workDir, SOURCE_DIR)
  const inputs = await writeSource(context, settings, sourceDir)
  const entries: ZipEntry[] = files(sourceDir).map((path) => ({ name: relative(sourceDir, path).replaceAll('\\', '/'), data: readFileSync(path) }))
  const zip = zipPath(context)
  const zipBytes = await writeZip(zip, entries)
  return { settings, sourceDir, zip, zipBytes, inputs }
}

/** `serverless package`. */
export async function packageCommand(context: ServiceContext<GooglePlan>): Promise<void> {
  const packaged = await packageSource(context)
  for (const note of packaged.settings.notes) context.log.warning(note)
  const functions = packaged.settings.layout.functions
  context.log.notice(
    `Packaged ${context.service} for Google Cloud (${packaged.settings.runtime}): ${relative(context.servicePath, packaged.zip)}, ` +
      `${(packaged.zipBytes / 1024).toFixed(1)} KB, ${functions.length} Cloud Function${functions.length === 1 ? '' : 's'} (${functions.map((fn) => fn.id).join(', ')})`,
  )
}
