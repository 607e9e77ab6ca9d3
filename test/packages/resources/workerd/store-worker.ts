// The test Worker of store-cloudflare.test.ts, bundled by esbuild and run in workerd: a function that uses a
// key-value store (D1) through @polycloud/resources inside workerd, as a generated entry wires it.
import { http, json } from '@polycloud/core'
import { createWorker, workersFetch, type ExecutionContextLike } from '@polycloud/cloudflare'
import { cloudflareResources } from '@polycloud/cloudflare/resources'
import { ResourceError, store, withResources } from '@polycloud/resources'

const sessions = store<{ count: number }>('sessions')

const api = createWorker(
  withResources(
    http(async (request) => {
      const prefix = request.query.get('prefix') ?? 'w:'
      try {
        const first = await sessions.put(`${prefix}a`, { count: 1 }, { ttlSeconds: 60 })
        let conflict = ''
        try {
          await sessions.put(`${prefix}a`, { count: 9 }, { ifAbsent: true })
        } catch (error) {
          conflict = (error as ResourceError).code
        }
        const counted = await Promise.all(Array.from({ length: 20 }, () => sessions.update(`${prefix}counter`, (current) => ({ count: (current?.count ?? 0) + 1 }))))
        const page = await sessions.list({ prefix, limit: 1 })
        const next = page.cursor === undefined ? undefined : await sessions.list({ prefix, limit: 1, cursor: page.cursor })
        return json({
          first,
          entry: await sessions.getEntry(`${prefix}a`),
          conflict,
          counter: await sessions.get(`${prefix}counter`),
          updates: counted.length,
          pages: [page.entries.map((entry) => entry.key), next?.entries.map((entry) => entry.key)],
        })
      } catch (error) {
        return json({ error: (error as Error).message, code: (error as ResourceError).code }, { status: 500 })
      }
    }),
    cloudflareResources(),
    ['sessions'],
  ),
  [workersFetch],
  { name: 'api' },
)

export default {
  fetch: (request: Request, env: unknown, ctx: ExecutionContextLike) => api.fetch(request, env, ctx),
}
