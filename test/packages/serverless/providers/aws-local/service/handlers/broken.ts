import { topic } from '@polycloud/core'

/** Fails every alert: Lambda's asynchronous retries. */
export default topic((message) => {
  throw new Error(`cannot handle ${message.body}`)
})
