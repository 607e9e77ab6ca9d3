import { http, json } from '@polycloud/core'
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs'

/**
 * Sends the request's body to the orders queue with the SDK configured by nothing but the function's environment
 * (AWS_ENDPOINT_URL_SQS, AWS_REGION, credentials), as a user's own code would.
 */
export default http(async (request) => {
  const sqs = new SQSClient({})
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'polycloud-aws-local-dev-orders' }))
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: await request.text() }))
  return json({ queueUrl: QueueUrl, messageId: MessageId })
})
