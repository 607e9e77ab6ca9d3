import { http, json } from '@polycloud/core'

/** What a function's own SDK code reaches the local services with: the endpoints and region in its environment. */
export default http((_request, context) =>
  json({
    ok: true,
    s3: context.env.AWS_ENDPOINT_URL_S3 ?? null,
    sqs: context.env.AWS_ENDPOINT_URL_SQS ?? null,
    sns: context.env.AWS_ENDPOINT_URL_SNS ?? null,
    region: context.env.AWS_REGION ?? null,
  }),
)
