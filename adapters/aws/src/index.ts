import type { PortableHandler } from '@polycloud/core'
import type { ProviderAdapter } from '@polycloud/core/adapter'
import { createLambdaHandler, type LambdaHandler } from './lambda.js'
import { awsSources } from './sources.js'

/**
 * The Lambda handler for a portable handler, reading every AWS format of its kind:
 * `export const handler = lambda(portable)`.
 */
export function lambda(handler: PortableHandler): LambdaHandler {
  return createLambdaHandler(handler, awsSources)
}

export { createLambdaHandler, createLambdaHttpHandler, createLambdaEventHandler } from './lambda.js'
export type { LambdaContext, LambdaHandler } from './lambda.js'
export { awsSources, httpSources } from './sources.js'
export { apiGatewayV1, ApiGatewayV1Request } from './api-gateway-v1.js'
export type { ApiGatewayV1Event, ApiGatewayV1Result } from './api-gateway-v1.js'
export { apiGatewayV2, ApiGatewayV2Request } from './api-gateway-v2.js'
export type { ApiGatewayV2Event, ApiGatewayV2Result } from './api-gateway-v2.js'
export { functionUrl } from './function-url.js'
export { alb, AlbRequest } from './alb.js'
export type { AlbEvent, AlbResult } from './alb.js'
export { sqs } from './sqs.js'
export type { SqsEvent, SqsRecord, SqsBatchResponse } from './sqs.js'
export { sqsSns } from './sqs-sns.js'
export { sqsS3 } from './sqs-s3.js'
export { sns } from './sns.js'
export type { SnsEvent, SnsRecord, SnsNotification } from './sns.js'
export { s3 } from './s3.js'
export type { S3Event, S3Record } from './s3.js'
export { s3EventBridge } from './s3-eventbridge.js'
export { eventBridge, eventBridgeSchedule } from './eventbridge.js'
export type { EventBridgeEvent } from './eventbridge.js'
export { dynamodbStreams } from './dynamodb-streams.js'
export type { DynamoDbStreamEvent, DynamoDbStreamRecord, StreamBatchResponse } from './dynamodb-streams.js'
export { dynamodbKinesis } from './dynamodb-kinesis.js'
export { unmarshall } from './dynamodb-json.js'
export type { AttributeValue } from './dynamodb-json.js'

/** The AWS adapter as tools see it (`polycloud inspect --provider aws`). */
export const adapter: ProviderAdapter = { provider: 'aws', sources: awsSources }
