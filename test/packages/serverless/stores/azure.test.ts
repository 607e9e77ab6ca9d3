/**
 * Stores on Azure: a Table Storage table each in the app's storage account; the plan's addressing and refusals;
 * deploy creating the tables through ARM (the ARM stand-in, checked against azure-rest-api-specs); remove keeping the
 * storage account while a store's table holds entries (read with Query Entities and Shared Key, on azurite), deleting
 * it with --deleteData.
 */
import { expect } from 'chai'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from 'serverless-polycloud/errors'
import type { FunctionConfig, Logger } from 'serverless-polycloud/provider'
import { deployApp, removeApp, type AzureEnvironment } from 'serverless-polycloud/providers/azure/deploy'
import { azure } from 'serverless-polycloud/providers/azure/index'
import type { OfflineSettings } from 'serverless-polycloud/providers/azure/offline'
import { startStorage, type LocalStorage } from 'serverless-polycloud/providers/azure/storage'
import { createTables, tablesHoldingEntries } from 'serverless-polycloud/providers/azure/stores'
import { startArmStandIn, type ArmStandIn } from '../../../helpers/arm-stand-in.ts'
import { ROOT } from '../../../helpers/serverless.ts'
import { contextFor, planFor } from '../support.ts'

const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444'
const FUNCTIONS: Record<string, FunctionConfig> = {
  chat: { handler: 'handlers/hello.default', uses: ['sessions', 'devices'], events: [{ route: 'POST /chat' }] },
  hello: { handler: 'handlers/hello.default', events: [{ route: 'GET /hello' }] },
}
const RESOURCES = { sessions: 'store', devices: { kind: 'store', name: 'iot-devices', existing: true } }
const providerConfig = { name: 'azure', runtime: 'nodejs22.x' }

