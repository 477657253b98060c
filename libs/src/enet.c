/* The control stream's ENet, through Debian's libenet 1.3.17 (see lumen_enet.h). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <enet/enet.h>

#include "enet_guard.h"
#include "internal.h"
#include "lumen_enet.h"

#define MAX_HOSTS 64

typedef struct {
  LumenSlot slot;
  ENetHost *host;
  /* a received event that did not fit into the caller's last buffer */
  int has_pending;
  ENetEvent pending;
  EnetGuard guard;
} Slot;

/* An ENet host is driven by one thread (lumen_enet.h), so a lookup checks the handle's
 * generation under the table's lock and needs no reference beyond the call. */
LUMEN_TABLE(hosts, Slot, MAX_HOSTS, "ENet host");
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int initialized;

static Slot *slot_of(int32_t handle) {
  Slot *s = lumen_handle_acquire(&hosts, handle);
  lumen_handle_release(&hosts, s);
  return s && s->host ? s : NULL;
}

static ENetPeer *peer_of(Slot *s, int32_t peer) {
  if (peer < 0 || (size_t)peer >= s->host->peerCount) return NULL;
  return &s->host->peers[peer];
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

LUMEN_API int32_t lumen_enet_host_create(const char *bind_addr, int32_t port, int32_t peer_count, int32_t channel_limit, char *err, int32_t err_len) {
  if (port < 0 || port > 65535) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet port %d is out of range 0-65535", port);
  if (peer_count < 1 || peer_count > 4095) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet peer count %d is out of range 1-4095", peer_count);
  if (channel_limit < 0 || channel_limit > 255) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet channel limit %d is out of range 0-255", channel_limit);
  ENetAddress address;
  memset(&address, 0, sizeof address);
  address.host = ENET_HOST_ANY;
  address.port = (enet_uint16)port;
  if (bind_addr != NULL && bind_addr[0] != '\0' && enet_address_set_host_ip(&address, bind_addr) != 0)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "'%s' is not an IPv4 address to bind the control stream to", bind_addr);

  pthread_mutex_lock(&init_lock);
  if (!initialized) {
    if (enet_initialize() != 0) {
      pthread_mutex_unlock(&init_lock);
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "libenet failed to initialise");
    }
    initialized = 1;
  }
  pthread_mutex_unlock(&init_lock);
  Slot *slot;
  int32_t handle = lumen_handle_claim(&hosts, (void **)&slot);
  if (handle < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d ENet host slots are in use: destroy hosts that are no longer needed", MAX_HOSTS);
  /* a client (port 0, peer_count 1) still binds, to an ephemeral port */
  ENetHost *host = enet_host_create(&address, (size_t)peer_count, (size_t)channel_limit, 0, 0);
  if (host == NULL) {
    lumen_handle_free(&hosts, slot);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create an ENet host on UDP %s:%d (port in use or not permitted?)",
                      bind_addr != NULL && bind_addr[0] != '\0' ? bind_addr : "0.0.0.0", port);
  }
  /* bound what a peer can make libenet allocate (defaults: 32 MiB each) */
  host->maximumPacketSize = LUMEN_ENET_MAX_PACKET;
  host->maximumWaitingData = LUMEN_ENET_MAX_WAITING;
  slot->host = host;
  slot->has_pending = 0;
  return handle;
}

LUMEN_API int32_t lumen_enet_host_port(int32_t handle, char *err, int32_t err_len) {
  Slot *s = slot_of(handle);
  if (s == NULL) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet host handle %d is not open", handle);
  ENetAddress address;
  if (enet_socket_get_address(s->host->socket, &address) != 0)
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot read the ENet socket's bound address");
  return address.port;
}

