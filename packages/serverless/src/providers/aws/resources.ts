/**
 * The declared resources on AWS: what the stack creates for them, how a function's code finds them
 * (`POLYCLOUD_RESOURCES`, filled with CloudFormation intrinsics), and what each function's role may do with them.
 *
 * - A bucket is `S3Bucket<name>`, the logical id osls gives the bucket of an `s3` event, so the notification
 *   configuration osls adds for a `bucket` event merges into the same resource; a topic is `SNSTopic<name>`, osls's
 *   id for an `sns` event's topic, likewise; a queue is `PolycloudQueue<name>` with its dead-letter queue, as a
 *   `fromQueue` queue. Resources declared `existing` are addressed by name and never created.
 * - Addressing: a bucket by its name, a queue by its URL (`Ref`), a topic by its ARN (`Ref`); an existing queue or
 *   topic by the stack's account and region (`Fn::Sub`).
 */
import { ConfigError } from '../../errors.js'
import type { ResourceDeclaration } from '../../model.js'
import type { Json, PlannedFunction } from '../../provider.js'
import { addressing, RESOURCES_VARIABLE } from '../../resources.js'
import { addResource, existingArn, queueId, queueResources } from './events.js'
import type { AwsPlan } from './plan.js'
import { storeAddress, storeId, storeStatements, storeTable } from './stores.js'

/** osls's `normalizeNameToAlphaNumericOnly`: `polycloud-demo-dev-uploads` -> `Polycloudemodevuploads`. */
export function alphanumeric(name: string): string {
  const clean = name.replace(/[^0-9A-Za-z]/g, '')
  return clean.charAt(0).toUpperCase() + clean.slice(1)
}

/** The logical id of a declared resource in the stack. */
export function resourceId(resource: ResourceDeclaration): string {
  if (resource.kind === 'bucket') return `S3Bucket${alphanumeric(resource.deployedName)}`
  if (resource.kind === 'topic') return `SNSTopic${alphanumeric(resource.deployedName)}`
  if (resource.kind === 'store') return storeId(resource)
  return queueId(resource.name)
}

/** The queue's name with the `.fifo` SQS requires of a FIFO queue. */
const queueName = (resource: ResourceDeclaration): string => `${resource.deployedName}${resource.fifo ? '.fifo' : ''}`

/**
 * Adds the resources the declarations need to `resources` (the stack's template as planned), unless existing or
 * already there: a queue its consumer's `fromQueue` created (with that consumer's visibility timeout), a resource
 * the service defines itself under that id.
 */
export function declareResources(declarations: readonly ResourceDeclaration[], resources: Json): void {
  for (const resource of declarations) {
    if (resource.existing) continue
    const id = resourceId(resource)
    // The service's own definition under that id (a bucket with versioning, say) is kept as it is.
    if (resources[id] !== undefined) continue
    // Kept when the stack is deleted (a bucket with objects would fail the deletion): `remove` deletes it if it is empty.
    if (resource.kind === 'bucket') resources[id] = { Type: 'AWS::S3::Bucket', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { BucketName: resource.deployedName } }
    else if (resource.kind === 'topic') resources[id] = { Type: 'AWS::SNS::Topic', Properties: { TopicName: resource.deployedName } }
    else if (resource.kind === 'store') resources[id] = storeTable(resource)
    else {
      const queue = queueResources({ id, name: resource.deployedName, fifo: resource.fifo, maxReceiveCount: resource.maxReceiveCount }, undefined)
      for (const [queueResourceId, queueResource] of Object.entries(queue)) addResource({ resources }, queueResourceId, queueResource as Json)
    }
  }
}

/** A value of an addressing entry: a string, or a CloudFormation intrinsic that resolves to one. */
type Value = string | Json

/** A resource's addressing entry as deployed: names, and intrinsics for what only CloudFormation knows. */
export function deployedAddress(resource: ResourceDeclaration): Record<string, Value> {
  if (resource.kind === 'bucket') return { kind: 'bucket', name: resource.deployedName }
  if (resource.kind === 'store') return storeAddress(resource)
  if (resource.kind === 'queue') {
    const url = resource.existing ? { 'Fn::Sub': `https://sqs.\${AWS::Region}.\${AWS::URLSuffix}/\${AWS::AccountId}/${queueName(resource)}` } : { Ref: resourceId(resource) }
    return { kind: 'queue', url }
  }
  return { kind: 'topic', arn: resource.existing ? existingArn('sns', resource.deployedName) : { Ref: resourceId(resource) } }
}

