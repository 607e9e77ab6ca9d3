/**
 * `import '@polycloud/core/map-stack-traces'`, first in a bundle's entry: stack traces name the bundle's TypeScript
 * sources through its source map, read only when a stack is formatted (see {@link mapStackTraces}). Imported before
 * the handler, so an error thrown while the handler's module loads is mapped too.
 */
import { mapStackTraces } from './source-maps.js'

mapStackTraces()
