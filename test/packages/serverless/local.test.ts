import { expect } from 'chai'
import { startProcess, startScheduler } from 'serverless-polycloud/local'

describe('serverless/local', () => {
  it('fires a job at its next run on the clock it is given, and stops', async () => {
    // A clock 50 ms before a minute boundary, running at real speed.
    const offset = Date.parse('2026-11-28T08:30:59.950Z') - Date.now()
    const fired: string[] = []
    const scheduler = startScheduler([{ name: 'tick', expression: '* * * * *', fire: async (time) => void fired.push(time.toISOString()) }], () => {}, () => new Date(Date.now() + offset))
    await new Promise((resolve) => setTimeout(resolve, 300))
    await scheduler.stop()
    expect(fired).to.deep.equal(['2026-11-28T08:31:00.000Z'])
  })

  it('reports a failing job through onError', async () => {
    const offset = Date.parse('2026-11-28T08:30:59.980Z') - Date.now()
    const errors: unknown[] = []
    const scheduler = startScheduler([{ name: 'bad', expression: '* * * * *', fire: async () => Promise.reject(new Error('no')) }], (_job, error) => errors.push(error), () => new Date(Date.now() + offset))
    await new Promise((resolve) => setTimeout(resolve, 150))
    await scheduler.stop()
    expect(errors.length).to.be.greaterThan(0)
  })

  it('starts a process, waits for its ready line, and stops it; one that exits early is an error with its output', async () => {
    const child = await startProcess(process.execPath, ['-e', "console.log('listening'); setInterval(() => {}, 1000)"], { ready: /listening/, name: 'child' })
    await child.stop()
    expect(child.child.signalCode).to.equal('SIGTERM')
    let error: Error | undefined
    await startProcess(process.execPath, ['-e', "console.error('port taken'); process.exit(3)"], { ready: /listening/, name: 'broken' }).catch((e: Error) => (error = e))
    expect(error?.message).to.match(/broken exited \(3\) before it was ready:\nport taken/)
  })
})
