/** Mirrors libs/include/lumen_codec.h: encoders, decoders, pooled CUDA frames. */
import {DataType, ERR, fn} from './types.js'

const {I32, String: Str, U8Array: Buf} = DataType

export const codecBindings = {
  lumen_encoder_open: fn(I32, Str, I32, I32, I32, I32, I32, I32, Str, I32, I32, ...ERR),
  lumen_encoder_encode: fn(I32, I32, Buf, I32, I32, I32, I32, I32, Buf, I32, Buf, I32, ...ERR),
  lumen_encoder_encode_cuda: fn(I32, I32, I32, I32, Buf, I32, Buf, I32, ...ERR),
  lumen_encoder_set_bitrate: fn(I32, I32, I32, ...ERR),
  lumen_encoder_describe: fn(I32, I32, Buf, I32),
  lumen_encoder_close: fn(I32, I32),
  lumen_cuda_check: fn(I32, ...ERR),
  lumen_cuda_pool_open: fn(I32, I32, I32, I32, I32, ...ERR),
  lumen_cuda_pool_close: fn(I32, I32),
  lumen_cuda_frame_get: fn(I32, I32, ...ERR),
  lumen_cuda_frame_info: fn(I32, I32, Buf, I32, ...ERR),
  lumen_cuda_frame_upload: fn(I32, I32, Buf, I32, I32, ...ERR),
  lumen_cuda_frame_download: fn(I32, I32, Buf, I32, I32, ...ERR),
  lumen_cuda_frame_release: fn(I32, I32),
  lumen_decoder_open: fn(I32, Str, ...ERR),
  lumen_decoder_decode: fn(I32, I32, Buf, I32, I32, Buf, I32, Buf, I32, ...ERR),
  lumen_decoder_close: fn(I32, I32),
  lumen_psnr_bgrx_i420: fn(I32, Buf, I32, I32, Buf, I32, I32, I32, Buf, I32, ...ERR),
  lumen_psnr_bgrx_planar: fn(I32, Buf, I32, I32, Buf, I32, I32, I32, I32, Buf, I32, ...ERR),
}
