/**
 * The Azure plan: one Azure function per event of each Polycloud function (`<name>`, then `<name>-1`, ...), with
 * its trigger and what the deploy creates for it; and the settings Azure has once per app (the timeout, the instance
 * size, the Node version, host.json's trigger settings, the app settings), computed once, by the commands that need
 * them. The single input of the entry, package, offline, invoke local and deploy.
 */
import { ConfigError, locate } from '../../errors.js'
import type { ServiceModel } from '../../model.js'
import { once, planFunctions } from '../../plan.js'
import { declaredHeads } from '../../route.js'
import type { Json, Logger, PlanInput, PlannedFunction, ProviderPlan } from '../../provider.js'
import { addressing, RESOURCES_VARIABLE, type ResourceDeclaration } from '../../resources.js'
import { lastRetired, nodeMajor, offeredMajors, type ProviderRuntimes } from '../../runtime.js'
import { checkStores, storeAddress, storeTable } from './stores.js'
import { azureFunctionName, checkFunctionName, checkedQueueName, neutralPlan, type AzureResource, type AzureTrigger } from './events.js'

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
  /** The role assignments of the app's identity on what the functions use ({@link azureGrants}). */
  grants(): readonly AzureGrant[]
  /** What the declared resources need created ({@link declaredResources}), besides what the triggers need. */
  declared(): readonly AzureResource[]
}

/**
 * The connections Polycloud's clients (`@polycloud/azure/resources`) use, apart from the triggers' own
 * (`AzureWebJobsStorage`, `ServiceBusConnection`): deployed, identity-based settings of the app's managed identity,
 * which is granted each container, queue and topic the functions use, on that entity only (see {@link azureGrants});
 * locally, the emulators' connection strings.
 */
export const RESOURCE_CONNECTIONS = { storage: 'PolycloudStorage', serviceBus: 'PolycloudServiceBus' } as const

/** Whether a declared queue is a Service Bus queue on Azure (`azure: { serviceBus: true }`), not a Storage queue. */
export function isServiceBusQueue(resource: ResourceDeclaration): boolean {
  return resource.kind === 'queue' && resource.options.serviceBus === true
}

/** A declared queue's name on Azure: lower case (Storage queues and `fromQueue`'s names are), `.` and `_` as `-`. */
export function azureQueueName(resource: ResourceDeclaration): string {
  try {
    return checkedQueueName(resource.deployedName)
  } catch (error) {
    throw locate(resource.at, error)
  }
}

/**
 * A declared resource as the Azure driver addresses it: a container of the app's storage account, a Storage queue
 * (or a Service Bus queue), a Service Bus topic, through Polycloud's connections ({@link RESOURCE_CONNECTIONS}).
 */
export function azureAddress(resource: ResourceDeclaration): Json {
  if (resource.kind === 'store') return storeAddress(resource, RESOURCE_CONNECTIONS.storage)
  if (resource.kind === 'bucket') return { kind: 'bucket', name: resource.deployedName, connection: RESOURCE_CONNECTIONS.storage }
  if (resource.kind === 'queue') {
    return isServiceBusQueue(resource)
      ? { kind: 'queue', service: 'serviceBus', name: azureQueueName(resource), connection: RESOURCE_CONNECTIONS.serviceBus }
      : { kind: 'queue', service: 'storage', name: azureQueueName(resource), connection: RESOURCE_CONNECTIONS.storage }
  }
  return { kind: 'topic', service: 'serviceBus', name: resource.deployedName, connection: RESOURCE_CONNECTIONS.serviceBus }
}

