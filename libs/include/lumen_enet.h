/* Lumen shim: the control stream's ENet (Debian's libenet 1.3.17), host and client side.
 *
 * Few calls per tick: lumen_enet_service returns a batch of events packed into the caller's
 * buffer. Each event record is a 24-byte little-endian header followed by its payload:
 *   0 u8 type (1 connect, 2 disconnect, 3 receive, 4 receive dropped: larger than the buffer)
 *   1 u8 channel   2 u16 packet flags (1 reliable, 2 unsequenced)
 *   4 u32 peer index (stable for the host's lifetime; use it with the peer calls)
 *   8 u32 data (connect data on connect, disconnect data on disconnect)
 *  12 4 bytes IPv4 address of the peer (network order)   16 u16 port   18 u16 0
 *  20 u32 payload length (0 except for receive; the original length for a dropped packet)
 *  24 payload bytes (receive only), then the next record.
 * IPv4 only (control-stream.md §1.2). Handles are per process; use one host from one thread. */
#ifndef LUMEN_ENET_H
#define LUMEN_ENET_H

#include <stdint.h>

#include "lumen_core.h"

#define LUMEN_ENET_EVENT_HEADER 24
#define LUMEN_ENET_EVENT_CONNECT 1
#define LUMEN_ENET_EVENT_DISCONNECT 2
#define LUMEN_ENET_EVENT_RECEIVE 3
#define LUMEN_ENET_EVENT_DROPPED 4

/* The largest packet a peer may send (larger ones are refused by libenet), and the most
 * received-but-undelivered data libenet keeps per host; control messages are far smaller. */
#define LUMEN_ENET_MAX_PACKET (64 * 1024)
#define LUMEN_ENET_MAX_WAITING (1024 * 1024)

#define LUMEN_ENET_SEND_RELIABLE 1
#define LUMEN_ENET_SEND_UNSEQUENCED 2

#define LUMEN_ENET_DISCONNECT_GRACEFUL 0
#define LUMEN_ENET_DISCONNECT_NOW 1
#define LUMEN_ENET_DISCONNECT_LATER 2
#define LUMEN_ENET_DISCONNECT_RESET 3

/* Creates an ENet host bound to bind_addr:port (bind_addr "" = any, port 0 = ephemeral; a
 * client passes port 0). channel_limit 0 = ENet's maximum (255). Returns a host handle. */
LUMEN_API int32_t lumen_enet_host_create(const char *bind_addr, int32_t port, int32_t peer_count, int32_t channel_limit, char *err, int32_t err_len);
/* The UDP port the host's socket is bound to. */
LUMEN_API int32_t lumen_enet_host_port(int32_t host, char *err, int32_t err_len);
/* Destroys the host (every peer is reset without notice). */
LUMEN_API int32_t lumen_enet_host_destroy(int32_t host);
/* Starts a connection to addr:port with channel_count channels and the 32-bit connect data;
 * returns the peer index. The connect event arrives through lumen_enet_service. */
LUMEN_API int32_t lumen_enet_host_connect(int32_t host, const char *addr, int32_t port, int32_t channel_count, uint32_t data, char *err, int32_t err_len);
/* Sends and receives, waiting up to timeout_ms for the first event, then packs every ready
 * event into out (see above). Returns the number of bytes written (0 = no event). */
LUMEN_API int32_t lumen_enet_service(int32_t host, int32_t timeout_ms, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Queues data on a channel of a connected peer (flags: LUMEN_ENET_SEND_*); sent on the next
 * lumen_enet_service or lumen_enet_flush. */
LUMEN_API int32_t lumen_enet_send(int32_t host, int32_t peer, int32_t channel, int32_t flags, uint8_t *data, int32_t len, char *err, int32_t err_len);
/* Sends every queued packet now. */
LUMEN_API int32_t lumen_enet_flush(int32_t host);
/* Disconnects a peer (mode: LUMEN_ENET_DISCONNECT_*) with the 32-bit data. */
LUMEN_API int32_t lumen_enet_disconnect(int32_t host, int32_t peer, uint32_t data, int32_t mode);
/* enet_peer_timeout: limit, minimum and maximum in milliseconds (0 = ENet's defaults). */
LUMEN_API int32_t lumen_enet_peer_timeout(int32_t host, int32_t peer, int32_t limit, int32_t min_ms, int32_t max_ms);
/* The host-side CONNECT guard (control-stream.md §1.5), so strangers cannot fill the peer slots
 * with half-open connections. Once enabled, every received CONNECT is checked before libenet
 * allocates a peer for it, and dropped (counted, never answered) when
 *   - its connect data matches no expected entry (a data of 0 matches an entry by its address:
 *     clients without connect data),
 *   - its source address already holds per_source half-open peers,
 *   - the expected entry it matches already holds LUMEN_ENET_GUARD_PER_ENTRY half-open peers and
 *     it comes from another address than the entry's (someone replaying sniffed connect data),
 *   - or it is not a well-formed CONNECT datagram.
 * A peer still half-open handshake_ms after its CONNECT is reset (counted). */
#define LUMEN_ENET_GUARD_MAX_EXPECTED 16
#define LUMEN_ENET_GUARD_ENTRY_LEN 8
#define LUMEN_ENET_GUARD_PER_ENTRY 2
/* Counters written by lumen_enet_guard_stats, LE32 each, in this order. */
#define LUMEN_ENET_GUARD_ADMITTED 0
#define LUMEN_ENET_GUARD_UNKNOWN 1
#define LUMEN_ENET_GUARD_PER_SOURCE 2
#define LUMEN_ENET_GUARD_ENTRY_FULL 3
#define LUMEN_ENET_GUARD_MALFORMED 4
#define LUMEN_ENET_GUARD_TIMED_OUT 5
#define LUMEN_ENET_GUARD_COUNTERS 6
#define LUMEN_ENET_GUARD_STATS_LEN 24 /* LUMEN_ENET_GUARD_COUNTERS LE32 values */

/* Enables the guard on a host (per_source 1-255 half-open peers per IPv4 source, handshake_ms
 * 100-60000); the expected set starts empty, so every CONNECT is dropped until one is set. */
LUMEN_API int32_t lumen_enet_guard(int32_t host, int32_t per_source, int32_t handshake_ms, char *err, int32_t err_len);
/* Replaces the expected set: count entries of LUMEN_ENET_GUARD_ENTRY_LEN bytes, each an LE32
 * connect data and a 4-byte IPv4 address in network order (0.0.0.0 = any); len is the buffer's. */
LUMEN_API int32_t lumen_enet_guard_expect(int32_t host, uint8_t *entries, int32_t len, int32_t count, char *err, int32_t err_len);
/* Writes the LUMEN_ENET_GUARD_COUNTERS counters (totals since the guard was enabled); returns
 * LUMEN_ENET_GUARD_STATS_LEN. */
LUMEN_API int32_t lumen_enet_guard_stats(int32_t host, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Writes 6 LE32 values into out: state, round-trip ms, round-trip variance ms, packet loss
 * (fraction of 65536), reliable packets sent, packets lost. Returns 24. */
LUMEN_API int32_t lumen_enet_peer_stats(int32_t host, int32_t peer, uint8_t *out, int32_t out_len);

#endif
