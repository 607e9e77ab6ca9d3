import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/** test/fixtures/events: real payloads copied from ../shared with their MANIFEST.tsv. */
export const EVENTS_DIR = fileURLToPath(new URL('../fixtures/events/', import.meta.url))

/** A fixture parsed as JSON, by its path under test/fixtures/events (e.g. `aws/sqs/lgo__sqs-event.json`). */
export function fixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(join(EVENTS_DIR, path), 'utf8')) as T
}

/** Every fixture path under a folder of test/fixtures/events, sorted. */
export function fixturePaths(folder = ''): string[] {
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.json')) out.push(relative(EVENTS_DIR, path))
    }
  }
  walk(join(EVENTS_DIR, folder))
  return out
}

/** The MANIFEST.tsv rows by local path. */
export function manifest(): Map<string, Record<string, string>> {
  const [header, ...rows] = readFileSync(join(EVENTS_DIR, 'MANIFEST.tsv'), 'utf8').trim().split('\n')
  const names = (header as string).split('\t')
  const out = new Map<string, Record<string, string>>()
  for (const row of rows) {
    const cells = row.split('\t')
    out.set(cells[0] as string, Object.fromEntries(names.map((name, i) => [name, cells[i] ?? ''])))
  }
  return out
}
