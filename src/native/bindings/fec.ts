/** Mirrors libs/include/lumen_fec.h. */
import {DataType, ERR, fn} from './types.js'

export const fecBindings = {
  lumen_rs_isa_list: fn(DataType.I32, DataType.U8Array, DataType.I32),
  lumen_rs_isa_active: fn(DataType.I32, DataType.U8Array, DataType.I32),
  lumen_rs_isa_set: fn(DataType.I32, DataType.String, ...ERR),
  lumen_rs_encode: fn(DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, ...ERR),
  lumen_rs_decode: fn(
    DataType.I32,
    DataType.U8Array,
    DataType.I32,
    DataType.I32,
    DataType.I32,
    DataType.I32,
    DataType.I32,
    DataType.I32,
    DataType.I32,
    DataType.I32,
    DataType.U8Array,
    DataType.I32,
    ...ERR,
  ),
  lumen_rs_matrix: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
}
