import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { expect } from 'chai'
import { getTestServer } from '@google-cloud/functions-framework/testing'
import { InvalidRecord, forgetLogSettings, type NeutralEvent } from '@polycloud/core/adapter'
import type { GcpCloudEvent } from '@polycloud/gcp'
import { straight, throughStream } from '../../helpers/stdout.ts'

/** A CloudEvent envelope around a payload, as Eventarc would send it (structured mode). */
export function envelope(type: string, data: unknown, extra: Record<string, unknown> = {}): GcpCloudEvent {
  return {
    specversion: '1.0',
    id: 'evt-1',
    source: '//example.googleapis.com/projects/p',
    type,
    time: '2024-05-01T10:00:00.123Z',
    datacontenttype: 'application/json',
    data,
    ...extra,
  }
}

/** The single translated event of a delivery, failing the test if it is an InvalidRecord. */
export function single<E extends NeutralEvent>(items: ReadonlyArray<E | InvalidRecord>): E {
  expect(items).to.have.length(1)
  const [item] = items
  if (item instanceof InvalidRecord) throw new Error(`expected an event, got an invalid record: ${item.error.message}`)
  return item as E
}

/** The InvalidRecord of a delivery, failing the test if it translated. */
export function invalid(items: ReadonlyArray<unknown>): InvalidRecord {
  expect(items).to.have.length(1)
  expect(items[0]).to.be.instanceOf(InvalidRecord)
  return items[0] as InvalidRecord
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

export function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a throw')
}

/**
 * Captures the structured log lines written to stdout (what the adapter's sink writes) and everything written to
 * stderr (the Functions Framework's crash stacks) so tests can read them and the test output stays clean; other
 * stdout writes (mocha's reporter) pass through. Restored by `restore()`.
 */
export function captureOutput(): { stdout: string[]; stderr: string[]; logs(): Array<Record<string, unknown>>; summaries(): Array<Record<string, unknown>>; restore(): void } {
  const stdout: string[] = []
  const stderr: string[] = []
  const out = process.stdout.write
  const err = process.stderr.write
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk)
    if (!text.startsWith('{"severity"')) return (out as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest)
    stdout.push(text)
    return true
  }) as typeof process.stdout.write
  throughStream()
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr.push(String(chunk))
    return true
  }) as typeof process.stderr.write
  return {
    stdout,
    stderr,
    logs: () =>
      stdout
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.polycloud === undefined),
    summaries: () =>
      stdout
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.polycloud !== undefined),
    restore() {
      process.stdout.write = out
      straight()
      process.stderr.write = err
    },
  }
}

/** A registered function served by the Functions Framework's own test server on 127.0.0.1, port 0. */
export interface TestServer {
  readonly url: string
  close(): Promise<void>
}

export async function serve(name: string): Promise<TestServer> {
  const server: Server = getTestServer(name)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}

/** A promise with its resolver, for handlers that wait on the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((done) => (resolve = done))
  return { promise, resolve }
}

export const PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished'

export function published(data: string, extra: Record<string, unknown> = {}): GcpCloudEvent {
  return {
    specversion: '1.0',
    id: 'ce-1',
    source: '//pubsub.googleapis.com/projects/p/topics/orders',
    type: PUBLISHED,
    time: '2024-05-01T10:00:00.000Z',
    datacontenttype: 'application/json',
    data: {
      subscription: 'projects/p/subscriptions/orders-sub',
      message: { data: Buffer.from(data).toString('base64'), attributes: { k: 'v' }, messageId: 'm-1', publishTime: '2024-05-01T10:00:00.000Z' },
    },
    ...extra,
  }
}

export function binaryHeaders(event: GcpCloudEvent, contentType: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': contentType }
  for (const [name, value] of Object.entries(event)) {
    if (name !== 'data' && name !== 'datacontenttype' && typeof value === 'string') headers[`ce-${name}`] = value
  }
  return headers
}

/** Runs `run` with environment variables set (undefined: unset), restoring them afterwards. */
export function withEnv(values: Record<string, string | undefined>, run: () => void): void {
  const restore = setEnv(values)
  try {
    run()
  } finally {
    restore()
  }
}

/**
 * Runs `run` (awaited) with the given process environment variables set (undefined: unset), then restores them; what
 * the logs read from the environment once (LOG_LEVEL, the project for trace names) is read again inside and after.
 */
export async function withEnvAsync<T>(values: Record<string, string | undefined>, run: () => T | Promise<T>): Promise<T> {
  const restore = setEnv(values)
  try {
    return await run()
  } finally {
    restore()
  }
}

function setEnv(values: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]))
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  forgetLogSettings(process.env)
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    forgetLogSettings(process.env)
  }
}
