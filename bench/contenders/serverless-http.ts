// serverless-http around a plain Node request listener (it accepts any `(req, res)` function: no framework needed).
import type { IncomingMessage, ServerResponse } from 'node:http'
import serverless from 'serverless-http'

function hello(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/'
  const mark = url.indexOf('?')
  const name = (mark === -1 ? null : new URLSearchParams(url.slice(mark + 1)).get('name')) ?? 'world'
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ hello: name }))
}

export const handler = serverless(hello)
