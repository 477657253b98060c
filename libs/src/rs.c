/* Reed-Solomon over GF(2^8), polynomial 0x11D: the Moonlight video (Cauchy) and audio (fixed
 * 4+2) codes of docs/protocol/fec.md, with scalar, AVX2, GFNI-AVX2 and GFNI-AVX-512 kernels.
 *
 * Everything reduces to one operation: out[r] = XOR over i of coef[r][i] * in[i], over `len`
 * bytes, for a handful of output rows at a time. The SIMD kernels keep the output rows in
 * registers and read every input once per group of rows, so a k=20 m=4 block is one pass over
 * its data. Each SIMD function carries its own target attribute: the library loads and runs
 * (scalar) on CPUs without those instructions. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lumen_fec.h"

/* ---- the field ---- */

static uint8_t GF_EXP[512];
static uint8_t GF_LOG[256];
static uint8_t GF_INV[256];
static uint8_t GF_MUL[256][256];
/* GF2P8AFFINEQB matrix of "multiply by c" */
static uint64_t GF_AFFINE[256];
/* split tables: [c][0] = c * n (n = 0..15), [c][1] = c * (n << 4) */
static uint8_t GF_NIB[256][2][16] __attribute__((aligned(16)));

static inline uint8_t gf_mul(uint8_t a, uint8_t b) { return GF_MUL[a][b]; }

static void gf_init(void) {
  unsigned x = 1;
  for (int i = 0; i < 255; i++) {
    GF_EXP[i] = (uint8_t)x;
    GF_LOG[x] = (uint8_t)i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11D;
  }
  for (int i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255];
  for (int a = 0; a < 256; a++)
    for (int b = 0; b < 256; b++)
      GF_MUL[a][b] = (a == 0 || b == 0) ? 0 : GF_EXP[GF_LOG[a] + GF_LOG[b]];
  GF_INV[0] = 0;
  for (int a = 1; a < 256; a++) GF_INV[a] = GF_EXP[255 - GF_LOG[a]];
  for (int c = 0; c < 256; c++) {
    uint64_t mat = 0;
    /* output bit i is the parity of (row_i & x), row_i in byte 7 - i of the matrix */
    for (int i = 0; i < 8; i++) {
      unsigned row = 0;
      for (int j = 0; j < 8; j++)
        if ((GF_MUL[c][1u << j] >> i) & 1) row |= 1u << j;
      mat |= (uint64_t)row << (8 * (7 - i));
    }
    GF_AFFINE[c] = mat;
    for (int n = 0; n < 16; n++) {
      GF_NIB[c][0][n] = GF_MUL[c][n];
      GF_NIB[c][1][n] = GF_MUL[c][n << 4];
    }
  }
}

/* fec.md §4: rows j = 0, 1 of the audio parity matrix */
static const uint8_t AUDIO_MATRIX[2][4] = {{0x77, 0x40, 0x38, 0x0e}, {0xc7, 0xa7, 0x0d, 0x6c}};

/* The m x k parity matrix of a code; the caller has validated k, m. */
static void parity_matrix(int k, int m, int matrix, uint8_t *out) {
  if (matrix == LUMEN_RS_AUDIO) {
    memcpy(out, AUDIO_MATRIX, 8);
    return;
  }
  for (int j = 0; j < m; j++)
    for (int i = 0; i < k; i++) out[j * k + i] = GF_INV[(m + i) ^ j];
}

/* ---- kernels: out[r] = sum_i coef[r*nin + i] * in[i], r < nout, over len bytes ---- */

typedef void (*rs_kernel_fn)(const uint8_t *const *in, int nin, uint8_t *const *out, int nout,
                             const uint8_t *coef, size_t len);

static void kernel_scalar(const uint8_t *const *in, int nin, uint8_t *const *out, int nout,
                          const uint8_t *coef, size_t len) {
  for (int r = 0; r < nout; r++) {
    uint8_t *o = out[r];
    memset(o, 0, len);
    for (int i = 0; i < nin; i++) {
      const uint8_t *t = GF_MUL[coef[r * nin + i]];
      const uint8_t *s = in[i];
      for (size_t b = 0; b < len; b++) o[b] ^= t[s[b]];
    }
  }
}

