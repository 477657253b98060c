/**
 * An app's prep commands (apps.json "prep-cmd", as Sunshine has them): each step's `do` runs
 * before the app starts, in order, and each done step's `undo` runs when the app stops, in
 * reverse order (a resolution change and its restore, a game mode and its end). A `do` that fails
 * undoes the steps before it and refuses the launch with its reason; an `undo` that fails is
 * logged and the rest still run.
 */
import {spawn} from 'node:child_process'

export interface PrepStep {
  do?: string
  undo?: string
}

/** A step may take this long before it is killed and counts as failed. */
export const PREP_STEP_TIMEOUT_MS = 20_000

/** Runs `cmd` with /bin/sh in `cwd`; resolves with undefined on exit 0, else what went wrong. */
export function runShellStep(cmd: string, cwd: string | undefined, timeoutMs = PREP_STEP_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], {stdio: ['ignore', 'ignore', 'pipe'], detached: true, cwd})
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 400) stderr += d.toString()
    })
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
      finish(`did not finish within ${timeoutMs / 1000} s`)
    }, timeoutMs)
    let done = false
    function finish(why: string | undefined): void {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve(why)
    }
    child.on('error', (e) => finish(e.message))
    child.on('exit', (code, signal) => {
      const tail = stderr.trim().split('\n').at(-1)
      finish(code === 0 ? undefined : `${signal !== null ? `killed by ${signal}` : `exit ${code}`}${tail ? `: ${tail.slice(0, 200)}` : ''}`)
    })
  })
}

/** The undo half of the steps that were done. */
export interface PreparedApp {
  undo(): Promise<void>
}

/**
 * Runs the `do` of every step; throws a sentence naming the step when one fails, after undoing
 * the steps before it. `log` hears what each undo that failed said.
 */
export async function prepareApp(title: string, steps: readonly PrepStep[], cwd: string | undefined, log: (m: string) => void): Promise<PreparedApp> {
  const done: PrepStep[] = []
  const undo = async (): Promise<void> => {
    for (const [i, step] of [...done.entries()].reverse()) {
      if (step.undo === undefined) continue
      const why = await runShellStep(step.undo, cwd)
      if (why !== undefined) log(`app '${title}': undo of prep step ${i + 1} failed (${why}); the rest still run`)
    }
    done.length = 0
  }
  for (const [i, step] of steps.entries()) {
    const why = step.do === undefined ? undefined : await runShellStep(step.do, cwd)
    if (why !== undefined) {
      await undo()
      throw new Error(`prep step ${i + 1} of '${title}' failed (${why})${i > 0 ? '; the steps before it were undone' : ''}`)
    }
    done.push(step)
  }
  return {undo}
}
