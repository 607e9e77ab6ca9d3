/**
 * Bundling for the providers the plugin packages itself (all but AWS, where serverless-esbuild does it): the
 * generated entries with the handlers they import, through esbuild's API, with source maps. A failed build is a
 * BundleError whose message lists esbuild's errors with their file and line; it never leaves a process running.
 */
import { build, type BuildFailure, type Message, type Metafile } from 'esbuild'
import { relative } from 'node:path'

export interface BundleOptions {
  /** Output name (without extension) -> absolute path of the entry. */
  readonly entries: Readonly<Record<string, string>>
  readonly outdir: string
  /** `node` for Azure and Google Cloud, `neutral` for Workers. */
  readonly platform: 'node' | 'neutral'
  readonly format: 'cjs' | 'esm'
  /** esbuild target: `node22`, `es2022`. */
  readonly target: string
  /** `.js`, `.cjs`, `.mjs`. */
  readonly extension: '.js' | '.cjs' | '.mjs'
  /** Modules left for the runtime to provide (`@azure/functions-core`, `node:*` on Workers). */
  readonly external?: readonly string[]
  /** Package export conditions to prefer (`workerd`, `worker`). */
  readonly conditions?: readonly string[]
  readonly mainFields?: readonly string[]
  readonly minify?: boolean
  /** The folder paths in source maps are relative to (the service folder). */
  readonly sourceRoot: string
  readonly banner?: string
  /** `external`: leave every package import to the runtime's resolution (default: bundle them). */
  readonly packages?: 'external'
  /** `linked` (default): a `.map` file next to each output; `inline`: in the output. */
  readonly sourcemap?: 'linked' | 'inline'
}

export interface BundleResult {
  /** Input files (relative to the working directory) and their bytes in the output, per output name. */
  readonly metafile: Metafile
}

/** esbuild's errors, formatted the way a user can act on: `handlers/a.ts:3:7: Could not resolve "x"`. */
export class BundleError extends Error {
  override readonly name = 'BundleError'
  constructor(
    readonly messages: readonly string[],
    what: string,
  ) {
    super(`bundling ${what} failed:\n  ${messages.join('\n  ')}`)
  }
}

function describe(message: Message, root: string): string {
  const where = message.location ? `${relative(root, message.location.file) || message.location.file}:${message.location.line}:${message.location.column}: ` : ''
  return `${where}${message.text}`
}

/** Whether a rejection of esbuild's `build()` is its BuildFailure (the errors, with their locations). */
export function isBuildFailure(error: unknown): error is BuildFailure {
  return typeof error === 'object' && error !== null && Array.isArray((error as BuildFailure).errors)
}

/** Bundles the entries; resolves with esbuild's metafile, or rejects with a BundleError. */
export async function bundle(options: BundleOptions, what: string): Promise<BundleResult> {
  let result
  try {
    result = await build({
      entryPoints: { ...options.entries },
      outdir: options.outdir,
      outExtension: { '.js': options.extension },
      bundle: true,
      platform: options.platform,
      format: options.format,
      target: options.target,
      external: [...(options.external ?? [])],
      ...(options.conditions ? { conditions: [...options.conditions] } : {}),
      ...(options.mainFields ? { mainFields: [...options.mainFields] } : {}),
      minify: options.minify ?? true,
      keepNames: false,
      sourcemap: options.sourcemap ?? 'linked',
      ...(options.packages ? { packages: options.packages } : {}),
      sourceRoot: '',
      sourcesContent: false,
      legalComments: 'none',
      metafile: true,
      write: true,
      logLevel: 'silent',
      absWorkingDir: options.sourceRoot,
      ...(options.banner ? { banner: { js: options.banner } } : {}),
    })
  } catch (error) {
    if (isBuildFailure(error)) throw new BundleError(error.errors.map((message) => describe(message, options.sourceRoot)), what)
    throw error
  }
  // A build with errors rejects (above): what resolves has written every output.
  return { metafile: result.metafile }
}
