/**
 * Where a measured run allocates: V8's sampling heap profiler over the run, counting the objects
 * the young and old collections freed too (garbage is what the hot path must not make), summed
 * by the function that allocated. A bench passes `--alloc-sites` to print the top sites in bytes
 * per frame; the profiler's own sampling adds a little time, so figures from such a run are not
 * the bench's figures.
 */
import {Session} from 'node:inspector/promises'

interface ProfileNode {
  callFrame: {functionName: string; url: string; lineNumber: number; columnNumber: number}
  selfSize: number
  children: ProfileNode[]
}

export interface AllocSite {
  site: string
  bytesPerFrame: number
  /** the calling function, for a site inside a shared helper */
  caller: string
}

export class AllocSampler {
  private readonly session = new Session()

  static async start(samplingInterval = 128): Promise<AllocSampler> {
    const s = new AllocSampler()
    s.session.connect()
    await s.session.post('HeapProfiler.enable')
    await s.session.post('HeapProfiler.startSampling', {samplingInterval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true})
    return s
  }

  /** Stops sampling; the top `count` sites by bytes per frame over `frames` frames. */
  async stop(frames: number, count = 12): Promise<AllocSite[]> {
    const {profile} = (await this.session.post('HeapProfiler.stopSampling')) as {profile: {head: ProfileNode}}
    this.session.disconnect()
    const bySite = new Map<string, {bytes: number; callers: Map<string, number>}>()
    const name = (n: ProfileNode): string => {
      const f = n.callFrame
      const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')
      return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`
    }
    const walk = (n: ProfileNode, parent: string): void => {
      if (n.selfSize > 0) {
        const key = name(n)
        const e = bySite.get(key) ?? {bytes: 0, callers: new Map<string, number>()}
        e.bytes += n.selfSize
        e.callers.set(parent, (e.callers.get(parent) ?? 0) + n.selfSize)
        bySite.set(key, e)
      }
      for (const c of n.children) walk(c, name(n))
    }
    walk(profile.head, '')
    return [...bySite.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, count)
      .map(([site, e]) => ({
        site,
        bytesPerFrame: Math.round((e.bytes / Math.max(1, frames)) * 10) / 10,
        caller: [...e.callers.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '',
      }))
  }
}