/* Runs a fixed-width vector body over the whole multiple of W bytes, then the tail through
 * zero-padded copies (same bytes, one more vector step). */
#define TAIL_VIA_COPIES(W, BODY)                                                                  \
  do {                                                                                            \
    size_t full = len - len % (W);                                                                \
    if (full > 0) BODY(in, nin, out, nout, coef, full, 0);                                        \
    size_t rest = len - full;                                                                     \
    if (rest > 0) {                                                                               \
      uint8_t tin[255][W] __attribute__((aligned(64)));                                           \
      uint8_t tout[255][W] __attribute__((aligned(64)));                                          \
      const uint8_t *pin[255];                                                                    \
      uint8_t *pout[255] = {0};                                                                   \
      for (int i = 0; i < nin; i++) {                                                             \
        memset(tin[i], 0, W);                                                                     \
        memcpy(tin[i], in[i] + full, rest);                                                       \
        pin[i] = tin[i];                                                                          \
      }                                                                                           \
      for (int r = 0; r < nout; r++) pout[r] = tout[r];                                           \
      BODY(pin, nin, pout, nout, coef, W, 0);                                                     \
      for (int r = 0; r < nout; r++) memcpy(out[r] + full, tout[r], rest);                        \
    }                                                                                             \
  } while (0)

/* Loop order of every SIMD kernel: byte columns outside, then groups of up to 4 output rows,
 * then the inputs. One column step of all k inputs (k x 32..128 bytes, at most 32 KB) stays in
 * L1 while every row group reads it, so large blocks (k = 100-250) cost no more per byte than
 * small ones. Within a step the accumulators of the row group live in registers. */
#define ROW_GROUPS(FN, ...)                                                            \
  do {                                                                                 \
    int r_ = 0;                                                                        \
    for (; r_ + 4 <= nout; r_ += 4) FN(in, nin, out + r_, coef + r_ * nin, __VA_ARGS__, 4); \
    switch (nout - r_) {                                                               \
      case 3: FN(in, nin, out + r_, coef + r_ * nin, __VA_ARGS__, 3); break;           \
      case 2: FN(in, nin, out + r_, coef + r_ * nin, __VA_ARGS__, 2); break;           \
      case 1: FN(in, nin, out + r_, coef + r_ * nin, __VA_ARGS__, 1); break;           \
      default: break;                                                                  \
    }                                                                                  \
  } while (0)

/* AVX2 split table: c*x = LO[c][x & 15] ^ HI[c][x >> 4] with VPSHUFB; 32 bytes per step. */
__attribute__((target("avx2"), always_inline)) static inline void avx2_step(
    const uint8_t *const *in, int nin, uint8_t *const *out, const uint8_t *coef, size_t off, int R) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256()};
  for (int i = 0; i < nin; i++) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(in[i] + off));
    __m256i lo = _mm256_and_si256(x, mask);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi64(x, 4), mask);
    for (int r = 0; r < R; r++) {
      const uint8_t(*t)[16] = GF_NIB[coef[r * nin + i]];
      __m256i tl = _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)t[0]));
      __m256i th = _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)t[1]));
      acc[r] = _mm256_xor_si256(acc[r], _mm256_xor_si256(_mm256_shuffle_epi8(tl, lo), _mm256_shuffle_epi8(th, hi)));
    }
  }
  for (int r = 0; r < R; r++) _mm256_storeu_si256((__m256i *)(out[r] + off), acc[r]);
}

__attribute__((target("avx2"))) static void avx2_body(const uint8_t *const *in, int nin,
                                                      uint8_t *const *out, int nout,
                                                      const uint8_t *coef, size_t len, int unused) {
  (void)unused;
  for (size_t off = 0; off < len; off += 32) ROW_GROUPS(avx2_step, off);
}

__attribute__((target("avx2"))) static void kernel_avx2(const uint8_t *const *in, int nin,
                                                        uint8_t *const *out, int nout,
                                                        const uint8_t *coef, size_t len) {
  TAIL_VIA_COPIES(32, avx2_body);
}

