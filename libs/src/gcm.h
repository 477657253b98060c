/* Internal: AES-128-GCM of one video packet (gcm.c), for the packetizer and the send thread. */
#ifndef LUMEN_GCM_H
#define LUMEN_GCM_H

#include <stdint.h>

#include "lumen_packetize.h"

typedef struct VideoGcm VideoGcm;

enum {
  GCM_BEST,    /* the VAES kernel where the CPU has it, else OpenSSL (or OpenSSL after gcm_prefer_openssl(1)) */
  GCM_FAST,    /* the VAES kernel, or NULL without it */
  GCM_OPENSSL, /* OpenSSL's EVP (the test oracle's twin) */
};

/* Makes GCM_BEST mean OpenSSL (on != 0) for contexts made from now on (lumen_video_gcm_select). */
void gcm_prefer_openssl(int on);
/* A context keyed with a 16-byte key, or NULL. */
VideoGcm *video_gcm_new(const uint8_t *key, int engine);
void video_gcm_free(VideoGcm *g);
/* What GCM_BEST gives a key set now: "vaes-avx512" or "openssl" */
const char *video_gcm_best_engine(void);
/* Seals one slot in place: plaintext at slot + 32 (shard bytes) becomes ciphertext, slot[0..32)
 * gets the IV (counter), frame_index and the tag. 0 on success. */
int video_gcm_seal(VideoGcm *g, uint64_t counter, uint32_t frame_index, uint8_t *slot, int32_t shard);

#endif
