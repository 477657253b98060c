/**
 * The peer uid of a connected unix socket, through the shim's SO_PEERCRED call
 * (libs/include/lumen_net.h lumen_unix_peer_uid): Node reports no peer credentials itself.
 */
import type {Socket} from 'node:net'

import {check, ErrorBuffer} from './call.js'
import {shim} from './library.js'

/** The uid of the process on the other end, or undefined when the socket has no file descriptor. */
export function peerUid(socket: Socket): number | undefined {
  // libuv's pipe handle: its fd is the accepted connection's
  const fd = (socket as unknown as {_handle?: {fd?: number}})._handle?.fd
  if (typeof fd !== 'number' || fd < 0) return undefined
  const err = new ErrorBuffer()
  return check('lumen_unix_peer_uid', shim().lumen_unix_peer_uid([fd, ...err.args()]), err)
}
