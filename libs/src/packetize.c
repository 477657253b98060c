/* One video frame → its datagrams: headers, shard layout, Reed-Solomon, AES-128-GCM
 * (lumen_packetize.h). The same bytes as src/media/packetizer/video.ts, step for step:
 *   1. data shards: 16 zero bytes, streamPacketIndex, flags, multiFec fields, fecInfo 0, the
 *      payload (the frame header before the first data packet's), zero padding to the shard size;
 *   2. parity of every block over the whole shards (rs.c, fec.md §5.1);
 *   3. the RTP header, frameIndex, multiFecBlocks and fecInfo written on every shard;
 *   4. AES-GCM per packet after FEC (media-encryption.md §3, gcm.c). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "gcm.h"
#include "internal.h"
#include "lumen_fec.h"
#include "packetize.h"

/* video.md §2: field offsets inside the plaintext packet (format.ts Off mirrors them) */
#define OFF_RTP_FLAGS 0
#define OFF_SEQUENCE 2
#define OFF_TIMESTAMP 4
#define OFF_STREAM_PACKET_INDEX 16
#define OFF_FRAME_INDEX 20
#define OFF_FLAGS 24
#define OFF_EXTRA_FLAGS 25
#define OFF_MULTI_FEC_FLAGS 26
#define OFF_MULTI_FEC_BLOCKS 27
#define OFF_FEC_INFO 28
#define OFF_PAYLOAD 32

#define RTP_FLAGS 0x90
#define MULTI_FEC_FLAGS 0x10
#define FLAG_PIC_DATA 0x01
#define FLAG_EOF 0x02
#define FLAG_SOF 0x04
#define MAX_BLOCK_PACKETS 1023 /* the 10-bit k field of fecInfo */
#define MAX_DATAGRAM 65507

