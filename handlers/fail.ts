import { http } from '@polycloud/core'

/**
 * GET /fail: a handler that crashes, to show what a client sees (a 500 with the request id, never the error or
 * its stack) and what the log gets (the stack, as a structured line).
 */
export default http(() => {
  throw new Error('the database connection string was postgres://admin:hunter2@db.internal/prod')
})
