import { HttpError, http, json } from '@polycloud/core'
import { store } from '@polycloud/resources'

const notes = store('notes')

/**
 * PUT /notes/{key} stores the JSON body; GET /notes/{key} answers it (404 when absent); POST /notes/{key}/count
 * adds one to the entry's `count` with a conditional write (`update`), so concurrent calls all count.
 */
export default http(async (request) => {
  const key = request.params.key ?? ''
  if (request.method === 'PUT') {
    const { version } = await notes.put(key, (await request.json()) as never, { ttlSeconds: 3600 })
    return json({ key, version: typeof version })
  }
  if (request.method === 'POST') {
    const counted = await notes.update(key, (current) => ({ count: (((current as { count?: number } | null)?.count) ?? 0) + 1 }))
    return json(counted)
  }
  const value = await notes.get(key)
  if (value === null) throw new HttpError(404, `no note ${JSON.stringify(key)}`)
  return json(value)
})
