/** Mirrors libs/include/lumen_capture.h: the test pattern and X11 capture. */
import {DataType, ERR, fn} from './types.js'

const {I32, I64, String: Str, U8Array: Buf} = DataType

export const captureBindings = {
  lumen_pattern_draw: fn(I32, Buf, I32, I32, I32, I32, I64, I64),
  lumen_x11_open: fn(I32, Str, I32, I32, I32, I32, ...ERR),
  lumen_x11_info: fn(I32, I32, Buf, I32),
  lumen_x11_grab: fn(I32, I32, Buf, I32, ...ERR),
  lumen_x11_close: fn(I32, I32),
}