static int32_t get32(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
static void le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

int32_t video_plan(const uint8_t *desc, int32_t desc_len, int32_t frame_len, VideoPlan *v, char *err, int32_t err_len) {
  if (!desc || desc_len < LUMEN_VIDEO_DESC_INTS * 4)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "the frame descriptor is %d bytes, it must be %d", desc_len, LUMEN_VIDEO_DESC_INTS * 4);
  memset(v, 0, sizeof *v);
  int32_t d[LUMEN_VIDEO_DESC_INTS];
  for (int i = 0; i < LUMEN_VIDEO_DESC_INTS; i++) d[i] = get32(desc + 4 * i);
  v->packet_size = d[LUMEN_VD_PACKET_SIZE];
  v->encrypt = d[LUMEN_VD_ENCRYPT];
  if (v->encrypt != 0 && v->encrypt != 1) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the encryption switch is %d, not 0 or 1", v->encrypt);
  v->pre = v->encrypt ? LUMEN_VIDEO_ENC_PREFIX : 0;
  if (v->packet_size < LUMEN_VIDEO_HEADER_BYTES || v->packet_size % 16 != 0 || v->packet_size + 16 + v->pre > MAX_DATAGRAM)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "packet size %d is impossible: a multiple of 16, at least %d, and a datagram of at most %d bytes", v->packet_size, LUMEN_VIDEO_HEADER_BYTES, MAX_DATAGRAM);
  if (frame_len < 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "frame length %d is negative", frame_len);
  v->shard = v->packet_size + 16;
  v->stride = v->shard + v->pre;
  int32_t P = v->packet_size - 16;
  int64_t payload = (int64_t)frame_len + LUMEN_FRAME_HEADER_BYTES;
  int64_t D = (payload + P - 1) / P;
  v->blocks = d[LUMEN_VD_BLOCKS];
  if (v->blocks < 1 || v->blocks > LUMEN_VD_MAX_BLOCKS) return lumen_fail(err, err_len, LUMEN_E_INVALID, "%d FEC blocks: a frame has 1 to %d", v->blocks, LUMEN_VD_MAX_BLOCKS);
  int64_t data = 0, count = 0;
  for (int b = 0; b < v->blocks; b++) {
    const int32_t *blk = d + LUMEN_VD_BLOCK0 + b * LUMEN_VD_BLOCK_INTS;
    v->k[b] = blk[0];
    v->m[b] = blk[1];
    v->fwire[b] = blk[2];
    if (v->k[b] < 1 || v->k[b] > MAX_BLOCK_PACKETS) return lumen_fail(err, err_len, LUMEN_E_INVALID, "FEC block %d has %d data packets, outside 1..%d", b, v->k[b], MAX_BLOCK_PACKETS);
    if (v->m[b] < 0 || (v->m[b] > 0 && v->m[b] > 255 - v->k[b]))
      return lumen_fail(err, err_len, LUMEN_E_INVALID, "FEC block %d: %d data + %d parity packets, k + m must be at most 255", b, v->k[b], v->m[b]);
    if (v->fwire[b] < 0 || v->fwire[b] > 255) return lumen_fail(err, err_len, LUMEN_E_INVALID, "FEC block %d: wire percentage %d is outside 0..255", b, v->fwire[b]);
    data += v->k[b];
    count += v->k[b] + v->m[b];
  }
  if (data != D)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "the blocks hold %lld data packets, a %d-byte frame in %d-byte packets needs %lld", (long long)data, frame_len, v->packet_size, (long long)D);
  if (count * v->stride > INT32_MAX) return lumen_fail(err, err_len, LUMEN_E_INVALID, "a frame of %lld packets of %d bytes is too large", (long long)count, v->stride);
  v->data_packets = (int32_t)D;
  v->count = (int32_t)count;
  v->last_payload_len = (int32_t)(payload - (D - 1) * P);
  v->frame_index = (uint32_t)d[LUMEN_VD_FRAME_INDEX];
  v->frame_type = d[LUMEN_VD_FRAME_TYPE];
  if (v->frame_type < 0 || v->frame_type > 255) return lumen_fail(err, err_len, LUMEN_E_INVALID, "frame type %d is outside 0..255", v->frame_type);
  v->latency = d[LUMEN_VD_LATENCY];
  if (v->latency < 0 || v->latency > 65535) return lumen_fail(err, err_len, LUMEN_E_INVALID, "host latency %d (0.1 ms) is outside 0..65535", v->latency);
  v->rtp_timestamp = (uint32_t)d[LUMEN_VD_RTP_TIMESTAMP];
  v->sequence = (uint32_t)d[LUMEN_VD_SEQUENCE];
  v->iv_counter = (uint64_t)(uint32_t)d[LUMEN_VD_IV_LO] | ((uint64_t)(uint32_t)d[LUMEN_VD_IV_HI] << 32);
  return 0;
}

