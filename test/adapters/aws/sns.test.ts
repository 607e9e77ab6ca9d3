import { expect } from 'chai'
import { topic, type TopicMessage } from '@polycloud/core'
import { InvalidRecord } from '@polycloud/core/adapter'
import { lambda, sns } from '@polycloud/aws'
import { fixture, fixturePaths } from '../../helpers/fixtures.ts'
import { captureStdout, lambdaContext } from './support.ts'

describe('aws/sns', () => {
  it('recognises SNS notifications only', () => {
    for (const path of fixturePaths('aws')) {
      expect(sns.canHandle(fixture(path)), path).to.equal(path.startsWith('aws/sns/'))
    }
  })

  it('runs the handler and returns nothing on success', async () => {
    const bodies: string[] = []
    expect(await lambda(topic((m) => void bodies.push(m.body)))(fixture('aws/sns/lgo__sns-event.json'), lambdaContext())).to.equal(undefined)
    expect(bodies).to.deep.equal(['Hello from SNS!'])
  })

  it('fails the invocation when the handler fails, so Lambda retries the async delivery', async () => {
    const { result } = await captureStdout(() =>
      lambda(
        topic(() => {
          throw new Error('x')
        }),
      )(fixture('aws/sns/ptts__base.json'), lambdaContext()).catch((e: unknown) => e),
    )
    expect(result).to.be.instanceOf(Error)
    expect((result as Error).message).to.equal('aws:sns: 1 event(s) failed: 95df01b4-ee98-5cb9-9903-4c221d41eb5e')
  })

  it('refuses a notification whose time, subject, topic or attributes are of the wrong type, naming the field', () => {
    const base = fixture<{ Records: Array<{ Sns: Record<string, unknown> }> }>('aws/sns/ptts__base.json')
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ Timestamp: 'noon' }, 'Sns.Timestamp must be an RFC 3339 timestamp, got the string "noon"'],
      [{ Subject: 5 }, 'Sns.Subject must be a string, got the number 5'],
      [{ TopicArn: ['t'] }, 'Sns.TopicArn must be a string, got an array'],
      [{ MessageAttributes: { k: { Type: 'String' } } }, 'Sns.MessageAttributes["k"] must be an entry with a string value, got nothing'],
    ]
    for (const [fields, problem] of cases) {
      const event = structuredClone(base)
      Object.assign(event.Records[0]!.Sns, fields)
      const [item] = sns.getEvents(event as never)
      expect((item as InvalidRecord).error.message).to.equal(`aws:sns: Records[0] ("95df01b4-ee98-5cb9-9903-4c221d41eb5e"): ${problem}`)
    }
    const [subjectless] = sns.getEvents({ Records: [{ EventSource: 'aws:sns', Sns: { ...base.Records[0]!.Sns, Subject: null } }] } as never) as TopicMessage[]
    expect(subjectless!.subject).to.equal(undefined)
  })
})
