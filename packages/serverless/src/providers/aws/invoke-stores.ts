/**
 * `serverless invoke local` of a function that uses a store: the local DynamoDB `npm start` serves (dynalite, its
 * tables in `<stateDir>/dynamodb`, `.polycloud/state/aws` by default) is started for the invocation, on a free port of
 * 127.0.0.1, and the function gets `AWS_ENDPOINT_URL_DYNAMODB` (and local credentials when the environment has none).
 * Not when the environment already points the SDKs somewhere (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`): a
 * running `npm start`'s endpoint, say, whose dynalite holds the same folder.
 */
import { join } from 'node:path'
import type { Json, ServiceContext } from '../../provider.js'
import { servicesSettings } from './offline-services.js'
import type { AwsPlan } from './plan.js'

interface Framework {
  service: { functions: Record<string, { environment?: Json } | undefined> }
  pluginManager?: { hooks: Record<string, Array<{ pluginName: string; hook: (...args: unknown[]) => unknown }>> }
}

export function storesForInvokeLocal(context: ServiceContext<AwsPlan>, serverless: unknown, env: Readonly<Record<string, string | undefined>> = process.env): void {
  const framework = serverless as Framework
  const name = context.options.function
  const fn = context.plan.functions.find((candidate) => candidate.name === name)
  const tables = (fn?.model.resources ?? []).filter((resource) => resource.kind === 'store').map((resource) => resource.deployedName)
  const hooks = framework.pluginManager?.hooks
  if (fn === undefined || tables.length === 0 || hooks === undefined || env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL) return
  let stop: (() => Promise<void>) | undefined
  // Before osls reads the function's environment (its own hook on the same event comes after this one).
  ;(hooks['before:invoke:local:loadEnvVars'] ??= []).unshift({
    pluginName: 'PolycloudPlugin',
    hook: async () => {
      const { startLocalDynamoDb } = await import('./local/dynamodb.js')
      const dynamo = await startLocalDynamoDb({ stateDir: join(servicesSettings(context).state, 'dynamodb'), tables })
      stop = () => dynamo.stop()
      const config = (framework.service.functions[fn.name] ??= {})
      const credentials = env.AWS_ACCESS_KEY_ID === undefined && env.AWS_PROFILE === undefined ? { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' } : {}
      config.environment = { ...config.environment, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, ...credentials }
      context.log.notice(`serverless-polycloud: the function's stores on the local DynamoDB ${dynamo.endpoint} (${tables.join(', ')})`)
    },
  })
  ;(hooks['after:invoke:local:invoke'] ??= []).push({ pluginName: 'PolycloudPlugin', hook: async () => stop?.() })
}