/** The built-in roles Polycloud assigns, with their ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles). */
export const AZURE_ROLES = {
  blobDataContributor: { name: 'Storage Blob Data Contributor', id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' },
  queueDataMessageSender: { name: 'Storage Queue Data Message Sender', id: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a' },
  serviceBusDataSender: { name: 'Azure Service Bus Data Sender', id: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' },
  tableDataContributor: { name: 'Storage Table Data Contributor', id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' },
} as const

/** What the app's identity is granted on one entity, for the resources its functions use. */
export interface AzureGrant {
  /** The resource's logical name. */
  readonly resource: string
  /** Where the role is assigned: a container or Storage queue of the app's account, a queue or topic of its namespace. */
  readonly scope: 'container' | 'storageQueue' | 'serviceBusQueue' | 'serviceBusTopic' | 'table'
  /** The entity's name on Azure. */
  readonly entity: string
  readonly role: (typeof AZURE_ROLES)[keyof typeof AZURE_ROLES]
  /** The functions whose `uses` name it (their code reaches it through the driver; the others get `NotDeclared`). */
  readonly functions: readonly string[]
}

/**
 * The role assignments the app's identity needs: one per resource any function uses, scoped to that entity and no
 * wider, with the narrowest built-in role covering the driver's calls (objects: read, write, delete, list; queues
 * and topics: send). One app serves every function, so this is the union; each function's `uses` (the entry's
 * `withResources`) limits what its own code reaches.
 */
export function azureGrants(functions: ReadonlyArray<PlannedFunction<AzureTrigger>>): AzureGrant[] {
  const grants = new Map<string, AzureGrant>()
  for (const fn of functions) {
    for (const resource of fn.resources) {
      const known = grants.get(resource.name)
      if (known !== undefined) {
        grants.set(resource.name, { ...known, functions: [...known.functions, fn.name] })
        continue
      }
      const grant: Omit<AzureGrant, 'functions'> =
        resource.kind === 'bucket' ? { resource: resource.name, scope: 'container', entity: resource.deployedName, role: AZURE_ROLES.blobDataContributor }
        : resource.kind === 'store' ? { resource: resource.name, scope: 'table', entity: storeTable(resource), role: AZURE_ROLES.tableDataContributor }
        : resource.kind === 'topic' ? { resource: resource.name, scope: 'serviceBusTopic', entity: resource.deployedName, role: AZURE_ROLES.serviceBusDataSender }
        : isServiceBusQueue(resource) ? { resource: resource.name, scope: 'serviceBusQueue', entity: azureQueueName(resource), role: AZURE_ROLES.serviceBusDataSender }
        : { resource: resource.name, scope: 'storageQueue', entity: azureQueueName(resource), role: AZURE_ROLES.queueDataMessageSender }
      grants.set(resource.name, { ...grant, functions: [fn.name] })
    }
  }
  return [...grants.values()]
}

/**
 * What the declared resources need on Azure (those not `existing`): a container or Storage queue of the app's
 * storage account, a Service Bus queue or topic (the namespace then). A fifo queue must be a Service Bus one.
 */
export function declaredResources(resources: readonly ResourceDeclaration[]): AzureResource[] {
  const out: AzureResource[] = []
  for (const resource of resources) {
    if (resource.kind === 'queue' && resource.fifo && !isServiceBusQueue(resource)) {
      throw new ConfigError(resource.at, 'is a fifo queue, which a Storage queue cannot be on Azure (no ordering): set azure: { serviceBus: true } to make it a Service Bus queue with sessions')
    }
    // A store's table is created by deployTables (stores.ts).
    if (resource.existing || resource.kind === 'store') continue
    if (resource.kind === 'bucket') out.push({ kind: 'container', name: resource.deployedName })
    else if (resource.kind === 'topic') out.push({ kind: 'serviceBusTopic', topic: resource.deployedName, subscription: undefined, maxDeliveryCount: 10 })
    else if (isServiceBusQueue(resource)) out.push({ kind: 'serviceBusQueue', name: azureQueueName(resource), maxDeliveryCount: resource.maxReceiveCount ?? 10, sessions: resource.fifo })
    else out.push({ kind: 'storageQueue', name: azureQueueName(resource) })
  }
  return out
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
  checkStores(model.resources)
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
    grants: once(() => azureGrants(functions)),
    declared: once(() => declaredResources(model.resources)),
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

