/**
 * Azure: the demo packaged for Azure and served by Polycloud's local Functions host (`serverless offline`), HTTP
 * under the `/api` route prefix (the platform's convention). Events arrive as the platform delivers them: the cron
 * through the host's admin API (`POST /admin/functions/report`), queue messages through azurite (base64, one
 * invocation each: a redelivered message is one whose invocation failed; `<queue>-poison` after 5 dequeues), blobs
 * through azurite, and the Service Bus topic message, which has no local emulator, through the admin API with its
 * application properties (`triggerMetadata`, the local host's extension).
 */
import { QueueClient } from '@azure/storage-queue'
import { BlobServiceClient } from '@azure/storage-blob'
import { outcomes, startAzureHost } from '../../helpers/azure.ts'
import { logLines, quiet, type LocalTarget, type Outcome, type Trigger } from '../target.ts'

const WAIT_MS = 30_000

export async function startAzure(): Promise<LocalTarget> {
  const host = await startAzureHost()
  const connection = host.connectionString as string

  /** Waits until each invocation id has an outcome; resolves with the outcomes. */
  const settled = async (functionName: string, ids: readonly string[]): Promise<Map<string, boolean>> => {
    const started = Date.now()
    for (;;) {
      const all = outcomes(host.stdout(), functionName)
      if (ids.every((id) => all.has(id))) return all
      if (Date.now() - started > WAIT_MS) throw new Error(`no outcome for ${functionName} invocations ${ids.join(', ')}:\n${host.stdout()}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /** The invocation ids the host gave to lines matching `reason` after `from`. */
  const invocationOf = async (functionName: string, from: number, pattern: RegExp): Promise<string> => {
    const line = await host.waitForLine(new RegExp(`Executing 'Functions\\.${functionName}' \\(Reason='${pattern.source}`), WAIT_MS, from)
    return /Id=([0-9a-f-]+)\)/.exec(line)?.[1] as string
  }

  /** The queue's name on Azure is the deployed one: read from the consuming function's binding, as the host has it. */
  const queueNameOf = async (functionName: string): Promise<string> => {
    const metadata = (await (await fetch(`${host.url}/admin/functions/${functionName}`)).json()) as { config: { bindings: Array<{ queueName?: string }> } }
    return metadata.config.bindings.find((binding) => binding.queueName)?.queueName as string
  }

  return {
    provider: 'azure',
    url: (path) => `${host.url}/api${path}`,
    httpLogs: () => logLines(host.stdout()),
    logs: () => logLines(host.stdout()),
    async fire(trigger: Trigger): Promise<Outcome> {
      const from = host.stdout().length
      switch (trigger.kind) {
        case 'schedule': {
          const response = await fetch(`${host.url}/admin/functions/${trigger.function}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":""}' })
          if (response.status !== 202) throw new Error(`admin API answered ${response.status}`)
          const id = await invocationOf(trigger.function, from, /This function was programmatically called/)
          await settled(trigger.function, [id])
          return { redelivered: [], logs: logLines(host.stdout().slice(from)) }
        }
        case 'queue': {
          const client = new QueueClient(connection, await queueNameOf(trigger.function))
          const sent = []
          for (const body of trigger.messages) sent.push((await client.sendMessage(Buffer.from(body).toString('base64'))).messageId)
          // The first delivery of each message: its invocation id, found by the trigger details the host logs.
          const firstRuns = await Promise.all(
            sent.map(async (messageId) => {
              const line = await host.waitForLine(new RegExp(`Trigger Details: MessageId: ${messageId}, DequeueCount: 1\\b`), WAIT_MS, from)
              const text = host.stdout().slice(from)
              const before = text.slice(0, text.indexOf(line)).trimEnd().split('\n').pop() ?? ''
              return /Id=([0-9a-f-]+)\)/.exec(before)?.[1] as string
            }),
          )
          const results = await settled(trigger.function, firstRuns)
          const redelivered = firstRuns.flatMap((id, index) => (results.get(id) ? [] : [index]))
          return { redelivered, logs: logLines(host.stdout().slice(from)) }
        }
        case 'storage': {
          const container = BlobServiceClient.fromConnectionString(connection).getContainerClient(trigger.bucket)
          await container.createIfNotExists()
          for (const key of [...(trigger.ignored ?? []), trigger.key]) await container.getBlockBlobClient(key).uploadData(Buffer.alloc(trigger.size, 7))
          const escaped = `${trigger.bucket}/${trigger.key}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          const id = await invocationOf(trigger.function, from, new RegExp(`New blob detected\\(LogsAndContainerScan\\): ${escaped}`))
          await settled(trigger.function, [id])
          await quiet(host.stdout)
          return { redelivered: [], logs: logLines(host.stdout().slice(from)) }
        }
        case 'topic': {
          const body = { input: trigger.body, triggerMetadata: { ApplicationProperties: trigger.attributes } }
          const response = await fetch(`${host.url}/admin/functions/${trigger.function}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
          if (response.status !== 202) throw new Error(`admin API answered ${response.status}: ${await response.text()}`)
          const id = await invocationOf(trigger.function, from, /This function was programmatically called/)
          await settled(trigger.function, [id])
          return { redelivered: [], logs: logLines(host.stdout().slice(from)) }
        }
      }
    },
    async deadLetters(queue) {
      const poison = new QueueClient(connection, `polycloud-demo-dev-${queue}-poison`)
      if (!(await poison.exists())) return []
      const { receivedMessageItems } = await poison.receiveMessages({ numberOfMessages: 32 })
      for (const message of receivedMessageItems) await poison.deleteMessage(message.messageId, message.popReceipt)
      return receivedMessageItems.map((message) => Buffer.from(message.messageText, 'base64').toString('utf8'))
    },
    stop: () => host.stop(),
  }
}
