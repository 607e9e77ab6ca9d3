/**
 * Google Cloud: `serverless offline` with POLYCLOUD_PROVIDER=google, the packaged source on the Functions Framework.
 * HTTP goes to the routing function's URL at the declared paths; every other kind goes through the local events
 * endpoint in Google's own API shapes (a Scheduler job run, a Pub/Sub publish, a Cloud Storage upload), which
 * delivers it as Google does (a Pub/Sub push envelope, an Eventarc CloudEvent). A message is redelivered when its
 * first push was not acknowledged: Pub/Sub pushes one message per request. A failed push is retried after 1 s
 * (`POLYCLOUD_OFFLINE_RETRY_SECONDS`) instead of Pub/Sub's 10-600 s backoff, 5 attempts as deployed; dead letters
 * are pulled from the dead-letter topic's pull subscription (`<topic>-dlq`). Eventarc filters storage events by
 * bucket only: an object outside the prefix reaches the function, whose entry drops it before the handler.
 */
import { startServerless } from '../../helpers/serverless.ts'
import { quiet, type LocalTarget, type LogLine, type Outcome, type Trigger } from '../target.ts'

interface Delivery {
  id: string
  function: string
  attempt: number
  outcome: 'pending' | 'acked' | 'retry' | 'dead-lettered' | 'dropped'
}

const SERVICE = 'polycloud-demo-dev'

/** Cloud Logging's JSON lines (`{"severity":"INFO","level":"info",...}`) in the output. */
function gcpLogLines(output: string): LogLine[] {
  const lines: LogLine[] = []
  for (const text of output.split('\n')) {
    if (!text.startsWith('{"severity"')) continue
    try {
      lines.push(JSON.parse(text) as LogLine)
    } catch {
      // A partial line: not a handler's.
    }
  }
  return lines
}

export async function startGoogle(): Promise<LocalTarget> {
  const offline = await startServerless(['offline', '--port', '0'], { env: { POLYCLOUD_PROVIDER: 'google', POLYCLOUD_OFFLINE_RETRY_SECONDS: '1' } })
  try {
    const routes = /routes at (http:\/\/\S+):/.exec(offline.stderr())?.[1]
    const events = /events \(Pub\/Sub, Cloud Storage, Cloud Scheduler\): (http:\/\/\S+)/.exec(offline.stderr())?.[1]
    if (!routes || !events) throw new Error(`serverless offline printed no routes or events URL:\n${offline.stderr()}`)
    const index = (await (await fetch(events)).json()) as { runJob: string }
    const [, project, region] = /projects\/([^/]+)\/locations\/([^/]+)\//.exec(index.runJob) as RegExpExecArray

    const deliveries = async (): Promise<Delivery[]> => (await (await fetch(`${events}/polycloud/deliveries`)).json()) as Delivery[]

    /** Waits until the first attempt of each delivery to the function (after `skip` earlier ones) has an outcome. */
    const settled = async (fn: string, skip: number, count: number): Promise<Delivery[]> => {
      const deadline = Date.now() + 30_000
      for (;;) {
        const first = (await deliveries()).filter((delivery) => delivery.function === fn && delivery.attempt === 1).slice(skip)
        if (first.length >= count && first.every((delivery) => delivery.outcome !== 'pending')) {
          // The handler's log lines were written before it answered; let them arrive.
          await quiet(offline.stdout)
          return first
        }
        if (Date.now() > deadline) throw new Error(`deliveries to ${fn} did not finish: ${JSON.stringify(first)}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }

    const post = async (url: string, init: RequestInit): Promise<unknown> => {
      const response = await fetch(url, { method: 'POST', ...init })
      if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`)
      return response.json()
    }

    const publish = (topic: string, messages: Array<{ data: string; attributes?: Record<string, string> }>) =>
      post(`${events}/v1/projects/${project}/topics/${topic}:publish`, { body: JSON.stringify({ messages }) })

    return {
      resourcesPending: 'the demo\'s resources under the local Functions Framework (STORAGE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST) are wired by the Google part of issue 17',
      provider: 'google',
      url: (path) => `${routes}${path}`,
      httpLogs: () => gcpLogLines(offline.stdout()),
      logs: () => gcpLogLines(offline.stdout()),
      async fire(trigger: Trigger): Promise<Outcome> {
        const fn = `${SERVICE}-${trigger.function}`
        const skip = (await deliveries()).filter((delivery) => delivery.function === fn && delivery.attempt === 1).length
        const from = offline.stdout().length
        let count = 1
        switch (trigger.kind) {
          case 'schedule':
            await post(`${events}/v1/projects/${project}/locations/${region}/jobs/${fn}-cron:run`, {})
            break
          case 'queue':
            count = trigger.messages.length
            await publish(`${SERVICE}-${trigger.queue}`, trigger.messages.map((body) => ({ data: Buffer.from(body).toString('base64') })))
            break
          case 'topic':
            await publish(trigger.topic, [{ data: Buffer.from(trigger.body).toString('base64'), attributes: { ...trigger.attributes } }])
            break
          case 'storage':
            count = (trigger.ignored ?? []).length + 1
            for (const key of [...(trigger.ignored ?? []), trigger.key]) {
              await post(`${events}/upload/storage/v1/b/${trigger.bucket}/o?uploadType=media&name=${encodeURIComponent(key)}`, {
                headers: { 'content-type': 'image/png' },
                body: new Uint8Array(trigger.size),
              })
            }
            break
        }
        const first = await settled(fn, skip, count)
        const redelivered = first.flatMap((delivery, index) => (delivery.outcome === 'acked' ? [] : [index]))
        return { redelivered, logs: gcpLogLines(offline.stdout().slice(from)) }
      },
      async deadLetters(queue) {
        const subscription = `${events}/v1/projects/${project}/subscriptions/${SERVICE}-${queue}-dlq`
        const { receivedMessages = [] } = (await post(`${subscription}:pull`, { body: JSON.stringify({ maxMessages: 100 }) })) as { receivedMessages?: Array<{ ackId: string; message: { data: string } }> }
        if (receivedMessages.length > 0) await post(`${subscription}:acknowledge`, { body: JSON.stringify({ ackIds: receivedMessages.map(({ ackId }) => ackId) }) })
        return receivedMessages.map(({ message }) => Buffer.from(message.data, 'base64').toString('utf8'))
      },
      stop: () => offline.stop(),
    }
  } catch (error) {
    await offline.stop()
    throw error
  }
}
