#!/usr/bin/env -S node --max-semi-space-size=2 --no-memory-reducer
// the flags are src/cli/node-flags.ts's NODE_FLAGS (why: there)
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
