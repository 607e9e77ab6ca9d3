export { inspect, adapters, providers } from './inspect.js'
export type { Inspection } from './inspect.js'
export { describeRequest, describeEvent, describeBody, describeInvalid } from './describe.js'
