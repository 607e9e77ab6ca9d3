// Bare API Gateway v2 handlers doing what the demo's portable HTTP handlers do, for the bench's baseline.

interface Event {
  rawQueryString?: string
  queryStringParameters?: Record<string, string>
  pathParameters?: Record<string, string>
  body?: string
  isBase64Encoded?: boolean
  requestContext?: { authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] } } }
}

const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}) => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})

interface Context {
  awsRequestId: string
  functionName: string
}

export const hello = async (event: Event, context: Context) => {
  const names = new URLSearchParams(event.rawQueryString ?? '').getAll('name').filter((name) => name.trim() !== '')
  // The same structured log line the portable handler writes, so both do the same work.
  const line = { level: 'info', message: 'greeting', time: new Date().toISOString(), requestId: context.awsRequestId, function: context.functionName, names }
  process.stdout.write(`${JSON.stringify(line)}\n`)
  return json(200, { hello: names.length === 0 ? 'world' : names.join(' and '), provider: 'aws' })
}

export const greetings = async (event: Event) => json(200, { greeting: `Hello, ${event.pathParameters?.name ?? ''}!`, lang: 'en' })

export const quotes = async (event: Event) => {
  try {
    const body = JSON.parse(event.body ?? '') as { items: Array<{ quantity: number; unitPrice: number }> }
    const total = body.items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0)
    return json(201, { total })
  } catch {
    return json(400, { error: 'Invalid JSON' })
  }
}

export const preferences = async () => ({ ...json(200, { ok: true }), cookies: ['theme=dark; Path=/', 'lang=fr; Path=/'] })

// API Gateway verified the token (the authorizer in serverless.yml): the handler reads the claims it passes on.
export const me = async (event: Event) => {
  const jwt = event.requestContext?.authorizer?.jwt
  const claims = jwt?.claims ?? {}
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : []
  return json(200, { subject: claims.sub ?? null, scopes, name: typeof claims.name === 'string' ? claims.name : null })
}

export const fail = async () => {
  throw new Error('failure')
}