int32_t video_write(const VideoPlan *v, const uint8_t *frame, int32_t frame_len, VideoGcm *gcm, uint8_t *out, size_t out_len, char *err, int32_t err_len) {
  const int32_t T = v->stride, S = v->shard, pre = v->pre, P = v->packet_size - 16, B = v->blocks;
  if (out_len < (size_t)v->count * (size_t)T)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "%d packets of %d bytes need %lld bytes, the buffer has %zu", v->count, T, (long long)v->count * T, out_len);
  if (v->encrypt && !gcm) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the frame asks for encryption but no video key is set");
  int32_t rs[LUMEN_VD_MAX_BLOCKS * LUMEN_RS_BLOCK_INTS];
  int nrs = 0;
  int32_t first_slot[LUMEN_VD_MAX_BLOCKS];
  /* 1. data shards */
  int32_t slot = 0, src = 0, data_packet = 0;
  for (int b = 0; b < B; b++) {
    uint8_t multi_fec_blocks = (uint8_t)((b << 4) | ((B - 1) << 6));
    first_slot[b] = slot;
    for (int x = 0; x < v->k[b]; x++, slot++, data_packet++) {
      uint8_t *o = out + (size_t)slot * T + pre;
      memset(o, 0, 16);
      le32(o + OFF_STREAM_PACKET_INDEX, (v->sequence + (uint32_t)slot) << 8);
      o[OFF_FLAGS] = FLAG_PIC_DATA | (x == 0 ? FLAG_SOF : 0) | (x == v->k[b] - 1 ? FLAG_EOF : 0);
      o[OFF_EXTRA_FLAGS] = 0;
      o[OFF_MULTI_FEC_FLAGS] = MULTI_FEC_FLAGS;
      o[OFF_MULTI_FEC_BLOCKS] = multi_fec_blocks;
      memset(o + OFF_FEC_INFO, 0, 4);
      uint8_t *p = o + OFF_PAYLOAD;
      int32_t room = P;
      if (data_packet == 0) {
        p[0] = 0x01;
        p[1] = (uint8_t)v->latency;
        p[2] = (uint8_t)(v->latency >> 8);
        p[3] = (uint8_t)v->frame_type;
        p[4] = (uint8_t)v->last_payload_len;
        p[5] = (uint8_t)(v->last_payload_len >> 8);
        p[6] = 0;
        p[7] = 0;
        p += LUMEN_FRAME_HEADER_BYTES;
        room -= LUMEN_FRAME_HEADER_BYTES;
      }
      int32_t n = frame_len - src < room ? frame_len - src : room;
      if (n > 0) memcpy(p, frame + src, (size_t)n);
      src += n > 0 ? n : 0;
      uint8_t *end = o + S;
      if (p + (n > 0 ? n : 0) < end) memset(p + (n > 0 ? n : 0), 0, (size_t)(end - (p + (n > 0 ? n : 0))));
    }
    if (v->m[b] > 0) {
      int32_t *r = rs + nrs * LUMEN_RS_BLOCK_INTS;
      r[0] = first_slot[b] * T + pre;
      r[1] = T;
      r[2] = slot * T + pre;
      r[3] = T;
      r[4] = v->k[b];
      r[5] = v->m[b];
      nrs++;
    }
    slot += v->m[b];
  }
  /* 2. parity of every block, one call */
  if (nrs > 0) {
    uint8_t blocks[sizeof rs];
    memcpy(blocks, rs, sizeof rs);
    int32_t len = (int32_t)((size_t)v->count * T);
    int32_t rc = lumen_rs_encode(out, len, S, LUMEN_RS_CAUCHY, blocks, (int32_t)sizeof blocks, nrs, err, err_len);
    if (rc < 0) return rc;
  }
  /* 3. RTP header, frameIndex, multiFecBlocks, fecInfo on every shard */
  for (int b = 0; b < B; b++) {
    uint8_t multi_fec_blocks = (uint8_t)((b << 4) | ((B - 1) << 6));
    int n = v->k[b] + v->m[b];
    uint32_t fec_base = ((uint32_t)v->k[b] << 22) | ((uint32_t)v->fwire[b] << 4);
    for (int x = 0; x < n; x++) {
      int32_t s = first_slot[b] + x;
      uint8_t *o = out + (size_t)s * T + pre;
      uint16_t seq = (uint16_t)(v->sequence + (uint32_t)s);
      o[OFF_RTP_FLAGS] = RTP_FLAGS;
      o[1] = 0;
      o[OFF_SEQUENCE] = (uint8_t)(seq >> 8);
      o[OFF_SEQUENCE + 1] = (uint8_t)seq;
      o[OFF_TIMESTAMP] = (uint8_t)(v->rtp_timestamp >> 24);
      o[OFF_TIMESTAMP + 1] = (uint8_t)(v->rtp_timestamp >> 16);
      o[OFF_TIMESTAMP + 2] = (uint8_t)(v->rtp_timestamp >> 8);
      o[OFF_TIMESTAMP + 3] = (uint8_t)v->rtp_timestamp;
      le32(o + OFF_FRAME_INDEX, v->frame_index);
      o[OFF_MULTI_FEC_BLOCKS] = multi_fec_blocks;
      le32(o + OFF_FEC_INFO, fec_base | ((uint32_t)x << 12));
    }
  }
  /* 4. AES-GCM per packet, after FEC */
  if (v->encrypt) {
    for (int32_t s = 0; s < v->count; s++)
      if (video_gcm_seal(gcm, v->iv_counter + (uint64_t)s, v->frame_index, out + (size_t)s * T, S) != 0)
        return lumen_fail(err, err_len, LUMEN_E_FAILED, "AES-GCM encryption of packet %d failed", s);
  }
  return v->count;
}

