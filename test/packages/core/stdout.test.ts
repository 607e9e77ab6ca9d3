// Log lines straight to file descriptor 1 on Node (writeStdout): every byte, in order with console.log's lines, and
// through process.stdout in a worker thread (whose stream the parent reads), as serverless-offline runs handlers.
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

const adapter = pathToFileURL(createRequire(import.meta.url).resolve('@polycloud/core/adapter')).href

function run(script: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000, maxBuffer: 8 << 20, env: {} }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

describe('core/stdout: writeStdout', () => {
  it('writes every byte straight to the pipe, in order with console.log, whatever the text', async () => {
    const { stdout } = await run(`
      import { writeStdout } from '${adapter}'
      writeStdout('{"a":1}\\n')
      console.log('console line')
      writeStdout('{"text":"naïve 日本 🙂"}\\n')
      writeStdout('{"big":"' + 'x'.repeat(1 << 20) + '"}\\n')
      writeStdout('last\\n')
    `)
    const lines = stdout.split('\n')
    expect(lines.slice(0, 3)).to.deep.equal(['{"a":1}', 'console line', '{"text":"naïve 日本 🙂"}'])
    expect(lines[3]).to.have.length((1 << 20) + 10)
    expect(lines.slice(4)).to.deep.equal(['last', ''])
  })

  it('goes through process.stdout in a worker thread, where the parent reads the stream', async () => {
    const { stdout } = await run(`
      import { Worker } from 'node:worker_threads'
      const worker = new Worker("import('${adapter}').then(({ writeStdout }) => writeStdout('from the worker\\\\n'))", { eval: true, stdout: true })
      let seen = ''
      worker.stdout.on('data', (chunk) => (seen += chunk))
      worker.on('exit', () => console.log(JSON.stringify(seen)))
    `)
    expect(stdout).to.equal('"from the worker\\n"\n')
  })

  it('hands lines to the writer a host or a test sets, until it is unset', async () => {
    const { stdout } = await run(`
      import { setStdoutWriter, writeStdout } from '${adapter}'
      const seen = []
      setStdoutWriter((text) => seen.push(text))
      writeStdout('kept\\n')
      setStdoutWriter(undefined)
      writeStdout('written\\n')
      console.log(JSON.stringify(seen))
    `)
    expect(stdout).to.equal('written\n["kept\\n"]\n')
  })
})
