/* libFuzzer target: the Reed-Solomon decoder the test client rebuilds video and audio blocks with
 * (rs.c: lumen_rs_decode, lumen_rs_encode; docs/protocol/fec.md).
 *
 * Input: byte 0 picks the mode, then the parameters, then shard bytes.
 *   mode even: a round trip. k, m and the shard size come from the input, the data shards from
 *     its bytes; parity is encoded, the shards the present mask marks missing are overwritten
 *     with garbage, decoded, and must come back byte for byte (an abort otherwise).
 *   mode odd: raw parameters. offset, stride, shard size, k, m, matrix and the present mask go
 *     to lumen_rs_decode (and a block descriptor to lumen_rs_encode) as a caller could pass
 *     them, over a buffer of exactly buf_len heap bytes, so AddressSanitizer sees any access the
 *     bounds checks let through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lumen_fec.h"

static uint32_t rd(const uint8_t **p, size_t *n, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; i++) {
    v |= (uint32_t)(*n > 0 ? **p : 0) << (8 * i);
    if (*n > 0) (*p)++, (*n)--;
  }
  return v;
}

static void round_trip(const uint8_t *p, size_t n) {
  int matrix = rd(&p, &n, 1) & 1;
  int k = matrix == LUMEN_RS_AUDIO ? 4 : 1 + (int)(rd(&p, &n, 1) % 64);
  int m = matrix == LUMEN_RS_AUDIO ? 2 : (int)(rd(&p, &n, 1) % 64);
  int size = 1 + (int)(rd(&p, &n, 2) % 300);
  uint8_t present[128];
  for (int s = 0; s < k + m; s++) present[s] = (uint8_t)(rd(&p, &n, 1) & 1);
  size_t total = (size_t)(k + m) * size;
  uint8_t *buf = malloc(total), *orig = malloc(total);
  if (!buf || !orig) abort();
  for (size_t i = 0; i < (size_t)k * size; i++) buf[i] = n > 0 ? p[i % n] ^ (uint8_t)i : (uint8_t)(i * 7);
  char err[256];
  if (m > 0) {
    int32_t desc[LUMEN_RS_BLOCK_INTS] = {0, size, k * size, size, k, m};
    if (lumen_rs_encode(buf, (int32_t)total, size, matrix, (const uint8_t *)desc, sizeof desc, 1, err, sizeof err) != m) abort();
  }
  memcpy(orig, buf, total);
  int have = 0, lost = 0;
  for (int s = 0; s < k + m; s++) {
    if (present[s]) have++;
    else {
      memset(buf + (size_t)s * size, 0xA5, (size_t)size);
      if (s < k) lost++;
    }
  }
  int32_t r = lumen_rs_decode(buf, (int32_t)total, 0, size, size, k, m, matrix, 1, present, k + m, err, sizeof err);
  if (have < k) {
    if (r >= 0) abort(); /* too few shards must be refused */
  } else {
    if (r != lost) abort();
    if (memcmp(buf, orig, total) != 0) abort(); /* data and re-encoded parity exactly as sent */
  }
  free(buf);
  free(orig);
}

static void raw(const uint8_t *p, size_t n) {
  int32_t buf_len = (int32_t)(rd(&p, &n, 2) % 8192);
  int32_t offset = (int32_t)rd(&p, &n, 4), stride = (int32_t)rd(&p, &n, 4), size = (int32_t)rd(&p, &n, 4);
  int32_t k = (int32_t)(int8_t)rd(&p, &n, 1), m = (int32_t)(int8_t)rd(&p, &n, 1), matrix = (int32_t)(rd(&p, &n, 1) % 3) - (n & 1);
  int32_t present_len = (int32_t)(rd(&p, &n, 1));
  uint8_t *buf = malloc(buf_len > 0 ? (size_t)buf_len : 1);
  uint8_t *present = malloc(present_len > 0 ? (size_t)present_len : 1);
  if (!buf || !present) abort();
  for (int32_t i = 0; i < present_len; i++) present[i] = (uint8_t)rd(&p, &n, 1) & 1;
  for (int32_t i = 0; i < buf_len; i++) buf[i] = (uint8_t)i;
  char err[256];
  lumen_rs_decode(buf, buf_len, offset, stride, size, k, m, matrix, (int32_t)(n & 2), present, present_len, err, sizeof err);
  int32_t desc[LUMEN_RS_BLOCK_INTS];
  for (int i = 0; i < LUMEN_RS_BLOCK_INTS; i++) desc[i] = (int32_t)rd(&p, &n, 4);
  int32_t blocks_len = (int32_t)(rd(&p, &n, 1) % (sizeof desc + 1));
  lumen_rs_encode(buf, buf_len, size, matrix, (const uint8_t *)desc, blocks_len, (int32_t)(rd(&p, &n, 1) % 3), err, sizeof err);
  free(buf);
  free(present);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1) raw(data + 1, size - 1);
  else round_trip(data + 1, size - 1);
  return 0;
}
