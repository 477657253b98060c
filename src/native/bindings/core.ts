/** Mirrors libs/include/lumen_core.h. */
import {DataType, ERR, fn} from './types.js'

export const coreBindings = {
  lumen_version: fn(DataType.String),
  lumen_avcodec_version: fn(DataType.I32),
  lumen_avcodec_version_string: fn(DataType.I32, DataType.U8Array, DataType.I32),
  lumen_avcodec_has_encoder: fn(DataType.I32, DataType.String),
  lumen_avcodec_has_decoder: fn(DataType.I32, DataType.String),
  lumen_echo_error: fn(DataType.I32, DataType.I32, DataType.String, ...ERR),
  lumen_now_ns: fn(DataType.I64),
  lumen_malloc_trim: fn(DataType.I32),
  lumen_malloc_arena_max: fn(DataType.I32, DataType.I32),
}