LUMEN_API int32_t lumen_enet_host_destroy(int32_t handle) {
  Slot *s = lumen_handle_retire(&hosts, handle);
  if (s == NULL) return LUMEN_E_INVALID;
  if (s->has_pending && s->pending.packet != NULL) enet_packet_destroy(s->pending.packet);
  enet_host_destroy(s->host);
  enet_guard_free(&s->guard);
  s->host = NULL;
  s->has_pending = 0;
  lumen_handle_free(&hosts, s);
  return LUMEN_OK;
}

LUMEN_API int32_t lumen_enet_host_connect(int32_t handle, const char *addr, int32_t port, int32_t channel_count, uint32_t data, char *err, int32_t err_len) {
  Slot *s = slot_of(handle);
  if (s == NULL) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet host handle %d is not open", handle);
  if (port <= 0 || port > 65535) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet port %d is out of range 1-65535", port);
  if (channel_count < 1 || channel_count > 255) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet channel count %d is out of range 1-255", channel_count);
  ENetAddress address;
  memset(&address, 0, sizeof address);
  if (addr == NULL || enet_address_set_host_ip(&address, addr) != 0)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "'%s' is not an IPv4 address to connect to", addr != NULL ? addr : "(null)");
  address.port = (enet_uint16)port;
  ENetPeer *peer = enet_host_connect(s->host, &address, (size_t)channel_count, data);
  if (peer == NULL) return lumen_fail(err, err_len, LUMEN_E_FAILED, "ENet has no free peer to connect to %s:%d", addr, port);
  return (int32_t)(peer - s->host->peers);
}

/* Writes one event record; returns its size, 0 when it does not fit. */
static int32_t pack_event(Slot *s, const ENetEvent *ev, uint8_t *out, int32_t room, int32_t total_len) {
  uint32_t len = 0;
  uint8_t type = 0;
  switch (ev->type) {
    case ENET_EVENT_TYPE_CONNECT: type = LUMEN_ENET_EVENT_CONNECT; break;
    case ENET_EVENT_TYPE_DISCONNECT: type = LUMEN_ENET_EVENT_DISCONNECT; break;
    case ENET_EVENT_TYPE_RECEIVE:
      type = LUMEN_ENET_EVENT_RECEIVE;
      len = (uint32_t)ev->packet->dataLength;
      break;
    default: return 0;
  }
  if (type == LUMEN_ENET_EVENT_RECEIVE && (int64_t)len + LUMEN_ENET_EVENT_HEADER > total_len) {
    type = LUMEN_ENET_EVENT_DROPPED; /* could never fit: report and drop */
  }
  int32_t need = LUMEN_ENET_EVENT_HEADER + (type == LUMEN_ENET_EVENT_RECEIVE ? (int32_t)len : 0);
  if (need > room) return 0;
  memset(out, 0, LUMEN_ENET_EVENT_HEADER);
  out[0] = type;
  out[1] = ev->channelID;
  put16(out + 2, ev->packet != NULL ? (uint16_t)(ev->packet->flags & 0x3) : 0);
  put32(out + 4, (uint32_t)(ev->peer - s->host->peers));
  put32(out + 8, ev->data);
  memcpy(out + 12, &ev->peer->address.host, 4); /* already network order */
  put16(out + 16, ev->peer->address.port);
  put32(out + 20, len);
  if (type == LUMEN_ENET_EVENT_RECEIVE && len > 0) memcpy(out + LUMEN_ENET_EVENT_HEADER, ev->packet->data, len); /* an empty packet has no data */
  return need;
}

