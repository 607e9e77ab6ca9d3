import { http, json } from '@polycloud/core'

/** GET /hello?name=Ada&name=Grace: greets every name given (repeated query keys are kept), or the world. */
export default http((request, context) => {
  const names = request.query.getAll('name').filter((name) => name.trim() !== '')
  context.log.info('greeting', { names })
  return json({ hello: names.length === 0 ? 'world' : names.join(' and '), provider: context.provider })
})
