/**
 * The official AWS SDK clients pointed at a local AWS endpoint, with injected static credentials and region (the
 * default credential chain would probe the instance metadata address), and a bounded wait for a condition.
 */
import { S3Client } from '@aws-sdk/client-s3'
import { SNSClient } from '@aws-sdk/client-sns'
import { SQSClient } from '@aws-sdk/client-sqs'

// The SDK warns once per process that its 2027 releases will need Node 22; this machine runs Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

export const REGION = 'eu-west-1'
export const ACCOUNT = '000000000000'
const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' }

export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: REGION, credentials, maxAttempts: 1 })
}

export function snsClient(endpoint: string): SNSClient {
  return new SNSClient({ endpoint, region: REGION, credentials, maxAttempts: 1 })
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: REGION, credentials, forcePathStyle: true, maxAttempts: 1 })
}

/** Resolves with `check()`'s first truthy value, polling every 20 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** What an SDK call rejected with: its name and the Query API code it carries. */
export async function rejection(promise: Promise<unknown>): Promise<{ name: string; code: string | undefined; message: string; status: number | undefined }> {
  try {
    await promise
  } catch (error) {
    const e = error as { name: string; Code?: string; message: string; $metadata?: { httpStatusCode?: number } }
    return { name: e.name, code: e.Code, message: e.message, status: e.$metadata?.httpStatusCode }
  }
  throw new Error('expected the call to fail')
}
