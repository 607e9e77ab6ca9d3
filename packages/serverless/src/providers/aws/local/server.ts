/**
 * One HTTP server on 127.0.0.1 for every local AWS service, as one endpoint URL for S3, SQS and SNS (what
 * `--endpoint-url` and the SDKs' `endpoint` take). Each request goes to the service it is for:
 *
 * - `x-amz-target: AmazonSQS.*` (the AWS JSON protocol): SQS;
 * - `x-amz-target: DynamoDB_20120810.*`, or a request signed for `dynamodb`: DynamoDB (dynalite, for the stores);
 * - a request signed for `sns` (SigV4 credential scope), an unsigned form POST to `/`, or a GET of `/?Action=...`
 *   (a notification's UnsubscribeURL): SNS;
 * - an unsigned request under `/polycloud/` (no bucket can be named `polycloud` and be reached unsigned there by
 *   the SDKs, which always sign): the local control API (schedules fired now, deliveries);
 * - anything else: S3 (path-style: `/<bucket>/<key>`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { signedService } from './http.js'

export type Route = 'sqs' | 'sns' | 's3' | 'dynamodb' | 'control'

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/** Which service a request is for. */
export function routeOf(req: IncomingMessage): Route {
  const target = req.headers['x-amz-target']
  if (typeof target === 'string' && target.startsWith('AmazonSQS.')) return 'sqs'
  if (typeof target === 'string' && target.startsWith('DynamoDB_20120810.')) return 'dynamodb'
  const service = signedService(req.headers.authorization)
  if (service === 'dynamodb') return 'dynamodb'
  if (service === 'sns') return 'sns'
  if (service === 'sqs') return 'sqs'
  if (service !== undefined) return 's3'
  const [path = '/', query = ''] = (req.url ?? '/').split('?')
  if (path === '/polycloud' || path.startsWith('/polycloud/')) return 'control'
  const form = String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
  if (path === '/' && ((req.method === 'POST' && form) || /(^|&)Action=/.test(query))) return 'sns'
  return 's3'
}

export interface LocalServer {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

/** Hosts the servers may listen on: the loopback interface only. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

/** A service this server was started without (DynamoDB, for a service without stores). */
const notServed: Handler = async (req, res) => {
  req.resume()
  res.writeHead(400, { 'content-type': 'text/plain' })
  res.end(`${routeOf(req)} is not served here`)
}

/** Starts the server on `host:port` (0 picks a free port); every request goes through `handlers[routeOf(req)]`. */
export function listen(host: string, port: number, handlers: Readonly<Record<Exclude<Route, 'dynamodb'>, Handler> & { dynamodb?: Handler }>, log: (line: string) => void): Promise<LocalServer> {
  if (!LOOPBACK.has(host)) return Promise.reject(new Error(`local AWS listens on the loopback interface only (127.0.0.1), not ${JSON.stringify(host)}`))
  const server: Server = createServer((req, res) => {
    const route = routeOf(req)
    const handler = handlers[route] ?? notServed
    handler(req, res).catch((error: unknown) => {
      log(`local AWS: ${req.method} ${req.url}: ${(error as Error)?.stack ?? String(error)}`)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end()
    })
  })
  // Long polls (ReceiveMessage waits up to 20 s) must not be cut by the server's request timeout.
  server.requestTimeout = 0
  server.keepAliveTimeout = 5_000
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new Error(`local AWS could not listen on ${host}:${port}: the port is in use (choose another one, or 0 for a free one)`) : error)
    })
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve({
        url: `http://${shown}:${address.port}`,
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}