/* GFNI on 256-bit vectors: c*x = GF2P8AFFINEQB(x, A_c); 64 bytes (two vectors) per step. */
__attribute__((target("avx2,gfni"), always_inline)) static inline void gfni256_step(
    const uint8_t *const *in, int nin, uint8_t *const *out, const uint64_t *coef, size_t off, int R) {
  __m256i a0[4], a1[4];
  for (int r = 0; r < R; r++) a0[r] = a1[r] = _mm256_setzero_si256();
  for (int i = 0; i < nin; i++) {
    __m256i x0 = _mm256_loadu_si256((const __m256i *)(in[i] + off));
    __m256i x1 = _mm256_loadu_si256((const __m256i *)(in[i] + off + 32));
    for (int r = 0; r < R; r++) {
      __m256i a = _mm256_set1_epi64x((long long)coef[r * nin + i]);
      a0[r] = _mm256_xor_si256(a0[r], _mm256_gf2p8affine_epi64_epi8(x0, a, 0));
      a1[r] = _mm256_xor_si256(a1[r], _mm256_gf2p8affine_epi64_epi8(x1, a, 0));
    }
  }
  for (int r = 0; r < R; r++) {
    _mm256_storeu_si256((__m256i *)(out[r] + off), a0[r]);
    _mm256_storeu_si256((__m256i *)(out[r] + off + 32), a1[r]);
  }
}

/* coef8 here is really the affine table (uint64_t[nout * nin]) that kernel_gfni_avx2 built */
__attribute__((target("avx2,gfni"))) static void gfni256_body(const uint8_t *const *in, int nin,
                                                              uint8_t *const *out, int nout,
                                                              const uint8_t *coef8, size_t len,
                                                              int unused) {
  (void)unused;
  const uint64_t *coef = (const uint64_t *)(const void *)coef8;
  for (size_t off = 0; off < len; off += 64) ROW_GROUPS(gfni256_step, off);
}

__attribute__((target("avx2,gfni"))) static void kernel_gfni_avx2(const uint8_t *const *in, int nin,
                                                                  uint8_t *const *out, int nout,
                                                                  const uint8_t *coef8, size_t len) {
  /* the affine matrices of the call's coefficients, looked up once */
  uint64_t stack_aff[2048];
  size_t n = (size_t)nin * (size_t)nout;
  uint64_t *aff = n <= 2048 ? stack_aff : malloc(n * sizeof(uint64_t));
  if (aff == NULL) {
    kernel_scalar(in, nin, out, nout, coef8, len);
    return;
  }
  for (size_t j = 0; j < n; j++) aff[j] = GF_AFFINE[coef8[j]];
  const uint8_t *coef = (const uint8_t *)aff;
  TAIL_VIA_COPIES(64, gfni256_body);
  if (aff != stack_aff) free(aff);
}

/* GFNI on 512-bit vectors: 128 bytes (two vectors) per step, masked loads/stores for the tail.
 * The affine matrices of the call's coefficients are looked up once per call (aff[r*nin + i]),
 * so a product costs one broadcast load, and pairs of products fold into the accumulator with
 * one three-way XOR (VPTERNLOGQ 0x96). */
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,gfni")))

