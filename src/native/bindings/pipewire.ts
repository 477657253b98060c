/** Mirrors libs/include/lumen_pipewire.h. */
import {DataType, ERR, fn} from './types.js'

export const pipewireBindings = {
  lumen_pw_video_open: fn(DataType.I32, DataType.String, DataType.I32, ...ERR),
  lumen_pw_video_wait: fn(DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_pw_video_info: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32),
  lumen_pw_video_grab: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_pw_video_close: fn(DataType.I32, DataType.I32),
}
