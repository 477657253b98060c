/* The host-side CONNECT guard (lumen_enet.h): a CONNECT is judged from its raw datagram in
 * libenet's intercept hook, before libenet allocates a peer and answers it, so a stranger's
 * CONNECT costs no slot and gets no VERIFY_CONNECT. Layout: control-stream.md §2 (the header's
 * peer id with its flag bits, then the 48-byte CONNECT command with the connect data last). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enet_guard.h"

#define HEADER_FLAG_SENT_TIME 0x8000
#define HEADER_FLAG_COMPRESSED 0x4000
#define HEADER_PEER_ID_MASK 0x0FFF
#define CONNECT_COMMAND_LEN 48
#define CONNECT_ID_OFFSET 40
#define CONNECT_DATA_OFFSET 44

static __thread EnetGuard *current;

static uint32_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint32_t ms = (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
  return ms == 0 ? 1 : ms; /* 0 means "not seen" */
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* A host-side peer between the CONNECT and the acknowledgement of its VERIFY_CONNECT. */
static int half_open(const ENetPeer *p) {
  return p->state == ENET_PEER_STATE_ACKNOWLEDGING_CONNECT || p->state == ENET_PEER_STATE_CONNECTION_PENDING ||
         p->state == ENET_PEER_STATE_CONNECTION_SUCCEEDED;
}

int enet_guard_enable(EnetGuard *g, ENetHost *host, int per_source, uint32_t handshake_ms) {
  uint32_t *id = calloc(host->peerCount, sizeof *id);
  uint32_t *at = calloc(host->peerCount, sizeof *at);
  if (id == NULL || at == NULL) {
    free(id);
    free(at);
    return -1;
  }
  enet_guard_free(g);
  memset(g, 0, sizeof *g);
  g->seen_id = id;
  g->seen_at = at;
  g->peers = host->peerCount;
  g->per_source = per_source;
  g->handshake_ms = handshake_ms;
  g->enabled = 1;
  host->intercept = enet_guard_intercept;
  return 0;
}

void enet_guard_free(EnetGuard *g) {
  free(g->seen_id);
  free(g->seen_at);
  g->seen_id = NULL;
  g->seen_at = NULL;
  g->peers = 0;
  g->enabled = 0;
}

void enet_guard_begin(EnetGuard *g) {
  current = g != NULL && g->enabled ? g : NULL;
}

void enet_guard_sweep(EnetGuard *g, ENetHost *host) {
  if (!g->enabled) return;
  uint32_t now = now_ms();
  for (size_t i = 0; i < host->peerCount && i < g->peers; i++) {
    ENetPeer *p = &host->peers[i];
    if (!half_open(p)) {
      g->seen_at[i] = 0;
      continue;
    }
    if (g->seen_at[i] == 0 || g->seen_id[i] != p->connectID) {
      g->seen_id[i] = p->connectID;
      g->seen_at[i] = now;
    } else if (now - g->seen_at[i] > g->handshake_ms) {
      enet_peer_reset(p);
      g->seen_at[i] = 0;
      g->counters[LUMEN_ENET_GUARD_TIMED_OUT]++;
    }
  }
}

/* 1 = drop the datagram (libenet never sees it), 0 = let libenet handle it. */
int enet_guard_intercept(ENetHost *host, ENetEvent *event) {
  (void)event;
  EnetGuard *g = current;
  if (g == NULL) return 0;
  const uint8_t *d = host->receivedData;
  size_t len = host->receivedDataLength;
  if (d == NULL || len < 2) return 0; /* libenet drops it */
  uint16_t peer_id = (uint16_t)((d[0] << 8) | d[1]);
  if ((peer_id & HEADER_PEER_ID_MASK) != ENET_PROTOCOL_MAXIMUM_PEER_ID) return 0; /* for a peer that exists */
  /* from here on the datagram can only open a connection */
  size_t off = (peer_id & HEADER_FLAG_SENT_TIME) ? 4 : 2;
  if (host->checksum != NULL) off += 4;
  if ((peer_id & HEADER_FLAG_COMPRESSED) || len < off + CONNECT_COMMAND_LEN ||
      (d[off] & ENET_PROTOCOL_COMMAND_MASK) != ENET_PROTOCOL_COMMAND_CONNECT) {
    g->counters[LUMEN_ENET_GUARD_MALFORMED]++;
    return 1;
  }
  const uint8_t *cmd = d + off;
  uint32_t connect_id; /* kept in wire order, as libenet stores it */
  memcpy(&connect_id, cmd + CONNECT_ID_OFFSET, sizeof connect_id);
  uint32_t data = be32(cmd + CONNECT_DATA_OFFSET);
  const ENetAddress *from = &host->receivedAddress;
  int matched = -1;
  for (int i = 0; i < g->expected_count && matched < 0; i++) {
    if (data != 0 ? g->expected[i].data == data : g->expected[i].addr == from->host) matched = i;
  }
  if (matched < 0) {
    g->counters[LUMEN_ENET_GUARD_UNKNOWN]++;
    return 1;
  }
  int from_source = 0, for_entry = 0;
  for (size_t i = 0; i < host->peerCount; i++) {
    const ENetPeer *p = &host->peers[i];
    if (p->state == ENET_PEER_STATE_DISCONNECTED) continue;
    /* a resent CONNECT of a peer libenet already holds: libenet ignores it itself */
    if (p->address.host == from->host && p->address.port == from->port && p->connectID == connect_id) return 0;
    if (!half_open(p)) continue;
    if (p->address.host == from->host) from_source++;
    if (p->eventData == data && (data != 0 || p->address.host == from->host)) for_entry++;
  }
  if (from_source >= g->per_source) {
    g->counters[LUMEN_ENET_GUARD_PER_SOURCE]++;
    return 1;
  }
  /* the launching client's own address is never held back by others replaying its connect data */
  if (for_entry >= LUMEN_ENET_GUARD_PER_ENTRY && g->expected[matched].addr != from->host) {
    g->counters[LUMEN_ENET_GUARD_ENTRY_FULL]++;
    return 1;
  }
  g->counters[LUMEN_ENET_GUARD_ADMITTED]++;
  return 0;
}
