/**
 * Shim calls for the frame loop that leave no garbage in V8's heap. ffi-rs' define() wrapper
 * builds, on every call, a params object, a new paramsType array and a descriptor object per
 * Buffer argument, and the caller an argument array; at 240 frames a second that garbage made
 * young-generation collections (around a millisecond each) in the middle of frames.
 *
 * A prepared call owns one params object and one argument array: the caller writes the arguments
 * into `args` and calls `call()`. ffi-rs reads the arguments before a call returns (these calls
 * never run on another thread), so the array can be rewritten for the next call at once. Buffer
 * arguments are passed by pointer; their length goes in the next argument, as everywhere.
 */
import {arrayConstructor, DataType, type FieldType, load} from 'ffi-rs'

import {bindings, type ShimFunction} from './bindings.js'
import {LIBRARY_KEY, shim} from './library.js'

// the types load() wraps (ffi-rs index.js arrayDataType); the length it records is read only
// for returned arrays
const ARRAY_TYPES: readonly DataType[] = [DataType.I16Array, DataType.I32Array, DataType.StringArray, DataType.DoubleArray, DataType.U8Array, DataType.FloatArray]

export class PreparedCall {
  /** the arguments of the next call, in the header's order */
  readonly args: unknown[]
  private readonly params: {library: string; funcName: string; retType: DataType; paramsType: FieldType[]; paramsValue: unknown[]; freeResultMemory: boolean}

  constructor(name: ShimFunction) {
    shim() // opens the library the call names
    const b = bindings[name]
    // load() wraps Buffer types in descriptors with paramsType.map() on every call; wrapped once
    // here, and a map() that returns the same array, it has nothing left to build
    const types: FieldType[] = b.paramsType.map((t) => (ARRAY_TYPES.includes(t) ? arrayConstructor({type: t, length: 0}) : t))
    Object.defineProperty(types, 'map', {value: () => types})
    this.args = new Array<unknown>(types.length).fill(0)
    this.params = {library: LIBRARY_KEY, funcName: name, retType: b.retType, paramsType: types, paramsValue: this.args, freeResultMemory: false}
  }

  /** Calls the function with `args`; its int32 result. */
  call(): number {
    return load(this.params) as number
  }
}
