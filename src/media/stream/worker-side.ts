/**
 * What both stream workers (./worker.ts, ../audio/worker.ts) start from: their WorkerData, the
 * shared flags and counters, a typed post() to the main thread, the resources they must release
 * (in the handle ledger, ./ledger.ts) and their UDP socket aimed at the client.
 */
import {parentPort, workerData} from 'node:worker_threads'

import {UdpSocket} from '../../native/net.js'
import {HandleLedger, WorkerResources} from './ledger.js'
import {sharedViews, type WorkerData, type WorkerMessage} from './shared.js'

export interface WorkerSide {
  data: WorkerData
  flags: Int32Array
  counters: Float64Array
  post(m: WorkerMessage): void
  held: WorkerResources
}

export function workerSide(): WorkerSide {
  const data = workerData as WorkerData
  return {data, ...sharedViews(data.sab), post: (m) => parentPort?.postMessage(m), held: new WorkerResources(new HandleLedger(data.ledger))}
}

/** A dup of the host's bound socket (sends leave from the port the client pinged), else one of its own, aimed at the client. */
export function openStreamSocket(w: WorkerSide): UdpSocket {
  const socket = w.data.socketFd >= 0 ? UdpSocket.adopt(w.data.socketFd) : UdpSocket.open('', 0)
  w.held.add(socket, () => socket.close(), [{kind: 'udp', handle: socket.handle}])
  socket.setPeer(w.data.peer.address, w.data.peer.port)
  return socket
}
