/**
 * `serverless offline`'s file watcher (serverless-esbuild's) must not take another command's generated entries for
 * sources: each `invoke local` beside a running offline rewrote `.polycloud/aws-invoke-local/`, offline rebuilt
 * and ended every worker thread, one still starting included, and that request answered the Lambda timeout (the
 * portability suite's "a valid token reaches the handler" on AWS, under load).
 */
import { expect } from 'chai'
import { aws } from 'serverless-polycloud/providers/aws/index'
import { handOver as awsHandOver } from 'serverless-polycloud/providers/aws/hand-over'
import { contextFor, planFor } from '../support.ts'

type Json = Record<string, unknown>

function handOver(custom: Json = {}): Json {
  const serverless = { service: { service: 'demo', provider: {}, functions: {}, custom } }
  const plan = planFor(aws, {}, { service: 'demo', stage: 'dev', servicePath: '/srv/demo/', command: 'invoke local' })
  awsHandOver(contextFor(plan, { command: 'invoke local', servicePath: '/srv/demo', workDir: '/srv/demo/.polycloud/aws-invoke-local' }), serverless)
  return serverless.service.custom.esbuild as Json
}

describe('serverless/providers/aws: the offline file watcher', () => {
  it('ignores the generated entries, beside serverless-esbuild\'s own ignores', () => {
    const esbuild = handOver()
    expect(esbuild.outputWorkFolder).to.equal('.esbuild/aws-invoke-local')
    expect((esbuild.watch as Json).ignore).to.deep.equal(['.esbuild', 'dist', 'node_modules', '.build', '.polycloud'])
  })

  it('adds the entries to the service\'s own ignores once, keeping its other watch settings', () => {
    const esbuild = handOver({ esbuild: { watch: { pattern: 'src/**/*.ts', ignore: 'scratch' } } })
    expect(esbuild.watch).to.deep.equal({ pattern: 'src/**/*.ts', ignore: ['scratch', '.polycloud'] })
    const again = handOver({ esbuild: { watch: { ignore: ['.polycloud'] } } })
    expect((again.watch as Json).ignore).to.deep.equal(['.polycloud'])
  })
})
