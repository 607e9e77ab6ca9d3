export { inspect, adapters, providers } from './inspect.js'
export type { Inspection } from './inspect.js'
export { describeRequest, describeEvent, describeBody, describeInvalid } from './describe.js'
export {
  request,
  send,
  queueMessage,
  topicMessage,
  storageEvent,
  changeEvent,
  scheduleEvent,
  cloudEventOf,
} from './harness.js'
export type { RequestInit, TestResponse, HarnessOptions, LogRecord } from './harness.js'
export { startIssuer, signWithKeyFile } from './issuer.js'
export type { Issuer, IssuerOptions, SignOptions, TokenClaims } from './issuer.js'
export { memoryResources } from './resources.js'
export type { MemoryResources, MemoryResourcesOptions, MemoryObject, MemoryProvider, SentMessage } from './resources.js'
export type { MemoryEntry } from './store.js'
