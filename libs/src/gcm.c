/* AES-128-GCM of video packets (media-encryption.md §3): 12-byte IV, no AAD, the whole shard
 * sealed in place. OpenSSL 3.0 spends ~250 ns per message on its provider calls (IV set, final,
 * the tag through OSSL_PARAM) and runs its stitched kernel at ~4 GB/s, so a 1376-byte packet
 * costs ~600 ns and a 5120x1440 frame's 89 packets ~50 µs. Where the CPU has VAES, VPCLMULQDQ
 * and AVX-512 (Ice Lake and later Xeons, Zen 4 and later), this file seals a packet itself with
 * four AES blocks per instruction and one GHASH reduction per packet (~100 ns a packet); elsewhere, or with
 * lumen_video_gcm_select, it calls OpenSSL. The tests compare both against Node's AES-GCM.
 *
 * GHASH works on byte-reflected blocks (pshufb) with the key pre-multiplied by x^-1 (Gueron and
 * Kounavis, "Intel Carry-Less Multiplication Instruction and its Usage for Computing the GCM
 * Mode"): the carry-less product of a block and such a key is the 256-bit product itself, with
 * no shift, and one reduction folds its low half into the high half. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "gcm.h"

/* A segment of text blocks is summed against one run of powers and reduced once; the last
 * segment carries the length block too. */
#define SEGMENT_BLOCKS 128
#define NPOW (SEGMENT_BLOCKS + 1)

struct VideoGcm {
  __m128i rk[11];
  /* (H^NPOW)' .. (H^1)': entry i is H^(NPOW - i) times x^-1, byte-reflected */
  __m128i hpow[NPOW];
  EVP_CIPHER_CTX *evp; /* set when the OpenSSL path seals */
};

/* the round and register loops unrolled, so the four blocks and the round keys stay in registers */
#define UNROLL _Pragma("GCC unroll 10")
#define FAST __attribute__((target("avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmul,sse4.1")))

/* ---- AES-128 key schedule and one-block encryption (AES-NI) ---- */

FAST static __m128i expand(__m128i k, __m128i g) {
  g = _mm_shuffle_epi32(g, 0xff);
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  return _mm_xor_si128(k, g);
}

#define EXPAND(i, rcon) rk[i] = expand(rk[(i) - 1], _mm_aeskeygenassist_si128(rk[(i) - 1], rcon))

FAST static void key_schedule(const uint8_t *key, __m128i *rk) {
  rk[0] = _mm_loadu_si128((const __m128i *)key);
  EXPAND(1, 0x01);
  EXPAND(2, 0x02);
  EXPAND(3, 0x04);
  EXPAND(4, 0x08);
  EXPAND(5, 0x10);
  EXPAND(6, 0x20);
  EXPAND(7, 0x40);
  EXPAND(8, 0x80);
  EXPAND(9, 0x1b);
  EXPAND(10, 0x36);
}

FAST static __m128i aes_block(const __m128i *rk, __m128i x) {
  x = _mm_xor_si128(x, rk[0]);
  UNROLL for (int r = 1; r < 10; r++) x = _mm_aesenc_si128(x, rk[r]);
  return _mm_aesenclast_si128(x, rk[10]);
}

/* ---- GF(2^128) on byte-reflected values ---- */

FAST static __m128i bswap128(__m128i x) { return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)); }

/* x >> k over the whole 128 bits, 0 < k < 64 */
FAST static __m128i srl128(__m128i x, int k) {
  return _mm_or_si128(_mm_srli_epi64(x, k), _mm_slli_epi64(_mm_srli_si128(x, 8), 64 - k));
}

/* hi ^ (lo reduced): lo holds the coefficients of x^128..x^255 (bit 127 - i is x^(128 + i)),
 * and x^128 = x^7 + x^2 + x + 1 moves each of them to four bits, shifts right by 0, 1, 2 and 7.
 * The bits those shifts push out at the bottom are x^128..x^134 again: folding them first (t)
 * leaves nothing to fold twice. */
FAST static __m128i reduce(__m128i lo, __m128i hi) {
  __m128i t = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi64(lo, 63), _mm_slli_epi64(lo, 62)), _mm_slli_epi64(lo, 57));
  t = _mm_xor_si128(lo, _mm_slli_si128(t, 8));
  __m128i r = _mm_xor_si128(_mm_xor_si128(t, srl128(t, 1)), _mm_xor_si128(srl128(t, 2), srl128(t, 7)));
  return _mm_xor_si128(hi, r);
}

/* a * b, b a key (pre-multiplied by x^-1) */
FAST static __m128i gf_mul(__m128i a, __m128i b) {
  __m128i lo = _mm_clmulepi64_si128(a, b, 0x00), hi = _mm_clmulepi64_si128(a, b, 0x11);
  __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10));
  return reduce(_mm_xor_si128(lo, _mm_slli_si128(mid, 8)), _mm_xor_si128(hi, _mm_srli_si128(mid, 8)));
}

