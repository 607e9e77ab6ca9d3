import { HttpError, http, json } from '@polycloud/core'
import { queue } from '@polycloud/resources'
import { parseReading } from './reading.js'

const readings = queue('readings')

/**
 * POST /telemetry (`auth: key`: devices send their API key in `x-api-key`): checks the reading and puts it on the
 * `readings` queue, answering 202 at once; the queue's worker (readings.ts) keeps the device's state. A malformed
 * reading is answered 400 with the reason and not queued.
 */
export default http(async (request, context) => {
  let body: unknown
  try {
    body = await request.json()
  } catch {
    throw new HttpError(400, 'the body must be a JSON reading { device, id, time, value, unit? }')
  }
  let reading
  try {
    reading = parseReading(body)
  } catch (error) {
    throw new HttpError(400, (error as Error).message)
  }
  // The key's name (auth: key) goes with the reading, for the worker's logs.
  const key = request.auth?.kind === 'key' ? request.auth.name : 'none'
  await readings.send(reading, { attributes: { device: reading.device, key } })
  context.log.info('reading queued', { device: reading.device, reading: reading.id })
  return json({ queued: reading.id, device: reading.device }, { status: 202 })
})
