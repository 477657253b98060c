/** Mirrors libs/include/lumen_audio.h. */
import {DataType, ERR, fn} from './types.js'

export const audioBindings = {
  lumen_opus_encoder_open: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_opus_encode: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_opus_encoder_close: fn(DataType.I32, DataType.I32),
  lumen_opus_decoder_open: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_opus_decode: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_opus_decoder_close: fn(DataType.I32, DataType.I32),
  lumen_audio_capture_open: fn(DataType.I32, DataType.I32, DataType.String, DataType.I32, DataType.I32, ...ERR),
  lumen_audio_capture_kind: fn(DataType.I32, DataType.I32),
  lumen_audio_capture_read: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, ...ERR),
  lumen_audio_capture_stats: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32),
  lumen_audio_capture_close: fn(DataType.I32, DataType.I32),
}
