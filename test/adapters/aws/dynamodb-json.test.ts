import { expect } from 'chai'
import { unmarshall } from '@polycloud/aws'
import { dynamoNumber, fromAttributeValue } from '@polycloud/aws/dynamodb-json'

describe('aws/dynamodb-json', () => {
  it('converts every attribute type to plain JSON', () => {
    expect(
      unmarshall({
        s: { S: 'x' },
        n: { N: '-12.5' },
        b: { B: 'AAE=' },
        ss: { SS: ['a', 'b'] },
        ns: { NS: ['1', '2'] },
        bs: { BS: ['AA=='] },
        m: { M: { inner: { L: [{ BOOL: false }, { NULL: true }] } } },
      }),
    ).to.deep.equal({ s: 'x', n: -12.5, b: 'AAE=', ss: ['a', 'b'], ns: [1, 2], bs: ['AA=='], m: { inner: [false, null] } })
  })

  it('keeps numbers a double cannot hold exactly as their decimal string', () => {
    expect(dynamoNumber('9007199254740991')).to.equal(9007199254740991)
    expect(dynamoNumber('9007199254740993')).to.equal('9007199254740993')
    expect(dynamoNumber('0.1234567890123456789')).to.equal('0.1234567890123456789')
    expect(dynamoNumber('123.45')).to.equal(123.45)
    expect(dynamoNumber('1E+2')).to.equal(100)
    expect(() => dynamoNumber('abc')).to.throw(/not a number: "abc"/)
  })

  it('names the attribute path of a malformed value', () => {
    expect(() => unmarshall({ a: { M: { b: { X: 1 } } } })).to.throw('DynamoDB attribute a.b has an unknown type "X"')
    expect(() => fromAttributeValue({ S: 'x', N: '1' }, 'k')).to.throw('DynamoDB attribute k has 2 type keys: S, N')
    expect(() => fromAttributeValue({ L: 'x' }, 'k')).to.throw('DynamoDB attribute k should hold a list')
  })
})
