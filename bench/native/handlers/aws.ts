// What the native twin's handlers share: the API Gateway v2 event fields they read, a JSON answer, and the AWS SDK
// clients, made once per instance (the SDK is the Lambda runtime's own: serverless.yml excludes `@aws-sdk/*` from the
// bundles, as a native service on nodejs22.x does).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { S3Client } from '@aws-sdk/client-s3'
import { SNSClient } from '@aws-sdk/client-sns'
import { SQSClient } from '@aws-sdk/client-sqs'

export const s3 = new S3Client({})
export const sns = new SNSClient({})
export const sqs = new SQSClient({})
export const dynamodb = new DynamoDBClient({})

/** An environment variable the service sets (serverless.yml), or an error naming it. */
export function env(name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set`)
  return value
}

/** The fields of an API Gateway HTTP API (payload 2.0) event the handlers read. */
export interface HttpEvent {
  rawPath?: string
  body?: string
  isBase64Encoded?: boolean
  headers?: Record<string, string | undefined>
  pathParameters?: Record<string, string | undefined>
}

export const json = (statusCode: number, body: unknown) => ({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
