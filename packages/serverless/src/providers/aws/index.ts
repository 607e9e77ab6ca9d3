/**
 * AWS Lambda: neutral events become osls's native AWS events (and the CloudFormation resources they need), each
 * function's handler becomes its generated entry, and the framework's own AWS machinery (osls, serverless-esbuild,
 * serverless-offline) packages, deploys and emulates the rewritten service (`hand-over.ts`).
 */
import type { ProviderDefinition } from '../../provider.js'
import { lambdaEntries } from './entry.js'
import { handOver } from './hand-over.js'
import { awsPlan, type AwsPlan } from './plan.js'
import { OFFLINE_OPTIONS } from './offline-services.js'
import { LAMBDA_REQUEST_LIMIT } from './serverless-offline.js'

/** An ARN, or a CloudFormation intrinsic (`Fn::GetAtt`, `Fn::ImportValue`, ...) that resolves to one. */
const ARN = { anyOf: [{ type: 'string', pattern: '^arn:' }, { type: 'object' }] }

export const aws: ProviderDefinition<AwsPlan> = {
  name: 'aws',
  aliases: ['lambda'],
  title: 'AWS',
  platform: 'AWS Lambda',
  adapter: { package: '@polycloud/aws', provider: 'aws' },
  /**
   * "Lambda runtimes", supported runtimes table (Deprecation date, Block function create, Block function update),
   * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html and
   * https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html (nodejs20.x: Apr 30 2026, Aug 31 2026,
   * Sep 30 2026; nodejs22.x: Apr 30 2027, Jun 1 2027, Jul 1 2027; nodejs24.x: Apr 30 2028, Jun 1 2028, Jul 1 2028;
   * nodejs18.x: Sep 1 2025, Oct 1 2025, Nov 1 2025; nodejs16.x: Jun 12 2024, Feb 28 2025, Mar 31 2025).
   */
  runtimes: {
    spell: (major) => `nodejs${major}.x`,
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html',
    checked: '2026-11-28',
    versions: [
      { major: 24, deprecated: '2028-04-30', blockCreate: '2028-06-01', blockUpdate: '2028-07-01' },
      { major: 22, deprecated: '2027-04-30', blockCreate: '2027-06-01', blockUpdate: '2027-07-01' },
      { major: 20, deprecated: '2026-04-30', blockCreate: '2026-08-31', blockUpdate: '2026-09-30' },
      { major: 18, deprecated: '2025-09-01', blockCreate: '2025-10-01', blockUpdate: '2025-11-01' },
      { major: 16, deprecated: '2024-06-12', blockCreate: '2025-02-28', blockUpdate: '2025-03-31' },
    ],
  },
  // osls / Serverless Framework, AWS provider.
  nativeEvents: [
    'http', 'httpApi', 'websocket', 's3', 'schedule', 'sns', 'sqs', 'stream', 'kafka', 'msk', 'activemq', 'rabbitmq',
    'alb', 'alexaSkill', 'alexaSmartHome', 'iot', 'iotFleetProvisioning', 'cloudwatchEvent', 'cloudwatchLog',
    'cognitoUserPool', 'eventBridge', 'cloudFront',
  ],
  /** osls's default function timeout, in seconds. */
  defaultTimeout: 6,
  /** API Gateway's payload limit for a synchronous Lambda invocation (6 MB), below the HTTP API's own 10 MB. */
  httpBodyLimit: LAMBDA_REQUEST_LIMIT,
  customSchema: {
    type: 'object',
    properties: {
      /** Which API Gateway serves `route` events: HTTP API (payload 2.0, default) or REST API (1.0). */
      routes: { enum: ['http-api', 'rest-api'] },
      /** The local S3, SQS and SNS under `serverless offline` (`offline-services.ts`). */
      offline: {
        type: 'object',
        properties: {
          servicesPort: { anyOf: [{ type: 'integer', minimum: 0, maximum: 65535 }, { type: 'string', pattern: '^[0-9]+$' }] },
          stateDir: { type: 'string' },
        },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  },
  /** Beside serverless-offline's own options (`--httpPort`, `--lambdaPort`, ...). */
  offlineOptions: OFFLINE_OPTIONS,
  eventOptions: {
    route: { properties: { api: { enum: ['http-api', 'rest-api'] } } },
    fromQueue: { properties: { arn: ARN }, required: [['arn']] },
    topic: { properties: { arn: ARN, filterPolicy: { type: 'object' } }, required: [['arn']] },
    changes: { properties: { arn: ARN }, required: [['arn']] },
  },
  plan: awsPlan,
  entries: lambdaEntries,
  handOver,
  // The framework's own commands run the rewritten service.
  commands: {},
}
