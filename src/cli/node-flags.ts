/**
 * The V8 options every `lumen` process runs with: bin/run.js's shebang carries them (a process
 * cannot change them once its heap exists), the systemd unit's ExecStart, the npm scripts and
 * the tests' spawns pass the same list (test/cli/node-flags.test.ts holds the shebang and the
 * scripts to it).
 *
 * --max-semi-space-size=2: V8 grows the young generation to 16 MB semi-spaces under a burst of
 * short-lived objects (a flood of TLS connections, many launches) and keeps them committed: 15 MB
 * of resident memory that never comes back. 2 MB semi-spaces keep the host's memory flat across
 * floods (`npm run bench -- flood`) for scavenges that stay well under a millisecond; the media
 * loops run in worker threads and C, where this does not reach.
 *
 * --no-memory-reducer: a few seconds after start-up's major GC V8's memory reducer runs two more
 * full collections to shrink a heap it believes idle; one lands in the middle of a stream and
 * stops the video worker for ~8 ms, a late frame at 240 fps (`npm run bench -- pipeline` shows
 * the GC beside each late frame). The old generation still collects when it grows.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--no-memory-reducer']
