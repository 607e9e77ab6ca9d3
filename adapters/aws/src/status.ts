/**
 * Reason phrases of the registered HTTP status codes (IANA HTTP Status Code Registry; RFC 9110 and extensions), one
 * `code phrase` per line, for the status line an ALB response names (`statusDescription`). Here rather than Node's
 * `STATUS_CODES`: loading `node:http` costs milliseconds on a cold start. One string read on first use costs less
 * to load than an object literal.
 */
const TABLE =
  '100 Continue\n101 Switching Protocols\n102 Processing\n103 Early Hints\n200 OK\n201 Created\n202 Accepted\n203 Non-Authoritative Information\n204 No Content\n205 Reset Content\n206 Partial Content\n207 Multi-Status\n208 Already Reported\n226 IM Used\n300 Multiple Choices\n301 Moved Permanently\n302 Found\n303 See Other\n304 Not Modified\n305 Use Proxy\n307 Temporary Redirect\n308 Permanent Redirect\n400 Bad Request\n401 Unauthorized\n402 Payment Required\n403 Forbidden\n404 Not Found\n405 Method Not Allowed\n406 Not Acceptable\n407 Proxy Authentication Required\n408 Request Timeout\n409 Conflict\n410 Gone\n411 Length Required\n412 Precondition Failed\n413 Content Too Large\n414 URI Too Long\n415 Unsupported Media Type\n416 Range Not Satisfiable\n417 Expectation Failed\n418 I\'m a Teapot\n421 Misdirected Request\n422 Unprocessable Content\n423 Locked\n424 Failed Dependency\n425 Too Early\n426 Upgrade Required\n428 Precondition Required\n429 Too Many Requests\n431 Request Header Fields Too Large\n451 Unavailable For Legal Reasons\n500 Internal Server Error\n501 Not Implemented\n502 Bad Gateway\n503 Service Unavailable\n504 Gateway Timeout\n505 HTTP Version Not Supported\n506 Variant Also Negotiates\n507 Insufficient Storage\n508 Loop Detected\n510 Not Extended\n511 Network Authentication Required'

let reasons: Map<number, string> | undefined

/** The reason phrase of a status code, or undefined for an unregistered one. */
export function reasonPhrase(status: number): string | undefined {
  if (reasons === undefined) {
    reasons = new Map()
    for (const line of TABLE.split('\n')) reasons.set(Number(line.slice(0, 3)), line.slice(4))
  }
  return reasons.get(status)
}
