/**
 * SNS filter policies, each case an example of the Amazon SNS Developer Guide ("Example filter policies", "String
 * value matching", "Numeric value matching", "Key matching", "AND/OR logic", "Filter policy constraints"), checked
 * in both scopes where the guide says the policy works for both.
 */
import { expect } from 'chai'
import { matchesFilterPolicy, parseFilterPolicy, type FilterPolicyScope, type SnsMessageAttribute } from 'serverless-polycloud/providers/aws/local/filter-policy'

type Attributes = Record<string, SnsMessageAttribute>

const str = (value: string): SnsMessageAttribute => ({ DataType: 'String', StringValue: value })
const num = (value: string): SnsMessageAttribute => ({ DataType: 'Number', StringValue: value })
const arr = (value: unknown[]): SnsMessageAttribute => ({ DataType: 'String.Array', StringValue: JSON.stringify(value) })

function byAttributes(policy: object, attributes: Attributes): boolean {
  return matchesFilterPolicy(parseFilterPolicy(JSON.stringify(policy), 'MessageAttributes'), { body: 'not json', attributes })
}

function byBody(policy: object, body: unknown): boolean {
  return matchesFilterPolicy(parseFilterPolicy(JSON.stringify(policy), 'MessageBody'), { body: JSON.stringify(body), attributes: {} })
}

function refused(policy: unknown, scope: FilterPolicyScope = 'MessageAttributes'): string {
  try {
    parseFilterPolicy(JSON.stringify(policy), scope)
  } catch (error) {
    expect((error as { code: string }).code).to.equal('InvalidParameter')
    return (error as Error).message
  }
  throw new Error('expected the policy to be refused')
}

