// Bare handlers for the demo's IoT flow: POST /telemetry (an API key in x-api-key, checked against the SHA-256
// digest in the environment) queues a reading on SQS; `readings` applies each queued reading to its device's state
// in DynamoDB (the demo's own reading rules, handlers/reading.ts) and publishes alerts to SNS; GET /devices/{id}
// reads the state.
import { createHash, timingSafeEqual } from 'node:crypto'
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { PublishCommand } from '@aws-sdk/client-sns'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import { applyReading, deviceKey, isDeviceId, parseReading, publicState, type DeviceState } from '../../../handlers/reading.js'
import { dynamodb, env, json, sns, sqs, type HttpEvent } from './aws.js'


function keyMatches(given: string | undefined): boolean {
  if (given === undefined) return false
  const expected = Buffer.from(env('DEVICE_KEY_SHA256'), 'hex')
  const digest = createHash('sha256').update(given).digest()
  return digest.length === expected.length && timingSafeEqual(digest, expected)
}

export const telemetry = async (event: HttpEvent) => {
  if (!keyMatches(event.headers?.['x-api-key'])) return json(401, { error: 'Unauthorized' })
  let reading
  try {
    reading = parseReading(JSON.parse(Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8')))
  } catch (error) {
    return json(400, { error: (error as Error).message })
  }
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: env('READINGS_QUEUE_URL'),
      MessageBody: JSON.stringify(reading),
      MessageAttributes: { device: { DataType: 'String', StringValue: reading.device } },
    }),
  )
  return json(202, { queued: reading.id, device: reading.device })
}

async function readState(key: string): Promise<DeviceState | null> {
  const item = await dynamodb.send(new GetItemCommand({ TableName: env('DEVICES_TABLE'), Key: { pk: { S: key }, sk: { S: '-' } }, ConsistentRead: true }))
  const value = item.Item?.value?.S
  return value === undefined ? null : (JSON.parse(value) as DeviceState)
}

const threshold = (value: string | undefined, fallback: number): number | undefined => (value === '' ? undefined : value === undefined ? fallback : Number(value))

export const readings = async (event: { Records: Array<{ messageId: string; body: string }> }) => {
  const batchItemFailures: Array<{ itemIdentifier: string }> = []
  for (const record of event.Records) {
    try {
      const reading = parseReading(JSON.parse(record.body))
      const key = deviceKey(reading.device)
      const state = await readState(key)
      const next = applyReading(state, reading, { high: threshold(process.env.ALERT_HIGH, 30), low: threshold(process.env.ALERT_LOW, 0) }, new Date().toISOString())
      if (next === undefined) continue
      for (const alert of next.pending) {
        await sns.send(new PublishCommand({ TopicArn: env('ALERTS_TOPIC_ARN'), Subject: `Reading ${alert.kind}`, Message: JSON.stringify(alert) }))
      }
      await dynamodb.send(new PutItemCommand({ TableName: env('DEVICES_TABLE'), Item: { pk: { S: key }, sk: { S: '-' }, value: { S: JSON.stringify({ ...next, pending: [] }) } } }))
    } catch (error) {
      console.log(JSON.stringify({ level: 'error', message: 'reading failed', messageId: record.messageId, error: (error as Error).message }))
      batchItemFailures.push({ itemIdentifier: record.messageId })
    }
  }
  return { batchItemFailures }
}

export const devices = async (event: HttpEvent) => {
  const id = event.pathParameters?.id ?? ''
  if (!isDeviceId(id)) return json(400, { error: 'a device id is 1-64 letters, digits, "_" and "-"' })
  const state = await readState(deviceKey(id))
  return state === null ? json(404, { error: `no device ${JSON.stringify(id)}` }) : json(200, publicState(state))
}
