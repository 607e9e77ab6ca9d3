// Bare event handlers doing what the demo's portable event handlers do, for the bench's baseline.
interface SqsEvent {
  Records: Array<{ messageId: string; body: string }>
}

export const report = async () => {
  console.log(JSON.stringify({ message: 'nightly report' }))
}

export const orders = async (event: SqsEvent) => {
  const batchItemFailures: Array<{ itemIdentifier: string }> = []
  for (const record of event.Records) {
    try {
      const order = JSON.parse(record.body) as { id?: string }
      if (!order.id) throw new Error('no id')
    } catch {
      batchItemFailures.push({ itemIdentifier: record.messageId })
    }
  }
  return { batchItemFailures }
}

export const alerts = async (event: { Records: Array<{ Sns: { Message: string } }> }) => {
  for (const record of event.Records) console.log(JSON.stringify({ message: 'alert', body: record.Sns.Message }))
}

export const thumbnails = async (event: { Records: Array<{ s3: { object: { key: string } } }> }) => {
  for (const record of event.Records) console.log(JSON.stringify({ message: 'object', key: record.s3.object.key }))
}
