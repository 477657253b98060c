/** Mirrors libs/include/lumen_gpu.h: the zero-copy probe and the zero-copy capture chain. */
import {DataType, ERR, fn} from './types.js'

const OUT = [DataType.U8Array, DataType.I32] as const

export const gpuBindings = {
  lumen_probe_cuda: fn(DataType.I32, ...OUT, ...ERR),
  lumen_probe_egl: fn(DataType.I32, ...OUT, ...ERR),
  lumen_probe_nvenc: fn(DataType.I32, ...OUT, ...ERR),
  lumen_zc_open: fn(DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_zc_cuda_copy_reason: fn(DataType.I32, DataType.I32, ...OUT),
  lumen_zc_source_dmabuf: fn(DataType.I32, DataType.I32, DataType.I32, DataType.U32, DataType.I32, DataType.I32, DataType.U32, DataType.U32, ...ERR),
  lumen_zc_source_texture: fn(DataType.I32, DataType.I32, ...OUT, DataType.I32, ...ERR),
  lumen_zc_source_texture_raw: fn(DataType.I32, DataType.I32, ...OUT, DataType.I32, ...ERR),
  lumen_zc_source_update: fn(DataType.I32, DataType.I32, DataType.I32, ...OUT, DataType.I32, ...ERR),
  lumen_zc_source_pattern: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I64, DataType.I64, DataType.I64, DataType.I32, ...ERR),
  lumen_pattern_draw_gl: fn(DataType.I32, ...OUT, DataType.I32, DataType.I32, DataType.I64, DataType.I64, DataType.I64, DataType.I32, DataType.I32, ...ERR),
  lumen_zc_source_close: fn(DataType.I32, DataType.I32, DataType.I32),
  lumen_zc_capture: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.I32, ...OUT, ...ERR),
  lumen_zc_stats: fn(DataType.I32, DataType.I32, ...OUT, ...ERR),
  lumen_zc_describe: fn(DataType.I32, DataType.I32, ...OUT),
  lumen_zc_close: fn(DataType.I32, DataType.I32),
  lumen_zc_cpu_path: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, ...OUT, ...OUT, ...ERR),
  lumen_zc_baseline: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, ...OUT, ...ERR),
  lumen_zc_cuda_dmabuf: fn(DataType.I32, DataType.I32, ...OUT, ...ERR),
}
