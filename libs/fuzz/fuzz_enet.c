/* libFuzzer target: the control stream's ENet receive path (enet.c: lumen_enet_service and its
 * event packing over Debian's libenet; lumen_enet.h, docs/protocol/control-stream.md §1).
 *
 * A host (the serve side, 4 peers) and a client host live on loopback for the whole run; the
 * client connects for real. Each input is a run of datagrams: u8 flags, u16 length, bytes. Bit 0
 * of the flags sends the datagram from the connected client's own socket with its ENet header
 * rewritten to the server's peer id and session (so libenet takes its commands as the client's:
 * reliable, unreliable, fragments, acknowledgements, disconnects); otherwise it comes from a
 * stranger's socket as it is (connect attempts, garbage). After each datagram the host is
 * serviced into an event buffer whose size the input picks (down to the 24-byte header, so the
 * pending-event and dropped-packet paths run). A peer the input disconnects is connected again
 * for the next input.
 *
 * Only enet.c is instrumented here (libenet is the system's), so coverage guides through the
 * shim's packing and the events libenet hands up; AddressSanitizer watches every buffer the
 * shim fills. */
#include "../src/enet.c"

#include <sys/socket.h>
#include <unistd.h>

static int32_t server = -1, client = -1, client_peer = -1;
static int stranger = -1;
static struct sockaddr_in server_addr;
static uint8_t events[LUMEN_ENET_MAX_PACKET + 4096];

static void pump(int32_t h, int times) {
  char err[256];
  for (int i = 0; i < times; i++) lumen_enet_service(h, 0, events, sizeof events, err, sizeof err);
}

static ENetPeer *server_peer(void) {
  Slot *s = slot_of(server);
  for (size_t i = 0; i < s->host->peerCount; i++)
    if (s->host->peers[i].state == ENET_PEER_STATE_CONNECTED) return &s->host->peers[i];
  return NULL;
}

static void setup(void) {
  char err[256];
  if (server < 0) {
    server = lumen_enet_host_create("127.0.0.1", 0, 4, 0, err, sizeof err);
    client = lumen_enet_host_create("127.0.0.1", 0, 1, 0, err, sizeof err);
    stranger = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (server < 0 || client < 0 || stranger < 0) abort();
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)lumen_enet_host_port(server, err, sizeof err));
    server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  Slot *c = slot_of(client);
  if (client_peer >= 0 && c->host->peers[client_peer].state == ENET_PEER_STATE_CONNECTED && server_peer() != NULL) return;
  /* reset both ends and connect again */
  for (size_t i = 0; i < slot_of(server)->host->peerCount; i++) enet_peer_reset(&slot_of(server)->host->peers[i]);
  enet_peer_reset(&c->host->peers[0]);
  client_peer = lumen_enet_host_connect(client, "127.0.0.1", ntohs(server_addr.sin_port), 2, 0, err, sizeof err);
  for (int i = 0; i < 200 && (c->host->peers[client_peer].state != ENET_PEER_STATE_CONNECTED || server_peer() == NULL); i++) {
    pump(client, 1);
    pump(server, 1);
  }
  if (server_peer() == NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  char err[256];
  ENetSocket client_socket = slot_of(client)->host->socket;
  while (size >= 3) {
    uint8_t flags = data[0];
    size_t len = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (len > size) len = size;
    uint8_t dgram[65536];
    memcpy(dgram, data, len);
    data += len;
    size -= len;
    ENetPeer *sp = server_peer();
    if ((flags & 1) && sp != NULL && len >= 2) {
      /* ENet header: peer id (12 bits), session id (bits 12-13), compressed/sent-time flags from the input */
      uint16_t id = (uint16_t)(sp->incomingPeerID | ((uint16_t)sp->incomingSessionID << 12) | ((uint16_t)(dgram[0] & 0xC0) << 8));
      dgram[0] = (uint8_t)(id >> 8);
      dgram[1] = (uint8_t)id;
      ENetBuffer b = {.data = dgram, .dataLength = len};
      ENetAddress to = {.host = server_addr.sin_addr.s_addr, .port = ntohs(server_addr.sin_port)};
      enet_socket_send(client_socket, &to, &b, 1);
    } else {
      sendto(stranger, dgram, len, 0, (struct sockaddr *)&server_addr, sizeof server_addr);
    }
    /* the event buffer: 24 bytes (header only) up to the whole array */
    int32_t room = (flags & 2) ? LUMEN_ENET_EVENT_HEADER + (flags >> 2) * 8 : (int32_t)sizeof events;
    lumen_enet_service(server, 0, events, room, err, sizeof err);
    lumen_enet_service(server, 0, events, room, err, sizeof err);
  }
  /* drain, with a buffer large enough for anything pending */
  pump(server, 2);
  pump(client, 1);
  return 0;
}