/** Where the local AWS services (`serverless offline`) keep a queue and a topic. */
export interface LocalAddresses {
  queueUrl(name: string): string
  topicArn(name: string): string
}

/** A resource's addressing entry on the local AWS services. */
export function localAddress(resource: ResourceDeclaration, local: LocalAddresses): Record<string, string> {
  if (resource.kind === 'bucket') return { kind: 'bucket', name: resource.deployedName }
  if (resource.kind === 'store') return storeAddress(resource)
  if (resource.kind === 'queue') return { kind: 'queue', url: local.queueUrl(queueName(resource)) }
  return { kind: 'topic', arn: local.topicArn(resource.deployedName) }
}

/**
 * `POLYCLOUD_RESOURCES` of a function as an environment value: the JSON text when every value is known, else an
 * `Fn::Sub` whose variables are the intrinsics (`{"orders":{"kind":"queue","url":"${Q0}"}}` with `Q0: { Ref: ... }`).
 */
export function addressingValue(entries: Readonly<Record<string, Record<string, Value>>>): string | Json {
  const variables: Json = {}
  const placeholders: Record<string, Record<string, string>> = {}
  for (const [name, entry] of Object.entries(entries)) {
    placeholders[name] = Object.fromEntries(
      Object.entries(entry).map(([field, value]) => {
        if (typeof value === 'string') return [field, value]
        const variable = `R${Object.keys(variables).length}`
        variables[variable] = value
        return [field, `\${${variable}}`]
      }),
    )
  }
  const text = JSON.stringify(placeholders)
  return Object.keys(variables).length === 0 ? text : { 'Fn::Sub': [text, variables] }
}

/** The addresses the local AWS services give queues and topics on their default port (`npm start`'s). */
export function defaultLocalAddresses(region: string): LocalAddresses {
  return {
    queueUrl: (name) => `http://127.0.0.1:4566/000000000000/${name}`,
    topicArn: (name) => `arn:aws:sns:${region}:000000000000:${name}`,
  }
}

/**
 * `POLYCLOUD_RESOURCES` of each function that uses resources: CloudFormation intrinsics to deploy; the `local`
 * services' addresses for the commands that run on this machine (osls's `invoke local` and serverless-offline
 * resolve no `Fn::Sub`). Under `serverless offline` the services write the addresses they have once they started.
 */
export function addressResources(service: { functions: Record<string, { environment?: Json } | undefined> }, plan: AwsPlan, local: LocalAddresses | undefined): void {
  for (const fn of plan.functions) {
    const config = service.functions[fn.name]
    const value = plan.addressing.get(fn.name)
    if (config === undefined || value === undefined) continue
    const environment = (config.environment ??= {})
    environment[RESOURCES_VARIABLE] = local !== undefined ? JSON.stringify(addressing([fn], (resource) => localAddress(resource, local))) : structuredClone(value)
  }
}


/** An ARN in the stack's partition, for a resource named in full (`s3:::<bucket>`). */
const partitionArn = (rest: string): Json => ({ 'Fn::Sub': `arn:\${AWS::Partition}:${rest}` })

/** A declared resource's ARN: by `Fn::GetAtt`/`Ref` when the stack creates it, else by its name in the stack's account. */
function resourceArn(resource: ResourceDeclaration): Json {
  if (resource.kind === 'bucket') return partitionArn(`s3:::${resource.deployedName}`)
  if (resource.kind === 'queue') return resource.existing ? existingArn('sqs', queueName(resource)) : { 'Fn::GetAtt': [resourceId(resource), 'Arn'] }
  return resource.existing ? existingArn('sns', resource.deployedName) : { Ref: resourceId(resource) }
}

/**
 * The statements a function's code needs for a resource, exactly what `@polycloud/aws/resources` calls: objects
 * read, written and deleted, and the bucket listed (without `s3:ListBucket` S3 answers a missing key with 403,
 * not 404); a message sent (one or a batch); a message published.
 */