T512 __attribute__((always_inline)) static inline void gfni512_step(const uint8_t *const *in, int nin,
                                                                    uint8_t *const *out,
                                                                    const uint64_t *aff, size_t off,
                                                                    int R) {
  __m512i a0[4], a1[4];
  for (int r = 0; r < R; r++) a0[r] = a1[r] = _mm512_setzero_si512();
  int i = 0;
  for (; i + 2 <= nin; i += 2) {
    __m512i x0 = _mm512_loadu_si512((const void *)(in[i] + off));
    __m512i x1 = _mm512_loadu_si512((const void *)(in[i] + off + 64));
    __m512i y0 = _mm512_loadu_si512((const void *)(in[i + 1] + off));
    __m512i y1 = _mm512_loadu_si512((const void *)(in[i + 1] + off + 64));
    for (int r = 0; r < R; r++) {
      __m512i m = _mm512_set1_epi64((long long)aff[r * nin + i]);
      __m512i n = _mm512_set1_epi64((long long)aff[r * nin + i + 1]);
      a0[r] = _mm512_ternarylogic_epi64(a0[r], _mm512_gf2p8affine_epi64_epi8(x0, m, 0), _mm512_gf2p8affine_epi64_epi8(y0, n, 0), 0x96);
      a1[r] = _mm512_ternarylogic_epi64(a1[r], _mm512_gf2p8affine_epi64_epi8(x1, m, 0), _mm512_gf2p8affine_epi64_epi8(y1, n, 0), 0x96);
    }
  }
  if (i < nin) {
    __m512i x0 = _mm512_loadu_si512((const void *)(in[i] + off));
    __m512i x1 = _mm512_loadu_si512((const void *)(in[i] + off + 64));
    for (int r = 0; r < R; r++) {
      __m512i m = _mm512_set1_epi64((long long)aff[r * nin + i]);
      a0[r] = _mm512_xor_si512(a0[r], _mm512_gf2p8affine_epi64_epi8(x0, m, 0));
      a1[r] = _mm512_xor_si512(a1[r], _mm512_gf2p8affine_epi64_epi8(x1, m, 0));
    }
  }
  for (int r = 0; r < R; r++) {
    _mm512_storeu_si512((void *)(out[r] + off), a0[r]);
    _mm512_storeu_si512((void *)(out[r] + off + 64), a1[r]);
  }
}

T512 __attribute__((always_inline)) static inline void gfni512_masked(const uint8_t *const *in, int nin,
                                                                      uint8_t *const *out,
                                                                      const uint64_t *aff, size_t off,
                                                                      __mmask64 k, int R) {
  __m512i a0[4];
  for (int r = 0; r < R; r++) a0[r] = _mm512_setzero_si512();
  for (int i = 0; i < nin; i++) {
    __m512i x0 = _mm512_maskz_loadu_epi8(k, (const void *)(in[i] + off));
    for (int r = 0; r < R; r++) {
      __m512i m = _mm512_set1_epi64((long long)aff[r * nin + i]);
      a0[r] = _mm512_xor_si512(a0[r], _mm512_gf2p8affine_epi64_epi8(x0, m, 0));
    }
  }
  for (int r = 0; r < R; r++) _mm512_mask_storeu_epi8((void *)(out[r] + off), k, a0[r]);
}

T512 static void kernel_gfni_avx512(const uint8_t *const *in, int nin, uint8_t *const *out, int nout,
                                    const uint8_t *coef8, size_t len) {
  uint64_t stack_aff[2048];
  size_t n = (size_t)nin * (size_t)nout;
  uint64_t *coef = n <= 2048 ? stack_aff : malloc(n * sizeof(uint64_t));
  if (coef == NULL) { /* no memory for the table: the scalar kernel needs none */
    kernel_scalar(in, nin, out, nout, coef8, len);
    return;
  }
  for (size_t j = 0; j < n; j++) coef[j] = GF_AFFINE[coef8[j]];
  size_t off = 0;
  for (; off + 128 <= len; off += 128) ROW_GROUPS(gfni512_step, off);
  for (; off < len; off += 64) {
    size_t rest = len - off < 64 ? len - off : 64;
    __mmask64 k = rest == 64 ? ~(__mmask64)0 : (((__mmask64)1 << rest) - 1);
    ROW_GROUPS(gfni512_masked, off, k);
  }
  if (coef != stack_aff) free(coef);
}

/* ---- dispatch ---- */

enum { ISA_SCALAR, ISA_AVX2, ISA_GFNI_AVX2, ISA_GFNI_AVX512, ISA_COUNT };
static const char *const ISA_NAMES[ISA_COUNT] = {"scalar", "avx2", "gfni-avx2", "gfni-avx512"};
static const rs_kernel_fn ISA_KERNELS[ISA_COUNT] = {kernel_scalar, kernel_avx2, kernel_gfni_avx2,
                                                    kernel_gfni_avx512};
static int isa_supported[ISA_COUNT];
static int isa_best;
static int isa_active;
static rs_kernel_fn rs_kernel = kernel_scalar;

