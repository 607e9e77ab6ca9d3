// The portable handler as a Polycloud user writes it.
import { http, json } from '@polycloud/core'

export default http((request) => json({ hello: request.query.get('name') ?? 'world' }))
