/**
 * The C headers are the contract; src/native/bindings mirrors them. This test parses every
 * LUMEN_API line of libs/include/*.h and checks the TypeScript table entry by entry.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {DataType} from 'ffi-rs'
import {describe, expect, it} from 'vitest'

import {bindings} from '../../src/native/bindings.js'
import {EnetDisconnect, EnetSend} from '../../src/native/enet.js'
import {ShimStatus} from '../../src/native/errors.js'
import {RsMatrix} from '../../src/native/fec.js'
import {FeedbackKind, InputBackendId, InputStat, RecordKind, WlrootsMissing} from '../../src/native/input.js'

const includeDir = join(import.meta.dirname, '..', '..', 'libs', 'include')

interface Declaration {
  name: string
  ret: string
  params: string[]
  header: string
}

function parseHeaders(): Declaration[] {
  const out: Declaration[] = []
  for (const header of readdirSync(includeDir).filter((f) => f.endsWith('.h'))) {
    for (const line of readFileSync(join(includeDir, header), 'utf8').split('\n')) {
      const m = /^LUMEN_API\s+(.+?)\s*\b(lumen_\w+)\s*\((.*)\);/.exec(line.trim())
      if (m === null) continue
      const [, ret, name, params] = m
      const list = params.trim() === 'void' || params.trim() === '' ? [] : params.split(',').map((p) => p.trim())
      out.push({name, ret: ret.replace(/\s+/g, ' '), params: list, header})
    }
  }
  return out
}

/** The ffi-rs type that a C type must be bound as. Pointers to data are Buffers (U8Array),
 * so the shim can write into them without a copy; `const char *` is an input string. */
function expectedType(cDecl: string, isReturn: boolean): DataType {
  const t = cDecl.replace(/\b(restrict|__restrict)\b/g, '').replace(/\s+/g, ' ').trim()
  // a parameter ends with its name; a return type has none
  const type = isReturn ? t : t.replace(/\b\w+$/, '').trim()
  if (/^const char ?\*/.test(type)) return DataType.String
  if (type.includes('*')) return DataType.U8Array
  if (/^(int32_t|int)$/.test(type)) return DataType.I32
  if (type === 'uint32_t') return DataType.U32
  if (type === 'int64_t') return DataType.I64
  if (type === 'uint64_t') return DataType.U64
  if (type === 'double') return DataType.Double
  if (type === 'float') return DataType.Float
  if (type === 'void') return DataType.Void
  throw new Error(`no ffi-rs mapping for C type '${cDecl}'`)
}

describe('shim bindings mirror libs/include', () => {
  const declarations = parseHeaders()
  const table = bindings as Record<string, {retType: DataType; paramsType: unknown[]}>

  it('finds the declarations', () => {
    expect(declarations.length).toBeGreaterThan(5)
  })

  it('binds every declared function and nothing else', () => {
    expect(Object.keys(table).sort()).toEqual(declarations.map((d) => d.name).sort())
  })

  for (const d of parseHeaders()) {
    it(`${d.name} (${d.header}) has the header's types`, () => {
      const entry = table[d.name]
      expect(entry, `${d.name} missing from src/native/bindings`).toBeDefined()
      expect(entry.retType).toBe(expectedType(d.ret, true))
      expect(entry.paramsType).toEqual(d.params.map((p) => expectedType(p, false)))
    })
  }
})

/** Every #define of libs/include/*.h whose value is an integer expression. */
function parseDefines(): Map<string, number> {
  const out = new Map<string, number>()
  for (const header of readdirSync(includeDir).filter((f) => f.endsWith('.h'))) {
    for (const line of readFileSync(join(includeDir, header), 'utf8').split('\n')) {
      const m = /^#define\s+(LUMEN_\w+)\s+([-()\d\s*+<x]+?)\s*(\/\*.*)?$/.exec(line.trim())
      if (m === null) continue
      out.set(m[1], Function(`return (${m[2]})`)() as number)
    }
  }
  return out
}

/** `const NAME = value` (exported or not) in a src/native file, as TypeScript has it. */
function tsConstant(file: string, name: string): number {
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'native', file), 'utf8')
  const m = new RegExp(`^(?:export )?const ${name} = (-?\\d+)$`, 'm').exec(text)
  if (m === null) throw new Error(`src/native/${file} has no 'const ${name} = <number>'`)
  return Number(m[1])
}

