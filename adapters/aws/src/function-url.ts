import type { HttpSource } from '@polycloud/core/adapter'
import { ApiGatewayV2Request, isV2Http, v2Response, type ApiGatewayV2Event, type ApiGatewayV2Result } from './api-gateway-v2.js'

/**
 * Lambda Function URLs use payload format 2.0 unchanged; they are told apart from HTTP APIs by their
 * `<url-id>.lambda-url.<region>.on.aws` domain.
 */
export const functionUrl: HttpSource<ApiGatewayV2Event, ApiGatewayV2Result> = {
  name: 'aws:function-url',
  kind: 'http',
  canHandle(input): input is ApiGatewayV2Event {
    if (!isV2Http(input)) return false
    const domain = input.requestContext.domainName
    return typeof domain === 'string' && domain.includes('.lambda-url.')
  },
  getRequest: (event) => new ApiGatewayV2Request(event),
  getResponse: v2Response,
}
