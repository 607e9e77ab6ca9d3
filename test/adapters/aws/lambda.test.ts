import { expect } from 'chai'
import { http, json, queue, schedule } from '@polycloud/core'
import { apiGatewayV2, createLambdaHandler, lambda } from '@polycloud/aws'
import { fixture } from '../../helpers/fixtures.ts'
import { lambdaContext, rejection } from './support.ts'

describe('aws/lambda', () => {
  it('fails an event no source of the handler kind recognises, naming provider, kind, sources and keys', async () => {
    const error = await rejection(() => lambda(http(() => json({})))(fixture('aws/sqs/ptts__base.json'), lambdaContext()))
    expect(error.message).to.equal(
      'aws: no adapter for http handlers recognises this input (tried: aws:api-gateway-v2, aws:api-gateway-v1, aws:function-url, aws:alb); it is an object with keys: Records',
    )
    const scheduleError = await rejection(() => lambda(schedule(() => {}))(fixture('aws/direct-invoke/sam__event_utf8.json'), lambdaContext()))
    expect(scheduleError.message).to.match(/^aws: no adapter for schedule handlers recognises this input \(tried: aws:eventbridge-schedule\); it is an object with keys: key1, key2, key3$/)
  })

  it('tries only the sources it is given', async () => {
    const handler = createLambdaHandler(http(() => json({ ok: true })), [apiGatewayV2])
    expect(await handler(fixture('aws/apigw-http/ptts__no-auth.json'), lambdaContext())).to.deep.include({ statusCode: 200 })
    const error = await rejection(() => handler(fixture('aws/apigw-rest/sam__event.json'), lambdaContext()))
    expect(error.message).to.match(/tried: aws:api-gateway-v2\)/)
  })

  it('describes non-object inputs', async () => {
    const handler = lambda(queue(() => {}))
    for (const [input, shape] of [
      [null, 'null'],
      ['text', 'a string'],
      [[], 'an empty array'],
      [[{ a: 1 }], 'an array of 1 item(s), the first an object with keys: a'],
    ] as const) {
      const error = await rejection(() => handler(input, lambdaContext()))
      expect(error.message).to.match(new RegExp(`it is ${shape.replace(/[()]/g, '\\$&')}$`))
    }
  })
})
