import type { Source } from '@polycloud/core/adapter'
import { alb } from './alb.js'
import { apiGatewayV1 } from './api-gateway-v1.js'
import { apiGatewayV2 } from './api-gateway-v2.js'
import { dynamodbKinesis } from './dynamodb-kinesis.js'
import { dynamodbStreams } from './dynamodb-streams.js'
import { eventBridge, eventBridgeSchedule } from './eventbridge.js'
import { functionUrl } from './function-url.js'
import { s3 } from './s3.js'
import { s3EventBridge } from './s3-eventbridge.js'
import { sns } from './sns.js'
import { sqs } from './sqs.js'
import { sqsS3 } from './sqs-s3.js'
import { sqsSns } from './sqs-sns.js'

/** The HTTP formats, most common first (the order the dispatcher tries them). */
export const httpSources = [apiGatewayV2, apiGatewayV1, functionUrl, alb] as const

/**
 * Every AWS format. Where several fit one input (an SQS message carrying an S3 notification fits `aws:sqs`
 * and `aws:sqs-s3`), the handler's kind decides: a queue handler gets the message, a storage handler the object.
 */
export const awsSources: readonly Source[] = [
  ...httpSources,
  sqs,
  sqsSns,
  sqsS3,
  sns,
  s3,
  s3EventBridge,
  eventBridgeSchedule,
  eventBridge,
  dynamodbStreams,
  dynamodbKinesis,
]
