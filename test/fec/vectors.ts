/** Loads the bit-exact FEC vectors kept in the repository: test/fixtures/vectors/fec/*.json (see its README). */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {XorShift32} from '../../src/sim/random.js'

export const vectorsDir = join(import.meta.dirname, '..', 'fixtures', 'vectors', 'fec')

export function loadVectors<T>(name: 'rs_cases' | 'video_packets' | 'audio_packets'): T {
  return JSON.parse(readFileSync(join(vectorsDir, `${name}.json`), 'utf8')) as T
}

export interface RsCase {
  name: string
  k: number
  m: number
  shard_size: number
  seed: number
  parity_matrix: 'cauchy' | 'audio'
  parity_matrix_rows_hex: string[]
  data_shard0_first_bytes_hex: string
  data_sha256: string
  parity_sha256: string
  recovery: {pattern: string; erased_shards: number[]; recovered_by_client_decoder: boolean}[]
  parity_hex?: string[]
}

export interface VideoVectorPacket {
  index: number
  kind: 'data' | 'parity'
  fec_block: number
  shard_index: number
  block_data_shards: number
  block_parity_shards: number
  length: number
  hex?: string
  first_64_bytes_hex?: string
  sha256?: string
}

export interface VideoVectorFrame {
  name: string
  codec: 'hevc' | 'h264' | 'av1'
  frame_index: number
  frame_type: number
  host_latency_tenth_ms: number
  rtp_timestamp: number
  negotiated_packet_size: number
  fec_percentage_config: number
  min_required_fec_packets: number
  video_encryption: boolean
  frame_length: number
  frame_seed: number
  packets: VideoVectorPacket[]
  frame_hex?: string
  first_rtp_sequence_number: number
  frame_sha256: string
}

export interface VideoVectors {
  keys: {video_aes_gcm_key_hex: string; gcm_iv_counter_start: number}
  frames: VideoVectorFrame[]
}

export interface AudioVectorStream {
  name: string
  encrypted: boolean
  rikeyid: number
  packet_duration_ms: number
  opus_payload_length: number
  opus_seed: number
  opus_payloads_hex: string[]
  packets: {kind: 'data' | 'fec'; length: number; hex: string}[]
}

export interface AudioVectors {
  keys: {audio_aes_cbc_key_hex: string; rikeyid_decimal: number}
  streams: AudioVectorStream[]
}

/** The vectors' frame generator (video_packets.json frame_generator). */
export function vectorFrame(f: VideoVectorFrame): Buffer {
  const out = Buffer.alloc(f.frame_length)
  new XorShift32(f.frame_seed).fillNonZero(out)
  const put = (at: number, hex: string): void => void out.set(Buffer.from(hex.replaceAll(' ', ''), 'hex'), at)
  if (f.codec === 'hevc' && f.frame_type === 2) {
    put(0, '00 00 00 01 40 01')
    put(28, '00 00 00 01 42 01')
    put(74, '00 00 00 01 44 01')
    put(86, '00 00 00 01 26 01')
  } else if (f.codec === 'hevc') put(0, '00 00 00 01 02 01')
  return out
}

