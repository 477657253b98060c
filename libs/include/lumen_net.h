/* Lumen shim: media UDP send (and receive for the test client), absolute-deadline sleep and the
 * per-stream send thread ("pacer").
 *
 * Sockets are int32 handles. lumen_udp_adopt() dup()s a socket the control plane already bound
 * (the video/audio port the client's pings arrive on), so media leave FROM that port, as the
 * protocol requires (docs/protocol/video.md §1). A batch send uses UDP GSO (one sendmsg with
 * UDP_SEGMENT per run of equal-sized datagrams, several such messages per sendmmsg call) where the
 * kernel accepts it, else plain sendmmsg; EAGAIN (an adopted socket is non-blocking) waits in
 * poll() for room. GSO starts on for every socket; lumen_udp_set_gso() turns it off.
 *
 * Packet batches cross the seam as one Buffer of `count` slots of `stride` bytes each plus an
 * int32 little-endian length per slot (`lens`, 4*count bytes). Every buffer comes with its length
 * in bytes; a buffer shorter than the call needs fails with LUMEN_E_BUFFER before anything is read
 * or written.
 *
 * Sockets and pacers are generation-tagged handles: a handle kept after its close is refused
 * (LUMEN_E_INVALID) even when a new socket or pacer reuses the slot.
 *
 * The pacer is one thread per stream. lumen_pacer_submit() copies a frame's packets into the
 * pacer's ring and returns at once; the thread sleeps (clock_nanosleep CLOCK_MONOTONIC
 * TIMER_ABSTIME; the last spin_us µs spinning) until the frame's deadline
 * and then sends it:
 *   LUMEN_PACING_LINE:  all packets at once, at line rate, in batches (no sleeps between them);
 *   LUMEN_PACING_BURST: bursts of at most `burst_packets` packets spread evenly over
 *                       spread_permille/1000 of the frame interval (absolute sleeps between bursts).
 * A frame submitted after its deadline is sent at once (late). Each sent frame leaves a completion
 * record (lumen_pacer_poll) with its timings, so the caller can log them off the hot path. */
#ifndef LUMEN_NET_H
#define LUMEN_NET_H

#include <stdint.h>

#include "lumen_core.h"

#define LUMEN_UDP_REUSEADDR 1 /* lumen_udp_open flag: SO_REUSEADDR */
/* lumen_udp_open flag: UDP_GRO, the socket takes a GSO send from loopback whole instead of as
 * one datagram each; for a sink nobody reads datagram by datagram (lumen_udp_recv_batch would
 * get the coalesced ones) */
#define LUMEN_UDP_GRO 2

#define LUMEN_PACING_LINE 0
#define LUMEN_PACING_BURST 1

/* lumen_udp_stats: LUMEN_UDP_STATS_LEN bytes, uint64 little-endian counters in this order. */
#define LUMEN_UDP_STATS_LEN 80
/* 0 datagrams sent, 1 bytes sent, 2 send system calls, 3 GSO messages, 4 EAGAIN waits,
 * 5 send errors (datagrams dropped), 6 datagrams received, 7 bytes received,
 * 8 GSO in use (1/0), 9 the last errno of a failed send */

/* lumen_pacer_poll: one LUMEN_PACER_RECORD_LEN-byte record per sent frame, little-endian:
 *   u32 frame id   u32 packets   u32 bytes   u32 largest burst (packets back to back)
 *   i64 deadline ns   i64 submit ns (frame ready)   i64 first send ns   i64 last send done ns
 *   u32 send system calls   u32 datagrams dropped (send errors)   u32 late (1/0)   u32 0 */
#define LUMEN_PACER_RECORD_LEN 64

/* Opens a UDP socket bound to bind_addr ("" = any IPv4, "::" = any IPv6 dual-stack) and port
 * (0 = ephemeral), with SO_SNDBUF and SO_RCVBUF of 4 MiB (or what the kernel grants).
 * Returns the socket handle. */
