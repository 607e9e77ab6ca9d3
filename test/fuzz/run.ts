// `npm run fuzz -- --events 100000 [--seed 1]`: the long run of the mutation fuzzer (test/fuzz/fuzzer.ts), printing
// the counts per outcome class and every defect found (exit code 1 when there is one).
import { fuzz, quietly } from './fuzzer.ts'

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  const value = at === -1 ? undefined : Number(process.argv[at + 1])
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} needs a positive integer`)
  return value
}

const events = option('events', 100_000)
const seed = option('seed', 1)
const result = await quietly(() =>
  fuzz({
    seed,
    events,
    progress: (done) => {
      if (done % 10_000 === 0) process.stderr.write(`fuzz: ${done}/${events} events\n`)
    },
  }),
)
process.stdout.write(`fuzz: ${result.events} events, seed ${seed}, ${(result.ms / 1000).toFixed(1)} s\n`)
for (const [outcome, count] of Object.entries(result.counts)) process.stdout.write(`  ${outcome.padEnd(32)} ${count}\n`)
const wrong = Object.entries(result.wrongFields).sort(([a], [b]) => a.localeCompare(b))
if (wrong.length > 0) process.stdout.write(`wrong-typed fields that reached a handler, per format and field:\n`)
for (const [field, count] of wrong) process.stdout.write(`  ${field.padEnd(48)} ${count}\n`)
for (const defect of result.defects) process.stdout.write(`DEFECT ${JSON.stringify(defect)}\n`)
process.exitCode = result.defects.length > 0 ? 1 : 0
