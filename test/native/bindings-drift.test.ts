/**
 * The C headers are the contract; src/native/bindings mirrors them. This test parses every
 * LUMEN_API line of libs/include/*.h and checks the TypeScript table entry by entry.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {DataType} from 'ffi-rs'
import {describe, expect, it} from 'vitest'

import {bindings} from '../../src/native/bindings.js'

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
