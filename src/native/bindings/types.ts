/** Building blocks for the per-module binding tables (one table per libs/include header). */
import {DataType} from 'ffi-rs'

import type {FieldType} from 'ffi-rs'

export {DataType}

export interface Binding {
  library: 'lumen'
  retType: DataType
  paramsType: FieldType[]
}

/** One shim function: the return type and the parameter types, in header order. */
export function fn<R extends DataType>(retType: R, ...paramsType: DataType[]): {library: 'lumen'; retType: R; paramsType: DataType[]} {
  return {library: 'lumen', retType, paramsType}
}

/** `char *err, int32_t err_len`, the pair at the end of every call that can fail. */
export const ERR = [DataType.U8Array, DataType.I32] as const
