// The contract between @polycloud/core and the provider adapters, and the shared machinery they use.
export * from './index.js'
export { BaseRequest, readAll, isStream, parseCookies, queryFromRecord, queryString, normalizePath } from './request.js'
export type { BodySource } from './request.js'
export { PortableHeaders, lastForwardedFor } from './headers.js'
export { PortableQuery, decodeFormComponent } from './query.js'
export type { HeaderRecord } from './headers.js'
export { toOutgoing, bufferBody, errorResponse, isFetchResponse } from './response.js'
export type { OutgoingResponse } from './response.js'
export { PortableContext, consoleSink, deadlineFromEnv } from './context.js'
export { writeStdout, setStdoutWriter } from './stdout.js'
export type { StdoutWriter } from './stdout.js'
export { createRouter, hasNoParams } from './router.js'
export { jwtCaller } from './caller.js'
export type { RouteTemplate, RouteMatch, Router } from './router.js'
export type { ContextInit, LogSink, Observability } from './context.js'
export { isoTime, jsonString, redacted, redactText, redactField, isSecretName, REDACTED, logSettings, forgetLogSettings, perEnvironment, SUMMARY_MARK, MESSAGE_MARK } from './log.js'
export type { LogSettings, SummaryPolicy } from './log.js'
export type { Ending } from './context.js'
export {
  parseTraceparent,
  parseTracestate,
  parseXRay,
  parseCloudTrace,
  carrierTrace,
  carrierOf,
  startTrace,
  newSpanId,
  newTraceId,
  xrayTraceId,
  xrayHeader,
  withTrace,
  eventTrace,
  Trace,
} from './trace.js'
export type { IncomingTrace, TraceCarrier, TraceOrigin, Sampler } from './trace.js'
export { setTracer, currentTracer, outgoing, traceHeaders } from './tracer.js'
export type { Tracer, OutgoingSpan, SpanKind, SpanAttributes } from './tracer.js'
export { PortableQueueMessage, PortableTopicMessage } from './events.js'
export type { Payload } from './events.js'
export { EventError, defaultReason } from './errors.js'
export { runHttp, runEvents, runSource, httpFailure } from './invoke.js'
export { createDispatcher, createHttpDispatcher, createEventDispatcher, dispatch } from './dispatch.js'
export type { DispatchOptions, Dispatcher } from './dispatch.js'
export { toCloudEvent, checkCloudEvent, isRfc3339, isUriReference, isAbsoluteUri, isMediaType } from './cloud-event.js'
export { setOwn, ownCopy } from './own.js'
export { jsonText, nestsDeeperThan, MAX_JSON_DEPTH, tooDeepMessage, readJson } from './json-text.js'
export { NEUTRAL_FIELDS, fieldProblems, fits } from './fields.js'
export type { FieldRule, FieldRules, FieldTable, RuleFor } from './fields.js'
export { typeOf, readId, readString, readTime, readEpochTime, readSize, readCount, readStrings, readObject } from './readers.js'
export { unwrapMessage, messageEnvelope, ENCODING_ATTRIBUTE, SUBJECT_ATTRIBUTE, ENVELOPE_MARKER, TRACEPARENT_ATTRIBUTE, TRACESTATE_ATTRIBUTE } from './envelope.js'
export type { ReceivedMessage, MessageEnvelope } from './envelope.js'
export {
  BatchFailedError,
  InvalidRecord,
  translateRecords,
  oneEvent,
  withFailureRef,
  failureRef,
  UNNAMED,
  throwIfFailed,
  findSource,
  unrecognisedInput,
  describeShape,
  quote,
  isRecord,
  isString,
} from './source.js'
export type { HttpSource, EventSource, Source, SourceKind, ProviderAdapter, RecordOptions } from './source.js'
export {
  isBase64,
  base64ToBytes,
  bytesToBase64,
  utf8Encode,
  utf8Decode,
  utf8DecodeStrict,
  toArrayBuffer,
  isTextContentType,
} from '#encoding'
