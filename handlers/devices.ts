import { HttpError, http, json } from '@polycloud/core'
import { store } from '@polycloud/resources'
import { deviceKey, isDeviceId, publicState, type DeviceState } from './reading.js'

const devices = store<DeviceState>('devices')

/** GET /devices/{id}: the device's state as the readings worker keeps it (404 for a device never heard from). */
export default http(async (request) => {
  const id = request.params.id ?? ''
  if (!isDeviceId(id)) throw new HttpError(400, 'a device id is 1-64 letters, digits, "_" and "-"')
  const state = await devices.get(deviceKey(id))
  if (state === null) throw new HttpError(404, `no readings from device ${id}`)
  return json(publicState(state))
})
