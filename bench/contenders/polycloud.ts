// The Polycloud contender: the user's handler wrapped with the API Gateway formats it is timed on (v2 and v1), the
// way the Serverless plugin's generated entries wrap handlers.
import { apiGatewayV1 } from '@polycloud/aws/api-gateway-v1'
import { apiGatewayV2 } from '@polycloud/aws/api-gateway-v2'
import { createLambdaHttpHandler } from '@polycloud/aws/lambda'
import hello from './polycloud-hello.js'

export const handler = createLambdaHttpHandler(hello, [apiGatewayV2, apiGatewayV1])
