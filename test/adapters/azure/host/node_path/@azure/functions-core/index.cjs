// Test stand-in for the '@azure/functions-core' module the Azure Functions Node worker injects. It records what
// @azure/functions registers, so a test can drive the library's own invocation pipeline the way the worker does.
'use strict'

const state = { model: undefined, functions: {}, systemLogs: [] }

module.exports = {
  __state: state,
  setProgrammingModel(model) {
    state.model = model
  },
  getProgrammingModel() {
    return state.model
  },
  registerFunction(metadata, callback) {
    state.functions[metadata.name] = { metadata, callback }
    return { dispose() {} }
  },
  registerHook() {
    return { dispose() {} }
  },
  log(level, category, message) {
    state.systemLogs.push([level, category, message])
  },
}
