/** Mirrors libs/include/lumen_packetize.h. */
import {DataType, ERR, fn} from './types.js'

export const packetizeBindings = {
  lumen_video_packetize: fn(DataType.I32, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_video_gcm_select: fn(DataType.I32, DataType.I32),
  lumen_video_gcm_engine: fn(DataType.I32, DataType.U8Array, DataType.I32),
  lumen_video_seal: fn(DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I64, ...ERR),
}
