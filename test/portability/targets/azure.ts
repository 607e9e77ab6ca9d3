/**
 * Azure: the demo packaged for Azure and served by Polycloud's local Functions host (`serverless offline`), HTTP
 * under the `/api` route prefix (the platform's convention). Events arrive as the platform delivers them: the cron
 * through the host's admin API (`POST /admin/functions/report`), queue messages through azurite (base64, one
 * invocation each: a redelivered message is one whose invocation failed), a blob through azurite, and the Service
 * Bus topic message, which azurite cannot carry, through `serverless invoke local` with the payload the host sends.
 */
import { QueueClient } from '@azure/storage-queue'
import { BlobServiceClient } from '@azure/storage-blob'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { outcomes, startAzureHost } from '../../helpers/azure.ts'
import { serverless } from '../../helpers/serverless.ts'
import { logLines, type LocalTarget, type Outcome, type Trigger } from '../target.ts'

const WAIT_MS = 30_000

export async function startAzure(): Promise<LocalTarget> {
  const scratch = mkdtempSync(join(tmpdir(), 'polycloud-portability-azure-'))
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

  return {
    provider: 'azure',
    url: (path) => `${host.url}/api${path}`,
    httpLogs: () => logLines(host.stdout()),
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
          // The queue's name on Azure is the deployed one: read it from the function's binding, as the host has it.
          const metadata = (await (await fetch(`${host.url}/admin/functions/${trigger.function}`)).json()) as { config: { bindings: Array<{ queueName?: string }> } }
          const queueName = metadata.config.bindings.find((binding) => binding.queueName)?.queueName as string
          const client = new QueueClient(connection, queueName)
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
          await container.getBlockBlobClient(trigger.key).uploadData(Buffer.alloc(trigger.size, 7))
          const escaped = `${trigger.bucket}/${trigger.key}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          const id = await invocationOf(trigger.function, from, new RegExp(`New blob detected\\(LogsAndContainerScan\\): ${escaped}`))
          await settled(trigger.function, [id])
          return { redelivered: [], logs: logLines(host.stdout().slice(from)) }
        }
        case 'topic': {
          const path = join(scratch, `${trigger.function}.json`)
          const payload = {
            input: trigger.body,
            triggerMetadata: {
              MessageId: crypto.randomUUID().replaceAll('-', ''),
              DeliveryCount: 1,
              EnqueuedTimeUtc: new Date().toISOString(),
              ContentType: 'text/plain',
              ApplicationProperties: trigger.attributes,
              UserProperties: trigger.attributes,
              LockToken: crypto.randomUUID(),
            },
          }
          writeFileSync(path, JSON.stringify(payload))
          const run = await serverless(['invoke', 'local', '-f', trigger.function, '--path', path], { env: { POLYCLOUD_PROVIDER: 'azure' }, timeoutMs: 90_000 })
          if (run.code !== 0) throw new Error(`invoke local -f ${trigger.function} exited with ${run.code}:\n${run.stdout}\n${run.stderr}`)
          return { redelivered: [], logs: logLines(run.stdout) }
        }
      }
    },
    async stop() {
      await host.stop()
      rmSync(scratch, { recursive: true, force: true })
    },
  }
}
