/** Mirrors libs/include/lumen_input.h: virtual input devices fed batches of records. */
import {DataType, ERR, fn} from './types.js'

const {I32, U8Array: Buf} = DataType

export const inputBindings = {
  lumen_input_open: fn(I32, I32, Buf, I32, ...ERR),
  lumen_input_submit: fn(I32, I32, Buf, I32, I32, ...ERR),
  lumen_input_release_all: fn(I32, I32),
  lumen_input_drain: fn(I32, I32, I32),
  lumen_input_feedback: fn(I32, I32, Buf, I32),
  lumen_input_stats: fn(I32, I32, Buf, I32),
  lumen_input_close: fn(I32, I32),
  lumen_input_wlroots_probe: fn(I32, Buf, I32, ...ERR),
}
