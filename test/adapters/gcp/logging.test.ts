import { expect } from 'chai'
import { cloudLoggingSink, GCP_OBSERVABILITY } from '@polycloud/gcp'
import { projectId } from '@polycloud/gcp/logging'
import { Trace } from '@polycloud/core/adapter'
import { captureOutput } from './support.ts'

const LINE = '{"level":"warn","message":"m","time":"t","requestId":"r"}'
const TRACE = new Trace('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', undefined, true, undefined, 'traceparent')

describe('gcp/logging', () => {
  it('continues X-Cloud-Trace-Context (decimal span to 16 hex digits) when there is no traceparent', () => {
    expect(GCP_OBSERVABILITY.traceHeader).to.equal('x-cloud-trace-context')
    const parse = GCP_OBSERVABILITY.parseTraceHeader!
    expect(parse('105445aa7843bc8bf206b12000100000/1;o=1')).to.include({ traceId: '105445aa7843bc8bf206b12000100000', parentId: '0000000000000001', sampled: true })
    expect(parse('105445AA7843BC8BF206B12000100000/18446744073709551615;o=0')).to.include({ traceId: '105445aa7843bc8bf206b12000100000', parentId: 'ffffffffffffffff', sampled: false })
    expect(parse('105445aa7843bc8bf206b12000100000')).to.include({ traceId: '105445aa7843bc8bf206b12000100000', parentId: undefined, sampled: undefined })
    expect(parse('105445aa7843bc8bf206b12000100000/18446744073709551616')).to.equal(undefined)
    expect(parse('00000000000000000000000000000000/1;o=1')).to.equal(undefined)
    expect(parse('not a trace')).to.equal(undefined)
  })

  it('finds the project in the variables Google libraries use', () => {
    expect(projectId({ GOOGLE_CLOUD_PROJECT: 'a', GCLOUD_PROJECT: 'b' })).to.equal('a')
    expect(projectId({ GCP_PROJECT: 'c' })).to.equal('c')
    expect(projectId({})).to.equal(undefined)
  })

  it('writes a line outside an invocation to stdout with the Cloud Logging severity first', () => {
    const output = captureOutput()
    try {
      cloudLoggingSink('debug', LINE)
      cloudLoggingSink('info', LINE)
      cloudLoggingSink('warn', LINE)
      cloudLoggingSink('error', LINE)
    } finally {
      output.restore()
    }
    expect(output.logs().map((line) => line.severity)).to.deep.equal(['DEBUG', 'INFO', 'WARNING', 'ERROR'])
    expect(output.logs()[2]).to.deep.equal({ severity: 'WARNING', level: 'warn', message: 'm', time: 't', requestId: 'r' })
  })

  it('names the trace as Cloud Logging indexes it when the project is known, and adds nothing otherwise', () => {
    expect(GCP_OBSERVABILITY.levelFields?.warn).to.equal('"severity":"WARNING",')
    expect(GCP_OBSERVABILITY.traceFields!(TRACE, {})).to.equal('')
    const fields = JSON.parse(`{${GCP_OBSERVABILITY.traceFields!(TRACE, { GOOGLE_CLOUD_PROJECT: 'my-"project' })}}`) as Record<string, unknown>
    expect(fields).to.deep.equal({
      'logging.googleapis.com/trace': 'projects/my-"project/traces/0af7651916cd43dd8448eb211c80319c',
      'logging.googleapis.com/spanId': 'b7ad6b7169203331',
      'logging.googleapis.com/trace_sampled': true,
    })
  })
})
