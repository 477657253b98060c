/**
 * Shim calls for the frame loop that leave next to no garbage in V8's heap. ffi-rs' define()
 * wrapper builds, on every call, a params object, a new paramsType array and a descriptor object
 * per Buffer argument, and the caller an argument array; its native side then reads each Buffer's
 * descriptor afresh (a key list and key strings, ~300 bytes a Buffer). At 240 frames a second that
 * garbage made young-generation collections, around a millisecond each, in the middle of frames.
 *
 * A prepared call owns one params object and one argument array: the caller writes the arguments
 * into `args` (Buffers through setBuffer) and calls `call()`. ffi-rs reads the arguments before a
 * call returns (these calls never run on another thread), so the array can be rewritten for the
 * next call at once. A Buffer goes across as the address of its bytes (an ffi-rs External, made
 * once per Buffer and kept while the Buffer lives), so no descriptor is read per call; its length
 * still goes in the argument after it, and C checks it, as everywhere.
 */
import {arrayConstructor, createPointer, DataType, type FieldType, freePointer, load, PointerType, unwrapPointer} from 'ffi-rs'

import {bindings, type ShimFunction} from './bindings.js'
import {LIBRARY_KEY, shim} from './library.js'

// the array types load() wraps in descriptors (ffi-rs index.js arrayDataType) other than U8Array,
// which goes as a pointer; the length a descriptor records is read only for returned arrays
const ARRAY_TYPES: readonly DataType[] = [DataType.I16Array, DataType.I32Array, DataType.StringArray, DataType.DoubleArray, DataType.FloatArray]

const pointers = new WeakMap<Buffer, unknown>()

/** The address of `buf`'s bytes as an External (a Buffer's bytes never move while it lives). */
function pointerTo(buf: Buffer): unknown {
  let p = pointers.get(buf)
  if (p === undefined) {
    const types = [arrayConstructor({type: DataType.U8Array, length: buf.length})]
    // createPointer boxes the address; unwrapPointer takes it out, and the box is freed
    const boxed = createPointer({paramsType: types, paramsValue: [buf]})
    p = unwrapPointer(boxed)[0]
    freePointer({paramsType: types, paramsValue: boxed, pointerType: PointerType.RsPointer})
    pointers.set(buf, p)
  }
  return p
}

export class PreparedCall {
  /** the arguments of the next call, in the header's order */
  readonly args: unknown[]
  private readonly params: {library: string; funcName: string; retType: DataType; paramsType: FieldType[]; paramsValue: unknown[]; freeResultMemory: boolean}

  constructor(name: ShimFunction) {
    shim() // opens the library the call names
    const b = bindings[name]
    const types: FieldType[] = b.paramsType.map((t) => (t === DataType.U8Array ? DataType.External : ARRAY_TYPES.includes(t) ? arrayConstructor({type: t, length: 0}) : t))
    // load() wraps array types with paramsType.map() on every call; wrapped once here, and a
    // map() that returns the same array, it has nothing left to build
    Object.defineProperty(types, 'map', {value: () => types})
    this.args = new Array<unknown>(types.length).fill(0)
    this.params = {library: LIBRARY_KEY, funcName: name, retType: b.retType, paramsType: types, paramsValue: this.args, freeResultMemory: false}
  }

  /** Argument `i` (a `uint8_t *` of the header) is `buf`. */
  setBuffer(i: number, buf: Buffer): void {
    this.args[i] = pointerTo(buf)
  }

  /** Calls the function with `args`; its int32 result. */
  call(): number {
    return load(this.params) as number
  }
}
