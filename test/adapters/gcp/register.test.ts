import { expect } from 'chai'
import { getFunction } from '@google-cloud/functions-framework/testing'
import { cloudEvent, http, topic } from '@polycloud/core'
import { gcp, gcpSources, registerCloudEvent, registerHttp, toCloudEventFunction, toHttpFunction } from '@polycloud/gcp'
import { captureOutput, withEnv } from './support.ts'

describe('gcp/register', () => {
  it('registers with the Functions Framework: an HTTP function, a push endpoint, a one-parameter CloudEvent function', () => {
    registerHttp('pcRegisterHttp', http(() => null), gcpSources)
    registerHttp('pcRegisterPush', topic(() => {}), gcpSources)
    registerCloudEvent('pcRegisterEvent', cloudEvent(() => {}), gcpSources)
    expect(getFunction('pcRegisterHttp')).to.be.a('function')
    expect(getFunction('pcRegisterPush')).to.be.a('function')
    expect((getFunction('pcRegisterEvent') as (...args: unknown[]) => unknown).length).to.equal(1)
  })

  it("passes on the framework's refusal of an invalid function name", () => {
    expect(() => gcp.http('not a valid name!', http(() => null))).to.throw(/name/i)
  })

  it('warns once, as a structured WARNING, when deployed (K_SERVICE) without NODE_ENV=production', () => {
    const output = captureOutput()
    try {
      withEnv({ K_SERVICE: undefined, NODE_ENV: 'development' }, () => gcp.http('pcWarnLocal', http(() => null)))
      expect(output.logs()).to.have.length(0)
      withEnv({ K_SERVICE: 'orders-api', NODE_ENV: 'development' }, () => {
        gcp.http('pcWarnOne', http(() => null))
        gcp.cloudEvent('pcWarnTwo', topic(() => {}))
      })
    } finally {
      output.restore()
    }
    const warnings = output.logs()
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.deep.include({ severity: 'WARNING', level: 'warn' })
    expect(warnings[0]?.message).to.match(/^NODE_ENV is "development", not "production": .* Deploy with --set-env-vars NODE_ENV=production\.$/)
  })
})

describe('gcp/register: the wrappers fit the Functions Framework types', () => {
  it("registers toHttpFunction / toCloudEventFunction results with FF's own http / cloudEvent (type-checked)", async () => {
    const ff = await import('@google-cloud/functions-framework')
    ff.http('pcTypedHttp', toHttpFunction(http(() => null)))
    ff.cloudEvent('pcTypedEvent', toCloudEventFunction(topic(() => {})))
    expect(getFunction('pcTypedHttp')).to.be.a('function')
    expect((getFunction('pcTypedEvent') as (...args: unknown[]) => unknown).length).to.equal(1)
  })
})