static int isa_find(const char *name) {
  for (int i = 0; i < ISA_COUNT; i++)
    if (strcmp(name, ISA_NAMES[i]) == 0) return i;
  return -1;
}

__attribute__((constructor)) static void rs_init(void) {
  gf_init();
  __builtin_cpu_init();
  isa_supported[ISA_SCALAR] = 1;
  isa_supported[ISA_AVX2] = __builtin_cpu_supports("avx2") != 0;
  isa_supported[ISA_GFNI_AVX2] = isa_supported[ISA_AVX2] && __builtin_cpu_supports("gfni") != 0;
  isa_supported[ISA_GFNI_AVX512] = isa_supported[ISA_GFNI_AVX2] && __builtin_cpu_supports("avx512f") &&
                                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  isa_best = ISA_SCALAR;
  for (int i = 0; i < ISA_COUNT; i++)
    if (isa_supported[i]) isa_best = i;
  isa_active = isa_best;
  const char *env = getenv("LUMEN_RS_ISA");
  if (env != NULL && env[0] != '\0') {
    int want = isa_find(env);
    if (want >= 0 && isa_supported[want]) isa_active = want;
  }
  rs_kernel = ISA_KERNELS[isa_active];
}

int32_t lumen_rs_isa_list(char *out, int32_t out_len) {
  char text[64] = "";
  int index = 0, active = 0;
  for (int i = 0; i < ISA_COUNT; i++) {
    if (!isa_supported[i]) continue;
    if (index > 0) strcat(text, ",");
    strcat(text, ISA_NAMES[i]);
    if (i == isa_active) active = index;
    index++;
  }
  if (out != NULL && out_len > 0) {
    strncpy(out, text, (size_t)out_len - 1);
    out[out_len - 1] = '\0';
  }
  return active;
}

int32_t lumen_rs_isa_active(char *out, int32_t out_len) {
  const char *name = ISA_NAMES[isa_active];
  if (out != NULL && out_len > 0) {
    strncpy(out, name, (size_t)out_len - 1);
    out[out_len - 1] = '\0';
  }
  return (int32_t)strlen(name);
}

int32_t lumen_rs_isa_set(const char *name, char *err, int32_t err_len) {
  int want = (name == NULL || name[0] == '\0' || strcmp(name, "auto") == 0) ? isa_best : isa_find(name);
  if (want < 0)
    return lumen_fail(err, err_len, LUMEN_E_INVALID,
                      "unknown Reed-Solomon level '%s': use scalar, avx2, gfni-avx2, gfni-avx512 or auto", name);
  if (!isa_supported[want])
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "this CPU cannot run the Reed-Solomon level '%s' (it lacks the instructions); best here is '%s'",
                      ISA_NAMES[want], ISA_NAMES[isa_best]);
  isa_active = want;
  rs_kernel = ISA_KERNELS[want];
  return 0;
}

/* ---- the API ---- */

static int32_t check_code(int k, int m, int matrix, char *err, int32_t err_len) {
  if (matrix == LUMEN_RS_AUDIO) {
    if (k != 4 || (m != 2 && m != 0))
      return lumen_fail(err, err_len, LUMEN_E_INVALID, "the audio code is 4 data + 2 parity shards, not %d + %d", k, m);
    return 0;
  }
  if (matrix != LUMEN_RS_CAUCHY) return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown matrix %d (0 = Cauchy, 1 = audio)", matrix);
  if (k < 1 || m < 0 || k > 255 || m > 255 - k)
    return lumen_fail(err, err_len, LUMEN_E_INVALID,
                      "a Reed-Solomon block needs k >= 1, m >= 0 and k + m <= 255 (got k=%d, m=%d)", k, m);
  return 0;
}

/* Whether count shards of size bytes, stride apart from off, lie inside buf_len bytes without
 * overlapping: the stride is at least the shard size (a negative or short stride would let the
 * first shard or a neighbour lie outside what the last one's bound covers). */
