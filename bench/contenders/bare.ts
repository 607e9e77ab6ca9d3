// The floor: a hand-written Lambda handler for API Gateway (payload 1.0 and 2.0 both carry queryStringParameters).
interface QueryEvent {
  queryStringParameters?: Record<string, string | undefined> | null
}

export const handler = async (event: QueryEvent) => {
  const name = event.queryStringParameters?.name ?? 'world'
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hello: name }),
    isBase64Encoded: false,
  }
}