export function resourceStatements(resource: ResourceDeclaration): Json[] {
  if (resource.kind === 'bucket') {
    return [
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [partitionArn(`s3:::${resource.deployedName}/*`)] },
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [partitionArn(`s3:::${resource.deployedName}`)] },
    ]
  }
  if (resource.kind === 'queue') return [{ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [resourceArn(resource)] }]
  if (resource.kind === 'store') return storeStatements(resource)
  return [{ Effect: 'Allow', Action: ['sns:Publish'], Resource: [resourceArn(resource)] }]
}

/** What osls grants an SQS consumer and a DynamoDB stream consumer (on its shared role). */
export const SQS_CONSUMER_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']
export const STREAM_CONSUMER_ACTIONS = ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream', 'dynamodb:ListStreams']

/** osls events that need nothing of the function's role (their services call the function under a resource policy). */
const ROLE_FREE_EVENTS = new Set(['httpApi', 'http', 'alb', 'schedule', 'sns', 's3', 'eventBridge', 'cloudwatchEvent'])

/** The role of a function that uses resources: its logical id and the `AWS::IAM::Role`. */
export interface FunctionRole {
  readonly id: string
  readonly role: Json
  /** The event sources it consumes (queue and stream ARNs), which osls also grants the shared role: taken out of it. */
  readonly consumes: readonly unknown[]
}