LUMEN_API int32_t lumen_enet_service(int32_t handle, int32_t timeout_ms, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  Slot *s = slot_of(handle);
  if (s == NULL) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet host handle %d is not open", handle);
  if (out == NULL || out_len < LUMEN_ENET_EVENT_HEADER)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "the ENet event buffer must hold at least %d bytes", LUMEN_ENET_EVENT_HEADER);
  if (timeout_ms < 0) timeout_ms = 0;
  int32_t used = 0;
  if (s->has_pending) {
    int32_t n = pack_event(s, &s->pending, out, out_len, out_len);
    if (n == 0) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "the ENet event buffer is too small for a pending event");
    if (s->pending.packet != NULL) enet_packet_destroy(s->pending.packet);
    s->has_pending = 0;
    used += n;
    timeout_ms = 0;
  }
  enet_guard_sweep(&s->guard, s->host);
  for (;;) {
    ENetEvent ev;
    enet_guard_begin(&s->guard);
    int r = enet_host_service(s->host, &ev, (enet_uint32)timeout_ms);
    enet_guard_begin(NULL);
    timeout_ms = 0;
    if (r < 0) {
      if (used > 0) return used;
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "ENet service failed (socket error)");
    }
    if (r == 0) break;
    int32_t n = pack_event(s, &ev, out + used, out_len - used, out_len);
    if (n == 0) {
      s->pending = ev; /* keep it for the next call, packet included */
      s->has_pending = 1;
      break;
    }
    used += n;
    if (ev.packet != NULL) enet_packet_destroy(ev.packet);
  }
  return used;
}

LUMEN_API int32_t lumen_enet_send(int32_t handle, int32_t peer, int32_t channel, int32_t flags, uint8_t *data, int32_t len, char *err, int32_t err_len) {
  Slot *s = slot_of(handle);
  if (s == NULL) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet host handle %d is not open", handle);
  ENetPeer *p = peer_of(s, peer);
  if (p == NULL) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet peer %d does not exist", peer);
  if (p->state != ENET_PEER_STATE_CONNECTED) return lumen_fail(err, err_len, LUMEN_E_EOF, "ENet peer %d is not connected", peer);
  if (channel < 0 || (size_t)channel >= p->channelCount)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet channel %d is beyond the peer's %u channels", channel, (unsigned)p->channelCount);
  if (len < 0 || (data == NULL && len > 0)) return lumen_fail(err, err_len, LUMEN_E_INVALID, "invalid ENet packet length %d", len);
  enet_uint32 pf = 0;
  if (flags & LUMEN_ENET_SEND_RELIABLE) pf |= ENET_PACKET_FLAG_RELIABLE;
  if (flags & LUMEN_ENET_SEND_UNSEQUENCED) pf |= ENET_PACKET_FLAG_UNSEQUENCED;
  ENetPacket *packet = enet_packet_create(data, (size_t)len, pf);
  if (packet == NULL) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "cannot allocate an ENet packet of %d bytes", len);
  if (enet_peer_send(p, (enet_uint8)channel, packet) != 0) {
    enet_packet_destroy(packet);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "ENet refused to queue a %d-byte packet for peer %d", len, peer);
  }
  return LUMEN_OK;
}

LUMEN_API int32_t lumen_enet_flush(int32_t handle) {
  Slot *s = slot_of(handle);
  if (s == NULL) return LUMEN_E_INVALID;
  enet_host_flush(s->host);
  return LUMEN_OK;
}

LUMEN_API int32_t lumen_enet_disconnect(int32_t handle, int32_t peer, uint32_t data, int32_t mode) {
  Slot *s = slot_of(handle);
  if (s == NULL) return LUMEN_E_INVALID;
  ENetPeer *p = peer_of(s, peer);
  if (p == NULL) return LUMEN_E_INVALID;
  switch (mode) {
    case LUMEN_ENET_DISCONNECT_GRACEFUL: enet_peer_disconnect(p, data); break;
    case LUMEN_ENET_DISCONNECT_NOW: enet_peer_disconnect_now(p, data); break;
    case LUMEN_ENET_DISCONNECT_LATER: enet_peer_disconnect_later(p, data); break;
    case LUMEN_ENET_DISCONNECT_RESET: enet_peer_reset(p); break;
    default: return LUMEN_E_INVALID;
  }
  return LUMEN_OK;
}

