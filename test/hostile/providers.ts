/**
 * One HTTP request sent to a portable handler on each of the four providers, through each provider's own runtime
 * entry point (the dispatcher it uses), as the platform hands the request over: a Lambda event (API Gateway HTTP API
 * payload 2.0), an Azure Functions `HttpRequest` with its invocation context, a real HTTP request to the Functions
 * Framework on 127.0.0.1 (the path sent byte for byte), a Workers Fetch `Request`. What comes back is read the same
 * way for all four, with the log lines Polycloud wrote.
 */
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import azureFunctions from '@azure/functions'
import { getTestServer } from '@google-cloud/functions-framework/testing'
import type { HttpHandler } from '@polycloud/core'
import { awsSources, createLambdaHandler } from '@polycloud/aws'
import { azureSources, createAzureHandler } from '@polycloud/azure'
import { cloudflareSources, createWorker, type FetchWorker } from '@polycloud/cloudflare'
import { gcp } from '@polycloud/gcp'
import { straight, throughStream } from '../helpers/stdout.ts'

const { HttpRequest, InvocationContext } = azureFunctions

export const PROVIDERS = ['aws', 'azure', 'gcp', 'cloudflare'] as const
export type ProviderName = (typeof PROVIDERS)[number]

export interface Sent {
  readonly method?: string
  /** The path and query as the client sends it, e.g. `/a/../b?x=1`. */
  readonly target: string
  readonly headers?: Record<string, string>
  readonly body?: string
  /** AWS only: the body is flagged base64 (`isBase64Encoded`). */
  readonly base64?: boolean
}

export interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  /** The JSON log lines Polycloud wrote for the request. */
  readonly logs: Array<Record<string, unknown>>
}

let counter = 0

/** A handler served on one provider; `close()` stops what was started (the Functions Framework's server). */
export interface Served {
  send(sent: Sent): Promise<Answer>
  close(): Promise<void>
}

function parseLines(chunks: string[]): Array<Record<string, unknown>> {
  return chunks
    .join('\n')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** Runs `body` capturing the log lines written to stdout and the console. */
async function capture<T>(body: () => Promise<T>): Promise<{ value: T; logs: Array<Record<string, unknown>> }> {
  const chunks: string[] = []
  const saved = { write: process.stdout.write, log: console.log, warn: console.warn, error: console.error }
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    if (text.startsWith('{')) {
      chunks.push(text)
      return true
    }
    return (saved.write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest)
  }) as typeof process.stdout.write
  throughStream()
  const keep = (line: unknown): void => void chunks.push(String(line))
  console.log = console.warn = console.error = keep
  try {
    const value = await body()
    return { value, logs: parseLines(chunks) }
  } finally {
    process.stdout.write = saved.write
    straight()
    Object.assign(console, { log: saved.log, warn: saved.warn, error: saved.error })
  }
}

export async function serve(provider: ProviderName, handler: HttpHandler): Promise<Served> {
  switch (provider) {
    case 'aws': {
      const lambda = createLambdaHandler(handler, awsSources)
      return {
        async send(sent) {
          const [rawPath, rawQuery = ''] = sent.target.split('?', 2) as [string, string?]
          const event = {
            version: '2.0',
            routeKey: '$default',
            rawPath,
            rawQueryString: rawQuery,
            headers: { host: 'api.example.com', ...lower(sent.headers) },
            requestContext: { domainName: 'api.example.com', requestId: 'r', http: { method: sent.method ?? 'GET', path: rawPath, sourceIp: '198.51.100.7' } },
            body: sent.body,
            isBase64Encoded: sent.base64 ?? false,
          }
          const { value, logs } = await capture(() => lambda(event, { awsRequestId: 'aws-request-1', functionName: 'f', getRemainingTimeInMillis: () => 3000 }))
          const result = value as { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: boolean }
          const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString() : result.body
          return { status: result.statusCode, headers: result.headers, body, logs }
        },
        close: async () => {},
      }
    }
    case 'azure': {
      const azure = createAzureHandler(handler, azureSources)
      return {
        async send(sent) {
          const lines: string[] = []
          const context = new InvocationContext({
            invocationId: 'azure-invocation-1',
            functionName: 'f',
            options: { trigger: { type: 'httpTrigger', name: 'req' } } as never,
            logHandler: (_level, ...args) => void lines.push(String(args[0])),
          })
          const request = new HttpRequest({
            method: sent.method ?? 'GET',
            url: `https://app.azurewebsites.net${sent.target}`,
            headers: sent.headers,
            ...(sent.body === undefined ? {} : { body: { string: sent.body } }),
          })
          const { value } = await capture(() => azure(request, context))
          const init = value as { status: number; headers: Record<string, string>; body?: string | Uint8Array }
          const body = init.body === undefined ? '' : typeof init.body === 'string' ? init.body : Buffer.from(init.body).toString()
          return { status: init.status, headers: init.headers, body, logs: parseLines(lines) }
        },
        close: async () => {},
      }
    }
    case 'cloudflare': {
      const worker = createWorker(handler, cloudflareSources) as FetchWorker
      return {
        async send(sent) {
          const request = new Request(`https://worker.example.com${sent.target}`, { method: sent.method ?? 'GET', headers: sent.headers, body: sent.body })
          const { value, logs } = await capture(async () => {
            const response = await worker.fetch(request, {}, { waitUntil: () => {}, passThroughOnException: () => {} })
            return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() }
          })
          return { ...value, logs }
        },
        close: async () => {},
      }
    }
    default: {
      const name = `hostile${++counter}`
      gcp.http(name, handler)
      const server: Server = getTestServer(name)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const { port } = server.address() as AddressInfo
      return {
        async send(sent) {
          const { value, logs } = await capture(
            () =>
              new Promise<Omit<Answer, 'logs'>>((resolve, reject) => {
                const client = httpRequest(
                  { host: '127.0.0.1', port, method: sent.method ?? 'GET', path: sent.target, headers: sent.headers, timeout: 5000 },
                  (res) => {
                    const chunks: Buffer[] = []
                    res.on('data', (chunk: Buffer) => chunks.push(chunk))
                    res.on('end', () => {
                      const headers: Record<string, string> = {}
                      for (const [key, item] of Object.entries(res.headers)) if (typeof item === 'string') headers[key] = item
                      resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString() })
                    })
                    res.on('error', reject)
                  },
                )
                client.on('timeout', () => client.destroy(new Error('the Functions Framework did not answer within 5 s')))
                client.on('error', reject)
                client.end(sent.body)
              }),
          )
          return { ...value, logs }
        },
        close: () =>
          new Promise<void>((resolve, reject) => {
            server.closeAllConnections()
            server.close((error) => (error ? reject(error) : resolve()))
          }),
      }
    }
  }
}

function lower(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value
  return out
}

/** Serves one handler on all four providers for a test file; close them in `after`. */
export async function serveEverywhere(handler: HttpHandler): Promise<Record<ProviderName, Served>> {
  const out = {} as Record<ProviderName, Served>
  for (const provider of PROVIDERS) out[provider] = await serve(provider, handler)
  return out
}
