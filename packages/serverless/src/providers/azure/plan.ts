/**
 * The Azure plan: one Azure function per event of each Polycloud function (`<name>`, then `<name>-1`, ...), with
 * its trigger and what the deploy creates for it; and the settings Azure has once per app (the timeout, the instance
 * size, the Node version, host.json's trigger settings, the app settings), computed once, by the commands that need
 * them. The single input of the entry, package, offline, invoke local and deploy.
 */
import { ConfigError } from '../../errors.js'
import type { ServiceModel } from '../../model.js'
import { once, planFunctions } from '../../plan.js'
import { declaredHeads } from '../../route.js'
import type { Json, Logger, PlanInput, PlannedFunction, ProviderPlan } from '../../provider.js'
import { addressing, RESOURCES_VARIABLE, type ResourceDeclaration } from '../../resources.js'
import { lastRetired, nodeMajor, offeredMajors, type ProviderRuntimes } from '../../runtime.js'
import { azureFunctionName, checkFunctionName, neutralPlan, type AzureTrigger } from './events.js'

/**
 * Azure Functions' Node.js versions: "Language runtime support policy",
 * https://learn.microsoft.com/azure/azure-functions/language-support-policy: support ends on the language's
 * community end-of-life date; retired versions can still be created and deployed. End-of-life dates from Node.js's
 * schedule, https://github.com/nodejs/Release/blob/main/schedule.json (commit
 * e4bf922d83b877a116763e2f83d2d9b6701871f9): v18 2025-04-30, v20 2026-04-30, v22 2027-04-30, v24 2028-04-30.
 * Flex Consumption runs the versions not past their end of life when the table was checked.
 */
export const AZURE_RUNTIMES: ProviderRuntimes = {
  spell: (major) => `nodejs${major}.x`,
  source: 'https://learn.microsoft.com/azure/azure-functions/language-support-policy (Node.js end-of-life dates: https://github.com/nodejs/Release)',
  checked: '2026-11-28',
  versions: [
    { major: 24, deprecated: '2028-04-30' },
    { major: 22, deprecated: '2027-04-30' },
    { major: 20, deprecated: '2026-04-30' },
    { major: 18, deprecated: '2025-04-30' },
  ],
}

/** Instance memory sizes of Flex Consumption, in MB. */
export const FLEX_MEMORY = [512, 2048, 4096] as const

/** One Azure function of the app: its name, the Polycloud function it serves, its trigger. */
export interface AzureFunction {
  readonly name: string
  readonly function: string
  readonly trigger: AzureTrigger
}

/** `custom.polycloud.azure`. */
export interface AzureCustom {
  readonly appName?: string
  readonly resourceGroup?: string
  readonly maximumInstanceCount?: number
  readonly offline?: Readonly<Record<string, unknown>>
}

export interface AzurePlan extends ProviderPlan<AzureTrigger> {
  /** Every Azure function of the service, in order. */
  readonly app: readonly AzureFunction[]
  readonly custom: AzureCustom
  /** The app-wide settings, and what they adjusted (said by `package`); computed on first use. */
  settings(): { readonly settings: AppSettings; readonly notes: readonly string[] }
  /**
   * The app settings of the functions' environment (one set for the app), with `POLYCLOUD_RESOURCES` when functions
   * use resources (every resource any function uses: each function's `uses`, in the entry, limits its code);
   * computed on first use.
   */
  environment(): Readonly<Record<string, string>>
  /** Each resource the functions use, addressed as the Azure driver reads it (container, queue, topic, connection). */
  addressing(): Readonly<Record<string, Json>>
}

/**
 * A declared resource as the Azure driver addresses it: a container of the app's storage account, a Storage queue,
 * a Service Bus topic, through the connections the triggers read (the app settings the deploy writes).
 */
export function azureAddress(resource: ResourceDeclaration): Json {
  if (resource.kind === 'bucket') return { kind: 'bucket', name: resource.deployedName, connection: 'AzureWebJobsStorage' }
  // Storage queue names are lower case (as `fromQueue` names them: storageQueueName).
  if (resource.kind === 'queue') return { kind: 'queue', service: 'storage', name: resource.deployedName.toLowerCase().replace(/[._]/g, '-'), connection: 'AzureWebJobsStorage' }
  return { kind: 'topic', service: 'serviceBus', name: resource.deployedName, connection: 'ServiceBusConnection' }
}

/** Every Azure function of the service, in order: one per event (`<name>`, then `<name>-1`, ...). */
export function azureFunctions(functions: ReadonlyArray<PlannedFunction<AzureTrigger>>): AzureFunction[] {
  const out: AzureFunction[] = []
  const names = new Set<string>()
  for (const fn of functions) {
    checkFunctionName(fn.name)
    if (fn.events.length === 0) {
      throw new ConfigError(`functions.${fn.name}.events`, 'an Azure function runs only from a trigger: give it an event (route, cron, fromQueue, topic, bucket, changes)')
    }
    fn.events.forEach(({ native }, index) => {
      const name = azureFunctionName(fn.name, index)
      if (names.has(name.toLowerCase())) throw new ConfigError(`functions.${fn.name}`, `Azure function name ${JSON.stringify(name)} is used twice (names are case-insensitive)`)
      names.add(name.toLowerCase())
      out.push({ name, function: fn.name, trigger: native })
    })
  }
  return out
}

