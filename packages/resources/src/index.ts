// Portable resources: objects, queues, topics and key-value stores reached by logical name, on every cloud the same.
export { bucket, queue, topic } from './client.js'
export { store } from './store.js'
export type { Store, StoreEntry, StorePutOptions, StorePutResult, StoreDeleteOptions, StoreListOptions, StoreList, StoreUpdateOptions } from './store.js'
export { STORE_LIMITS } from './store-driver.js'
export { useResources, withResources } from './scope.js'
export { ResourceError } from './errors.js'
export type { ResourceErrorCode, ResourceKind } from './errors.js'
export { RESOURCES_VARIABLE } from './addressing.js'
export type {
  ResourceAddressing,
  ResourceAddress,
  AwsAddress,
  AzureAddress,
  GoogleAddress,
  CloudflareAddress,
} from './addressing.js'
export type { ResourceDriver } from './driver.js'
export type {
  Bucket,
  Queue,
  Topic,
  CallOptions,
  ObjectBody,
  PutOptions,
  PutResult,
  ObjectInfo,
  StoredObject,
  ListedObject,
  ListOptions,
  ObjectList,
  MessageContent,
  MessageOptions,
  SendOptions,
  BatchMessage,
  PublishOptions,
} from './types.js'
