/* libFuzzer target: the video frame descriptor and packetizer (packetize.c: video_plan through
 * lumen_video_packetize, and lumen_video_seal; lumen_packetize.h, docs/protocol/video.md §2).
 *
 * Input: byte 0 picks the mode, then 96 descriptor bytes, a frame length, an output length and
 * the frame's bytes.
 *   mode bit 0 clear: the descriptor as given (every field the fuzzer's), the output buffer
 *     out_len heap bytes (at most 4 MiB): video_plan must refuse what does not fit.
 *   mode bit 0 set: the harness makes the block plan consistent with the frame (the data packets
 *     a frame of that length needs, spread over the blocks) so the packet writer, FEC and GCM run
 *     on the fuzzer's packet sizes, block splits and counters, into a buffer of exactly the
 *     size the plan needs (or one byte short, mode bit 1: which must be refused).
 * Every buffer is exactly as long as said, so AddressSanitizer catches any write past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lumen_packetize.h"

#define MAX_OUT (4 << 20)

static uint32_t rd(const uint8_t **p, size_t *n, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; i++) {
    v |= (uint32_t)(*n > 0 ? **p : 0) << (8 * i);
    if (*n > 0) (*p)++, (*n)--;
  }
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p = data;
  size_t n = size;
  int mode = (int)rd(&p, &n, 1);
  int32_t d[LUMEN_VIDEO_DESC_INTS];
  for (int i = 0; i < LUMEN_VIDEO_DESC_INTS; i++) d[i] = (int32_t)rd(&p, &n, 4);
  int32_t frame_len = (int32_t)(rd(&p, &n, 4) % 200000);
  int32_t out_len = (int32_t)(rd(&p, &n, 4) % MAX_OUT);
  int32_t desc_len = sizeof d;
  if (mode & 1) {
    /* a plan that matches the frame: packet size a multiple of 16, 32..1504 (or any size up to a datagram, mode bit 2) */
    int32_t ps = (mode & 4) ? 32 + 16 * (int32_t)((uint32_t)d[LUMEN_VD_PACKET_SIZE] % 4000) : 32 + 16 * (int32_t)((uint32_t)d[LUMEN_VD_PACKET_SIZE] % 93);
    d[LUMEN_VD_PACKET_SIZE] = ps;
    d[LUMEN_VD_ENCRYPT] = (mode >> 3) & 1;
    int32_t P = ps - 16;
    int64_t D = ((int64_t)frame_len + 8 + P - 1) / P;
    int blocks = 1 + (int)((uint32_t)d[LUMEN_VD_BLOCKS] % 4);
    if (D < blocks) blocks = (int)D;
    if (D > (int64_t)blocks * 1023) return 0;
    d[LUMEN_VD_BLOCKS] = blocks;
    int64_t left = D;
    for (int b = 0; b < blocks; b++) {
      int32_t *blk = d + LUMEN_VD_BLOCK0 + b * LUMEN_VD_BLOCK_INTS;
      int64_t k = b == blocks - 1 ? left : (left / (blocks - b));
      if (k > 1023) k = 1023;
      if (b == blocks - 1 && left > 1023) return 0;
      blk[0] = (int32_t)k;
      blk[1] = k >= 255 ? 0 : (int32_t)((uint32_t)blk[1] % (uint32_t)(256 - k));
      blk[2] = (int32_t)((uint32_t)blk[2] % 256);
      left -= k;
    }
    d[LUMEN_VD_FRAME_TYPE] = (int32_t)((uint32_t)d[LUMEN_VD_FRAME_TYPE] % 256);
    d[LUMEN_VD_LATENCY] = (int32_t)((uint32_t)d[LUMEN_VD_LATENCY] % 65536);
    int64_t count = 0;
    for (int b = 0; b < blocks; b++) count += d[LUMEN_VD_BLOCK0 + b * 3] + d[LUMEN_VD_BLOCK0 + b * 3 + 1];
    int64_t need = count * (ps + 16 + (d[LUMEN_VD_ENCRYPT] ? 32 : 0));
    if (need > MAX_OUT) return 0;
    out_len = (int32_t)need - ((mode & 2) ? 1 : 0);
  } else if (mode & 2) {
    desc_len = (int32_t)(rd(&p, &n, 1) % (sizeof d + 1));
  }
  uint8_t *frame = malloc(frame_len > 0 ? (size_t)frame_len : 1);
  uint8_t *desc = malloc(desc_len > 0 ? (size_t)desc_len : 1);
  uint8_t *out = malloc(out_len > 0 ? (size_t)out_len : 1);
  if (!frame || !desc || !out) abort();
  for (int32_t i = 0; i < frame_len; i++) frame[i] = n > 0 ? p[i % n] : (uint8_t)i;
  memcpy(desc, d, (size_t)desc_len);
  uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  int32_t lens_len = (int32_t)(rd(&p, &n, 2) % 4096);
  uint8_t *lens = malloc(lens_len > 0 ? (size_t)lens_len : 1);
  if (!lens) abort();
  char err[256];
  int32_t r = lumen_video_packetize(frame, frame_len, desc, desc_len, key, (mode & 16) ? 15 : 16, out, out_len, lens, lens_len, err, sizeof err);
  if ((mode & 3) == 3 && r >= 0) abort(); /* a buffer one byte short of the plan must be refused */
  if (r > 0 && (mode & 1) && !(mode & 2)) {
    /* re-seal what was written with the separate call (as the TypeScript reference does) */
    int32_t stride = d[LUMEN_VD_PACKET_SIZE] + 16 + (d[LUMEN_VD_ENCRYPT] ? 32 : 0);
    if (d[LUMEN_VD_ENCRYPT]) lumen_video_seal(out, out_len, r, stride, d[LUMEN_VD_PACKET_SIZE] + 16, key, 16, (int64_t)rd(&p, &n, 4), err, sizeof err);
  }
  /* the seal call on its own, with the fuzzer's geometry */
  int32_t count = (int32_t)(rd(&p, &n, 1)), stride = (int32_t)rd(&p, &n, 4), shard = (int32_t)rd(&p, &n, 4);
  lumen_video_seal(out, out_len, count, stride, shard, key, 16, (int64_t)(int32_t)rd(&p, &n, 4), err, sizeof err);
  free(frame);
  free(desc);
  free(out);
  free(lens);
  return 0;
}
