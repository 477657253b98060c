/** Mirrors libs/include/lumen_portal.h. */
import {DataType, ERR, fn} from './types.js'

export const portalBindings = {
  lumen_portal_open: fn(DataType.I32, DataType.String, DataType.I32, ...ERR),
  lumen_portal_info: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32),
  lumen_portal_session_path: fn(DataType.I32, DataType.I32, DataType.U8Array, DataType.I32),
  lumen_portal_probe: fn(DataType.I32, DataType.String, DataType.I32, ...ERR),
  lumen_portal_close: fn(DataType.I32, DataType.I32),
}
