/**
 * serve's config file: $XDG_CONFIG_HOME/lumen/config.json (or --config FILE, LUMEN_CONFIG), one
 * JSON object whose keys are serve's settings. Precedence: a flag on the command line, then its
 * LUMEN_* variable, then the file, then the flag's default. A file value is checked by the flag's
 * own definition (its options, range and parser), so the file accepts exactly what the flag does.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {CliFailure} from './errors.js'
import {readInputFile} from './files.js'
import {defaultConfigDir} from '../host/store.js'

/**
 * Every serve flag and its key in config.json; null for a flag that is about this one run, not a
 * setting kept in a file. A new serve flag must get a row (test/cli/config.test.ts checks).
 */
export const SERVE_CONFIG_KEYS: Record<string, string | null> = {
  source: 'source',
  'capture-path': 'capture-path',
  display: 'display',
  input: 'input',
  'uinput-path': 'uinput-path',
  'pipewire-node': 'pipewire-node',
  encoder: 'encoder',
  pacing: 'pacing',
  codecs: 'codecs',
  'send-at': 'send-at',
  'burst-packets': 'burst-packets',
  'burst-spread': 'burst-spread',
  audio: 'audio',
  pin: 'pin',
  'pin-minutes': 'pin-minutes',
  'max-sessions': 'max-sessions',
  'malloc-arenas': 'malloc-arenas',
  mdns: 'mdns',
  bind: 'bind',
  'port-base': 'port-base',
  'max-fps': 'max-fps',
  fec: 'fec',
  'video-encryption': 'video-encryption',
  name: 'name',
  'config-dir': 'config-dir',
  perf: 'perf',
  'x264-preset': 'x264-preset',
  'x265-preset': 'x265-preset',
  'aom-speed': 'aom-speed',
  'convert-threads': 'convert-threads',
  realtime: 'realtime',
  'spin-us': 'spin-us',
  'udp-gso': 'udp-gso',
  'portal-timeout': 'portal-timeout',
  socket: 'socket',
  // about this run only
  duration: null,
  'debug-gpu-fail-at': null,
  config: null,
  'print-config': null,
  json: null,
}

/** A maximum config file: settings are a few dozen short values. */
const MAX_CONFIG_BYTES = 64 * 1024

export type SettingSource = 'flag' | 'env' | 'file' | 'default' | 'unset'

export interface EffectiveSetting {
  key: string
  value: unknown
  source: SettingSource
  /** the variable or file it came from */
  from?: string
}

/** The part of an oclif flag definition the file check reads. */
interface FlagDef {
  type: 'boolean' | 'option'
  env?: string
  options?: readonly string[]
  default?: unknown
  min?: number
  max?: number
  parse?: (input: string, context: unknown, opts: unknown) => Promise<unknown>
}

export function defaultConfigFile(): string {
  return join(defaultConfigDir(), 'config.json')
}

/** The config file to read and whether it must exist: --config, then LUMEN_CONFIG, then the default (optional). */
export function configFileOf(flag: string | undefined): {path: string; required: boolean} {
  if (flag !== undefined) return {path: flag, required: true}
  const env = process.env.LUMEN_CONFIG
  if (env !== undefined && env !== '') return {path: env, required: true}
  return {path: defaultConfigFile(), required: false}
}

/** The file's object, or a CliFailure naming the file (exit 2). */
export function readConfigFile(path: string, required: boolean): Record<string, unknown> {
  if (!required && !existsSync(path)) return {}
  const text = readInputFile(path, 'the config file')
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new CliFailure('malformed_input', `the config file ${path} is over ${MAX_CONFIG_BYTES} bytes`)
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (error) {
    throw new CliFailure('malformed_input', `the config file ${path} is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CliFailure('malformed_input', `the config file ${path} must hold one JSON object of settings`)
  return v as Record<string, unknown>
}

function allowed(def: FlagDef): string {
  if (def.type === 'boolean') return 'true or false'
  if (def.options !== undefined) return `one of ${def.options.join(', ')}`
  if (def.min !== undefined || def.max !== undefined) return `an integer${def.min === undefined ? '' : ` from ${def.min}`}${def.max === undefined ? '' : ` to ${def.max}`}`
  return 'a string'
}

/** One file value checked and converted as the flag would take it from the command line. */
async function fileValue(path: string, key: string, def: FlagDef, raw: unknown): Promise<unknown> {
  const bad = (why: string): CliFailure => new CliFailure('malformed_input', `${path}: "${key}" ${why}; allowed: ${allowed(def)}`)
  if (def.type === 'boolean') {
    if (typeof raw !== 'boolean') throw bad(`is ${JSON.stringify(raw)}`)
    return raw
  }
  if (typeof raw !== 'string' && typeof raw !== 'number') throw bad(`is ${JSON.stringify(raw)}`)
  const input = String(raw)
  if (def.options !== undefined && !def.options.includes(input)) throw bad(`is ${JSON.stringify(raw)}`)
  if (def.parse === undefined) return input
  try {
    return await def.parse(input, {}, def)
  } catch (error) {
    throw bad(`is ${JSON.stringify(raw)} (${(error as Error).message})`)
  }
}

/**
 * serve's effective settings: each flag's value from the command line, its variable, the file
 * or its default, and where it came from. Unknown keys in the file are errors that name the key.
 */
export async function resolveSettings(
  defs: Record<string, FlagDef>,
  parsed: Record<string, unknown>,
  argvFlags: ReadonlySet<string>,
  file: {path: string; values: Record<string, unknown>},
): Promise<{flags: Record<string, unknown>; settings: EffectiveSetting[]}> {
  const byKey = new Map<string, string>()
  for (const [flag, key] of Object.entries(SERVE_CONFIG_KEYS)) if (key !== null) byKey.set(key, flag)
  for (const key of Object.keys(file.values)) {
    if (!byKey.has(key) || defs[byKey.get(key)!] === undefined) {
      throw new CliFailure('malformed_input', `${file.path}: "${key}" is not a setting; the settings are: ${[...byKey.keys()].sort().join(', ')}`)
    }
  }
  const flags: Record<string, unknown> = {...parsed}
  const settings: EffectiveSetting[] = []
  for (const [flag, def] of Object.entries(defs)) {
    const key = SERVE_CONFIG_KEYS[flag]
    if (key === null || key === undefined) continue
    if (argvFlags.has(flag)) settings.push({key, value: parsed[flag], source: 'flag'})
    else if (def.env !== undefined && process.env[def.env]) settings.push({key, value: parsed[flag], source: 'env', from: def.env})
    else if (key in file.values) {
      flags[flag] = await fileValue(file.path, key, def, file.values[key])
      settings.push({key, value: flags[flag], source: 'file', from: file.path})
    } else settings.push({key, value: parsed[flag], source: parsed[flag] === undefined ? 'unset' : 'default'})
  }
  return {flags, settings}
}
