/**
 * User-facing output shared by every command: tables (cli-table3), colour (chalk, only on
 * a TTY), and a progress line on stderr for work longer than a second. Data goes to
 * stdout, progress and status to stderr.
 */
import {Chalk, type ChalkInstance} from 'chalk'
import Table from 'cli-table3'

/** chalk with colour only when stdout is a terminal (and NO_COLOR is unset). */
export const color: ChalkInstance = new Chalk({
  level: process.stdout.isTTY === true && process.env.NO_COLOR === undefined ? 1 : 0,
})

export type Cell = string | number | boolean | null | undefined

export function renderTable(head: string[], rows: Cell[][], options: {title?: string} = {}): string {
  const table = new Table({
    head: head.map((h) => color.bold(h)),
    style: {head: [], border: []},
  })
  for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? '' : String(c))))
  return options.title === undefined ? table.toString() : `${color.bold(options.title)}\n${table.toString()}`
}

/** ok / absent / failed, coloured on a TTY. */
export function verdict(state: 'ok' | 'absent' | 'failed' | 'warn'): string {
  switch (state) {
    case 'ok':
      return color.green('ok')
    case 'absent':
      return color.yellow('absent')
    case 'warn':
      return color.yellow('warn')
    case 'failed':
      return color.red('failed')
  }
}

/**
 * A progress line on stderr, redrawn at most every 100 ms, shown only on a TTY and only
 * once the work has run for a second.
 */
export class Progress {
  private readonly started = Date.now()
  private lastDraw = 0
  private drawn = false

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    if (this.stream.isTTY !== true) return
    const now = Date.now()
    if (now - this.started < 1000 || now - this.lastDraw < 100) return
    this.lastDraw = now
    this.drawn = true
    const share = this.total > 0 ? Math.min(1, done / this.total) : 0
    const width = 30
    const bar = '█'.repeat(Math.round(share * width)).padEnd(width, '░')
    this.stream.write(`\r${this.label} ${bar} ${(share * 100).toFixed(0).padStart(3)}% (${done}/${this.total})`)
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K')
  }
}
