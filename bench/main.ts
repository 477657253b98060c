/**
 * One entry point for every benchmark: `npm run bench -- <name> [--json] [args]` runs
 * bench/<name>.ts, which exports `run(args: string[]): Promise<void>`. Each prints figures a
 * reviewer can compare between commits; `--json` prints one object instead of a table.
 */
import {readdirSync} from 'node:fs'
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

interface BenchModule {
  run(args: string[]): Promise<void>
  summary?: string
}

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'main.js' && !f.startsWith('_'))
  .map((f) => f.replace(/\.js$/, ''))
  .sort()

const [name, ...args] = process.argv.slice(2)
if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}> [--json] [args]\n`)
  process.exit(name === undefined ? 0 : 2)
}
const mod = (await import(`./${name}.js`)) as BenchModule
await mod.run(args)