/** What a function's role is decided from: the function as planned, and the service's settings. */
export interface RoleInput {
  readonly service: string
  readonly stage: string
  /** `provider.*` as written (`iam`, `vpc`, `tracing`, ...). */
  readonly provider: Readonly<Json>
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The role the service manages itself, if any: `functions.<fn>.role`, `provider.role`, or `provider.iam.role` given as a role. */
export function ownRole(settings: Readonly<Json>, provider: Readonly<Json>): unknown {
  if (settings.role !== undefined) return settings.role
  if (provider.role !== undefined) return provider.role
  const iamRole = isObject(provider.iam) ? provider.iam.role : undefined
  return typeof iamRole === 'string' || (isObject(iamRole) && ('Fn::GetAtt' in iamRole || 'Fn::ImportValue' in iamRole || 'Fn::Sub' in iamRole || 'Ref' in iamRole)) ? iamRole : undefined
}

/** osls's normalised function name (`get-note` -> `GetDashnote`), as in its logical ids. */
function normalized(name: string): string {
  const text = name.replaceAll('-', 'Dash').replaceAll('_', 'Underscore')
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/**
 * The role of a function that uses resources, with least privilege: its own log group, the statements of each
 * resource it uses, scoped to that resource's ARN, what its own queue or stream events need, and what the service
 * gives every function (`provider.iam.role`: statements, managed policies, permissions boundary, path, tags; X-Ray
 * for tracing, the VPC policy, its KMS key and `onError` target). The function's other events need nothing of its
 * role; one osls grants only to its shared role (Kafka, MQ, Kinesis, destinations) is refused, naming the event.
 */
export function functionRole(fn: PlannedFunction<Json[]>, input: RoleInput): FunctionRole {
  const settings = fn.model.settings
  const provider = input.provider
  const iamRole: Json = isObject(provider.iam) && isObject(provider.iam.role) ? provider.iam.role : {}
  const statements: Json[] = []
  const functionName = typeof settings.name === 'string' ? settings.name : `${input.service}-${input.stage}-${fn.name}`
  if (settings.disableLogs !== true) {
    const logGroup = `logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}`
    statements.push(
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource'], Resource: [partitionArn(`${logGroup}:*`)] },
      { Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: [partitionArn(`${logGroup}:*:*`)] },
    )
  }
  for (const resource of fn.resources) statements.push(...resourceStatements(resource))
  const queues: unknown[] = []
  const streams: unknown[] = []
  for (const { event, native } of fn.events) {
    for (const osls of native) {
      const [key, value] = Object.entries(osls)[0] ?? []
      if (key === undefined || ROLE_FREE_EVENTS.has(key)) continue
      const config = isObject(value) ? value : { arn: value }
      if (key === 'sqs') queues.push(config.arn)
      else if (key === 'stream' && (config.type === 'dynamodb' || (typeof config.arn === 'string' && config.arn.includes(':dynamodb:'))) && config.destinations === undefined) streams.push(config.arn)
      else {
        throw new ConfigError(event.at, `a function with uses gets a role of its own, and Polycloud does not grant what a ${key} event needs of it (osls grants that to its shared role only): move the event to a function without uses`)
      }
    }
  }
  if (queues.length > 0) statements.push({ Effect: 'Allow', Action: SQS_CONSUMER_ACTIONS, Resource: queues })
  if (streams.length > 0) statements.push({ Effect: 'Allow', Action: STREAM_CONSUMER_ACTIONS, Resource: streams })
  for (const field of ['destinations', 'durableConfig']) {
    if (settings[field] !== undefined) throw new ConfigError(`functions.${fn.name}.${field}`, `a function with uses gets a role of its own, and Polycloud does not grant what ${field} needs of it: set functions.${fn.name}.role to a role you manage`)
  }
  if (typeof settings.onError === 'string') statements.push({ Effect: 'Allow', Action: ['sns:Publish'], Resource: [settings.onError] })
  if (typeof settings.kmsKeyArn === 'string' || (settings.kmsKeyArn === undefined && typeof provider.kmsKeyArn === 'string')) {
    statements.push({ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: [settings.kmsKeyArn ?? provider.kmsKeyArn] })
  }
  const tracing = settings.tracing ?? (isObject(provider.tracing) ? provider.tracing.lambda : undefined)
  if (tracing !== undefined && tracing !== false && tracing !== 'PassThrough') {
    statements.push({ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: ['*'] })
  }
  const shared = Array.isArray(iamRole.statements) ? iamRole.statements : Array.isArray(provider.iamRoleStatements) ? provider.iamRoleStatements : []
  statements.push(...(shared as Json[]))
  const managed = [...((Array.isArray(iamRole.managedPolicies) ? iamRole.managedPolicies : Array.isArray(provider.iamManagedPolicies) ? provider.iamManagedPolicies : []) as unknown[])]
  if (settings.vpc !== undefined || provider.vpc !== undefined) managed.push({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']] })
  const boundary = iamRole.permissionsBoundary ?? iamRole.permissionBoundary ?? provider.rolePermissionsBoundary
  const tags = isObject(iamRole.tags) ? Object.entries(iamRole.tags).map(([Key, Value]) => ({ Key, Value })) : []
  const role: Json = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }] },
      Path: typeof iamRole.path === 'string' ? iamRole.path : '/',
      Policies: [{ PolicyName: `${input.service}-${input.stage}-${fn.name}`, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
      ...(managed.length > 0 ? { ManagedPolicyArns: managed } : {}),
      ...(boundary !== undefined ? { PermissionsBoundary: boundary } : {}),
      ...(tags.length > 0 ? { Tags: tags } : {}),
    },
  }
  return { id: `PolycloudRole${normalized(fn.name)}`, role, consumes: [...queues, ...streams] }
}

/**
 * What osls put in its shared role for the event sources of functions that now have roles of their own (an SQS
 * consumer's queue, a stream): taken out, so that the functions left on the shared role cannot read them (unless
 * one of them consumes it too: `shared`, the sources of the functions on the shared role). Called on the compiled
 * template, after osls compiled the events.
 */
export function narrowSharedRole(template: { Resources?: Json }, roles: Iterable<FunctionRole>, shared: Iterable<unknown>): void {
  const role = template.Resources?.IamRoleLambdaExecution as { Properties?: { Policies?: Array<{ PolicyDocument?: { Statement?: Json[] } }> } } | undefined
  const policy = role?.Properties?.Policies?.[0]?.PolicyDocument
  if (policy?.Statement === undefined) return
  const kept = new Set([...shared].map((arn) => JSON.stringify(arn)))
  const moved = new Set([...roles].flatMap((own) => own.consumes.map((arn) => JSON.stringify(arn))).filter((arn) => !kept.has(arn)))
  if (moved.size === 0) return
  const consumer = (statement: Json): boolean => {
    const actions = JSON.stringify(statement.Action)
    return actions === JSON.stringify(SQS_CONSUMER_ACTIONS) || actions === JSON.stringify(STREAM_CONSUMER_ACTIONS)
  }
  policy.Statement = policy.Statement.flatMap((statement) => {
    if (!consumer(statement) || !Array.isArray(statement.Resource)) return [statement]
    const left = statement.Resource.filter((arn) => !moved.has(JSON.stringify(arn)))
    return left.length === 0 ? [] : [{ ...statement, Resource: left }]
  })
}

/** The S3 calls `remove` makes on the buckets the stack kept (`DeletionPolicy: Retain`). */
export interface BucketRemover {
  /** A page of the bucket's keys (up to 1000), and the token of the next; undefined when the bucket does not exist. */
  list(bucket: string, token: string | undefined): Promise<{ keys: string[]; next: string | undefined } | undefined>
  deleteKeys(bucket: string, keys: readonly string[]): Promise<void>
  deleteBucket(bucket: string): Promise<void>
}

/** The parts of `@aws-sdk/client-s3` {@link s3Remover} calls: osls's own copy at run time. */
export interface S3Sdk {
  ListObjectsV2Command: typeof import('@aws-sdk/client-s3').ListObjectsV2Command
  DeleteObjectsCommand: typeof import('@aws-sdk/client-s3').DeleteObjectsCommand
  DeleteBucketCommand: typeof import('@aws-sdk/client-s3').DeleteBucketCommand
}

/** {@link BucketRemover} over an S3 client: ListObjectsV2 pages, DeleteObjects of each page (at most 1000 keys), DeleteBucket. */
export function s3Remover(sdk: S3Sdk, s3: { send: import('@aws-sdk/client-s3').S3Client['send'] }): BucketRemover {
  return {
    async list(bucket, token) {
      try {
        const page = await s3.send(new sdk.ListObjectsV2Command({ Bucket: bucket, ...(token === undefined ? {} : { ContinuationToken: token }) }))
        return { keys: (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key])), next: page.IsTruncated ? page.NextContinuationToken : undefined }
      } catch (error) {
        if ((error as Error).name === 'NoSuchBucket') return undefined
        throw error
      }
    },
    async deleteKeys(bucket, keys) {
      const answer = await s3.send(new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }))
      // DeleteObjects answers 200 with the keys it could not delete: those fail the removal, named.
      const failed = answer.Errors ?? []
      if (failed.length > 0) throw new Error(`S3 did not delete ${failed.length} object(s) of ${bucket}: ${failed.slice(0, 3).map((error) => `${error.Key} (${error.Code}: ${error.Message})`).join(', ')}`)
    },
    async deleteBucket(bucket) {
      await s3.send(new sdk.DeleteBucketCommand({ Bucket: bucket }))
    },
  }
}

