import { schedule } from '@polycloud/core'

export default schedule((tick, context) => {
  context.log.info('tick', { time: tick.time, name: tick.name ?? null, schedule: tick.schedule ?? null })
})
