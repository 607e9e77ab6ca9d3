// Hono's Lambda adapter around a one-route app (any method, any path: the v1 fixture is a POST to /hello/world).
import { Hono } from 'hono'
import { handle } from 'hono/aws-lambda'

const app = new Hono()
app.all('*', (c) => c.json({ hello: c.req.query('name') ?? 'world' }))

export const handler = handle(app)
