/**
 * The stream-tuning flags that configure the shim (real-time priority, the send thread's spin,
 * UDP GSO, the software encoders' presets and libaom's speed, the conversion threads, the portal timeout): each an
 * oclif flag with its environment fallback, decided here once and passed down as parameters
 * (the shim itself reads no environment but LUMEN_FFMPEG_DEBUG and LUMEN_RS_ISA).
 */
import {Flags} from '@oclif/core'

import {DEFAULT_SPIN_US} from '../native/net.js'
import {DEFAULT_REALTIME_PRIORITY, realtimePriority} from '../media/stream/realtime.js'

const realtime = Flags.custom<number>({
  parse: async (input) => realtimePriority(input),
})

const onOff = Flags.custom<boolean>({
  parse: async (input) => {
    const v = input.trim().toLowerCase()
    if (['1', 'on', 'yes', 'true'].includes(v)) return true
    if (['0', 'off', 'no', 'false'].includes(v)) return false
    throw new Error(`expected on or off (1 or 0), got "${input}"`)
  },
})

const seconds = Flags.custom<number>({
  parse: async (input) => {
    const v = Number(input)
    if (!Number.isFinite(v) || v <= 0) throw new Error(`expected a positive number of seconds, got "${input}"`)
    return v
  },
})

/** The software encoders' tuning, for every command that encodes. */
export const encoderTuningFlags = {
  'x264-preset': Flags.string({description: 'libx264 preset (ultrafast … placebo)', default: 'superfast', env: 'LUMEN_X264_PRESET'}),
  'x265-preset': Flags.string({description: 'libx265 preset (ultrafast … placebo)', default: 'ultrafast', env: 'LUMEN_X265_PRESET'}),
  'aom-speed': Flags.integer({
    description: "libaom-av1's realtime speed (6-10; 6 keeps every fine detail of a desktop from frame to frame, faster speeds let a small change such as a clock's digit wait a frame or two)",
    min: 6,
    max: 10,
    default: 6,
    env: 'LUMEN_AOM_SPEED',
  }),
  'convert-threads': Flags.integer({description: 'threads for the BGRx → I420 conversion of frames of 640x480 and more (1, or 2 for a helper thread)', min: 1, max: 2, default: 1, env: 'LUMEN_CONVERT_THREADS'}),
}

/** serve's stream tuning. */
export const streamTuningFlags = {
  ...encoderTuningFlags,
  realtime: realtime({
    description: `SCHED_FIFO for the send thread at N+1 and, with an NVENC encoder, the frame loop at N (off or 1-98; needs root or CAP_SYS_NICE, else the stream says so and runs at normal priority)`,
    default: DEFAULT_REALTIME_PRIORITY,
    env: 'LUMEN_REALTIME',
  }),
  'spin-us': Flags.integer({description: 'the send thread wakes this many µs before each frame deadline and spins to it (sharper deadlines for a little CPU; 0 = off)', min: 0, max: 2000, default: DEFAULT_SPIN_US, env: 'LUMEN_SPIN_US'}),
  'udp-gso': onOff({description: 'send video with UDP GSO (off: sendmmsg only, so packet filters see every datagram)', default: true, env: 'LUMEN_UDP_GSO'}),
  'portal-timeout': seconds({description: '--source portal: seconds each ScreenCast portal step (and the first frame) may take before the stream fails with the reason (a screen-share dialog waits for a person)', default: 30, env: 'LUMEN_PORTAL_TIMEOUT'}),
}

export interface EncoderTuning {
  x264Preset: string
  x265Preset: string
  aomSpeed: number
  convertThreads: 1 | 2
}

export function encoderTuning(flags: {'x264-preset': string; 'x265-preset': string; 'aom-speed': number; 'convert-threads': number}): EncoderTuning {
  return {x264Preset: flags['x264-preset'], x265Preset: flags['x265-preset'], aomSpeed: flags['aom-speed'], convertThreads: flags['convert-threads'] === 2 ? 2 : 1}
}
