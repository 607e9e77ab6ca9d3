import { topic } from '@polycloud/core'

/** Logs each alert with its severity attribute. */
export default topic((message, context) => {
  context.log.info('alert', { body: message.body, severity: message.attributes.severity ?? null })
})
