// The chatbot and IoT flows (handlers/chat.ts, telemetry.ts, readings.ts, devices.ts) on the in-memory store and on
// each provider's local store through its driver: DynamoDB on dynalite, Table Storage on azurite, D1 on miniflare, and
// Polycloud's local Firestore (Firestore's own emulator cannot run here).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TableClient } from '@azure/data-tables'
import { Miniflare } from 'miniflare'
import { awsResources } from '@polycloud/aws/resources'
import { azureResources } from '@polycloud/azure/resources'
import { cloudflareResources } from '@polycloud/cloudflare/resources'
import { gcpResources } from '@polycloud/gcp/resources'
import { startLocalDynamoDb } from '../../packages/serverless/src/providers/aws/local/dynamodb.ts'
import { startLocalFirestore } from '../../packages/serverless/src/providers/google/local/firestore.ts'
import { startStorage } from '../../packages/serverless/src/providers/azure/storage.ts'
import type { OfflineSettings } from '../../packages/serverless/src/providers/azure/offline.ts'
import { flowBehaviour } from './flows.ts'
import { memoryBackend, storesOn } from './support.ts'

flowBehaviour(async () => memoryBackend, memoryBackend.name)

flowBehaviour(async () => {
  const local = await startLocalDynamoDb({ tables: ['demo-sessions', 'demo-devices'] })
  const env = { AWS_ACCESS_KEY_ID: 'AKIDPOLYCLOUDTEST', AWS_SECRET_ACCESS_KEY: 'polycloud-test-secret', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_DYNAMODB: local.endpoint }
  const tables = { sessions: { kind: 'store', table: 'demo-sessions' }, devices: { kind: 'store', table: 'demo-devices' } } as const
  return storesOn('DynamoDB (dynalite)', awsResources(), tables, env, () => local.stop())
}, 'DynamoDB (dynalite)')

flowBehaviour(async () => {
  const folder = mkdtempSync(join(tmpdir(), 'polycloud-flows-azurite-'))
  const storage = await startStorage({ host: '127.0.0.1', port: 0, storage: folder, blobPort: 0, queuePort: 0, logLevel: 'error' } as OfflineSettings, () => {})
  for (const table of ['demosessions', 'demodevices']) await TableClient.fromConnectionString(storage.connectionString, table, { allowInsecureConnection: true }).createTable()
  const tables = { sessions: { kind: 'store', table: 'demosessions', connection: 'AzureWebJobsStorage' }, devices: { kind: 'store', table: 'demodevices', connection: 'AzureWebJobsStorage' } } as const
  return storesOn('Table Storage (azurite)', azureResources(), tables, { AzureWebJobsStorage: storage.connectionString }, async () => {
    await storage.stop()
    rmSync(folder, { recursive: true, force: true })
  })
}, 'Table Storage (azurite)')

flowBehaviour(async () => {
  const mf = new Miniflare({ modules: true, script: 'export default {}', compatibilityDate: '2026-04-01', host: '127.0.0.1', port: 0, cf: false, d1Databases: ['STATE_DB'] })
  await mf.ready
  const tables = { sessions: { kind: 'store', binding: 'STATE_DB', table: 'sessions' }, devices: { kind: 'store', binding: 'STATE_DB', table: 'devices' } } as const
  return storesOn('D1 (miniflare)', cloudflareResources({ env: { STATE_DB: await mf.getD1Database('STATE_DB') } }), tables, {}, () => mf.dispose())
}, 'D1 (miniflare)')

flowBehaviour(async () => {
  const local = await startLocalFirestore()
  const collections = { sessions: { kind: 'store', collection: 'sessions' }, devices: { kind: 'store', collection: 'devices' } } as const
  return storesOn('Firestore (the local Firestore)', gcpResources(), collections, { GOOGLE_CLOUD_PROJECT: 'polycloud-test', FIRESTORE_EMULATOR_HOST: `127.0.0.1:${local.port}` }, () => local.stop())
}, 'Firestore (the local Firestore)')
