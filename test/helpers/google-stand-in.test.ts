/** The Google stand-in refuses what the APIs' own definitions refuse (so a deploy test that passes sent valid requests). */
import { expect } from 'chai'
import { startGoogleStandIn, type GoogleStandIn } from './google-stand-in.ts'

describe('helpers/google-stand-in', () => {
  let api: GoogleStandIn

  before(async () => {
    api = await startGoogleStandIn()
  })

  after(() => api.stop())

  const send = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.standIn.url}${path}`, {
      method,
      headers: { authorization: 'Bearer stand-in-token', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: response.status, body: (await response.json()) as { error?: { message: string; status: string; details?: unknown[] }; services?: unknown[] } }
  }

  it('refuses unknown fields, missing required ones, wrong types and enum values, as the API does', async () => {
    const parent = '/v2/projects/p/locations/europe-west1/functions'
    const unknown = await send('POST', `${parent}?functionId=f`, { name: 'projects/p/locations/europe-west1/functions/f', buildConfig: { runtime: 'nodejs22', entrypoint: 'x' } })
    expect(unknown.status).to.equal(400)
    expect(unknown.body.error?.message).to.equal('Invalid JSON payload received. Unknown name "entrypoint" at \'function.buildConfig\': Cannot find field.')
    const required = await send('POST', `${parent}?functionId=f`, { eventTrigger: { pubsubTopic: 'projects/p/topics/t' } })
    expect(required.body.error?.message).to.equal("Field 'function.eventTrigger.eventType' is required.")
    const types = await send('POST', `${parent}?functionId=f`, { serviceConfig: { timeoutSeconds: '60s', ingressSettings: 'OPEN' } })
    expect(types.body.error?.message.split('\n')).to.deep.equal([
      'Invalid value at \'function.serviceConfig.timeoutSeconds\' (int32), "60s"',
      'Invalid value at \'function.serviceConfig.ingressSettings\' (type.googleapis.com/google.cloud.functions.v2.ServiceConfig.IngressSettings), "OPEN"',
    ])
    const query = await send('GET', '/v2/projects/p/locations/europe-west1/functions/f?view=FULL')
    expect(query.body.error?.message).to.equal('Invalid JSON payload received. Unknown name "view": Cannot bind query parameter.')
    const duration = await send('PUT', '/v1/projects/p/subscriptions/s', { topic: 'projects/p/topics/t', retryPolicy: { minimumBackoff: { seconds: 10 } } })
    expect(duration.body.error?.message).to.match(/^Invalid value at 'retryPolicy\.minimumBackoff' \(type\.googleapis\.com\/google\.protobuf\.Duration\)/)
    expect(api.refusals).to.have.length(5)
  })

  it("IAM's service accounts: the account id rule, 409 for an id taken, 404 for one not there, pages, unknown fields", async () => {
    const accounts = '/v1/projects/p/serviceAccounts'
    for (const accountId of ['short', 'Upper-case-id', 'ends-with-dash-', '1starts-with-digit', 'a'.repeat(31)]) {
      expect((await send('POST', accounts, { accountId })).status, accountId).to.equal(400)
    }
    const created = await send('POST', accounts, { accountId: 'fn-dev-abc123', serviceAccount: { displayName: 'fn', description: 'mine' } })
    expect(created.status).to.equal(200)
    expect(created.body).to.deep.include({ name: 'projects/p/serviceAccounts/fn-dev-abc123@p.iam.gserviceaccount.com', email: 'fn-dev-abc123@p.iam.gserviceaccount.com', description: 'mine', projectId: 'p' })
    const taken = await send('POST', accounts, { accountId: 'fn-dev-abc123' })
    expect([taken.status, taken.body.error?.status]).to.deep.equal([409, 'ALREADY_EXISTS'])
    const unknown = await send('POST', accounts, { accountId: 'fn-dev-abc124', serviceAccount: { labels: {} } })
    expect(unknown.body.error?.message).to.equal('Invalid JSON payload received. Unknown name "labels" at \'serviceAccount\': Cannot find field.')
    const missing = await send('POST', accounts, { serviceAccount: {} })
    expect(missing.body.error?.message).to.equal("Field 'accountId' is required.")
    for (let index = 0; index < 3; index++) await send('POST', accounts, { accountId: `page-account-${index}` })
    const first = await send('GET', `${accounts}?pageSize=2`)
    const second = await send('GET', `${accounts}?pageSize=2&pageToken=${String((first.body as { nextPageToken?: string }).nextPageToken)}`)
    expect([...((first.body as { accounts: unknown[] }).accounts), ...((second.body as { accounts: unknown[] }).accounts)]).to.have.length(4)
    expect((second.body as { nextPageToken?: string }).nextPageToken).to.equal(undefined)
    expect((await send('GET', `${accounts}/fn-dev-abc123@p.iam.gserviceaccount.com`)).status).to.equal(200)
    expect((await send('DELETE', `${accounts}/fn-dev-abc123@p.iam.gserviceaccount.com`)).status).to.equal(200)
    expect((await send('GET', `${accounts}/fn-dev-abc123@p.iam.gserviceaccount.com`)).status).to.equal(404)
    // A policy may not name a project account that does not exist.
    api.state.topics.set('projects/p/topics/t', { name: 'projects/p/topics/t' })
    const policy = await send('POST', '/v1/projects/p/topics/t:setIamPolicy', { policy: { bindings: [{ role: 'roles/pubsub.publisher', members: ['serviceAccount:fn-dev-abc123@p.iam.gserviceaccount.com'] }] } })
    expect([policy.status, policy.body.error?.message]).to.deep.equal([400, 'Service account fn-dev-abc123@p.iam.gserviceaccount.com does not exist.'])
    api.refusals.splice(0)
  })

  it('answers as the API does: missing credentials, unknown methods, missing resources', async () => {
    const anonymous = await fetch(`${api.standIn.url}/v2/projects/p/locations/l/functions/f`)
    expect(anonymous.status).to.equal(401)
    expect((await send('GET', '/v2/projects/p/locations/l/functions/f')).body.error?.status).to.equal('NOT_FOUND')
    expect((await send('GET', '/v9/nothing')).status).to.equal(404)
  })

  it('answers a call of a disabled API with SERVICE_DISABLED, and Service Usage tells each API\'s state', async () => {
    api.state.services.delete('pubsub.googleapis.com')
    try {
      const refused = await send('GET', '/v1/projects/p/topics')
      expect(refused.status).to.equal(403)
      expect(refused.body.error?.status).to.equal('PERMISSION_DENIED')
      expect(refused.body.error?.message).to.match(/^Cloud Pub\/Sub API has not been used in project 123456789012 before or it is disabled\./)
      expect(refused.body.error?.details?.[0]).to.deep.include({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'SERVICE_DISABLED', domain: 'googleapis.com' })
      const names = ['pubsub.googleapis.com', 'run.googleapis.com'].map((service) => `names=projects/p/services/${service}`).join('&')
      const states = await send('GET', `/v1/projects/p/services:batchGet?${names}`)
      expect(states.body.services).to.deep.equal([
        { name: 'projects/123456789012/services/pubsub.googleapis.com', parent: 'projects/123456789012', config: { name: 'pubsub.googleapis.com', title: 'Cloud Pub/Sub API' }, state: 'DISABLED' },
        { name: 'projects/123456789012/services/run.googleapis.com', parent: 'projects/123456789012', config: { name: 'run.googleapis.com', title: 'Cloud Run Admin API' }, state: 'ENABLED' },
      ])
      expect((await send('GET', '/v1/projects/p/services:batchGet?names=projects/q/services/run.googleapis.com')).status).to.equal(400)
    } finally {
      api.state.services.add('pubsub.googleapis.com')
    }
  })
})
