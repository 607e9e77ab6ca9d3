/**
 * A local stand-in for a cloud API, on 127.0.0.1 only: HTTP or HTTPS (with a self-signed certificate made for the
 * test by openssl; bearer-token SDK policies refuse plain HTTP), every request recorded (method, path, query,
 * headers, body) for the test to assert the sequence of calls. The routes are the test's: a stand-in answers the way
 * the published API does, and refuses what the API would refuse.
 */
import { execFileSync } from 'node:child_process'
import { buffer } from 'node:stream/consumers'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RecordedRequest {
  readonly method: string
  /** The path without the query. */
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage['headers']
  readonly body: Buffer
}

/** What a route answers. `body` objects are sent as JSON. */
export interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: unknown
}

export type Route = (request: RecordedRequest) => Reply | Promise<Reply>

export interface StandIn {
  /** `https://127.0.0.1:<port>` or `http://...`. */
  readonly url: string
  readonly port: number
  /** The certificate (PEM) to trust, for HTTPS stand-ins. */
  readonly ca: string | undefined
  /** Every request so far, in order. */
  readonly requests: RecordedRequest[]
  stop(): Promise<void>
}

/** A self-signed certificate for 127.0.0.1 and localhost, made by openssl in a temporary folder. */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'polycloud-cert-'))
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' })
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function send(response: ServerResponse, reply: Reply): void {
  const isBytes = reply.body instanceof Uint8Array
  const body = reply.body === undefined ? undefined : isBytes ? (reply.body as Uint8Array) : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
  const headers: Record<string, string> = { ...reply.headers }
  if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
    headers['content-type'] = isBytes ? 'application/octet-stream' : typeof reply.body === 'string' ? 'text/plain' : 'application/json'
  }
  response.writeHead(reply.status, headers)
  response.end(body)
}

/** Starts a stand-in on a free port of 127.0.0.1 whose requests go to `route`; a route that throws answers 500 with its message. */
export async function startStandIn(route: Route, options: { readonly https?: boolean } = {}): Promise<StandIn> {
  const requests: RecordedRequest[] = []
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1')
      const recorded: RecordedRequest = { method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: request.headers, body: await buffer(request) }
      requests.push(recorded)
      let reply: Reply
      try {
        reply = await route(recorded)
      } catch (error) {
        reply = { status: 500, body: { error: { message: `stand-in: ${(error as Error).message}` } } }
      }
      send(response, reply)
    })()
  }
  let server: Server
  let ca: string | undefined
  if (options.https) {
    const { key, cert } = selfSignedCertificate()
    ca = cert
    server = createHttpsServer({ key, cert }, handler)
  } else {
    server = createHttpServer(handler)
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    ca,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
