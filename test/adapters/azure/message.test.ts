import { expect } from 'chai'
import { messagePayload } from '@polycloud/azure/message'

describe('azure/message', () => {
  it('keeps text as text, bytes as bytes and an already-parsed value as the value', () => {
    expect(messagePayload('plain')).to.deep.equal({ text: 'plain' })
    const bytes = Buffer.from([1, 2])
    expect(messagePayload(bytes)).to.deep.equal({ bytes })
    const value = { a: 1 }
    expect((messagePayload(value) as { value: unknown }).value).to.equal(value)
    expect(messagePayload(0)).to.deep.equal({ value: 0 })
    expect(messagePayload(null)).to.deep.equal({ value: null })
  })
})
