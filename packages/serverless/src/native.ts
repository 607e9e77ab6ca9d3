/**
 * The native event keys of each provider's Serverless plugin. A neutral event name must never be one of them,
 * and a native event of one provider is refused, with a clear message, on another.
 */
export const NATIVE_EVENTS: Readonly<Record<'aws' | 'azure' | 'google' | 'cloudflare', readonly string[]>> = {
  // osls / Serverless Framework, AWS provider.
  aws: [
    'http', 'httpApi', 'websocket', 's3', 'schedule', 'sns', 'sqs', 'stream', 'kafka', 'msk', 'activemq', 'rabbitmq',
    'alb', 'alexaSkill', 'alexaSmartHome', 'iot', 'iotFleetProvisioning', 'cloudwatchEvent', 'cloudwatchLog',
    'cognitoUserPool', 'eventBridge', 'cloudFront',
  ],
  // serverless-azure-functions (bindings with x-azure-settings).
  azure: ['http', 'timer', 'queue', 'serviceBus', 'blob', 'eventHub', 'cosmosDB', 'eventGrid'],
  // serverless-google-cloudfunctions.
  google: ['http', 'event'],
  // serverless-cloudflare-workers.
  cloudflare: ['http'],
}

/** Which providers a native event key belongs to (e.g. `timer` -> azure). */
export function nativeOwners(key: string): string[] {
  return Object.entries(NATIVE_EVENTS)
    .filter(([, keys]) => keys.includes(key))
    .map(([provider]) => provider)
}
