/**
 * What every contender must answer: 200, a JSON content type, a text (not base64) body equal to {"hello": name}.
 * Anything else throws an Error naming the contender and what was wrong, so a broken contender is never timed.
 */
export function checkHello(contender: string, result: unknown, expectedName: string): void {
  const fail = (what: string): never => {
    throw new Error(`${contender}: ${what}; got ${JSON.stringify(result)?.slice(0, 400)}`)
  }
  if (typeof result !== 'object' || result === null) fail('result is not an object')
  const r = result as Record<string, unknown>
  if (r.statusCode !== 200) fail(`statusCode ${String(r.statusCode)}, expected 200`)
  if (r.isBase64Encoded === true) fail('body is base64-encoded, expected text')
  if (typeof r.body !== 'string') fail('body is not a string')
  const type = headerValue(r, 'content-type')
  if (type === undefined || !type.toLowerCase().startsWith('application/json')) fail(`content-type ${String(type)}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(r.body as string)
  } catch {
    fail('body is not JSON')
  }
  const keys = typeof parsed === 'object' && parsed !== null ? Object.keys(parsed) : []
  if (keys.length !== 1 || (parsed as { hello?: unknown }).hello !== expectedName) {
    fail(`body is not {"hello":${JSON.stringify(expectedName)}}`)
  }
}

function headerValue(result: Record<string, unknown>, name: string): string | undefined {
  for (const field of ['headers', 'multiValueHeaders'] as const) {
    const headers = result[field]
    if (typeof headers !== 'object' || headers === null) continue
    for (const [key, value] of Object.entries(headers)) {
      if (key.toLowerCase() !== name) continue
      if (typeof value === 'string') return value
      if (Array.isArray(value) && typeof value[0] === 'string') return value[0]
    }
  }
  return undefined
}

/** A Lambda context object with the members the contenders read. */
export function lambdaContext(): Record<string, unknown> {
  return {
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    functionName: 'hello',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:hello',
    memoryLimitInMB: '1024',
    logGroupName: '/aws/lambda/hello',
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 3000,
    done() {},
    fail() {},
    succeed() {},
  }
}

export type LambdaLike = (event: unknown, context: unknown) => Promise<unknown>

/** The `handler` export of a contender bundle (CommonJS), or a clear error. */
export function handlerOf(contender: string, moduleExports: unknown): LambdaLike {
  const handler = (moduleExports as { handler?: unknown } | null)?.handler
  if (typeof handler !== 'function') throw new Error(`${contender}: bundle does not export a handler function`)
  return handler as LambdaLike
}
