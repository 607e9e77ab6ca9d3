import { expect } from 'chai'
import { topic } from '@polycloud/core'
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
})