static int in_bounds(int64_t off, int64_t stride, int count, int64_t size, int64_t buf_len) {
  if (count == 0) return 1;
  if (off < 0 || size <= 0 || buf_len < 0) return 0;
  if (count > 1 && stride < size) return 0;
  int64_t last = off + stride * (count - 1);
  return last + size <= buf_len;
}

static int32_t rd32(const uint8_t *p) { return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24); }

int32_t lumen_rs_encode(uint8_t *buf, int32_t buf_len, int32_t shard_size, int32_t matrix,
                        const uint8_t *blocks, int32_t blocks_len, int32_t nblocks, char *err, int32_t err_len) {
  if (buf == NULL || blocks == NULL || nblocks < 0 || shard_size <= 0)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "lumen_rs_encode: missing buffer or bad shard size %d", shard_size);
  if ((int64_t)nblocks * LUMEN_RS_BLOCK_INTS * 4 > blocks_len)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "lumen_rs_encode: %d block descriptors need %d bytes, the buffer has %d", nblocks,
                      nblocks * LUMEN_RS_BLOCK_INTS * 4, blocks_len);
  uint8_t coef[16384];
  const uint8_t *in[255];
  uint8_t *out[255];
  int32_t written = 0;
  for (int b = 0; b < nblocks; b++) {
    const uint8_t *d = blocks + (size_t)b * LUMEN_RS_BLOCK_INTS * 4;
    int32_t data_off = rd32(d), data_stride = rd32(d + 4), par_off = rd32(d + 8), par_stride = rd32(d + 12);
    int32_t k = rd32(d + 16), m = rd32(d + 20);
    int32_t st = check_code(k, m, matrix, err, err_len);
    if (st < 0) return st;
    if (m == 0) continue;
    if (!in_bounds(data_off, data_stride, k, shard_size, buf_len) || !in_bounds(par_off, par_stride, m, shard_size, buf_len))
      return lumen_fail(err, err_len, LUMEN_E_BUFFER,
                        "FEC block %d (k=%d, m=%d, %d-byte shards) does not fit in the %d-byte buffer", b, k, m,
                        shard_size, buf_len);
    parity_matrix(k, m, matrix, coef);
    for (int i = 0; i < k; i++) in[i] = buf + data_off + (int64_t)i * data_stride;
    for (int j = 0; j < m; j++) out[j] = buf + par_off + (int64_t)j * par_stride;
    rs_kernel(in, k, out, m, coef, (size_t)shard_size);
    written += m;
  }
  return written;
}

/* Inverts the n x n matrix a (row-major) into inv; returns 0, or -1 when singular. */
static int gf_invert(uint8_t *a, uint8_t *inv, int n) {
  memset(inv, 0, (size_t)n * n);
  for (int i = 0; i < n; i++) inv[i * n + i] = 1;
  for (int c = 0; c < n; c++) {
    int p = c;
    while (p < n && a[p * n + c] == 0) p++;
    if (p == n) return -1;
    if (p != c)
      for (int j = 0; j < n; j++) {
        uint8_t t = a[c * n + j]; a[c * n + j] = a[p * n + j]; a[p * n + j] = t;
        t = inv[c * n + j]; inv[c * n + j] = inv[p * n + j]; inv[p * n + j] = t;
      }
    uint8_t s = GF_INV[a[c * n + c]];
    for (int j = 0; j < n; j++) { a[c * n + j] = gf_mul(a[c * n + j], s); inv[c * n + j] = gf_mul(inv[c * n + j], s); }
    for (int r = 0; r < n; r++) {
      if (r == c || a[r * n + c] == 0) continue;
      uint8_t f = a[r * n + c];
      for (int j = 0; j < n; j++) { a[r * n + j] ^= gf_mul(f, a[c * n + j]); inv[r * n + j] ^= gf_mul(f, inv[c * n + j]); }
    }
  }
  return 0;
}

