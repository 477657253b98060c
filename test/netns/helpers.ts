/**
 * Emulated links for tests: a network namespace joined to the root namespace by a veth pair,
 * with optional nftables random drop (numgen random mod 100 < N) and a tbf rate limit with a
 * shallow queue. This kernel has no netem; nftables and tbf work as root.
 *
 * Addresses are private /30s in 10.213.x.0 chosen per link, used only inside these namespaces.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'

import {installed} from '../helpers/index.js'

export interface NetnsLink {
  ns: string
  /** the root-namespace end */
  hostIf: string
  hostAddr: string
  /** the end inside the namespace */
  nsIf: string
  nsAddr: string
  /** runs a command inside the namespace */
  exec(args: string[]): string
  /** random drop of UDP packets leaving the namespace from `sport` (percent) */
  dropFromPort(sport: number, percent: number): void
  /** random drop of UDP packets entering the namespace to `dport` (percent) */
  dropToPort(dport: number, percent: number): void
  /** nftables counter of UDP packets entering the namespace to `dport` */
  countToPort(dport: number): void
  counter(dport: number): {packets: number; bytes: number}
  /** a tbf rate limit with a shallow queue on the root end's egress (toward the namespace) */
  shape(o: {rateMbit: number; burstBytes: number; limitBytes: number}): void
  qdiscStats(): {sent: number; dropped: number; overlimits: number}
  close(): void
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
}

/** Why namespaces cannot be made here (undefined when they can). */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need root'
  for (const tool of ['ip', 'nft', 'tc']) {
    if (!installed(tool)) return `${tool} is not installed`
  }
  const name = `lumen-probe-${randomBytes(3).toString('hex')}`
  const r = spawnSync('ip', ['netns', 'add', name], {encoding: 'utf8'})
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', name])
  return undefined
}

let next = Math.floor(Math.random() * 60)

export function createLink(): NetnsLink {
  const id = randomBytes(3).toString('hex')
  const ns = `lumen-${id}`
  const hostIf = `lh${id}`
  const nsIf = `lc${id}`
  const n = (next++ % 60) * 4
  const hostAddr = `10.213.${Math.floor(Math.random() * 250)}.${n + 1}`
  const nsAddr = hostAddr.replace(/\.\d+$/, `.${n + 2}`)
  run('ip', ['netns', 'add', ns])
  const exec = (args: string[]): string => run('ip', ['netns', 'exec', ns, ...args])
  try {
    run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf])
    run('ip', ['link', 'set', nsIf, 'netns', ns])
    run('ip', ['addr', 'add', `${hostAddr}/30`, 'dev', hostIf])
    run('ip', ['link', 'set', hostIf, 'up'])
    exec(['ip', 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf])
    exec(['ip', 'link', 'set', nsIf, 'up'])
    exec(['ip', 'link', 'set', 'lo', 'up'])
    exec(['nft', 'add', 'table', 'inet', 'lumen'])
    exec(['nft', 'add', 'chain', 'inet', 'lumen', 'output', '{ type filter hook output priority 0 ; }'])
    exec(['nft', 'add', 'chain', 'inet', 'lumen', 'input', '{ type filter hook input priority 0 ; }'])
  } catch (error) {
    spawnSync('ip', ['link', 'del', hostIf])
    spawnSync('ip', ['netns', 'del', ns])
    throw error
  }
  return {
    ns,
    hostIf,
    hostAddr,
    nsIf,
    nsAddr,
    exec,
    dropFromPort: (sport, percent) => {
      // on the veth's egress hook, not the output hook: a drop in the output hook fails the
      // sender's system call (EPERM), so a batching sender would simply send that datagram again;
      // at egress the datagram vanishes silently, as on a lossy link
      exec(['nft', 'add', 'table', 'netdev', 'lumenloss'])
      exec(['nft', 'add', 'chain', 'netdev', 'lumenloss', 'egress', `{ type filter hook egress device "${nsIf}" priority 0 ; }`])
      exec(['nft', 'add', 'rule', 'netdev', 'lumenloss', 'egress', 'udp', 'sport', String(sport), 'numgen', 'random', 'mod', '100', '<', String(percent), 'counter', 'drop'])
    },
    dropToPort: (dport, percent) => {
      exec(['nft', 'add', 'rule', 'inet', 'lumen', 'input', 'udp', 'dport', String(dport), 'numgen', 'random', 'mod', '100', '<', String(percent), 'counter', 'drop'])
    },
    countToPort: (dport) => {
      // count, then drop (no socket listens there: no ICMP back to the sender)
      exec(['nft', 'add', 'rule', 'inet', 'lumen', 'input', 'udp', 'dport', String(dport), 'counter', 'drop'])
    },
    counter: (dport) => {
      const out = exec(['nft', 'list', 'chain', 'inet', 'lumen', 'input'])
      const m = new RegExp(`udp dport ${dport} counter packets (\\d+) bytes (\\d+) drop`).exec(out)
      return {packets: Number(m?.[1] ?? 0), bytes: Number(m?.[2] ?? 0)}
    },
    shape: ({rateMbit, burstBytes, limitBytes}) => {
      run('tc', ['qdisc', 'replace', 'dev', hostIf, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burstBytes), 'limit', String(limitBytes)])
    },
    qdiscStats: () => {
      const out = run('tc', ['-s', 'qdisc', 'show', 'dev', hostIf])
      const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/.exec(out)
      return {sent: Number(m?.[2] ?? 0), dropped: Number(m?.[3] ?? 0), overlimits: Number(m?.[4] ?? 0)}
    },
    close: () => {
      spawnSync('ip', ['link', 'del', hostIf])
      spawnSync('ip', ['netns', 'del', ns])
    },
  }
}
