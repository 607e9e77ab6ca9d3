/**
 * AWS Lambda: neutral events become osls's native AWS events (and the CloudFormation resources they need), each
 * function's handler becomes its generated entry, and the framework's own AWS machinery (osls, serverless-esbuild,
 * serverless-offline) packages, deploys and emulates the rewritten service.
 */
import { join } from 'node:path'
import type { EventSpec, PreparedFunction, ProviderTarget, ServiceContext } from '../../provider.js'
import { lambdaEntry } from './entry.js'
import { manageEsbuild } from './esbuild.js'
import { FUNCTION_URL_PLAN, nativePlan, neutralPlan, type AwsSettings } from './mapping.js'

type Json = Record<string, unknown>

/** osls's default function timeout, in seconds. */
const DEFAULT_TIMEOUT = 6

/** The framework's view of the service that the hand-over rewrites. */
interface AwsService {
  service: {
    provider: { apiGateway?: Json }
    functions: Record<string, { events?: Json[]; handler?: string }>
  }
}

/** An ARN, or a CloudFormation intrinsic (`Fn::GetAtt`, `Fn::ImportValue`, ...) that resolves to one. */
const ARN = { anyOf: [{ type: 'string', pattern: '^arn:' }, { type: 'object' }] }

const URL_EVENT: EventSpec = { key: 'url', value: true, path: 'url', neutral: false }

export const aws: ProviderTarget<Json[]> = {
  name: 'aws',
  title: 'AWS',
  adapter: '@polycloud/aws',
  defaultTimeout: DEFAULT_TIMEOUT,
  customSchema: {
    type: 'object',
    properties: {
      /** Which API Gateway serves `route` events: HTTP API (payload 2.0, default) or REST API (1.0). */
      routes: { enum: ['http-api', 'rest-api'] },
    },
    additionalProperties: false,
  },
  eventOptions: {
    route: { properties: { api: { enum: ['http-api', 'rest-api'] } } },
    fromQueue: { properties: { arn: ARN }, required: [['arn']] },
    topic: { properties: { arn: ARN, filterPolicy: { type: 'object' } }, required: [['arn']] },
    changes: { properties: { arn: ARN }, required: [['arn']] },
  },

  plan(event, fn, context) {
    if (!event.neutral) return nativePlan(event.key, event.value)
    const settings: AwsSettings = {
      service: context.service,
      stage: context.stage,
      routes: (context.custom.routes as AwsSettings['routes'] | undefined) ?? 'http-api',
      timeout: fn.timeout,
      resources: context.resources,
    }
    return neutralPlan(event.key, event.value, event.path, settings)
  },

  implicitPlans(fn) {
    return fn.config.url ? [{ spec: URL_EVENT, plan: FUNCTION_URL_PLAN }] : []
  },

  entries(functions, { workDir, servicePath }) {
    return functions.map((fn) => ({ file: `${fn.name}.js`, source: lambdaEntry(fn, workDir, servicePath), functions: [fn.name] }))
  },

  /** Points each function at its entry and gives osls the native events; serverless-esbuild bundles the entries. */
  handOver(context: ServiceContext<Json[]>, serverless: unknown) {
    const service = (serverless as AwsService).service
    const relativeDir = join('.polycloud', 'aws').replaceAll('\\', '/')
    let rest = false
    for (const fn of context.functions as ReadonlyArray<PreparedFunction<Json[]>>) {
      const config = service.functions[fn.name]
      if (!config) continue
      config.events = fn.events.flatMap(({ plan }) => plan.native)
      config.handler = `${relativeDir}/${fn.name}.handler`
      rest ||= fn.sources.some((source) => source.name === 'apiGatewayV1')
    }
    // REST APIs deliver binary bodies only for the media types listed here; all bodies are handled as bytes.
    if (rest) {
      const apiGateway = (service.provider.apiGateway ??= {})
      apiGateway.binaryMediaTypes ??= ['*/*']
    }
    return manageEsbuild(serverless, context.servicePath, context.log)
  },
}
