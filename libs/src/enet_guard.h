/* The CONNECT guard of lumen_enet.h, used by enet.c; not part of the ABI. */
#ifndef LUMEN_ENET_GUARD_H
#define LUMEN_ENET_GUARD_H

#include <stdint.h>

#include <enet/enet.h>

#include "lumen_enet.h"

typedef struct {
  int enabled;
  int per_source;
  uint32_t handshake_ms;
  int expected_count;
  struct {
    uint32_t data;
    uint32_t addr; /* network order; 0 = any */
  } expected[LUMEN_ENET_GUARD_MAX_EXPECTED];
  uint32_t counters[LUMEN_ENET_GUARD_COUNTERS];
  /* per peer index: the connectID first seen half-open and when (ms), to time the handshake */
  uint32_t *seen_id;
  uint32_t *seen_at;
  size_t peers;
} EnetGuard;

/* Allocates the per-peer arrays; returns 0, or -1 when out of memory. */
int enet_guard_enable(EnetGuard *g, ENetHost *host, int per_source, uint32_t handshake_ms);
void enet_guard_free(EnetGuard *g);
/* Installs g as the guard that host->intercept consults for the enet_host_service call that
 * follows on this thread (NULL after it). */
void enet_guard_begin(EnetGuard *g);
/* Resets peers still half-open after the handshake timeout. */
void enet_guard_sweep(EnetGuard *g, ENetHost *host);
/* The callback to put into host->intercept. */
int enet_guard_intercept(ENetHost *host, ENetEvent *event);

#endif
