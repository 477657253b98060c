/** Mirrors libs/include/lumen_net.h. */
import {DataType, ERR, fn} from './types.js'

export const netBindings = {
  lumen_udp_open: fn(DataType.I32, DataType.String, DataType.I32, DataType.I32, ...ERR),
  lumen_udp_adopt: fn(DataType.I32, DataType.I32, ...ERR),
  lumen_unix_peer_uid: fn(DataType.I32, DataType.I32, ...ERR),
  lumen_udp_fd: fn(DataType.I32, DataType.I32, ...ERR),
  lumen_udp_port: fn(DataType.I32, DataType.I32, ...ERR),
  lumen_udp_set_peer: fn(DataType.I32, DataType.I32, DataType.String, DataType.I32, ...ERR),
  lumen_udp_set_qos: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_udp_set_gso: fn(DataType.I32, DataType.I32, DataType.I32),
  lumen_udp_send: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_udp_send_batch: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_udp_recv_batch: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_udp_stats: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32),
  lumen_udp_close: fn(DataType.I32, DataType.I32),
  lumen_sleep_until: fn(DataType.I32, DataType.I64),
  lumen_thread_set_realtime: fn(DataType.I32, DataType.I32, ...ERR),
  lumen_pacer_open: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_pacer_submit: fn(DataType.I32, DataType.I32, DataType.U32, DataType.I64, DataType.I64, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_pacer_submit_video: fn(DataType.I32, DataType.I32, DataType.U32, DataType.I64, DataType.I64, DataType.U8Array, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_pacer_set_gcm: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I64, ...ERR),
  lumen_pacer_gcm_counter: fn(DataType.I64, DataType.I32),
  lumen_pacer_poll: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32),
  lumen_pacer_drain: fn(DataType.I32, DataType.I32, DataType.I32),
  lumen_pacer_set_realtime: fn(DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_pacer_close: fn(DataType.I32, DataType.I32),
}
