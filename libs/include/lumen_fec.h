/* Lumen shim: Reed-Solomon erasure code over GF(2^8) (polynomial 0x11D), bit-exact with the
 * Moonlight client (docs/protocol/fec.md).
 *
 * Matrices: LUMEN_RS_CAUCHY (video, fec.md §3: C[j][i] = inv((m + i) ^ j)) and LUMEN_RS_AUDIO
 * (the fixed 4+2 table of fec.md §4; k must be 4 and m 2).
 *
 * Kernels: scalar, avx2 (split-table PSHUFB), gfni-avx2 and gfni-avx512 (GF2P8AFFINEQB with the
 * bit matrix of "multiply by c" under 0x11D). The best one this CPU has is chosen once at load;
 * LUMEN_RS_ISA=scalar|avx2|gfni-avx2|gfni-avx512 overrides it (ignored when the CPU lacks it:
 * lumen_rs_isa_set then reports why). Every level computes the same bytes.
 *
 * Shards live inside one caller Buffer at byte offsets, so a packetizer can encode every block
 * of a frame, straight inside its packet buffer, with one call. */
#ifndef LUMEN_FEC_H
#define LUMEN_FEC_H

#include <stdint.h>

#include "lumen_core.h"

#define LUMEN_RS_CAUCHY 0
#define LUMEN_RS_AUDIO 1

/* Ints per block descriptor of lumen_rs_encode: data offset, data stride, parity offset,
 * parity stride, k, m (all in bytes except k, m). */
#define LUMEN_RS_BLOCK_INTS 6

/* Writes the levels this CPU can run, comma-separated, best last ("scalar,avx2,gfni-avx2,
 * gfni-avx512"), into out; returns the index of the active level in that list. */
LUMEN_API int32_t lumen_rs_isa_list(char *out, int32_t out_len);
/* Writes the active level's name into out; returns its length. */
LUMEN_API int32_t lumen_rs_isa_active(char *out, int32_t out_len);
/* Forces a level by name ("" or "auto" = the best this CPU has); LUMEN_E_UNAVAILABLE when the
 * CPU lacks it, LUMEN_E_INVALID for an unknown name. Returns 0. */
LUMEN_API int32_t lumen_rs_isa_set(const char *name, char *err, int32_t err_len);
/* Encodes nblocks blocks of one buffer. blocks (blocks_len bytes) holds nblocks descriptors of
 * LUMEN_RS_BLOCK_INTS little-endian int32 each: data shard i of a block is
 * buf[data_off + i*data_stride .. + shard_size), parity shard j is written to
 * buf[parity_off + j*parity_stride .. + shard_size). A block with m = 0 is skipped.
 * Returns the number of parity shards written. */
LUMEN_API int32_t lumen_rs_encode(uint8_t *buf, int32_t buf_len, int32_t shard_size, int32_t matrix, const uint8_t *blocks, int32_t blocks_len, int32_t nblocks, char *err, int32_t err_len);
/* Rebuilds the missing shards of one block in place. Shard s (0..k+m-1: data then parity) is
 * buf[offset + s*stride .. + shard_size); present[s] != 0 marks the shards received. Missing
 * data shards are decoded from any k present ones; missing parity shards are re-encoded too when
 * rebuild_parity is non-zero (a receiver that only wants the data passes 0).
 * Returns the number of data shards rebuilt; LUMEN_E_FAILED when fewer than k are present. */
LUMEN_API int32_t lumen_rs_decode(uint8_t *buf, int32_t buf_len, int32_t offset, int32_t stride, int32_t shard_size, int32_t k, int32_t m, int32_t matrix, int32_t rebuild_parity, const uint8_t *present, int32_t present_len, char *err, int32_t err_len);
/* Writes the m x k parity matrix (row-major) of a code into out (at least k*m bytes). Returns k*m. */
LUMEN_API int32_t lumen_rs_matrix(int32_t k, int32_t m, int32_t matrix, uint8_t *out, int32_t out_len, char *err, int32_t err_len);

#endif
