/**
 * The shim's symbol list: every function of libs/include/*.h with its ffi-rs types, one
 * table per header, merged here. test/native-bindings.test.ts fails when a header and its
 * table drift apart.
 */
import {captureBindings} from './bindings/capture.js'
import {codecBindings} from './bindings/codec.js'
import {coreBindings} from './bindings/core.js'
import {enetBindings} from './bindings/enet.js'
import {fecBindings} from './bindings/fec.js'
import {gpuBindings} from './bindings/gpu.js'
import {inputBindings} from './bindings/input.js'
import {netBindings} from './bindings/net.js'
import {packetizeBindings} from './bindings/packetize.js'
import {audioBindings} from './bindings/audio.js'
import {pipewireBindings} from './bindings/pipewire.js'
import {portalBindings} from './bindings/portal.js'

export const bindings = {
  ...captureBindings,
  ...codecBindings,
  ...coreBindings,
  ...enetBindings,
  ...fecBindings,
  ...gpuBindings,
  ...inputBindings,
  ...netBindings,
  ...packetizeBindings,
  ...audioBindings,
  ...pipewireBindings,
  ...portalBindings,
}

export type Bindings = typeof bindings
export type ShimFunction = keyof Bindings