LUMEN_API int32_t lumen_video_packetize(const uint8_t *frame, int32_t frame_len, const uint8_t *desc, int32_t desc_len, const uint8_t *key, int32_t key_len, uint8_t *out, int32_t out_len, uint8_t *lens, int32_t lens_len, char *err, int32_t err_len) {
  VideoPlan v;
  int32_t rc = video_plan(desc, desc_len, frame_len, &v, err, err_len);
  if (rc < 0) return rc;
  if (frame_len > 0 && !frame) return lumen_fail(err, err_len, LUMEN_E_INVALID, "no frame bytes");
  if (!out || out_len < 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "no output buffer");
  if (lens_len > 0 && lens_len < 4 * v.count)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "%d packets need %d bytes of lengths, the buffer has %d", v.count, 4 * v.count, lens_len);
  VideoGcm *gcm = NULL;
  if (v.encrypt) {
    if (!key || key_len != 16) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the video key must be 16 bytes, got %d", key_len);
    gcm = video_gcm_new(key, GCM_BEST);
    if (!gcm) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot set up AES-128-GCM for the video key (out of memory, or OpenSSL refused it)");
  }
  rc = video_write(&v, frame, frame_len, gcm, out, (size_t)out_len, err, err_len);
  video_gcm_free(gcm);
  if (rc < 0) return rc;
  if (lens && lens_len > 0)
    for (int32_t i = 0; i < v.count; i++) le32(lens + 4 * i, (uint32_t)v.stride);
  return v.count;
}

LUMEN_API int32_t lumen_video_gcm_select(int32_t engine) {
  if (engine != LUMEN_GCM_BEST && engine != LUMEN_GCM_OPENSSL) return LUMEN_E_INVALID;
  gcm_prefer_openssl(engine == LUMEN_GCM_OPENSSL);
  return 0;
}

LUMEN_API int32_t lumen_video_gcm_engine(char *out, int32_t out_len) {
  const char *name = video_gcm_best_engine();
  if (out && out_len > 0) snprintf(out, (size_t)out_len, "%s", name);
  return (int32_t)strlen(name);
}

LUMEN_API int32_t lumen_video_seal(uint8_t *buf, int32_t buf_len, int32_t count, int32_t stride, int32_t shard_size, const uint8_t *key, int32_t key_len, int64_t iv_counter, char *err, int32_t err_len) {
  if (!key || key_len != 16) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the video key must be 16 bytes, got %d", key_len);
  if (count < 0 || shard_size < 1 || (int64_t)stride < (int64_t)shard_size + LUMEN_VIDEO_ENC_PREFIX || iv_counter < 0)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "bad seal: %d packets, stride %d, shard %d, IV counter %lld", count, stride, shard_size, (long long)iv_counter);
  if (!buf || buf_len < 0 || (int64_t)count * stride > buf_len)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "%d packets of %d bytes need %lld bytes, the buffer has %d", count, stride, (long long)count * stride, buf_len);
  /* OpenSSL's AES-GCM: the reference packetizer the tests compare against does not share the
   * packetizer's own kernel */
  VideoGcm *gcm = video_gcm_new(key, GCM_OPENSSL);
  if (!gcm) return lumen_fail(err, err_len, LUMEN_E_FAILED, "OpenSSL refused the AES-128-GCM key");
  for (int32_t s = 0; s < count; s++) {
    uint8_t *slot = buf + (size_t)s * stride;
    uint32_t frame_index = (uint32_t)get32(slot + LUMEN_VIDEO_ENC_PREFIX + OFF_FRAME_INDEX);
    if (video_gcm_seal(gcm, (uint64_t)iv_counter + (uint64_t)s, frame_index, slot, shard_size) != 0) {
      video_gcm_free(gcm);
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "AES-GCM encryption of packet %d failed", s);
    }
  }
  video_gcm_free(gcm);
  return count;
}
