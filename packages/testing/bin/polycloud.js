#!/usr/bin/env node
// The `polycloud` command. A plain file (not built), so npm can link it before `tsc -b` has built dist/.
import '../dist/cli.js'