/** The service as Azure deploys it. */
export function azurePlan(model: ServiceModel, _input: PlanInput): AzurePlan {
  const heads = declaredHeads(model.functions.flatMap((fn) => fn.events))
  const functions = planFunctions<AzureTrigger>(model, {
    title: 'Azure',
    preflights: true,
    event(event, fn) {
      if (event.kind === 'native') {
        throw new ConfigError('', `native event ${JSON.stringify(event.key)} is not served by Polycloud on Azure: use a neutral event (route, cron, fromQueue, topic, bucket, changes)`)
      }
      return neutralPlan(event, fn.name, { service: model.service, stage: model.stage, timeout: fn.timeoutFrom === 'default' ? undefined : fn.timeout, heads })
    },
  })
  return {
    model,
    functions,
    app: functions.length === 0 ? [] : azureFunctions(functions),
    custom: model.custom as AzureCustom,
    settings: once(() => {
      const notes: string[] = []
      const log: Logger = { warning: (line) => notes.push(line), notice() {}, info() {}, error() {}, verbose() {} }
      return { settings: appSettings(functions, { runtime: model.runtime }, log), notes }
    }),
    environment: once(() => appEnvironment(functions)),
    addressing: once(() => addressing(functions, azureAddress)),
  }
}

/** What the app's settings resolve to: one timeout, one instance size, one Node version for every function. */
export interface AppSettings {
  readonly timeout: number
  readonly memoryMB: (typeof FLEX_MEMORY)[number]
  /** The Node.js major the app runs on. */
  readonly node: number
  /** host.json settings the triggers asked for (`queues.batchSize`, ...). */
  readonly host: Readonly<Record<string, number>>
}

/**
 * The app-wide settings of the functions. Azure has one timeout and one instance size per app: the largest any
 * function asks for (a warning names the functions that get more than they asked). App-wide trigger settings
 * (`queues.batchSize`, `queues.maxDequeueCount`) must agree between the functions that set them.
 */
export function appSettings(functions: ReadonlyArray<PlannedFunction<AzureTrigger>>, providerConfig: Readonly<Json>, log?: Logger): AppSettings {
  const timeout = Math.max(...functions.map((fn) => fn.timeout), 1)
  const longer = functions.filter((fn) => fn.timeout < timeout).map((fn) => fn.name)
  if (longer.length > 0) log?.warning(`Azure has one function timeout per app (host.json functionTimeout): ${timeout} s, also for ${longer.join(', ')}`)
  // Flex Consumption's default instance is 2048 MB; a size asked for is rounded up to the next one Flex has.
  const memory = Math.max(...functions.map((fn) => fn.memorySize ?? 0), 0)
  const memoryMB = memory === 0 ? 2048 : FLEX_MEMORY.find((size) => size >= memory)
  if (memoryMB === undefined) {
    const fn = functions.find((candidate) => (candidate.memorySize ?? 0) === memory)
    throw new ConfigError(`functions.${fn?.name ?? '?'}.memorySize`, `${memory} MB cannot be honoured on Flex Consumption (instance sizes: ${FLEX_MEMORY.join(', ')} MB)`)
  }
  const host: Record<string, number> = {}
  const setBy: Record<string, string> = {}
  for (const fn of functions) {
    for (const { event, native } of fn.events) {
      for (const [key, value] of Object.entries(native.host ?? {})) {
        if (host[key] !== undefined && host[key] !== value) {
          throw new ConfigError(event.at, `${key} ${value} differs from ${host[key]} set by ${setBy[key]}: it is one setting for the whole Azure app (host.json)`)
        }
        host[key] = value
        setBy[key] = event.at
      }
    }
  }
  return { timeout, memoryMB, node: nodeVersion(providerConfig.runtime, log), host }
}

/**
 * The Node version to run: the runtime's major when Flex Consumption runs it ({@link AZURE_RUNTIMES}), the oldest
 * it runs when none is set; the version retired last (20) is moved to that one with a warning; others are refused.
 */
export function nodeVersion(runtime: unknown, log?: Logger): AppSettings['node'] {
  const offered = offeredMajors(AZURE_RUNTIMES)
  const oldest = offered[0] as number
  if (runtime === undefined) return oldest
  const major = nodeMajor(runtime)
  const retired = lastRetired(AZURE_RUNTIMES)
  if (retired !== undefined && major === retired.major) {
    log?.warning(`Node.js ${major} reached end of life on ${retired.deprecated} and Azure Functions no longer runs it: the app is built and deployed for Node.js ${oldest}`)
    return oldest
  }
  if (major === undefined || !offered.includes(major)) {
    throw new ConfigError('provider.runtime', `${JSON.stringify(runtime)} is not a Node.js version Azure Functions (Flex Consumption) runs: use ${offered.map((version) => AZURE_RUNTIMES.spell(version)).join(' or ')}`)
  }
  return major
}

/**
 * The app settings of the functions' `environment` (provider's and functions'): one set for the whole app on
 * Azure, so two functions giving one variable different values is refused.
 */
export function appEnvironment(functions: ReadonlyArray<PlannedFunction<AzureTrigger>>): Record<string, string> {
  const environment: Record<string, string> = {}
  const setBy: Record<string, string> = {}
  for (const fn of functions) {
    for (const [key, value] of Object.entries(fn.environment)) {
      if (environment[key] !== undefined && environment[key] !== value) {
        throw new ConfigError(`functions.${fn.name}.environment.${key}`, `differs from the value functions.${setBy[key]} gives it: app settings are shared by every function of an Azure app`)
      }
      environment[key] = value
      setBy[key] = fn.name
    }
  }
  const used = addressing(functions, azureAddress)
  if (Object.keys(used).length > 0) environment[RESOURCES_VARIABLE] = JSON.stringify(used)
  return environment
}

