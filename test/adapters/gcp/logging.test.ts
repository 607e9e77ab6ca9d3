import { expect } from 'chai'
import { cloudLoggingSink, parseTrace, sinkFor } from '@polycloud/gcp'
import { projectId } from '@polycloud/gcp/logging'
import { captureOutput } from './support.ts'

const LINE = '{"level":"warn","message":"m","time":"t","requestId":"r"}'

describe('gcp/logging', () => {
  it('parses X-Cloud-Trace-Context (decimal span to 16 hex digits) and traceparent', () => {
    expect(parseTrace('105445aa7843bc8bf206b12000100000/1;o=1', undefined)).to.deep.equal({ traceId: '105445aa7843bc8bf206b12000100000', spanId: '0000000000000001', sampled: true })
    expect(parseTrace('105445AA7843BC8BF206B12000100000/18446744073709551615;o=0', undefined)).to.deep.equal({ traceId: '105445aa7843bc8bf206b12000100000', spanId: 'ffffffffffffffff', sampled: false })
    expect(parseTrace('105445aa7843bc8bf206b12000100000', undefined)).to.deep.equal({ traceId: '105445aa7843bc8bf206b12000100000', spanId: undefined, sampled: undefined })
    expect(parseTrace(undefined, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).to.deep.equal({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true })
    // traceparent wins when both are present; an invalid one falls back to the Cloud header.
    expect(parseTrace('105445aa7843bc8bf206b12000100000/1', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00')?.traceId).to.equal('0af7651916cd43dd8448eb211c80319c')
    expect(parseTrace('105445aa7843bc8bf206b12000100000/1', '00-00000000000000000000000000000000-b7ad6b7169203331-01')?.traceId).to.equal('105445aa7843bc8bf206b12000100000')
    expect(parseTrace('not a trace', 'nope')).to.equal(undefined)
    expect(parseTrace(undefined, undefined)).to.equal(undefined)
  })

  it('finds the project in the variables Google libraries use', () => {
    expect(projectId({ GOOGLE_CLOUD_PROJECT: 'a', GCLOUD_PROJECT: 'b' })).to.equal('a')
    expect(projectId({ GCP_PROJECT: 'c' })).to.equal('c')
    expect(projectId({})).to.equal(undefined)
  })

  it('writes each line to stdout with the Cloud Logging severity first', () => {
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

  it('adds the trace fields when there is a trace and a project, and nothing otherwise', () => {
    const trace = parseTrace(undefined, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
    expect(sinkFor(trace, undefined)).to.equal(cloudLoggingSink)
    expect(sinkFor(undefined, 'p')).to.equal(cloudLoggingSink)
    const output = captureOutput()
    try {
      sinkFor(trace, 'my-"project')('error', LINE)
    } finally {
      output.restore()
    }
    expect(output.logs()).to.deep.equal([
      {
        severity: 'ERROR',
        'logging.googleapis.com/trace': 'projects/my-"project/traces/0af7651916cd43dd8448eb211c80319c',
        'logging.googleapis.com/spanId': 'b7ad6b7169203331',
        'logging.googleapis.com/trace_sampled': true,
        level: 'warn',
        message: 'm',
        time: 't',
        requestId: 'r',
      },
    ])
  })
})