describe('serverless/stores: Azure', function () {
  this.timeout(180_000)

  describe('the plan', () => {
    it("addresses each store by its table (the name's letters and digits) through the app's storage connection", () => {
      const plan = planFor(azure, FUNCTIONS, { service: 'shop', stage: 'dev', resources: RESOURCES, provider: providerConfig })
      expect(JSON.parse(plan.environment().POLYCLOUD_RESOURCES as string)).to.deep.equal({
        sessions: { kind: 'store', table: 'shopdevsessions', connection: 'PolycloudStorage' },
        devices: { kind: 'store', table: 'iotdevices', connection: 'PolycloudStorage' },
      })
    })

    it('refuses a store whose name makes no table name, saying which', () => {
      expect(() => planFor(azure, FUNCTIONS, { service: 'shop', stage: 'dev', resources: { ...RESOURCES, devices: { kind: 'store', name: '9-lives' } }, provider: providerConfig })).to.throw(
        ConfigError,
        'custom.polycloud.resources.devices: a store on Azure is a Table Storage table, and "9-lives" makes the table name "9lives", which Table Storage refuses',
      )
    })
  })

  describe('remove reads the tables with Shared Key (azurite)', () => {
    let storage: LocalStorage
    const folder = mkdtempSync(join(tmpdir(), 'polycloud-stores-azurite-'))
    before(async () => {
      storage = await startStorage({ host: '127.0.0.1', port: 0, storage: folder, blobPort: 0, queuePort: 0, logLevel: 'error' } as OfflineSettings, () => {})
    })
    after(async () => {
      await storage?.stop()
      rmSync(folder, { recursive: true, force: true })
    })

    it('a table with an entity holds entries; an empty one and a missing one do not', async () => {
      await createTables(storage.connectionString, ['shopdevfull', 'shopdevempty'])
      // Created twice: the second is a no-op (TableAlreadyExists).
      await createTables(storage.connectionString, ['shopdevfull'])
      const { TableClient } = await import('@azure/data-tables')
      await TableClient.fromConnectionString(storage.connectionString, 'shopdevfull', { allowInsecureConnection: true }).createEntity({ partitionKey: 'kv', rowKey: 'a', value: '1' })
      const parts = Object.fromEntries(storage.connectionString.split(';').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]))
      expect(await tablesHoldingEntries(parts.TableEndpoint as string, parts.AccountName as string, parts.AccountKey as string, ['shopdevfull', 'shopdevempty', 'shopdevmissing'])).to.deep.equal(['shopdevfull'])
    })
  })

  describe('deploy and remove (ARM stand-in)', () => {
    let standIn: ArmStandIn
    let env: AzureEnvironment
    const workDir = join(ROOT, '.polycloud', 'azure-stores-test')
    const packageDir = mkdtempSync(join(tmpdir(), 'polycloud-azure-stores-'))
    const context = (options: Record<string, unknown> = {}) => {
      // An existing store's table would be the user's, in the account the first deploy creates: left out here.
      const plan = planFor(azure, { chat: { handler: 'handlers/hello.default', uses: ['sessions'], events: [{ route: 'POST /chat' }] } }, { service: 'shop', stage: 'test', resources: { sessions: 'store' }, provider: providerConfig })
      mkdirSync(workDir, { recursive: true })
      for (const entry of azure.entries(plan, { workDir, servicePath: ROOT })) writeFileSync(join(workDir, entry.file), entry.source)
      const notices: string[] = []
      const log: Logger = { notice: (line) => notices.push(line), info: () => {}, verbose: () => {}, warning: (line) => notices.push(line), error: (line) => notices.push(line) }
      return { notices, context: contextFor(plan, { region: 'westeurope', workDir, packageDir, options, log, write: () => {} }) }
    }
    before(async () => {
      standIn = await startArmStandIn(SUBSCRIPTION)
      env = {
        subscriptionId: SUBSCRIPTION,
        credential: { getToken: async () => ({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }) },
        endpoint: standIn.url,
        appUrl: (url) => standIn.appUrl(url),
        ca: standIn.ca,
        pollIntervalMs: 10,
      }
    })
    after(async () => {
      await standIn?.stop()
      rmSync(workDir, { recursive: true, force: true })
      rmSync(packageDir, { recursive: true, force: true })
    })

    it("creates the stores' tables in the app's storage account, grants the app's identity that table only; a second deploy creates none", async () => {
      const { context: first, notices } = context()
      await deployApp(first, env)
      const created = standIn.calls.filter((call) => call.operation === 'Table_Create').map((call) => call.path.split('/').pop())
      expect(created).to.deep.equal(['shoptestsessions'])
      expect(notices).to.include('Created table shoptestsessions (a store)')
      // The app's identity may read and write that table only: Storage Table Data Contributor scoped to it.
      const assignments = standIn.calls.filter((call) => call.operation === 'RoleAssignments_Create').map((call) => call.path)
      expect(assignments.filter((path) => path.includes('/tableServices/'))).to.have.length(1)
      expect(assignments.find((path) => path.includes('/tableServices/'))).to.match(/\/storageAccounts\/[^/]+\/tableServices\/default\/tables\/shoptestsessions\/providers\/Microsoft\.Authorization\/roleAssignments\//)
      expect(notices.some((line) => line.startsWith('Granting the app Storage Table Data Contributor on table shoptestsessions (sessions: chat)'))).to.equal(true)
      const from = standIn.calls.length
      await deployApp(context().context, env)
      expect(standIn.calls.slice(from).map((call) => call.operation)).to.include('Table_List').and.not.include('Table_Create')
    })

    it('remove --deleteData deletes the storage account with its tables, without reading them', async () => {
      const from = standIn.calls.length
      await removeApp(context({ deleteData: true }).context, env)
      const operations = standIn.calls.slice(from).map((call) => call.operation)
      expect(operations).to.include('StorageAccounts_Delete')
      expect(operations).to.not.include('StorageAccounts_ListKeys')
    })
  })
})
