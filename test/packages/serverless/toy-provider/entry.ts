/** The Toy entry: one module exporting every function's handler by the function's name. */
import { entryHeader, importHandler } from '../../entry.js'
import type { EntryContext, EntryFile } from '../../provider.js'
import type { ToyPlan } from './plan.js'

export const ENTRY_FILE = 'toy.js'

export function toyEntries(plan: ToyPlan, { workDir, servicePath }: EntryContext): EntryFile[] {
  const lines = [...entryHeader('the service', 'toy'), ...plan.functions.map((fn, index) => importHandler(fn.handler, workDir, servicePath, `handler${index}`)), '']
  lines.push(`export const functions = { ${plan.functions.map((fn, index) => `${JSON.stringify(fn.name)}: handler${index}`).join(', ')} }`, '')
  return [{ file: ENTRY_FILE, source: lines.join('\n'), functions: plan.functions.map((fn) => fn.name) }]
}
