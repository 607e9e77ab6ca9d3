import { http, json } from '@polycloud/core'

export default http(() => json({ ok: true }))
