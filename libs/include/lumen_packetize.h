/* Lumen shim: one encoded video frame → its datagrams in one call (docs/protocol/video.md §2, §3,
 * §6; fec.md §5.1; media-encryption.md §3): RTP + NV video headers, the frame header, the shard
 * layout, Reed-Solomon parity of every block (rs.c) and, when asked, AES-128-GCM per packet.
 *
 * TypeScript decides everything about the frame (src/media/packetizer/native.ts): packet size,
 * the FEC block plan (k, m and the wire percentage of each block, from format.ts planFrame), the
 * RTP sequence and GCM IV counters, the frame header fields. It passes them as a descriptor of
 * LUMEN_VIDEO_DESC_INTS little-endian int32 values; C checks them, lays the packets out and
 * seals them. The TypeScript packetizer (src/media/packetizer/video.ts) is the reference the
 * tests compare these bytes against.
 *
 * Output: packet i of the frame at out + i*stride, stride = packet_size + 16 (+ 32 with
 * encryption), every datagram stride bytes long. lumen_pacer_submit_video (lumen_net.h) writes
 * the same bytes straight into the send thread's ring. */
#ifndef LUMEN_PACKETIZE_H
#define LUMEN_PACKETIZE_H

#include <stdint.h>

#include "lumen_core.h"

/* Descriptor: int32 indices. */
#define LUMEN_VIDEO_DESC_INTS 24
#define LUMEN_VD_PACKET_SIZE 0   /* x-nv-video[0].packetSize as announced: multiple of 16, >= 32 */
#define LUMEN_VD_FRAME_INDEX 1   /* uint32 */
#define LUMEN_VD_FRAME_TYPE 2    /* frame header type: 1 P, 2 IDR, 4 intra refresh, 5 after RFI */
#define LUMEN_VD_LATENCY 3       /* host latency in 0.1 ms, 0..65535 */
#define LUMEN_VD_RTP_TIMESTAMP 4 /* uint32, 90 kHz */
#define LUMEN_VD_SEQUENCE 5      /* RTP sequence / packet counter of the first packet (uint32) */
#define LUMEN_VD_IV_LO 6         /* GCM IV counter of the first packet, low and high uint32 */
#define LUMEN_VD_IV_HI 7
#define LUMEN_VD_ENCRYPT 8       /* 1 = AES-128-GCM per packet, 0 = plain */
#define LUMEN_VD_BLOCKS 9        /* FEC blocks, 1..4 */
#define LUMEN_VD_BLOCK0 10       /* then per block: k (data packets), m (parity packets), F on the wire */
#define LUMEN_VD_BLOCK_INTS 3
#define LUMEN_VD_MAX_BLOCKS 4

/* Video datagram layout (video.md §2): byte offsets inside a plaintext packet. */
#define LUMEN_VIDEO_HEADER_BYTES 32  /* RTP (12) + extension (4) + NV video header (16) */
#define LUMEN_VIDEO_ENC_PREFIX 32    /* IV (12) + frameNumber (4) + tag (16) before the ciphertext */
#define LUMEN_FRAME_HEADER_BYTES 8

/* Packetizes one frame into out (out_len bytes): packet i at i*stride, see above. key (16 bytes)
 * is needed when the descriptor asks for encryption (key_len 0 otherwise). lens (lens_len bytes,
 * may be empty) gets each datagram's length as int32. Returns the number of packets. */
LUMEN_API int32_t lumen_video_packetize(const uint8_t *frame, int32_t frame_len, const uint8_t *desc, int32_t desc_len, const uint8_t *key, int32_t key_len, uint8_t *out, int32_t out_len, uint8_t *lens, int32_t lens_len, char *err, int32_t err_len);
/* Which AES-GCM keys set from now on use (lumen_video_gcm_select): the best there is, or
 * OpenSSL's (to compare the two). 0, or LUMEN_E_INVALID for another value. */
#define LUMEN_GCM_BEST 0
#define LUMEN_GCM_OPENSSL 1
LUMEN_API int32_t lumen_video_gcm_select(int32_t engine);
/* The AES-GCM the packetizer and the send thread seal with, into out (NUL-terminated):
 * "vaes-avx512" (the shim's own kernel, on CPUs with VAES, VPCLMULQDQ and AVX-512) or "openssl"
 * (elsewhere, or after lumen_video_gcm_select(LUMEN_GCM_OPENSSL)). Returns the name's length. */
LUMEN_API int32_t lumen_video_gcm_engine(char *out, int32_t out_len);
/* Seals `count` plaintext packets laid out at i*stride (plaintext at i*stride + 32, shard_size
 * bytes; bytes 0..31 of each slot are overwritten by IV, frameNumber and tag) with AES-128-GCM,
 * IV counters iv_counter, iv_counter + 1, ... Used by the TypeScript reference packetizer; always
 * OpenSSL's AES-GCM, so the reference does not share the packetizer's kernel. Returns count. */
LUMEN_API int32_t lumen_video_seal(uint8_t *buf, int32_t buf_len, int32_t count, int32_t stride, int32_t shard_size, const uint8_t *key, int32_t key_len, int64_t iv_counter, char *err, int32_t err_len);

#endif
