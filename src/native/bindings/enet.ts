/** Mirrors libs/include/lumen_enet.h. */
import {DataType, ERR, fn} from './types.js'

export const enetBindings = {
  lumen_enet_host_create: fn(DataType.I32, DataType.String, DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_enet_host_port: fn(DataType.I32, DataType.I32, ...ERR),
  lumen_enet_host_destroy: fn(DataType.I32, DataType.I32),
  lumen_enet_host_connect: fn(DataType.I32, DataType.I32, DataType.String, DataType.I32, DataType.I32, DataType.U32, ...ERR),
  lumen_enet_service: fn(DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_enet_send: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_enet_flush: fn(DataType.I32, DataType.I32),
  lumen_enet_disconnect: fn(DataType.I32, DataType.I32, DataType.I32, DataType.U32, DataType.I32),
  lumen_enet_peer_timeout: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.I32, DataType.I32),
  lumen_enet_guard: fn(DataType.I32, DataType.I32, DataType.I32, DataType.I32, ...ERR),
  lumen_enet_guard_expect: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, DataType.I32, ...ERR),
  lumen_enet_guard_stats: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32, ...ERR),
  lumen_enet_peer_stats: fn(DataType.I32, DataType.I32, DataType.I32, DataType.U8Array, DataType.I32),
}
