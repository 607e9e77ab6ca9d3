/**
 * The AWS driver of @polycloud/resources: S3 buckets, SQS queues and SNS topics, without the AWS SDK. The entry of a
 * function that declares resources wires it: `withResources(handler, awsResources(), ['uploads'])`. Nothing is loaded
 * until a resource is first used: then the client of that service (SigV4 on node:crypto, node:https with keep-alive).
 *
 * Addressing (`POLYCLOUD_RESOURCES`): `{ kind: 'bucket', name }`, `{ kind: 'queue', url }`, `{ kind: 'topic', arn }`,
 * `{ kind: 'store', table }` (a DynamoDB table).
 * Credentials and region: the Lambda environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
 * `AWS_REGION`). Endpoints: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_SNS`, `AWS_ENDPOINT_URL_DYNAMODB` or
 * `AWS_ENDPOINT_URL`, as the AWS SDKs read them (so `npm start` points both this driver and a user's own SDK code at
 * the local services); S3 is then addressed path-style.
 */
import type { BucketBackend, MessageBackend, MessageLimits, ObjectLimits, OpenContext, ResourceAddress, ResourceDriver, StoreBackend } from '@polycloud/resources/driver'
import { DriverError, field } from '@polycloud/resources/driver'
import type { Credentials } from './resources/sigv4.js'

export interface AwsResourcesOptions {
  /** Default: from the environment, as Lambda sets it. */
  readonly credentials?: Credentials
  /** Default: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`. */
  readonly region?: string
  /** Endpoints instead of AWS's own (and of the `AWS_ENDPOINT_URL_*` variables). */
  readonly endpoints?: { readonly s3?: string; readonly sqs?: string; readonly sns?: string; readonly dynamodb?: string }
}

/** The limits checked before each call (and named in the errors), with where they come from. */
export const AWS_LIMITS: { readonly s3: ObjectLimits; readonly sqs: MessageLimits; readonly sns: MessageLimits } = {
  s3: {
    service: 'S3',
    maxObjectBytes: 5 * 1024 ** 3,
    maxMetadataBytes: 2048,
    source: 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html (5 GB in one PutObject), https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html (2 KB of user metadata)',
  },
  sqs: {
    service: 'SQS',
    maxMessageBytes: 1024 * 1024,
    maxBatchMessages: 10,
    maxBatchBytes: 1024 * 1024,
    maxDelaySeconds: 900,
    sizeRule: 'the body and each attribute\'s name, type and value, in UTF-8 bytes; a body that is not text goes base64',
    source: 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html (1 MiB per message and per batch, 10 messages per batch, 15 minutes of delay, 10 attributes)',
  },
  sns: {
    service: 'SNS',
    maxMessageBytes: 256 * 1024,
    maxBatchMessages: 1,
    maxBatchBytes: 256 * 1024,
    maxDelaySeconds: 0,
    sizeRule: 'the body and each attribute\'s name, type and value, in UTF-8 bytes; a body that is not text goes base64',
    source: 'https://docs.aws.amazon.com/sns/latest/api/API_Publish.html (256 KiB, the default MaximumMessageSize), https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html (10 attributes to SQS with raw delivery)',
  },
}

/** The endpoint override of a service, as the SDKs read it (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`). */
function endpointOverride(env: OpenContext['env'], service: 'S3' | 'SQS' | 'SNS' | 'DYNAMODB', given: string | undefined): string | undefined {
  if (given !== undefined) return given
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined
}

export function awsResources(options: AwsResourcesOptions = {}): ResourceDriver {
  const regionOf = (env: OpenContext['env']): string => options.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1')
  return {
    provider: 'aws',
    // A Lambda execution environment runs one invocation at a time.
    serial: true,
    async bucket(name: string, address: ResourceAddress, { env }: OpenContext): Promise<BucketBackend> {
      const bucket = field(address, 'name', name, 'the bucket name')
      const [{ openS3 }, { credentialsFrom }] = await Promise.all([import('./resources/s3.js'), import('./resources/sigv4.js')])
      return openS3({ bucket, region: regionOf(env), credentials: credentialsFrom(env, options.credentials), endpoint: endpointOverride(env, 'S3', options.endpoints?.s3), limits: AWS_LIMITS.s3 })
    },
    async queue(name: string, address: ResourceAddress, { env }: OpenContext): Promise<MessageBackend> {
      const url = field(address, 'url', name, 'the queue URL')
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        throw new DriverError('Invalid', `POLYCLOUD_RESOURCES.${name}.url ${JSON.stringify(url)} is not a URL`)
      }
      if (url.endsWith('.fifo')) throw new DriverError('Invalid', `${name} is a FIFO queue: sending needs a message group, which queue().send does not take yet`)
      const override = endpointOverride(env, 'SQS', options.endpoints?.sqs)
      const region = override === undefined ? (/^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(parsed.host)?.[1] ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com/.exec(parsed.host)?.[1] ?? regionOf(env)) : regionOf(env)
      const [{ openSqs }, { credentialsFrom }] = await Promise.all([import('./resources/sqs.js'), import('./resources/sigv4.js')])
      return openSqs({ queueUrl: url, region, credentials: credentialsFrom(env, options.credentials), endpoint: override ?? parsed.origin, limits: AWS_LIMITS.sqs })
    },
    async topic(name: string, address: ResourceAddress, { env }: OpenContext): Promise<MessageBackend> {
      const arn = field(address, 'arn', name, 'the topic ARN')
      const parts = arn.split(':')
      if (parts.length < 6 || parts[0] !== 'arn' || parts[2] !== 'sns') throw new DriverError('Invalid', `POLYCLOUD_RESOURCES.${name}.arn ${JSON.stringify(arn)} is not an SNS topic ARN`)
      if (arn.endsWith('.fifo')) throw new DriverError('Invalid', `${name} is a FIFO topic: publishing needs a message group, which topic().publish does not take yet`)
      const region = parts[3] || regionOf(env)
      const domain = parts[1] === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'
      const endpoint = endpointOverride(env, 'SNS', options.endpoints?.sns) ?? `https://sns.${region}.${domain}`
      const [{ openSns }, { credentialsFrom }] = await Promise.all([import('./resources/sns.js'), import('./resources/sigv4.js')])
      return openSns({ topicArn: arn, region, credentials: credentialsFrom(env, options.credentials), endpoint, limits: AWS_LIMITS.sns })
    },
    async store(name: string, address: ResourceAddress, { env }: OpenContext): Promise<StoreBackend> {
      const table = field(address, 'table', name, 'the DynamoDB table name')
      if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) throw new DriverError('Invalid', `POLYCLOUD_RESOURCES.${name}.table ${JSON.stringify(table)} is not a DynamoDB table name (3-255 letters, digits, "_", "-" and ".")`)
      const region = regionOf(env)
      const endpoint = endpointOverride(env, 'DYNAMODB', options.endpoints?.dynamodb) ?? `https://dynamodb.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`
      const [{ openDynamo }, { credentialsFrom }] = await Promise.all([import('./resources/dynamodb.js'), import('./resources/sigv4.js')])
      return openDynamo({ table, region, credentials: credentialsFrom(env, options.credentials), endpoint })
    },
  }
}