LUMEN_API int32_t lumen_enet_peer_timeout(int32_t handle, int32_t peer, int32_t limit, int32_t min_ms, int32_t max_ms) {
  Slot *s = slot_of(handle);
  if (s == NULL) return LUMEN_E_INVALID;
  ENetPeer *p = peer_of(s, peer);
  if (p == NULL || limit < 0 || min_ms < 0 || max_ms < 0) return LUMEN_E_INVALID;
  enet_peer_timeout(p, (enet_uint32)limit, (enet_uint32)min_ms, (enet_uint32)max_ms);
  return LUMEN_OK;
}

LUMEN_API int32_t lumen_enet_peer_stats(int32_t handle, int32_t peer, uint8_t *out, int32_t out_len) {
  Slot *s = slot_of(handle);
  if (s == NULL) return LUMEN_E_INVALID;
  ENetPeer *p = peer_of(s, peer);
  if (p == NULL) return LUMEN_E_INVALID;
  if (out == NULL || out_len < 24) return LUMEN_E_BUFFER;
  put32(out, (uint32_t)p->state);
  put32(out + 4, p->roundTripTime);
  put32(out + 8, p->roundTripTimeVariance);
  put32(out + 12, p->packetLoss);
  put32(out + 16, p->packetsSent);
  put32(out + 20, p->packetsLost);
  return 24;
}

LUMEN_API int32_t lumen_enet_guard(int32_t handle, int32_t per_source, int32_t handshake_ms, char *err, int32_t err_len) {
  Slot *s = slot_of(handle);
  if (s == NULL) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet host handle %d is not open", handle);
  if (per_source < 1 || per_source > 255) return lumen_fail(err, err_len, LUMEN_E_INVALID, "half-open peers per source %d is out of range 1-255", per_source);
  if (handshake_ms < 100 || handshake_ms > 60000)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet handshake timeout %d ms is out of range 100-60000", handshake_ms);
  if (enet_guard_enable(&s->guard, s->host, per_source, (uint32_t)handshake_ms) != 0)
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "cannot allocate the ENet guard's peer table");
  return LUMEN_OK;
}

LUMEN_API int32_t lumen_enet_guard_expect(int32_t handle, uint8_t *entries, int32_t len, int32_t count, char *err, int32_t err_len) {
  Slot *s = slot_of(handle);
  if (s == NULL) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet host handle %d is not open", handle);
  if (!s->guard.enabled) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the ENet guard is not enabled on host %d", handle);
  if (count < 0 || count > LUMEN_ENET_GUARD_MAX_EXPECTED)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "%d expected connections is out of range 0-%d", count, LUMEN_ENET_GUARD_MAX_EXPECTED);
  if (count > 0 && (entries == NULL || len < count * LUMEN_ENET_GUARD_ENTRY_LEN))
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "the expected-connections buffer has %d bytes, %d are needed", entries == NULL ? 0 : len,
                      count * LUMEN_ENET_GUARD_ENTRY_LEN);
  for (int32_t i = 0; i < count; i++) {
    const uint8_t *e = entries + i * LUMEN_ENET_GUARD_ENTRY_LEN;
    s->guard.expected[i].data = (uint32_t)e[0] | ((uint32_t)e[1] << 8) | ((uint32_t)e[2] << 16) | ((uint32_t)e[3] << 24);
    memcpy(&s->guard.expected[i].addr, e + 4, 4);
  }
  s->guard.expected_count = count;
  return LUMEN_OK;
}

LUMEN_API int32_t lumen_enet_guard_stats(int32_t handle, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  Slot *s = slot_of(handle);
  if (s == NULL) return lumen_fail(err, err_len, LUMEN_E_INVALID, "ENet host handle %d is not open", handle);
  if (out == NULL || out_len < LUMEN_ENET_GUARD_STATS_LEN)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "the guard counters buffer must hold %d bytes", LUMEN_ENET_GUARD_STATS_LEN);
  for (int i = 0; i < LUMEN_ENET_GUARD_COUNTERS; i++) put32(out + 4 * i, s->guard.counters[i]);
  return LUMEN_ENET_GUARD_STATS_LEN;
}