FAST static void gcm_init_fast(VideoGcm *g, const uint8_t *key) {
  key_schedule(key, g->rk);
  __m128i h = bswap128(aes_block(g->rk, _mm_setzero_si128()));
  /* H * x^-1: a left shift of the reflected value; x^-1 = x^127 + x^6 + x + 1 for the bit that leaves */
  __m128i carry = _mm_srli_epi64(h, 63);
  __m128i h1 = _mm_or_si128(_mm_slli_epi64(h, 1), _mm_slli_si128(carry, 8));
  if (_mm_extract_epi64(h, 1) < 0) h1 = _mm_xor_si128(h1, _mm_set_epi64x((long long)0xC200000000000000ULL, 1));
  g->hpow[NPOW - 1] = h1;
  for (int i = NPOW - 2; i >= 0; i--) g->hpow[i] = gf_mul(g->hpow[i + 1], h1);
}

/* ---- sealing ---- */

FAST static __m128i hxor(__m512i z) {
  __m256i a = _mm256_xor_si256(_mm512_castsi512_si256(z), _mm512_extracti64x4_epi64(z, 1));
  return _mm_xor_si128(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
}

static __mmask64 bytes_mask(int n) { return n >= 64 ? ~0ULL : (n <= 0 ? 0 : (1ULL << n) - 1); }
static __mmask8 lanes_mask(int blocks) { return blocks >= 4 ? 0xff : (blocks <= 0 ? 0 : (__mmask8)((1u << (2 * blocks)) - 1)); }

/* The unreduced GHASH sums of one segment: block b of t multiplies H^(t - b). */
typedef struct {
  __m512i lo, hi, mid;
} Acc;

FAST static void acc_mul(Acc *a, __m512i c, __m512i p) {
  a->lo = _mm512_xor_si512(a->lo, _mm512_clmulepi64_epi128(c, p, 0x00));
  a->hi = _mm512_xor_si512(a->hi, _mm512_clmulepi64_epi128(c, p, 0x11));
  a->mid = _mm512_xor_si512(a->mid, _mm512_xor_si512(_mm512_clmulepi64_epi128(c, p, 0x01), _mm512_clmulepi64_epi128(c, p, 0x10)));
}

FAST static __m128i acc_reduce(const Acc *a) {
  __m512i lo = _mm512_xor_si512(a->lo, _mm512_bslli_epi128(a->mid, 8));
  __m512i hi = _mm512_xor_si512(a->hi, _mm512_bsrli_epi128(a->mid, 8));
  return reduce(hxor(lo), hxor(hi));
}

#define SEGMENT_BYTES (16 * SEGMENT_BLOCKS)

/* Seals text in place and writes the tag. The text goes in segments of SEGMENT_BLOCKS blocks,
 * each summed unreduced against its own run of powers and reduced once (the last segment with
 * the length block, so a 1376-byte packet is one reduction); every 256 bytes are four counter
 * blocks per register, their ten AES rounds interleaved. */
FAST static void seal_fast(const VideoGcm *g, const uint8_t iv[12], uint8_t *text, int32_t len, uint8_t tag[16]) {
  const __m512i bswap = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  /* counters keep their 32-bit block number little-endian in bytes 12..15; this swaps it back to
   * the big-endian of the counter block */
  const __m512i ctr_swap = _mm512_broadcast_i32x4(_mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  const __m512i four = _mm512_set_epi32(4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0);
  __m512i rk[11];
  UNROLL for (int r = 0; r < 11; r++) rk[r] = _mm512_broadcast_i32x4(g->rk[r]);
  uint8_t j0b[16];
  memcpy(j0b, iv, 12);
  j0b[12] = 0, j0b[13] = 0, j0b[14] = 0, j0b[15] = 1;
  __m128i j0 = _mm_loadu_si128((const __m128i *)j0b);
  __m128i mask = aes_block(g->rk, j0);
  /* block numbers 2, 3, 4, 5 in the four lanes */
  __m512i ctr = _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_shuffle_epi8(j0, _mm512_castsi512_si128(ctr_swap))), _mm512_set_epi32(4, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0));
  __m128i x = _mm_setzero_si128();
  int32_t off = 0;
  do {
    int32_t seg = len - off > SEGMENT_BYTES ? SEGMENT_BYTES : len - off;
    int last = off + seg == len;
    int nb = (seg + 15) / 16, t = nb + last;
    const __m128i *pw = g->hpow + (NPOW - t);
    Acc a = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    __m512i carry = _mm512_zextsi128_si512(x); /* the running hash joins the segment's first block */
    for (int32_t c = 0; c < seg; c += 256) {
      uint8_t *p = text + off + c;
      int n = seg - c;
      const __m128i *pc = pw + c / 16;
      if (n >= 256) {
        __m512i k[4];
        UNROLL for (int j = 0; j < 4; j++) {
          k[j] = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, ctr_swap), rk[0]);
          ctr = _mm512_add_epi32(ctr, four);
        }
        UNROLL for (int r = 1; r < 10; r++)
          UNROLL for (int j = 0; j < 4; j++) k[j] = _mm512_aesenc_epi128(k[j], rk[r]);
        UNROLL for (int j = 0; j < 4; j++) {
          __m512i ct = _mm512_xor_si512(_mm512_loadu_si512(p + 64 * j), _mm512_aesenclast_epi128(k[j], rk[10]));
          _mm512_storeu_si512(p + 64 * j, ct);
          __m512i h = _mm512_xor_si512(_mm512_shuffle_epi8(ct, bswap), carry);
          carry = _mm512_setzero_si512();
          acc_mul(&a, h, _mm512_loadu_si512(pc + 4 * j));
        }
        continue;
      }
      for (int j = 0; j < 4 && 64 * j < n; j++) {
        __m512i k = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, ctr_swap), rk[0]);
        ctr = _mm512_add_epi32(ctr, four);
        UNROLL for (int r = 1; r < 10; r++) k = _mm512_aesenc_epi128(k, rk[r]);
        __mmask64 m = bytes_mask(n - 64 * j);
        __m512i ct = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p + 64 * j), _mm512_aesenclast_epi128(k, rk[10]));
        ct = _mm512_maskz_mov_epi8(m, ct); /* GHASH pads the last block with zeros */
        _mm512_mask_storeu_epi8(p + 64 * j, m, ct);
        __m512i h = _mm512_xor_si512(_mm512_shuffle_epi8(ct, bswap), carry);
        carry = _mm512_setzero_si512();
        acc_mul(&a, h, _mm512_maskz_loadu_epi64(lanes_mask(nb - (c / 16 + 4 * j)), pc + 4 * j));
      }
    }
    if (last) {
      /* the length block: 64 bits of AAD length (0), 64 bits of text length, both in bits */
      __m512i l = _mm512_xor_si512(_mm512_zextsi128_si512(_mm_set_epi64x(0, (long long)len * 8)), carry);
      acc_mul(&a, l, _mm512_zextsi128_si512(g->hpow[NPOW - 1]));
    }
    x = acc_reduce(&a);
    off += seg;
  } while (off < len);
  _mm_storeu_si128((__m128i *)tag, _mm_xor_si128(bswap128(x), mask));
}

