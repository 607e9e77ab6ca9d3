/** AWS error codes (S3, SQS, SNS) as ResourceError codes; the service's own code and message kept as the cause. */
import { CloudError, DriverError, statusCode, type ResourceErrorCode } from '@polycloud/resources/driver'

const CODES: Readonly<Record<string, ResourceErrorCode>> = {
  NoSuchBucket: 'NotFound',
  QueueDoesNotExist: 'NotFound',
  'AWS.SimpleQueueService.NonExistentQueue': 'NotFound',
  NotFound: 'NotFound',
  NotFoundException: 'NotFound',
  AccessDenied: 'Denied',
  AccessDeniedException: 'Denied',
  AuthorizationError: 'Denied',
  InvalidAccessKeyId: 'Denied',
  InvalidClientTokenId: 'Denied',
  SignatureDoesNotMatch: 'Denied',
  UnrecognizedClientException: 'Denied',
  IncompleteSignature: 'Denied',
  MissingAuthenticationToken: 'Denied',
  ExpiredToken: 'Denied',
  ExpiredTokenException: 'Denied',
  InvalidSecurity: 'Denied',
  RequestTimeTooSkewed: 'Denied',
  KMSAccessDenied: 'Denied',
  'KMS.AccessDeniedException': 'Denied',
  SlowDown: 'Throttled',
  Throttling: 'Throttled',
  ThrottlingException: 'Throttled',
  ThrottledException: 'Throttled',
  RequestThrottled: 'Throttled',
  RequestThrottledException: 'Throttled',
  RequestLimitExceeded: 'Throttled',
  TooManyRequestsException: 'Throttled',
  KMSThrottling: 'Throttled',
  'KMS.ThrottlingException': 'Throttled',
  EntityTooLarge: 'TooLarge',
  BatchRequestTooLong: 'TooLarge',
  'AWS.SimpleQueueService.BatchRequestTooLong': 'TooLarge',
  InternalError: 'Unavailable',
  InternalFailure: 'Unavailable',
  ServiceUnavailable: 'Unavailable',
  RequestTimeout: 'Timeout',
  ConditionalCheckFailedException: 'Conflict',
  ResourceNotFoundException: 'NotFound',
  ProvisionedThroughputExceededException: 'Throttled',
  LimitExceededException: 'Throttled',
  TransactionConflictException: 'Throttled',
  ItemCollectionSizeLimitExceededException: 'TooLarge',
}

/** The DriverError for an AWS error answer. */
export function awsError(service: string, status: number, code: string, message: string): DriverError {
  const mapped = CODES[code] ?? statusCode(status)
  const cause = new CloudError(service, code, message, status)
  const reason = {
    NotFound: `${service} says it does not exist`,
    Denied: `${service} refused the credentials or the permission`,
    Throttled: `${service} throttled the call`,
    Unavailable: `${service} failed`,
    TooLarge: `${service} refused the size`,
    Timeout: `${service} timed out`,
    Invalid: `${service} refused the request`,
    NotDeclared: '',
    Conflict: `${service} found the condition false`,
  }[mapped]
  return new DriverError(mapped, `${reason} (${status}${code === '' ? '' : ` ${code}`}: ${message})`, { status, cause })
}
