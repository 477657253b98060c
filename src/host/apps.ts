/**
 * apps.json (README "Apps"): a list of apps, each checked on its own. A bad entry is reported
 * with its index and field and left out; the others still load. Only a file that is not a JSON
 * list, or that leaves no app, stops the host.
 */
import {existsSync, statSync} from 'node:fs'
import {isAbsolute} from 'node:path'

import type {PrepStep} from './app-prep.js'
import type {AppEntry} from './store.js'

const MAX_APPS = 256
const MAX_TEXT = 4096
const MAX_PREP = 16

/** One rule per field: the check and the words for what is allowed. */
const FIELDS: Record<string, {required: boolean; allowed: string; ok(v: unknown): boolean}> = {
  id: {required: true, allowed: 'an integer from 1 to 2147483647, unique', ok: (v) => Number.isInteger(v) && (v as number) > 0 && (v as number) <= 0x7fffffff},
  title: {required: true, allowed: `a non-empty name of at most ${MAX_TEXT} characters`, ok: (v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT},
  cmd: {required: false, allowed: `a shell command of at most ${MAX_TEXT} characters`, ok: (v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT},
  'working-dir': {required: false, allowed: 'the absolute path of a folder', ok: (v) => typeof v === 'string' && isAbsolute(v) && existsSync(v) && statSync(v).isDirectory()},
  image: {required: false, allowed: 'the absolute path of a PNG file', ok: (v) => typeof v === 'string' && isAbsolute(v) && existsSync(v) && statSync(v).isFile()},
  hdr: {required: false, allowed: 'true or false', ok: (v) => typeof v === 'boolean'},
  'prep-cmd': {
    required: false,
    allowed: `a list of at most ${MAX_PREP} steps {"do": command, "undo": command} (either may be left out, not both; commands of at most ${MAX_TEXT} characters)`,
    ok: (v) => Array.isArray(v) && v.length <= MAX_PREP && v.every(isPrepStep),
  },
}

function isPrepStep(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const keys = Object.keys(v)
  const text = (c: unknown): boolean => typeof c === 'string' && c.length > 0 && c.length <= MAX_TEXT
  return keys.length > 0 && keys.every((k) => (k === 'do' || k === 'undo') && text((v as Record<string, unknown>)[k]))
}

export interface AppsLoad {
  apps: AppEntry[]
  /** "app 2 ("Steam"): "image" …", one per entry left out */
  problems: string[]
}

/** The entries of an apps.json list that check out; the list itself is checked by the caller. */
export function checkApps(list: unknown[]): AppsLoad {
  const apps: AppEntry[] = []
  const problems: string[] = []
  const ids = new Set<number>()
  for (const [i, raw] of list.slice(0, MAX_APPS).entries()) {
    const where = `app ${i}${typeof (raw as {title?: unknown})?.title === 'string' ? ` ("${String((raw as {title: string}).title).slice(0, 40)}")` : ''}`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${where}: not an object`)
      continue
    }
    const entry = raw as Record<string, unknown>
    const bad = Object.keys(entry).find((k) => FIELDS[k] === undefined)
    if (bad !== undefined) {
      problems.push(`${where}: "${bad}" is not a field; the fields are ${Object.keys(FIELDS).join(', ')}`)
      continue
    }
    const wrong = Object.entries(FIELDS).find(([k, f]) => (entry[k] === undefined ? f.required : !f.ok(entry[k])))
    if (wrong !== undefined) {
      problems.push(`${where}: "${wrong[0]}" is ${entry[wrong[0]] === undefined ? 'missing' : JSON.stringify(entry[wrong[0]])}; allowed: ${wrong[1].allowed}`)
      continue
    }
    if (ids.has(entry.id as number)) {
      problems.push(`${where}: "id" ${String(entry.id)} appears twice`)
      continue
    }
    ids.add(entry.id as number)
    apps.push({id: entry.id as number, title: entry.title as string, cmd: entry.cmd as string | undefined, workingDir: entry['working-dir'] as string | undefined, image: entry.image as string | undefined, hdr: entry.hdr as boolean | undefined, prep: entry['prep-cmd'] as PrepStep[] | undefined})
  }
  if (list.length > MAX_APPS) problems.push(`apps after the first ${MAX_APPS} are left out`)
  return {apps, problems}
}