int32_t lumen_rs_decode(uint8_t *buf, int32_t buf_len, int32_t offset, int32_t stride, int32_t shard_size,
                        int32_t k, int32_t m, int32_t matrix, int32_t rebuild_parity, const uint8_t *present, int32_t present_len, char *err, int32_t err_len) {
  int32_t st = check_code(k, m, matrix, err, err_len);
  if (st < 0) return st;
  st = lumen_need(err, err_len, "present-shard", present, present_len, k + m);
  if (st < 0) return st;
  if (buf == NULL || present == NULL || shard_size <= 0 || !in_bounds(offset, stride, k + m, shard_size, buf_len))
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "a block of %d shards of %d bytes (stride %d from %d) does not fit in the %d-byte buffer",
                      k + m, shard_size, stride, offset, buf_len);
  int missing[255], nmissing = 0, have = 0, par_sel[255], npar = 0, par_missing[255], nparmiss = 0;
  for (int s = 0; s < k + m; s++) {
    if (present[s]) have++;
    else if (s < k) missing[nmissing++] = s;
    else par_missing[nparmiss++] = s - k;
  }
  if (have < k)
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "only %d of the %d shards a %d+%d block needs arrived: it cannot be rebuilt", have, k, k, m);
  uint8_t C[16384];
  parity_matrix(k, m, matrix, C);
  uint8_t *shard[255];
  for (int s = 0; s < k + m; s++) shard[s] = buf + offset + (int64_t)s * stride;
  if (nmissing > 0) {
    for (int j = 0; j < m && npar < nmissing; j++)
      if (present[k + j]) par_sel[npar++] = j;
    /* Cm = C[par_sel][missing] (e x e); Cm^-1 maps (p_sel ^ C_sel,present . d_present) to d_missing */
    int e = nmissing;
    uint8_t *cm = malloc((size_t)e * e), *cinv = malloc((size_t)e * e), *coef = malloc((size_t)e * k);
    if (cm == NULL || cinv == NULL || coef == NULL) {
      free(cm); free(cinv); free(coef);
      return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory decoding a %d+%d block", k, m);
    }
    for (int t = 0; t < e; t++)
      for (int u = 0; u < e; u++) cm[t * e + u] = C[par_sel[t] * k + missing[u]];
    if (gf_invert(cm, cinv, e) != 0) {
      free(cm); free(cinv); free(coef);
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "singular decoding matrix (a bug: every square Cauchy submatrix is invertible)");
    }
    const uint8_t *in[255];
    uint8_t *outp[255];
    int nin = 0;
    /* inputs: present data shards, then the selected parity shards */
    for (int i = 0; i < k; i++) {
      if (!present[i]) continue;
      for (int d = 0; d < e; d++) {
        uint8_t acc = 0;
        for (int t = 0; t < e; t++) acc ^= gf_mul(cinv[d * e + t], C[par_sel[t] * k + i]);
        coef[d * k + nin] = acc;
      }
      in[nin++] = shard[i];
    }
    for (int t = 0; t < e; t++) {
      for (int d = 0; d < e; d++) coef[d * k + nin] = cinv[d * e + t];
      in[nin++] = shard[k + par_sel[t]];
    }
    for (int d = 0; d < e; d++) outp[d] = shard[missing[d]];
    rs_kernel(in, k, outp, e, coef, (size_t)shard_size);
    free(cm); free(cinv); free(coef);
  }
  if (rebuild_parity && nparmiss > 0) {
    const uint8_t *in[255];
    uint8_t *outp[255];
    uint8_t *coef = malloc((size_t)nparmiss * k);
    if (coef == NULL) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory re-encoding parity");
    for (int i = 0; i < k; i++) in[i] = shard[i];
    for (int t = 0; t < nparmiss; t++) {
      memcpy(coef + t * k, C + par_missing[t] * k, (size_t)k);
      outp[t] = shard[k + par_missing[t]];
    }
    rs_kernel(in, k, outp, nparmiss, coef, (size_t)shard_size);
    free(coef);
  }
  return nmissing;
}

int32_t lumen_rs_matrix(int32_t k, int32_t m, int32_t matrix, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  int32_t st = check_code(k, m, matrix, err, err_len);
  if (st < 0) return st;
  if (out == NULL || out_len < k * m)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "the matrix needs %d bytes, the buffer has %d", k * m, out_len);
  parity_matrix(k, m, matrix, out);
  return k * m;
}
