import { expect } from 'chai'
import { explainSchemaErrors, explainSchemaMessage, nearest } from 'serverless-polycloud/schema'

const AWS = { title: 'AWS', natives: ['httpApi', 'sqs'], extensions: { fromQueue: { properties: { arn: { type: 'string' } }, required: [['arn']] } } }

function explain(event: Record<string, unknown>, path: string, detail = 'must match pattern "^x$"'): string {
  return explainSchemaMessage(`at '${path}': ${detail}`, { api: { events: [event] } }, AWS)
}

describe('serverless/schema: schema errors as sentences', () => {
  it('a misspelt event: the nearest neutral event, else the nearest native one, else the list', () => {
    expect(explain({ rout: 'GET /x' }, 'functions.api.events.0', 'unsupported function event')).to.equal(
      `at 'functions.api.events.0': "rout" is not an event Polycloud or AWS knows; did you mean "route"? The neutral events, for every provider, are route, cron, fromQueue, topic, bucket, changes`,
    )
    expect(explain({ fromqueue: 'q' }, 'functions.api.events.0', 'unsupported function event')).to.include('did you mean "fromQueue"?')
    expect(explain({ httpapi: 'GET /x' }, 'functions.api.events.0', 'unsupported function event')).to.include('did you mean "httpApi"?')
    expect(explain({ websocket: 'x' }, 'functions.api.events.0', 'unsupported function event')).to.match(/knows\. The neutral events/)
  })

  it('a cron with seconds or in AWS syntax, a route without a method', () => {
    expect(explain({ cron: '0 0 3 * * *' }, 'functions.api.events.0.cron')).to.match(/has 6 fields, but cron takes 5: .*i\.e\. "0 3 \* \* \*"/)
    expect(explain({ cron: { schedule: '0 3 ? * MON *' } }, 'functions.api.events.0.cron.schedule')).to.match(/AWS cron.*"0 3 \* \* MON"/)
    expect(explain({ route: '/notes' }, 'functions.api.events.0.route')).to.equal(
      `at 'functions.api.events.0.route': "/notes" has no method: write the method before the path, e.g. "GET /notes" (one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY; ANY for all)`,
    )
    expect(explain({ route: { path: '/x' } }, 'functions.api.events.0.route', "must have required property 'method'")).to.match(/route needs method and path; e\.g\. "GET \/notes\/\{id\}"/)
  })

  it("object forms: unknown fields with the nearest one, the provider's own fields and alternatives, enums, ranges, names", () => {
    expect(explain({ bucket: { name: 'up-loads', when: 'created' } }, 'functions.api.events.0.bucket')).to.match(/bucket has no field "when" \(its fields: name, on, prefix, suffix, existing\)$/)
    expect(explain({ bucket: { name: 'up-loads', prefx: 'a/' } }, 'functions.api.events.0.bucket')).to.include('did you mean "prefix"?')
    expect(explain({ bucket: { name: 'up-loads', on: 'updated' } }, 'functions.api.events.0.bucket.on')).to.match(/bucket\.on is one of created, deleted, all, not "updated"$/)
    expect(explain({ fromQueue: { batchSize: 2 } }, 'functions.api.events.0.fromQueue')).to.match(/fromQueue needs name, or arn; e\.g\. orders/)
    expect(explain({ fromQueue: { name: 'q', batchSize: 0 } }, 'functions.api.events.0.fromQueue.batchSize')).to.match(/fromQueue\.batchSize is at least 1, not 0$/)
    expect(explain({ fromQueue: 'my queue' }, 'functions.api.events.0.fromQueue')).to.match(/queue name "my queue" may hold letters, digits/)
    expect(explain({ bucket: 'Up_loads' }, 'functions.api.events.0.bucket')).to.match(/bucket name "Up_loads" must be 3 to 63 lower-case letters/)
    expect(explain({ route: 42 }, 'functions.api.events.0.route')).to.match(/route is written as "GET \/notes\/\{id\}" or \{ method: GET, path: \/notes\/\{id\} \}, not 42$/)
  })

  it('leaves messages about anything else as they are', () => {
    const other = "at 'provider.memorySize': must be integer"
    expect(explainSchemaMessage(other, {}, AWS)).to.equal(other)
    expect(explain({ sqs: 'arn' }, 'functions.api.events.0.sqs', 'unsupported string format')).to.equal("at 'functions.api.events.0.sqs': unsupported string format")
  })

  it("wraps the framework's handler: every message explained, repeats shown once", () => {
    const shown: string[][] = []
    const handler = { handleErrorMessages: (messages: string[]) => void shown.push(messages) }
    explainSchemaErrors(handler, () => ({ api: { events: [{ bucket: { name: 'up-loads', when: 1 } }] } }), AWS)
    handler.handleErrorMessages(["at 'functions.api.events.0.bucket': unrecognized property 'when'", "at 'functions.api.events.0.bucket': must match exactly one schema"])
    expect(shown).to.deep.equal([["at 'functions.api.events.0.bucket': bucket has no field \"when\" (its fields: name, on, prefix, suffix, existing)"]])
  })

  it('suggests only near words', () => {
    expect(nearest('crons', ['cron', 'route'])).to.equal('cron')
    expect(nearest('sqs', ['cron', 'route'])).to.equal(undefined)
  })
})
