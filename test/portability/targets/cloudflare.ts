/**
 * Cloudflare: the demo's packaged Worker on workerd (miniflare) through `serverless offline`, HTTP over its port;
 * crons, queue batches and R2 notifications through `serverless invoke local` with the native payload Workers
 * would deliver (a ScheduledController, a MessageBatch, an R2 event notification message), whose result names the
 * messages the batch retries. Cloudflare has no pub/sub topics: the demo keeps its topic function off Cloudflare
 * (`excludeFrom: [cloudflare]`), which this target checks in the packaged Worker and reports as unsupported.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProcess } from 'serverless-polycloud/local'
import { freePort, ROOT, serverless } from '../../helpers/serverless.ts'
import { logLines, type LocalTarget, type Outcome, type Trigger } from '../target.ts'

const CLI = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js')
const ENV = { POLYCLOUD_PROVIDER: 'cloudflare', SLS_TELEMETRY_DISABLED: '1' }
const NO_TOPICS = 'Cloudflare has no pub/sub topics; the demo deploys its topic function everywhere else (excludeFrom: [cloudflare])'

function nativePayload(trigger: Exclude<Trigger, { kind: 'topic' }>): unknown {
  const now = Date.now()
  switch (trigger.kind) {
    case 'schedule':
      // The function's own Cron Trigger, at this minute.
      return { scheduledTime: now - (now % 60_000) }
    case 'queue':
      return { queue: trigger.queue, messages: trigger.messages.map((body, index) => ({ id: `m-${index}`, timestamp: now, attempts: 1, body })) }
    case 'storage':
      // The message body R2 sends to the bucket's notification queue (the documented message format).
      return {
        messages: [
          {
            id: 'm-0',
            timestamp: now,
            attempts: 1,
            body: {
              account: '3f4b7e3dcab231cbfdaa90a6a28bd548',
              action: 'PutObject',
              bucket: trigger.bucket,
              object: { key: trigger.key, size: trigger.size, eTag: 'c846ff7a18f28c2e262116d6e8719ef0' },
              eventTime: new Date(now).toISOString(),
            },
          },
        ],
      }
  }
}

export async function startCloudflare(): Promise<LocalTarget> {
  const scratch = mkdtempSync(join(tmpdir(), 'polycloud-portability-cloudflare-'))
  const port = await freePort()
  const offline = await startProcess(process.execPath, [CLI, 'offline', '--port', String(port)], {
    ready: /Server ready: /,
    env: ENV,
    cwd: ROOT,
    name: 'serverless offline (cloudflare)',
    timeoutMs: 90_000,
  })
  // The topic function really is left out of the packaged Worker (not silently dropped by this target).
  const manifest = JSON.parse(readFileSync(join(ROOT, '.serverless', 'cloudflare', 'polycloud.json'), 'utf8')) as { functions: Array<{ name: string }> }
  if (manifest.functions.some((fn) => fn.name === 'alerts')) throw new Error('the packaged Worker serves the topic function alerts; it should be excluded from Cloudflare')
  return {
    provider: 'cloudflare',
    unsupported: { topic: NO_TOPICS },
    url: (path) => `http://127.0.0.1:${port}${path}`,
    httpLogs: () => logLines(offline.output()),
    async fire(trigger): Promise<Outcome> {
      if (trigger.kind === 'topic') throw new Error(NO_TOPICS)
      const path = join(scratch, `${trigger.function}.json`)
      writeFileSync(path, JSON.stringify(nativePayload(trigger)))
      const run = await serverless(['invoke', 'local', '-f', trigger.function, '--path', path], { env: ENV, timeoutMs: 90_000 })
      if (run.code !== 0) throw new Error(`invoke local -f ${trigger.function} exited with ${run.code}:\n${run.stdout}\n${run.stderr}`)
      const start = run.stdout.lastIndexOf('\n{\n')
      const result = start === -1 ? undefined : (JSON.parse(run.stdout.slice(start + 1)) as { outcome?: string; retried?: string[] })
      if (result?.outcome !== 'ok') throw new Error(`invoke local -f ${trigger.function}: outcome ${result?.outcome}:\n${run.stdout}\n${run.stderr}`)
      const redelivered = (result.retried ?? []).map((id) => Number(id.slice('m-'.length)))
      return { redelivered, logs: logLines(`${run.stdout}\n${run.stderr}`) }
    },
    async stop() {
      await offline.stop()
      rmSync(scratch, { recursive: true, force: true })
    },
  }
}
