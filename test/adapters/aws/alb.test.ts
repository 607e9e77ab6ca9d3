import { expect } from 'chai'
import { http, json } from '@polycloud/core'
import { alb, lambda, type AlbResult } from '@polycloud/aws'
import { caseVariant } from '@polycloud/aws/alb'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { lambdaContext } from './support.ts'

const SINGLE = 'aws/alb/lgo__alb-lambda-target-request-headers-only.json'
const MULTI = 'aws/alb/lgo__alb-lambda-target-request-multivalue-headers.json'

describe('aws/alb', () => {
  it('recognises ALB target events only', () => {
    for (const path of fixturePaths('aws')) {
      expect(alb.canHandle(fixture(path)), path).to.equal(path.startsWith('aws/alb/'))
    }
  })

  it('decodes query strings, which ALB passes as sent', async () => {
    const event = fixture<Record<string, unknown>>(MULTI)
    event.multiValueQueryStringParameters = { 'na%20me': ['J%C3%BCrgen', 'a+b'], bad: ['%zz'] }
    const handler = lambda(http((request) => json([...request.query])))
    const result = (await handler(event, lambdaContext())) as AlbResult
    expect(JSON.parse(result.body)).to.deep.equal([
      ['na me', 'Jürgen'],
      ['na me', 'a b'],
      ['bad', '%zz'],
    ])
  })

  it('answers a multi-value request with multiValueHeaders, cookies included', async () => {
    const handler = lambda(http(() => ({ status: 201, headers: { 'set-cookie': ['a=1', 'b=2'], 'x-a': '1' }, body: 'ok' })))
    expect(await handler(fixture(MULTI), lambdaContext())).to.deep.equal({
      statusCode: 201,
      statusDescription: '201 Created',
      multiValueHeaders: { 'x-a': ['1'], 'content-type': ['text/plain; charset=utf-8'], 'set-cookie': ['a=1', 'b=2'] },
      body: 'ok',
      isBase64Encoded: false,
    })
  })

  it('answers a single-value request with cookies under differently-cased names', async () => {
    const handler = lambda(http(() => ({ headers: { 'set-cookie': ['a=1', 'b=2', 'c=3'] }, body: null })))
    const result = (await handler(fixture(SINGLE), lambdaContext())) as AlbResult
    expect(result.statusDescription).to.equal('204 No Content')
    expect(result.headers).to.deep.equal({ 'set-cookie': 'a=1', 'Set-cookie': 'b=2', 'sEt-cookie': 'c=3' })
    expect(result).to.not.have.property('multiValueHeaders')
  })

  it('spells every variant differently', () => {
    const variants = new Set(Array.from({ length: 256 }, (_, i) => caseVariant('set-cookie', i)))
    expect(variants.size).to.equal(256)
    for (const variant of variants) expect(variant.toLowerCase()).to.equal('set-cookie')
  })

  it('takes the client address ALB appended to X-Forwarded-For', async () => {
    const event = fixture<Record<string, unknown>>(SINGLE)
    ;(event.headers as Record<string, string>)['x-forwarded-for'] = '10.0.0.1, 25.12.198.67'
    const handler = lambda(http((request) => json({ ip: request.ip })))
    expect(JSON.parse(((await handler(event, lambdaContext())) as AlbResult).body)).to.deep.equal({ ip: '25.12.198.67' })
  })
})