describe('constants TypeScript mirrors from libs/include', () => {
  const defines = parseDefines()
  const statuses: Array<[string, keyof typeof ShimStatus]> = [
    ['LUMEN_OK', 'ok'],
    ['LUMEN_E_INVALID', 'invalid'],
    ['LUMEN_E_UNAVAILABLE', 'unavailable'],
    ['LUMEN_E_FAILED', 'failed'],
    ['LUMEN_E_NOMEM', 'noMemory'],
    ['LUMEN_E_AGAIN', 'again'],
    ['LUMEN_E_EOF', 'eof'],
    ['LUMEN_E_BUFFER', 'buffer'],
  ]
  for (const [define, key] of statuses) {
    it(`status ${define} = ShimStatus.${key}`, () => expect(ShimStatus[key]).toBe(defines.get(define)))
  }
  it('every LUMEN_E_* status has a ShimStatus name', () => {
    const codes = [...defines].filter(([n]) => n.startsWith('LUMEN_E_')).map(([, v]) => v)
    expect(codes.sort()).toEqual(Object.values(ShimStatus).filter((v) => v < 0).sort())
  })

  const lengths: Array<[string, string, string]> = [
    ['LUMEN_ENC_FORCE_IDR', 'codec.ts', 'FORCE_IDR'],
    ['LUMEN_FMT_444', 'codec.ts', 'FMT_444'],
    ['LUMEN_FMT_10BIT', 'codec.ts', 'FMT_10BIT'],
    ['LUMEN_DEC_PLANAR', 'codec.ts', 'DEC_PLANAR'],
    ['LUMEN_ENC_INFO_LEN', 'codec.ts', 'ENC_INFO_LEN'],
    ['LUMEN_ENC_INFO_GPU_KERNEL_NS', 'codec.ts', 'ENC_INFO_GPU_KERNEL_NS'],
    ['LUMEN_ENC_INFO_GPU_DOWNLOAD_NS', 'codec.ts', 'ENC_INFO_GPU_DOWNLOAD_NS'],
    ['LUMEN_DEC_INFO_LEN', 'codec.ts', 'DEC_INFO_LEN'],
    ['LUMEN_CUDA_FRAME_INFO_LEN', 'codec.ts', 'CUDA_FRAME_INFO_LEN'],
    ['LUMEN_ENET_EVENT_HEADER', 'enet.ts', 'HEADER'],
    ['LUMEN_ENET_GUARD_ENTRY_LEN', 'enet.ts', 'GUARD_ENTRY_LEN'],
    ['LUMEN_ENET_GUARD_MAX_EXPECTED', 'enet.ts', 'GUARD_MAX_EXPECTED'],
    ['LUMEN_ENET_GUARD_STATS_LEN', 'enet.ts', 'GUARD_STATS_LEN'],
    ['LUMEN_RS_BLOCK_INTS', 'fec.ts', 'RS_BLOCK_INTS'],
    ['LUMEN_UDP_REUSEADDR', 'net.ts', 'UDP_REUSEADDR'],
    ['LUMEN_PACER_RECORD_LEN', 'net.ts', 'PACER_RECORD_LEN'],
    ['LUMEN_UDP_STATS_LEN', 'net.ts', 'STATS_LEN'],
    ['LUMEN_PW_INFO_LEN', 'pipewire.ts', 'INFO_LEN'],
    ['LUMEN_PW_GRAB_INFO_LEN', 'pipewire.ts', 'GRAB_INFO_LEN'],
    ['LUMEN_PORTAL_INFO_LEN', 'portal.ts', 'INFO_LEN'],
    ['LUMEN_INPUT_RECORD_LEN', 'input.ts', 'RECORD_LEN'],
    ['LUMEN_INPUT_RECORD_VALUES', 'input.ts', 'RECORD_VALUES'],
    ['LUMEN_INPUT_QUEUE', 'input.ts', 'INPUT_QUEUE'],
    ['LUMEN_INPUT_STATS', 'input.ts', 'INPUT_STATS'],
  ]
  for (const [define, file, name] of lengths) {
    it(`${define} = ${name} in src/native/${file}`, () => {
      expect(defines.has(define), `${define} is not in libs/include`).toBe(true)
      expect(tsConstant(file, name)).toBe(defines.get(define))
    })
  }

  it('ENet send flags and disconnect modes', () => {
    expect(EnetSend).toEqual({reliable: defines.get('LUMEN_ENET_SEND_RELIABLE'), unsequenced: defines.get('LUMEN_ENET_SEND_UNSEQUENCED')})
    expect(EnetDisconnect).toEqual({
      graceful: defines.get('LUMEN_ENET_DISCONNECT_GRACEFUL'),
      now: defines.get('LUMEN_ENET_DISCONNECT_NOW'),
      later: defines.get('LUMEN_ENET_DISCONNECT_LATER'),
      reset: defines.get('LUMEN_ENET_DISCONNECT_RESET'),
    })
  })

  it('Reed-Solomon matrices', () => {
    expect(RsMatrix).toEqual({cauchy: defines.get('LUMEN_RS_CAUCHY'), audio: defines.get('LUMEN_RS_AUDIO')})
  })

  it('input backends, record kinds, feedback kinds and counters', () => {
    const prefixed = (prefix: string): Record<string, number> =>
      Object.fromEntries([...defines].filter(([n]) => n.startsWith(prefix)).map(([n, v]) => [n.slice(prefix.length), v]))
    const upper = (o: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(), v]))
    expect(upper(RecordKind)).toEqual(prefixed('LUMEN_IN_'))
    expect(upper(FeedbackKind)).toEqual(prefixed('LUMEN_FB_'))
    expect(upper(InputStat)).toEqual(prefixed('LUMEN_INPUT_STAT_'))
    expect(upper(WlrootsMissing)).toEqual(prefixed('LUMEN_WLR_MISSING_'))
    expect(upper(InputBackendId)).toEqual({UINPUT: defines.get('LUMEN_INPUT_UINPUT'), XTEST: defines.get('LUMEN_INPUT_XTEST'), WLROOTS: defines.get('LUMEN_INPUT_WLROOTS')})
  })
})