LUMEN_API int32_t lumen_udp_open(const char *bind_addr, int32_t port, int32_t flags, char *err, int32_t err_len);
/* Takes a dup() of an already bound UDP socket's file descriptor (e.g. a Node dgram socket's):
 * sends leave from that socket's address and port. Returns the socket handle. */
LUMEN_API int32_t lumen_udp_adopt(int32_t fd, char *err, int32_t err_len);
/* The uid of the process at the other end of a connected unix socket (SO_PEERCRED), for a
 * control socket that serves only its own user. fd stays the caller's. Returns the uid (>= 0). */
LUMEN_API int32_t lumen_unix_peer_uid(int32_t fd, char *err, int32_t err_len);
/* The socket's file descriptor (still owned by the shim: for lumen_udp_adopt in another part of
 * the process, which dup()s it). */
LUMEN_API int32_t lumen_udp_fd(int32_t sock, char *err, int32_t err_len);
/* The local port the socket is bound to. */
LUMEN_API int32_t lumen_udp_port(int32_t sock, char *err, int32_t err_len);
/* Sets where sends go: an IPv4 or IPv6 address and a port. */
LUMEN_API int32_t lumen_udp_set_peer(int32_t sock, const char *address, int32_t port, char *err, int32_t err_len);
/* DSCP/TOS byte (IP_TOS / IPV6_TCLASS; -1 leaves it) and SO_PRIORITY (-1 leaves it). */
LUMEN_API int32_t lumen_udp_set_qos(int32_t sock, int32_t tos, int32_t priority, char *err, int32_t err_len);
/* Enables (1) or disables (0) UDP GSO for batch sends; returns whether it is now in use
 * (0 when the kernel lacks UDP_SEGMENT). */
LUMEN_API int32_t lumen_udp_set_gso(int32_t sock, int32_t enable);
/* Sends one datagram (the whole of data, data_len bytes, at most 65507) to the peer. Returns its length. */
LUMEN_API int32_t lumen_udp_send(int32_t sock, const uint8_t *data, int32_t data_len, char *err, int32_t err_len);
/* Sends `count` datagrams (slots of `stride` bytes in data, at least count*stride bytes; int32
 * lengths in 1..stride in lens, at least 4*count bytes) to the peer, in order, at line rate. info
 * (NULL, or 16 bytes or more) gets u32 system calls, u32 dropped, i64 ns spent.
 * Returns the number of datagrams the kernel took. */
LUMEN_API int32_t lumen_udp_send_batch(int32_t sock, const uint8_t *data, int32_t data_len, const uint8_t *lens, int32_t lens_len, int32_t count, int32_t stride, uint8_t *info, int32_t info_len, char *err, int32_t err_len);
/* Receives up to max_count (1..1024) datagrams (recvmmsg) into slots of `stride` bytes of data
 * (at least max_count*stride bytes), lengths into lens (int32 each, at least 4*max_count bytes),
 * waiting up to timeout_ms for the first one (0 = do not wait). from (NULL, or >= 64 bytes) gets
 * the first datagram's source as "address port" text. Returns the number received (0 on timeout). */
LUMEN_API int32_t lumen_udp_recv_batch(int32_t sock, uint8_t *data, int32_t data_len, int32_t stride, int32_t max_count, uint8_t *lens, int32_t lens_len, int32_t timeout_ms, uint8_t *from, int32_t from_len, char *err, int32_t err_len);
/* Copies the socket's counters (LUMEN_UDP_STATS_LEN bytes) into out. */
LUMEN_API int32_t lumen_udp_stats(int32_t sock, uint8_t *out, int32_t out_len);
/* Closes the socket (its descriptor; an adopted socket's original stays open). */
LUMEN_API int32_t lumen_udp_close(int32_t sock);

/* Sleeps until the absolute CLOCK_MONOTONIC time deadline_ns (clock_nanosleep TIMER_ABSTIME).
 * Returns at once when the deadline has passed. Returns 0. */
LUMEN_API int32_t lumen_sleep_until(int64_t deadline_ns);

/* Moves the calling thread to SCHED_FIFO at `priority` (1-99; 0 = back to SCHED_OTHER), with the
 * same permission rule as lumen_pacer_set_realtime. For the stream's frame loop. */
