import { expect } from 'chai'
import { EventError } from '@polycloud/core/adapter'
import { azureHttp } from '@polycloud/azure'
import { idString, isAzureInput, isoTime, resolveSetting, triggerType, unrecognisedAzureInput } from '@polycloud/azure/input'
import { azureInput } from './support.ts'

describe('azure/input', () => {
  it('recognises { input, context } with a context that has trigger options', () => {
    expect(isAzureInput(azureInput('x', { type: 'queueTrigger' }))).to.equal(true)
    expect(isAzureInput(azureInput(undefined))).to.equal(true)
    expect(isAzureInput({ input: 'x', context: {} })).to.equal(false)
    expect(isAzureInput({ context: { options: { trigger: {} } } })).to.equal(false)
    expect(isAzureInput('x')).to.equal(false)
  })

  it('reads the trigger type in lower case, and none for the library default "unknown"', () => {
    expect(triggerType(azureInput('x', { type: 'serviceBusTrigger' }))).to.equal('servicebustrigger')
    expect(triggerType(azureInput('x'))).to.equal(undefined)
  })

  it('writes times as ISO 8601 UTC, keeping precise UTC strings and treating zoneless ones as UTC', () => {
    expect(isoTime('2017-11-07T20:09:22.5674003Z', 't')).to.equal('2017-11-07T20:09:22.5674003Z')
    expect(isoTime('2024-05-01T10:00:00+02:00', 't')).to.equal('2024-05-01T08:00:00.000Z')
    expect(isoTime('2024-05-01T10:00:00+0000', 't')).to.equal('2024-05-01T10:00:00.000Z')
    expect(isoTime('2024-05-01T10:00:00.5', 't')).to.equal('2024-05-01T10:00:00.500Z')
    expect(isoTime(1714557600000, 't')).to.equal('2024-05-01T10:00:00.000Z')
    expect(isoTime(undefined, 't')).to.equal('')
    expect(isoTime('', 't')).to.equal('')
  })

  it('refuses a time that is none, naming the field and what it holds', () => {
    expect(() => isoTime('yesterday', 'triggerMetadata.insertionTime')).to.throw(EventError, 'triggerMetadata.insertionTime must be an RFC 3339 timestamp, got the string "yesterday"')
    expect(() => isoTime('2024-02-30T10:00:00', 't')).to.throw(EventError, 't must be an RFC 3339 timestamp, got the string "2024-02-30T10:00:00"')
    expect(() => isoTime(Number.NaN, 't')).to.throw(EventError, 't must be a time in milliseconds since the epoch (from year 0 to 9999), got the number NaN')
    expect(() => isoTime({}, 't')).to.throw(EventError, 't must be an RFC 3339 timestamp, got an object')
  })

  it('resolves %AppSetting% references from the environment and leaves unknown ones', () => {
    process.env.POLYCLOUD_TEST_A = 'alpha'
    try {
      expect(resolveSetting('%POLYCLOUD_TEST_A%')).to.equal('alpha')
      expect(resolveSetting('pre-%POLYCLOUD_TEST_A%-%POLYCLOUD_TEST_UNSET%')).to.equal('pre-alpha-%POLYCLOUD_TEST_UNSET%')
      expect(resolveSetting('100%')).to.equal('100%')
    } finally {
      delete process.env.POLYCLOUD_TEST_A
    }
  })

  it('turns ids back into strings', () => {
    expect(idString('abc')).to.equal('abc')
    expect(idString(12345)).to.equal('12345')
    expect(idString(Number.POSITIVE_INFINITY)).to.equal(undefined)
    expect(idString({})).to.equal(undefined)
  })

  it('names the trigger type and metadata keys of an unrecognised input, never values', () => {
    const error = unrecognisedAzureInput('http', [azureHttp], ['secret-value'], { options: { trigger: { type: 'timerTrigger' } }, triggerMetadata: { password: 'hunter2' } })
    expect(error.name).to.equal('EventError')
    expect(error.message).to.equal(
      'azure: no adapter for http handlers recognises this input (tried: azure:http); it is an array of 1 item(s), the first a string; trigger type: timerTrigger; trigger metadata: an object with keys: password',
    )
    expect(unrecognisedAzureInput('queue', [], 7, undefined).message).to.equal(
      'azure: no adapter for queue handlers recognises this input (tried: none); it is a number; trigger type: not stated; trigger metadata: none',
    )
  })
})