static int cpu_fast(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("vaes") && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("aes") &&
         __builtin_cpu_supports("pclmul");
}

static EVP_CIPHER_CTX *evp_new(const uint8_t *key) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c) return NULL;
  if (EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) != 1 || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
      EVP_EncryptInit_ex(c, NULL, NULL, key, NULL) != 1) {
    EVP_CIPHER_CTX_free(c);
    return NULL;
  }
  return c;
}

/* GCM_BEST's meaning for keys set from now on (gcm_prefer_openssl) */
static _Atomic int prefer_openssl;

void gcm_prefer_openssl(int on) {
  prefer_openssl = on != 0;
}

static int best_engine(void) { return prefer_openssl ? GCM_OPENSSL : cpu_fast() ? GCM_FAST : GCM_OPENSSL; }

VideoGcm *video_gcm_new(const uint8_t *key, int engine) {
  if (engine == GCM_BEST) engine = best_engine();
  if (engine == GCM_FAST && !cpu_fast()) return NULL;
  VideoGcm *g = aligned_alloc(64, (sizeof(VideoGcm) + 63) / 64 * 64);
  if (!g) return NULL;
  memset(g, 0, sizeof *g);
  if (engine == GCM_FAST) {
    gcm_init_fast(g, key);
    return g;
  }
  g->evp = evp_new(key);
  if (!g->evp) {
    free(g);
    return NULL;
  }
  return g;
}

void video_gcm_free(VideoGcm *g) {
  if (!g) return;
  if (g->evp) EVP_CIPHER_CTX_free(g->evp);
  memset(g, 0, sizeof *g); /* the key schedule */
  free(g);
}

const char *video_gcm_best_engine(void) { return best_engine() == GCM_FAST ? "vaes-avx512" : "openssl"; }

static void le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

int video_gcm_seal(VideoGcm *g, uint64_t counter, uint32_t frame_index, uint8_t *slot, int32_t shard) {
  uint8_t iv[12] = {0};
  for (int i = 0; i < 8; i++) iv[i] = (uint8_t)(counter >> (8 * i));
  iv[11] = 0x56;
  uint8_t *text = slot + LUMEN_VIDEO_ENC_PREFIX;
  if (g->evp) {
    int outl = 0, fin = 0;
    if (EVP_EncryptInit_ex(g->evp, NULL, NULL, NULL, iv) != 1) return -1;
    if (EVP_EncryptUpdate(g->evp, text, &outl, text, shard) != 1) return -1;
    if (EVP_EncryptFinal_ex(g->evp, text + outl, &fin) != 1) return -1;
    if (EVP_CIPHER_CTX_ctrl(g->evp, EVP_CTRL_GCM_GET_TAG, 16, slot + 16) != 1) return -1;
  } else {
    seal_fast(g, iv, text, shard, slot + 16);
  }
  memcpy(slot, iv, 12);
  le32(slot + 12, frame_index);
  return 0;
}
