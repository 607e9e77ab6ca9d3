import { schedule } from '@polycloud/core'

export default schedule((tick, context) => {
  context.log.info('tick', { time: tick.time, rule: tick.name ?? null })
})
