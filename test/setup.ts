// Loaded by mocha before the tests (.mocharc.json): the functions the tests run in this process, and the local
// emulations they start, write a summary line for failed invocations only, so the reporter's output stays readable.
// The tests of the summary line give their environment explicitly (POLYCLOUD_LOG_SUMMARY's default is `all`).
process.env.POLYCLOUD_LOG_SUMMARY ??= 'errors'
