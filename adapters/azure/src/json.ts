import azureFunctions from '@azure/functions'
import type { HttpRequestInit, InvocationContextInit } from '@azure/functions'
import { base64ToBytes, isBase64, isRecord } from '@polycloud/core/adapter'
import type { AzureInput } from './input.js'

const { HttpRequest, InvocationContext } = azureFunctions

/**
 * Turns a JSON payload into what the Azure sources read (`polycloud inspect --provider azure`):
 *
 * - `{ "input": ..., "context": {...} }`: a trigger input and an `InvocationContextInit` (`invocationId`,
 *   `functionName`, `triggerMetadata`, `options.trigger` with its `type` and binding options). This is the form
 *   for triggers whose payload alone is ambiguous: Storage queue, Service Bus, blob and HTTP. An HTTP input is an
 *   `HttpRequestInit` (`method`, `url`, `headers`, `query`, `params`, `body: { string } | { bytes: base64 }`);
 *   `{ "type": "Buffer", "data": [...] }` (how a Buffer serialises) becomes a Buffer.
 * - anything else is a bare trigger input (Event Grid event or array, CloudEvent, Cosmos DB document array,
 *   timer object) with a context that states no trigger type, so the payload's shape decides.
 */
export function fromJson(json: unknown): AzureInput {
  if (isRecord(json) && 'input' in json && isRecord(json.context) && Object.keys(json).length === 2) {
    const context = new InvocationContext(json.context as InvocationContextInit)
    const trigger: unknown = (context.options as { trigger?: unknown } | undefined)?.trigger
    const stated = isRecord(trigger) ? trigger.type : undefined
    if (typeof stated !== 'string' || stated === '') {
      throw new TypeError(
        'azure: the envelope\'s context.options.trigger.type is missing: give the trigger type (e.g. "queueTrigger", ' +
          '"httpTrigger"), or leave context.options out to have the payload read by its shape',
      )
    }
    const type = stated.toLowerCase()
    const input = type === 'httptrigger' || (type === 'unknown' && isHttpInit(json.input)) ? httpRequest(json.input) : revive(json.input)
    return { input, context }
  }
  return { input: json, context: new InvocationContext({ functionName: 'inspect', invocationId: 'inspect' }) }
}

function isHttpInit(value: unknown): boolean {
  return isRecord(value) && typeof value.method === 'string' && typeof value.url === 'string'
}

function httpRequest(value: unknown): InstanceType<typeof HttpRequest> {
  if (!isHttpInit(value)) throw new TypeError('azure: an HTTP trigger input must be an HttpRequestInit with method and url')
  const init = { ...(value as Record<string, unknown>) } as HttpRequestInit & Record<string, unknown>
  const body = (value as Record<string, unknown>).body
  if (isRecord(body)) {
    const bytes = body.bytes
    if (typeof bytes === 'string') {
      if (!isBase64(bytes)) throw new TypeError('azure: the HTTP input body.bytes must be base64')
      init.body = { bytes: base64ToBytes(bytes) }
    } else if (Array.isArray(bytes)) {
      init.body = { bytes: Uint8Array.from(bytes as number[]) }
    } else if (typeof body.string === 'string') {
      init.body = { string: body.string }
    }
  }
  try {
    return new HttpRequest(init)
  } catch (error) {
    throw new TypeError(`azure: the HTTP input is not a valid request: ${(error as Error).message}`, { cause: error })
  }
}

/** A serialised Buffer (`{ type: 'Buffer', data }`) back to a Buffer; anything else as it is. */
function revive(value: unknown): unknown {
  if (isRecord(value) && value.type === 'Buffer' && Array.isArray(value.data) && Object.keys(value).length === 2) {
    return Buffer.from(value.data as number[])
  }
  return value
}