describe('serverless/providers/aws/local: SNS filter policies', () => {
  describe('the guide\'s example message', () => {
    const attributes: Attributes = { customer_interests: arr(['soccer', 'rugby', 'hockey']), store: str('example_corp'), event: str('order_placed'), price_usd: num('210.75') }
    const body = { customer_interests: ['soccer', 'rugby', 'hockey'], store: 'example_corp', event: 'order_placed', price_usd: 210.75 }
    const accepts = { store: ['example_corp'], event: [{ 'anything-but': 'order_cancelled' }], customer_interests: ['rugby', 'football', 'baseball'], price_usd: [{ numeric: ['>=', 100] }] }
    const rejects = { store: ['example_corp'], event: ['order_cancelled'], encrypted: [false], customer_interests: ['basketball', 'baseball'] }

    it('is accepted by the accepting policy in both scopes', () => {
      expect(byAttributes(accepts, attributes)).to.equal(true)
      expect(byBody(accepts, body)).to.equal(true)
    })

    it('is rejected by the rejecting policy in both scopes', () => {
      expect(byAttributes(rejects, attributes)).to.equal(false)
      expect(byBody(rejects, body)).to.equal(false)
    })
  })

  describe('string matching', () => {
    it('matches exactly, case-sensitively', () => {
      const policy = { customer_interests: ['rugby', 'tennis'] }
      expect(byAttributes(policy, { customer_interests: str('rugby') })).to.equal(true)
      expect(byAttributes(policy, { customer_interests: str('tennis') })).to.equal(true)
      expect(byAttributes(policy, { customer_interests: str('baseball') })).to.equal(false)
      expect(byAttributes(policy, { customer_interests: str('Rugby') })).to.equal(false)
      expect(byBody(policy, { customer_interests: 'rugby' })).to.equal(true)
      expect(byBody(policy, { customer_interests: 'baseball' })).to.equal(false)
    })

    it('matches each element of a String.Array on its own', () => {
      expect(byAttributes({ customer_interests: ['rugby', 'tennis'] }, { customer_interests: arr(['rugby', 'tennis']) })).to.equal(true)
      expect(byAttributes({ customer_interests: ['rugby', 'tennis'] }, { customer_interests: arr(['baseball']) })).to.equal(false)
    })

    it('matches a prefix and a suffix', () => {
      expect(byAttributes({ customer_interests: [{ prefix: 'bas' }] }, { customer_interests: str('baseball') })).to.equal(true)
      expect(byAttributes({ customer_interests: [{ prefix: 'bas' }] }, { customer_interests: str('basketball') })).to.equal(true)
      expect(byAttributes({ customer_interests: [{ prefix: 'bas' }] }, { customer_interests: str('rugby') })).to.equal(false)
      expect(byBody({ customer_interests: [{ suffix: 'ball' }] }, { customer_interests: 'baseball' })).to.equal(true)
      expect(byBody({ customer_interests: [{ suffix: 'ball' }] }, { customer_interests: 'rugby' })).to.equal(false)
    })

    it('matches ignoring case', () => {
      expect(byAttributes({ customer_interests: [{ 'equals-ignore-case': 'tennis' }] }, { customer_interests: str('TeNnis') })).to.equal(true)
      expect(byBody({ customer_interests: [{ 'equals-ignore-case': 'tennis' }] }, { customer_interests: 'Baseball' })).to.equal(false)
    })

    it('matches anything but the listed values (a String.Array with one other value matches)', () => {
      const policy = { customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] }
      expect(byAttributes(policy, { customer_interests: str('baseball') })).to.equal(true)
      expect(byAttributes(policy, { customer_interests: str('football') })).to.equal(true)
      expect(byAttributes(policy, { customer_interests: arr(['rugby', 'baseball']) })).to.equal(true)
      expect(byAttributes(policy, { customer_interests: str('rugby') })).to.equal(false)
      expect(byBody(policy, { customer_interests: ['rugby', 'baseball'] })).to.equal(true)
      expect(byBody(policy, { customer_interests: ['rugby'] })).to.equal(false)
      // anything-but needs the property: an absent one does not match it.
      expect(byAttributes(policy, {})).to.equal(false)
    })

    it('matches anything but a prefix', () => {
      const policy = { event: [{ 'anything-but': { prefix: 'order-' } }] }
      expect(byAttributes(policy, { event: str('data-entry') })).to.equal(true)
      expect(byAttributes(policy, { event: str('order_number') })).to.equal(true)
      expect(byAttributes(policy, { event: str('order-cancelled') })).to.equal(false)
      expect(byBody(policy, { event: 'order-cancelled' })).to.equal(false)
    })

    it('matches an IP address in a CIDR block', () => {
      const policy = { source_ip: [{ cidr: '10.0.0.0/24' }] }
      expect(byAttributes(policy, { source_ip: str('10.0.0.0') })).to.equal(true)
      expect(byAttributes(policy, { source_ip: str('10.0.0.255') })).to.equal(true)
      expect(byAttributes(policy, { source_ip: str('10.1.1.0') })).to.equal(false)
      expect(byBody(policy, { source_ip: 'not an address' })).to.equal(false)
    })
  })

  describe('numeric matching', () => {
    it('matches a number exactly, whatever its notation', () => {
      const policy = { price_usd: [{ numeric: ['=', 301.5] }] }
      expect(byAttributes(policy, { price_usd: num('301.5') })).to.equal(true)
      expect(byAttributes(policy, { price_usd: num('3.015e2') })).to.equal(true)
      expect(byBody(policy, { price_usd: 301.5 })).to.equal(true)
      expect(byBody(policy, { price_usd: 301.6 })).to.equal(false)
      // A numeric condition matches numbers: a String attribute holding digits is not one.
      expect(byAttributes(policy, { price_usd: str('301.5') })).to.equal(false)
    })

    it('matches anything but the listed numbers', () => {
      const policy = { price: [{ 'anything-but': [100, 500] }] }
      expect(byAttributes(policy, { price: num('101') })).to.equal(true)
      expect(byAttributes(policy, { price: num('100.1') })).to.equal(true)
      expect(byAttributes(policy, { price: num('100') })).to.equal(false)
      expect(byBody(policy, { price: [100, 50] })).to.equal(true)
      expect(byBody(policy, { price: 100 })).to.equal(false)
    })

    it('matches ranges', () => {
      expect(byAttributes({ price_usd: [{ numeric: ['<', 0] }] }, { price_usd: num('-1') })).to.equal(true)
      expect(byAttributes({ price_usd: [{ numeric: ['<', 0] }] }, { price_usd: num('0') })).to.equal(false)
      const range = { price_usd: [{ numeric: ['>', 0, '<=', 150] }] }
      expect(byBody(range, { price_usd: 150 })).to.equal(true)
      expect(byBody(range, { price_usd: 0 })).to.equal(false)
      expect(byBody(range, { price_usd: 150.01 })).to.equal(false)
    })
  })

  describe('key matching', () => {
    it('matches the presence and the absence of a property', () => {
      expect(byAttributes({ store: [{ exists: true }] }, { store: str('fans'), customer_interests: arr(['baseball', 'basketball']) })).to.equal(true)
      expect(byAttributes({ store: [{ exists: true }] }, { customer_interests: arr(['baseball', 'basketball']) })).to.equal(false)
      expect(byAttributes({ store: [{ exists: false }] }, { store: str('fans') })).to.equal(false)
      expect(byAttributes({ store: [{ exists: false }] }, { customer_interests: arr(['baseball', 'basketball']) })).to.equal(true)
      expect(byBody({ store: [{ exists: false }] }, { customer_interests: ['baseball', 'basketball'] })).to.equal(true)
      expect(byBody({ store: [{ exists: true }] }, { store: 'fans' })).to.equal(true)
    })

    it('ignores Binary attributes', () => {
      const binary: Attributes = { store: { DataType: 'Binary', BinaryValue: Buffer.from('fans').toString('base64') } }
      expect(byAttributes({ store: [{ exists: true }] }, binary)).to.equal(false)
      expect(byAttributes({ store: [{ exists: false }] }, binary)).to.equal(true)
    })
  })

  describe('AND/OR logic', () => {
    it('ANDs properties and ORs the values of one property', () => {
      const policy = { customer_interests: ['rugby'], price_usd: [{ numeric: ['>', 100] }] }
      expect(byAttributes(policy, { customer_interests: str('rugby'), price_usd: num('101') })).to.equal(true)
      expect(byAttributes(policy, { customer_interests: str('rugby'), price_usd: num('100') })).to.equal(false)
      expect(byAttributes({ customer_interests: ['rugby', 'football', 'baseball'] }, { customer_interests: str('football') })).to.equal(true)
    })

    it('ORs across properties with "$or"', () => {
      const policy = { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] }
      expect(byAttributes(policy, { source: str('aws.cloudwatch'), metricName: str('CPUUtilization') })).to.equal(true)
      expect(byAttributes(policy, { source: str('aws.cloudwatch'), namespace: str('AWS/EC2') })).to.equal(true)
      expect(byAttributes(policy, { source: str('aws.cloudwatch'), namespace: str('AWS/S3') })).to.equal(false)
      expect(byAttributes(policy, { source: str('aws.other'), metricName: str('CPUUtilization') })).to.equal(false)
    })
  })

  describe('message body scope', () => {
    it('matches nested properties, through lists, and nothing when the body is not a JSON object', () => {
      const policy = { order: { customer: { tier: ['gold'] } } }
      expect(byBody(policy, { order: { customer: { tier: 'gold' } } })).to.equal(true)
      expect(byBody(policy, { order: [{ customer: { tier: 'silver' } }, { customer: { tier: 'gold' } }] })).to.equal(true)
      expect(byBody(policy, { order: { customer: { tier: 'silver' } } })).to.equal(false)
      expect(matchesFilterPolicy(parseFilterPolicy(JSON.stringify(policy), 'MessageBody'), { body: 'plain text', attributes: {} })).to.equal(false)
      expect(byBody({ encrypted: [false], note: [null] }, { encrypted: false, note: null })).to.equal(true)
    })
  })

  describe('constraints', () => {
    it('refuses what the constraints forbid, naming it', () => {
      expect(refused({ a: ['1'], b: ['1'], c: ['1'], d: ['1'], e: ['1'], f: ['1'] })).to.match(/more than 5 keys/)
      const many = Array.from({ length: 13 }, (_, i) => `v${i}`)
      expect(refused({ a: many, b: many })).to.match(/too complex \(169 combinations/)
      expect(refused({ a: { b: ['x'] } })).to.match(/MessageAttributes does not support nested filter policy/)
      expect(refused({ a: [] })).to.match(/empty arrays/)
      expect(refused({ a: [{ wildcard: 'x*' }] })).to.match(/Unrecognized match type wildcard/)
      expect(refused({ a: [{ numeric: ['>', 2e9] }] })).to.match(/within -1000000000 and 1000000000/)
      expect(refused({ a: [{ numeric: ['<', 10, '>', 0] }] })).to.match(/lower bound/)
      expect(refused({ a: [{ cidr: '10.0.0.0' }] })).to.match(/Malformed CIDR/)
      expect(refused({ $or: [{ a: ['x'] }] })).to.match(/at least two/)
      expect(refused([])).to.match(/JSON object/)
      expect(() => parseFilterPolicy('{nope', 'MessageBody')).to.throw(/failed to parse JSON/)
    })
  })
})