LUMEN_API int32_t lumen_thread_set_realtime(int32_t priority, char *err, int32_t err_len);

/* Starts a send thread for `sock` (the thread takes a reference to it for each frame it sends;
 * frames sent after the socket's close are counted as sent to nobody).
 * mode LUMEN_PACING_LINE or LUMEN_PACING_BURST; burst_packets 1..1024 (burst mode);
 * spread_permille 1..1000: the share of the frame interval a frame's bursts are spread over;
 * ring_bytes: room for queued frames (at least 1 MiB is used); spin_us 0..2000: how long before a
 * frame's deadline the thread stops sleeping and spins (0 = sleep to the deadline).
 * Returns the pacer handle. */
LUMEN_API int32_t lumen_pacer_open(int32_t sock, int32_t mode, int32_t burst_packets, int32_t spread_permille, int32_t ring_bytes, int32_t spin_us, char *err, int32_t err_len);
/* Queues one frame: its packets (slots of `stride` bytes in data, at least count*stride bytes;
 * int32 lengths in lens, at least 4*count bytes), to be sent at deadline_ns; interval_ns is the
 * frame interval (burst spreading). Copies the packets and returns at once. LUMEN_E_AGAIN when
 * the ring is full (the frame is not queued). */
LUMEN_API int32_t lumen_pacer_submit(int32_t pacer, uint32_t frame_id, int64_t deadline_ns, int64_t interval_ns, const uint8_t *data, int32_t data_len, const uint8_t *lens, int32_t lens_len, int32_t count, int32_t stride, char *err, int32_t err_len);
/* Packetizes one video frame (lumen_packetize.h: headers, shard layout, Reed-Solomon, AES-GCM
 * with the key of lumen_pacer_set_gcm when the descriptor asks for it) straight into the send
 * thread's ring and queues it for deadline_ns (a deadline already past: sent at once). The GCM
 * IV counter comes from the descriptor. Returns the number of packets; LUMEN_E_AGAIN when the
 * ring is full (the frame is not queued). */
LUMEN_API int32_t lumen_pacer_submit_video(int32_t pacer, uint32_t frame_id, int64_t deadline_ns, int64_t interval_ns, const uint8_t *frame, int32_t frame_len, const uint8_t *desc, int32_t desc_len, char *err, int32_t err_len);
/* Encrypts every packet submitted from now on with AES-128-GCM (media-encryption.md §3): the
 * datagram becomes a 32-byte prefix (12-byte IV: iv_counter little-endian in bytes 0-7, 0x56 in
 * byte 11; the packet's frameIndex; the 16-byte tag) and the ciphertext, 32 bytes longer than the
 * plaintext packet. The counter then advances by one per packet. key_len 0 turns it off. */
LUMEN_API int32_t lumen_pacer_set_gcm(int32_t pacer, const uint8_t *key, int32_t key_len, int64_t iv_counter, char *err, int32_t err_len);
/* The next GCM IV counter value. */
LUMEN_API int64_t lumen_pacer_gcm_counter(int32_t pacer);
/* Copies completion records of sent frames into out (whole records only). Returns the count. */
LUMEN_API int32_t lumen_pacer_poll(int32_t pacer, uint8_t *out, int32_t out_len);
/* Waits until every queued frame is sent or timeout_ms passes. Returns frames still queued. */
LUMEN_API int32_t lumen_pacer_drain(int32_t pacer, int32_t timeout_ms);
/* Runs the send thread under SCHED_FIFO at `priority` (1-99), so other processes on a busy core
 * cannot delay a frame's deadline wake-up. Needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO that
 * allows it; otherwise fails with the reason and the thread keeps its normal priority. */
LUMEN_API int32_t lumen_pacer_set_realtime(int32_t pacer, int32_t priority, char *err, int32_t err_len);
/* Stops the thread (frames still queued are dropped) and frees the pacer. */
LUMEN_API int32_t lumen_pacer_close(int32_t pacer);

#endif
