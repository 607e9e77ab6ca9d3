// A bare handler for the demo's chat webhook: POST /chat/{conversation}, signed as Slack signs its requests
// (x-chat-timestamp, x-chat-signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">), each conversation's turns
// counted in a DynamoDB item (a conditional write, retried on a conflict).
import { createHmac, timingSafeEqual } from 'node:crypto'
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { dynamodb, env, json, type HttpEvent } from './aws.js'

const CONVERSATION = /^[A-Za-z0-9_-]{1,128}$/

export const chat = async (event: HttpEvent) => {
  const conversation = event.pathParameters?.conversation ?? ''
  if (!CONVERSATION.test(conversation)) return json(400, { error: 'a conversation id is 1-128 letters, digits, "_" and "-"' })
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8')
  const timestamp = Number(event.headers?.['x-chat-timestamp'])
  const signature = event.headers?.['x-chat-signature'] ?? ''
  const now = Math.floor(Date.now() / 1000)
  if (!Number.isInteger(timestamp) || now - timestamp > 300 || timestamp - now > 30) return json(401, { error: 'Unauthorized', details: { reason: 'stale' } })
  const expected = Buffer.from(`v0=${createHmac('sha256', env('CHAT_SIGNING_SECRET')).update(`v0:${timestamp}:${body}`).digest('hex')}`)
  const given = Buffer.from(signature)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return json(401, { error: 'Unauthorized', details: { reason: 'signature' } })
  let text: unknown
  try {
    text = (JSON.parse(body) as { text?: unknown }).text
  } catch {
    return json(400, { error: 'the body must be JSON { text, user? }' })
  }
  if (typeof text !== 'string' || text.length === 0 || text.length > 4000) return json(400, { error: 'text must be 1-4000 characters' })
  const Key = { pk: { S: `conversation:${conversation}` }, sk: { S: '-' } }
  for (let attempt = 0; ; attempt++) {
    const item = await dynamodb.send(new GetItemCommand({ TableName: env('SESSIONS_TABLE'), Key, ConsistentRead: true }))
    const turns = Number(item.Item?.turns?.N ?? 0)
    try {
      await dynamodb.send(
        new PutItemCommand({
          TableName: env('SESSIONS_TABLE'),
          Item: { ...Key, turns: { N: String(turns + 1) }, expires: { N: String(now + 86400) } },
          ConditionExpression: turns === 0 ? 'attribute_not_exists(pk)' : 'turns = :turns',
          ...(turns === 0 ? {} : { ExpressionAttributeValues: { ':turns': { N: String(turns) } } }),
        }),
      )
      return json(200, { reply: `You said: ${text}`, turns: turns + 1, conversation })
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || attempt >= 4) throw error
    }
  }
}
