/**
 * Every bound the host puts on what an unauthenticated (or merely paired) peer can make it hold:
 * connections, request sizes and times, pairing attempts, PIN checks, ENet half-open peers. One
 * place, so SECURITY.md and the code cannot drift apart; SECURITY.md §Limits lists them. Frozen
 * objects of plain numbers, so tests may give a host other values of the same shape.
 */

/** TCP listeners (HTTP 47989, HTTPS 47984, RTSP 48010). */
const connectionLimits = {
  /** open connections from one source address per port */
  perSource: 32,
  /** open connections per port in all */
  total: 256,
  /** a connection that sends nothing for this long is closed */
  idleMs: 5_000,
  /** a request must be complete (headers and body) this long after its connection opened */
  requestMs: 8_000,
  /** request line and headers */
  maxHeaderBytes: 8 * 1024,
  /** HTTP request bodies (clients send none) */
  maxBodyBytes: 4 * 1024,
  maxHeaders: 64,
}
export const CONNECTION_LIMITS: Readonly<typeof connectionLimits> = Object.freeze(connectionLimits)

/** Pairing (http-and-pairing.md §6): pending attempts and PIN checks. */
const pairingLimits = {
  /** a pending attempt (between getservercert and clientpairingsecret) expires after this */
  attemptMs: 60_000,
  /** pending attempts from one source address; a new one replaces that address's oldest */
  perSource: 2,
  /** pending attempts in all; a new one replaces the oldest attempt of another address */
  total: 8,
  /** wrong PINs from one address before it has to wait */
  freePerSource: 2,
  /** wrong PINs host-wide before every address has to wait */
  freeTotal: 8,
  /** the first wait, doubled for every further wrong PIN, capped at maxWaitMs */
  firstWaitMs: 5_000,
  maxWaitMs: 300_000,
  /** a wrong-PIN record is forgotten after this long without another wrong PIN */
  forgetMs: 15 * 60_000,
  /** distinct addresses whose wrong PINs are remembered (the oldest record goes first) */
  trackedSources: 1024,
}
export const PAIRING_LIMITS: Readonly<typeof pairingLimits> = Object.freeze(pairingLimits)

/** A fixed PIN (`--pin`, LUMEN_PIN) is good for one pairing attempt and this long. */
export const DEFAULT_PIN_MINUTES = 10

/** The control stream's ENet host (control-stream.md §1.5, libs/include/lumen_enet.h). */
const enetLimits = {
  peers: 32,
  /** half-open peers (CONNECT seen, handshake not finished) from one source address */
  halfOpenPerSource: 2,
  /** a half-open peer is reset this long after its CONNECT */
  handshakeMs: 3_000,
}
export const ENET_LIMITS: Readonly<typeof enetLimits> = Object.freeze(enetLimits)
