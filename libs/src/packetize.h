/* Internal: the video packetizer's pieces the send thread (net.c) builds on (lumen_packetize.h). */
#ifndef LUMEN_PACKETIZE_INTERNAL_H
#define LUMEN_PACKETIZE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "gcm.h"
#include "lumen_packetize.h"

typedef struct {
  int32_t packet_size, shard, stride, pre; /* S = packet_size + 16; stride = S + pre */
  int32_t data_packets, count, last_payload_len;
  int32_t blocks, k[LUMEN_VD_MAX_BLOCKS], m[LUMEN_VD_MAX_BLOCKS], fwire[LUMEN_VD_MAX_BLOCKS];
  uint32_t frame_index, rtp_timestamp, sequence;
  int32_t frame_type, latency, encrypt;
  uint64_t iv_counter;
} VideoPlan;

/* Reads and checks a descriptor against a frame of frame_len bytes. */
int32_t video_plan(const uint8_t *desc, int32_t desc_len, int32_t frame_len, VideoPlan *plan, char *err, int32_t err_len);
/* Writes the plan's packets into out (at least plan->count * plan->stride bytes), sealing them
 * with gcm when the plan asks for encryption. Returns the packet count. */
int32_t video_write(const VideoPlan *plan, const uint8_t *frame, int32_t frame_len, VideoGcm *gcm, uint8_t *out, size_t out_len, char *err, int32_t err_len);

#endif
