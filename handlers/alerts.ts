import { topic } from '@polycloud/core'

/** Subscriber of the alerts topic: logs each alert at the level it asks for (attribute `severity`). */
export default topic((message, context) => {
  const severity = message.attributes.severity ?? 'info'
  const fields = { alertId: message.id, topic: message.topic, subject: message.subject ?? null, body: message.body, attributes: message.attributes }
  if (severity === 'critical' || severity === 'error') context.log.error('alert', fields)
  else if (severity === 'warning') context.log.warn('alert', fields)
  else context.log.info('alert', fields)
})
