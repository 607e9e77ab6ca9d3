// The two Azure contenders, registered as the Node worker sees them: the demo's hello through Polycloud's adapter
// (`registerHttp`, the form of the entry the plugin generates) and a bare v4 handler written against the
// @azure/functions objects directly, doing the same work. BENCH_AZURE selects one (a cold-start bundle holds one).
import azureFunctions from '@azure/functions'
import { registerHttp } from '@polycloud/azure/register'
import hello from '../contenders/polycloud-hello.js'

declare const BENCH_AZURE: 'polycloud' | 'bare' | 'both'

if (BENCH_AZURE !== 'bare') registerHttp('polycloud', hello, { route: 'hello', methods: ['GET'], authLevel: 'anonymous' })

if (BENCH_AZURE !== 'polycloud') {
  azureFunctions.app.http('bare', {
    route: 'bare',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: async (request) => ({ status: 200, jsonBody: { hello: request.query.get('name') ?? 'world' } }),
  })
}
