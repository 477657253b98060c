/**
 * Finds and opens the shim (libs/build/liblumen.so). The only module that calls ffi-rs'
 * `open`; every binding goes through `shim()`, or for the frame loop's calls through
 * ./prepared.ts, which calls the same functions without ffi-rs' per-call wrapper.
 *
 * Resolution order: LUMEN_SHIM (a path to the .so), then the package's own build folder.
 */
import {existsSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {define, open} from 'ffi-rs'

import {bindings, type Bindings} from './bindings.js'
import {ShimLoadError} from './errors.js'

export const LIBRARY_KEY = 'lumen'

function packageRoot(): string {
  // this file sits at src/native/ (vitest) or dist/src/native/ (built)
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new ShimLoadError('cannot find the lumen package root')
    dir = parent
  }
  return dir
}

export function shimPath(): string {
  const override = process.env.LUMEN_SHIM
  if (override !== undefined && override !== '') return resolve(override)
  return join(packageRoot(), 'libs', 'build', 'liblumen.so')
}

type Shim = ReturnType<typeof define<Bindings>>
let loaded: Shim | undefined

/** The shim's functions, opened on first use (once per thread). */
export function shim(): Shim {
  if (loaded !== undefined) return loaded
  const path = shimPath()
  if (!existsSync(path)) {
    throw new ShimLoadError(
      `the native shim is not built (${path} is missing): run scripts/install.sh, or 'make -C libs' once FFmpeg 8 is installed`,
    )
  }
  try {
    open({library: LIBRARY_KEY, path})
  } catch (error) {
    throw new ShimLoadError(`cannot load the native shim ${path}: ${(error as Error).message}`, {cause: error})
  }
  loaded = define(bindings)
  return loaded
}