/**
 * After `serverless remove`: the declared buckets the stack created, which it kept (their `DeletionPolicy` is
 * `Retain`, so a bucket that still holds objects never fails the stack's deletion), are deleted when empty; one that
 * holds objects is kept, with a warning saying so, unless `deleteObjects` (`--deleteObjects`): then its objects go
 * first. What was deleted is returned.
 */
export async function removeBuckets(buckets: readonly string[], s3: BucketRemover, deleteObjects: boolean, warn: (line: string) => void): Promise<string[]> {
  const removed: string[] = []
  for (const bucket of buckets) {
    const first = await s3.list(bucket, undefined)
    if (first === undefined) continue
    if (first.keys.length > 0 && !deleteObjects) {
      warn(`S3 bucket ${bucket} was kept: it still holds ${first.next === undefined ? first.keys.length : `${first.keys.length} or more`} object(s); serverless remove --deleteObjects deletes them with the bucket`)
      continue
    }
    let page: { keys: string[]; next: string | undefined } | undefined = first
    let count = 0
    while (page !== undefined && page.keys.length > 0) {
      await s3.deleteKeys(bucket, page.keys)
      count += page.keys.length
      page = page.next === undefined ? undefined : await s3.list(bucket, page.next)
    }
    try {
      await s3.deleteBucket(bucket)
      removed.push(`S3 bucket ${bucket}${count > 0 ? ` and its ${count} object(s)` : ''}`)
    } catch (error) {
      // Written to meanwhile, or versioned (its versions remain): kept, as S3 refused.
      warn(`S3 bucket ${bucket} was kept: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return removed
}
