import { schedule } from '@polycloud/core'

/**
 * The nightly report (cron `0 3 * * *`). It logs which period it covers; a real report would read a database,
 * which the demo does not have.
 */
export default schedule((tick, context) => {
  const end = new Date(tick.time || Date.now())
  const start = new Date(end.getTime() - 24 * 60 * 60 * 1000)
  context.log.info('nightly report', {
    from: start.toISOString(),
    to: end.toISOString(),
    schedule: tick.schedule,
    name: tick.name,
    remainingMs: context.remainingTime(),
  })
})
