/**
 * A throwaway fifth provider, for the test that adding a provider is its folder and its registry entry
 * (new-provider.test.ts copies this folder to `providers/toy/` of a copy of the plugin). Toy runs routes only: its
 * package is a zip of one bundle exporting every function's handler, with a manifest of the routes; it serves no
 * other command.
 */
import { commandFiles, type ProviderDefinition } from '../../provider.js'
import { toyEntries } from './entry.js'
import { toyPlan, type ToyPlan } from './plan.js'

export const toy: ProviderDefinition<ToyPlan> = {
  name: 'toy',
  aliases: ['plaything'],
  title: 'Toy',
  platform: 'Toy Functions',
  adapter: undefined,
  nativeEvents: ['toyTimer'],
  defaultTimeout: 10,
  httpBodyLimit: 1024 * 1024,
  customSchema: { type: 'object', properties: { greeting: { type: 'string' } }, additionalProperties: false },
  plan: toyPlan,
  entries: toyEntries,
  commands: commandFiles(import.meta.url, ['package']),
}
