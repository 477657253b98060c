/* Media UDP send/receive, absolute-deadline sleep and the per-stream send thread (lumen_net.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lumen_net.h"
#include "packetize.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define MAX_SOCKS 256
#define MAX_PACERS 64
#define MAX_MSGS 64           /* mmsghdr entries per sendmmsg */
#define GSO_MAX_BYTES 65000   /* payload bytes in one GSO message */
#define GSO_MAX_SEGS 64

typedef struct {
  LumenSlot slot;
  int fd;
  int family;
  struct sockaddr_storage peer;
  socklen_t peer_len;
  atomic_int gso; /* 1 = try UDP_SEGMENT */
  _Atomic uint64_t c[10];
} Sock;

enum { C_SENT, C_BYTES, C_CALLS, C_GSO, C_EAGAIN, C_DROPPED, C_RECV, C_RBYTES, C_GSO_ON, C_ERRNO };

LUMEN_TABLE(socks, Sock, MAX_SOCKS, "media socket");

#define now_ns lumen_mono_ns

/* The kernel may defer a timer by the thread's timer slack (50 µs by default): deadline sleeps
 * ask for 1 ns, once per thread. */
static __thread int slack_set;
static void tight_timers(void) {
  if (!slack_set) {
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    slack_set = 1;
  }
}

static void sleep_until(int64_t deadline) {
  tight_timers();
  struct timespec ts = {.tv_sec = deadline / 1000000000LL, .tv_nsec = deadline % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* The send thread wakes spin_ns before a frame's deadline and spins to it (the pacer's spin_us;
 * 0 = off), trading a little CPU (2.4 % of a core at 240 fps at 100 µs) for the scheduler's
 * wake-up latency (~40-90 µs on a VM). Bursts inside a frame use plain absolute sleeps. */
static void pacer_wait(int64_t deadline, int64_t spin_ns) {
  if (spin_ns > 0) {
    sleep_until(deadline - spin_ns);
    while (now_ns() < deadline) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    return;
  }
  sleep_until(deadline);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, int64_t v) { memcpy(p, &v, 8); }
static int32_t get32(const uint8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

static int32_t sock_alloc(int fd, char *err, int32_t err_len) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    close(fd);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "getsockname on the media socket failed: %s", strerror(errno));
  }
  int one = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof one);
  Sock *s;
  int32_t h = lumen_handle_claim(&socks, (void **)&s);
  if (h < 0) {
    close(fd);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d media socket slots are in use: close sockets that are no longer needed", MAX_SOCKS);
  }
  s->fd = fd;
  s->family = ss.ss_family;
  /* GSO starts on; lumen_udp_set_gso(0) turns it off (sendmmsg only): each datagram is then its
   * own skb all the way, as packet filters and shapers that count packets expect */
  atomic_store(&s->gso, 1);
  atomic_store(&s->c[C_GSO_ON], 1);
  return h;
}

#define ACQUIRE_SOCK(s, h)                               \
  Sock *s = lumen_handle_acquire(&socks, (h));           \
  if (!s) return lumen_no_handle(&socks, (h), err, err_len)


LUMEN_API int32_t lumen_udp_open(const char *bind_addr, int32_t port, int32_t flags, char *err, int32_t err_len) {
  if (port < 0 || port > 65535) return lumen_fail(err, err_len, LUMEN_E_INVALID, "UDP port %d is out of range 0-65535", port);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int family;
  const char *a = bind_addr ? bind_addr : "";
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (a[0] == '\0' || inet_pton(AF_INET, a, &v4->sin_addr) == 1) {
    family = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    if (a[0] == '\0') v4->sin_addr.s_addr = htonl(INADDR_ANY);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, a, &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    len = sizeof *v6;
  } else {
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "'%s' is not an IPv4 or IPv6 address to bind a media socket to", a);
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create a UDP socket: %s", strerror(errno));
  int on = 1;
  if (flags & LUMEN_UDP_REUSEADDR) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if ((flags & LUMEN_UDP_GRO) && setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) != 0) {
    int e = errno;
    close(fd);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "this kernel has no UDP_GRO (Linux 5.0 added it): %s", strerror(e));
  }
  if (family == AF_INET6) {
    int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    int e = errno;
    close(fd);
    return lumen_fail(err, err_len, e == EADDRINUSE ? LUMEN_E_UNAVAILABLE : LUMEN_E_FAILED, "cannot bind UDP %s port %d: %s%s", a[0] ? a : "0.0.0.0", port, strerror(e),
                      e == EADDRINUSE ? " (another program, or another lumen, holds it: pick other ports)" : "");
  }
  return sock_alloc(fd, err, err_len);
}

LUMEN_API int32_t lumen_udp_adopt(int32_t fd, char *err, int32_t err_len) {
  int type = 0;
  socklen_t tl = sizeof type;
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "file descriptor %d is not a UDP socket", fd);
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot dup the media socket %d: %s", fd, strerror(errno));
  return sock_alloc(d, err, err_len);
}

LUMEN_API int32_t lumen_udp_port(int32_t sock, char *err, int32_t err_len) {
  ACQUIRE_SOCK(s, sock);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int rc = getsockname(s->fd, (struct sockaddr *)&ss, &len);
  lumen_handle_release(&socks, s);
  if (rc != 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "getsockname failed: %s", strerror(errno));
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

LUMEN_API int32_t lumen_udp_fd(int32_t sock, char *err, int32_t err_len) {
  ACQUIRE_SOCK(s, sock);
  int fd = s->fd;
  lumen_handle_release(&socks, s);
  return fd;
}

static int32_t set_peer(Sock *s, const char *address, int32_t port, char *err, int32_t err_len) {
  if (port <= 0 || port > 65535) return lumen_fail(err, err_len, LUMEN_E_INVALID, "peer port %d is out of range 1-65535", port);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct in_addr a4;
  struct in6_addr a6;
  const char *a = address ? address : "";
  if (strncmp(a, "::ffff:", 7) == 0 && s->family == AF_INET) a += 7;
  if (inet_pton(AF_INET, a, &a4) == 1) {
    if (s->family == AF_INET) {
      struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
      v4->sin_family = AF_INET;
      v4->sin_port = htons((uint16_t)port);
      v4->sin_addr = a4;
      s->peer_len = sizeof *v4;
    } else {
      struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons((uint16_t)port);
      v6->sin6_addr.s6_addr[10] = 0xff;
      v6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&v6->sin6_addr.s6_addr[12], &a4, 4);
      s->peer_len = sizeof *v6;
    }
  } else if (inet_pton(AF_INET6, a, &a6) == 1) {
    if (s->family != AF_INET6) return lumen_fail(err, err_len, LUMEN_E_INVALID, "cannot send to IPv6 peer %s from an IPv4 media socket", a);
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    v6->sin6_addr = a6;
    s->peer_len = sizeof *v6;
  } else {
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "'%s' is not an IPv4 or IPv6 peer address", a);
  }
  s->peer = ss;
  return 0;
}

LUMEN_API int32_t lumen_udp_set_peer(int32_t sock, const char *address, int32_t port, char *err, int32_t err_len) {
  ACQUIRE_SOCK(s, sock);
  int32_t rc = set_peer(s, address, port, err, err_len);
  lumen_handle_release(&socks, s);
  return rc;
}

static int32_t set_qos(Sock *s, int32_t tos, int32_t priority, char *err, int32_t err_len) {
  if (tos >= 0) {
    int r = s->family == AF_INET ? setsockopt(s->fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) : setsockopt(s->fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
    if (r != 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot set the TOS byte 0x%02x: %s", tos, strerror(errno));
  }
  if (priority >= 0 && setsockopt(s->fd, SOL_SOCKET, SO_PRIORITY, &priority, sizeof priority) != 0)
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot set SO_PRIORITY %d: %s", priority, strerror(errno));
  return 0;
}

LUMEN_API int32_t lumen_udp_set_qos(int32_t sock, int32_t tos, int32_t priority, char *err, int32_t err_len) {
  ACQUIRE_SOCK(s, sock);
  int32_t rc = set_qos(s, tos, priority, err, err_len);
  lumen_handle_release(&socks, s);
  return rc;
}

LUMEN_API int32_t lumen_udp_set_gso(int32_t sock, int32_t enable) {
  Sock *s = lumen_handle_acquire(&socks, sock);
  if (!s) return LUMEN_E_INVALID;
  atomic_store(&s->gso, enable ? 1 : 0);
  atomic_store(&s->c[C_GSO_ON], enable ? 1 : 0);
  lumen_handle_release(&socks, s);
  return enable ? 1 : 0;
}

static int wait_writable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  return poll(&p, 1, 100);
}

static int32_t udp_send(Sock *s, const uint8_t *data, int32_t len, char *err, int32_t err_len) {
  if (s->peer_len == 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the media socket has no peer yet (lumen_udp_set_peer)");
  for (int tries = 0; tries < 20; tries++) {
    ssize_t n = sendto(s->fd, data, (size_t)len, 0, (struct sockaddr *)&s->peer, s->peer_len);
    atomic_fetch_add(&s->c[C_CALLS], 1);
    if (n >= 0) {
      atomic_fetch_add(&s->c[C_SENT], 1);
      atomic_fetch_add(&s->c[C_BYTES], (uint64_t)n);
      return (int32_t)n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      atomic_fetch_add(&s->c[C_EAGAIN], 1);
      wait_writable(s->fd);
      continue;
    }
    if (errno == EINTR) continue;
    atomic_fetch_add(&s->c[C_DROPPED], 1);
    atomic_store(&s->c[C_ERRNO], (uint64_t)errno);
    /* ECONNREFUSED etc. from an earlier ICMP error: a transient report, not this datagram's fate */
    if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) return 0;
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "sending a media datagram failed: %s", strerror(errno));
  }
  atomic_fetch_add(&s->c[C_DROPPED], 1);
  return 0;
}

LUMEN_API int32_t lumen_udp_send(int32_t sock, const uint8_t *data, int32_t data_len, char *err, int32_t err_len) {
  if (data_len < 0 || data_len > 65507) return lumen_fail(err, err_len, LUMEN_E_INVALID, "a %d-byte datagram is outside 0..65507 bytes", data_len);
  int32_t rc = lumen_need(err, err_len, "datagram", data, data_len, data_len);
  if (rc) return rc;
  ACQUIRE_SOCK(s, sock);
  rc = udp_send(s, data, data_len, err, err_len);
  lumen_handle_release(&socks, s);
  return rc;
}

/* Checks a packet batch the caller hands over: count slots of stride bytes in data (data_len),
 * an int32 length in 1..stride per slot in lens (lens_len). */
static int32_t check_batch(const uint8_t *data, int32_t data_len, const uint8_t *lens, int32_t lens_len, int32_t count, int32_t stride, char *err, int32_t err_len) {
  if (count < 0 || stride <= 0 || stride > 65507) return lumen_fail(err, err_len, LUMEN_E_INVALID, "bad batch: %d datagrams of stride %d", count, stride);
  int32_t rc = lumen_need(err, err_len, "packet", data, data_len, (int64_t)count * stride);
  if (!rc) rc = lumen_need(err, err_len, "packet length", lens, lens_len, 4 * (int64_t)count);
  if (rc) return rc;
  for (int i = 0; i < count; i++) {
    int l = get32(lens + 4 * i);
    if (l <= 0 || l > stride) return lumen_fail(err, err_len, LUMEN_E_INVALID, "datagram %d has length %d, outside 1..%d", i, l, stride);
  }
  return 0;
}

/* Sends datagrams [0, count) of the batch at line rate. Returns datagrams taken; *calls and
 * *dropped are added to. nowait: stop where the socket would block instead of waiting for it;
 * *next is then the first datagram not handed over (count when all were). */
static int send_range(Sock *s, const uint8_t *data, const uint8_t *lens, int count, int stride, int nowait, int *next, uint32_t *calls, uint32_t *dropped) {
  struct mmsghdr msgs[MAX_MSGS];
  struct iovec iovs[MAX_MSGS * GSO_MAX_SEGS];
  char ctrl[MAX_MSGS][CMSG_SPACE(sizeof(uint16_t))];
  int i = 0, taken = 0;
  while (i < count) {
    int nmsg = 0, niov = 0, first = i;
    int use_gso = atomic_load(&s->gso);
    while (i < count && nmsg < MAX_MSGS) {
      struct msghdr *mh = &msgs[nmsg].msg_hdr;
      memset(&msgs[nmsg], 0, sizeof msgs[nmsg]);
      mh->msg_name = &s->peer;
      mh->msg_namelen = s->peer_len;
      mh->msg_iov = &iovs[niov];
      int seg = get32(lens + 4 * i);
      int nseg = 0, bytes = 0;
      if (use_gso) {
        int max = GSO_MAX_BYTES / (seg > 0 ? seg : 1);
        if (max > GSO_MAX_SEGS) max = GSO_MAX_SEGS;
        /* equal-sized datagrams, the last one of a run may be shorter */
        while (i < count && nseg < max) {
          int l = get32(lens + 4 * i);
          if (l > seg) break;
          iovs[niov + nseg].iov_base = (void *)(data + (size_t)i * stride);
          iovs[niov + nseg].iov_len = (size_t)l;
          nseg++;
          bytes += l;
          i++;
          if (l < seg) break;
        }
        if (nseg > 1) {
          mh->msg_control = ctrl[nmsg];
          mh->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
          struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
          cm->cmsg_level = SOL_UDP;
          cm->cmsg_type = UDP_SEGMENT;
          cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          uint16_t sz = (uint16_t)seg;
          memcpy(CMSG_DATA(cm), &sz, sizeof sz);
        }
      } else {
        iovs[niov].iov_base = (void *)(data + (size_t)i * stride);
        iovs[niov].iov_len = (size_t)seg;
        nseg = 1;
        bytes = seg;
        i++;
      }
      (void)bytes;
      mh->msg_iovlen = (size_t)nseg;
      msgs[nmsg].msg_len = (unsigned)nseg; /* remember the datagram count (overwritten by the kernel) */
      niov += nseg;
      nmsg++;
    }
    /* count the datagrams each message carries before the kernel overwrites msg_len */
    int segs_of[MAX_MSGS];
    for (int m = 0; m < nmsg; m++) segs_of[m] = (int)msgs[m].msg_hdr.msg_iovlen;
    int m0 = 0;
    int tries = 0;
    while (m0 < nmsg) {
      int r = sendmmsg(s->fd, &msgs[m0], (unsigned)(nmsg - m0), nowait ? MSG_DONTWAIT : 0);
      (*calls)++;
      atomic_fetch_add(&s->c[C_CALLS], 1);
      if (r > 0) {
        for (int m = m0; m < m0 + r; m++) {
          taken += segs_of[m];
          atomic_fetch_add(&s->c[C_SENT], (uint64_t)segs_of[m]);
          uint64_t b = 0;
          for (size_t k = 0; k < msgs[m].msg_hdr.msg_iovlen; k++) b += msgs[m].msg_hdr.msg_iov[k].iov_len;
          atomic_fetch_add(&s->c[C_BYTES], b);
          if (segs_of[m] > 1) atomic_fetch_add(&s->c[C_GSO], 1);
        }
        m0 += r;
        tries = 0;
        continue;
      }
      int e = errno;
      if (e == EINTR) continue;
      if ((e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) && nowait) {
        int at = first;
        for (int m = 0; m < m0; m++) at += segs_of[m];
        *next = at;
        return taken;
      }
      if ((e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) && tries < 50) {
        atomic_fetch_add(&s->c[C_EAGAIN], 1);
        tries++;
        wait_writable(s->fd);
        continue;
      }
      if (use_gso && segs_of[m0] > 1 && (e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP)) {
        /* this path cannot segment: fall back to one datagram per message for good, and resend
         * from the first datagram of that message */
        atomic_store(&s->gso, 0);
        atomic_store(&s->c[C_GSO_ON], 0);
        int start = first, rest_next = 0;
        for (int m = 0; m < m0; m++) start += segs_of[m];
        int rest = send_range(s, data + (size_t)start * stride, lens + 4 * start, count - start, stride, nowait, &rest_next, calls, dropped);
        *next = start + rest_next;
        return taken + rest;
      }
      /* drop this message's datagrams and go on (ECONNREFUSED from an old ICMP, or a real error) */
      atomic_fetch_add(&s->c[C_DROPPED], (uint64_t)segs_of[m0]);
      atomic_store(&s->c[C_ERRNO], (uint64_t)e);
      *dropped += (uint32_t)segs_of[m0];
      m0++;
    }
  }
  *next = count;
  return taken;
}

LUMEN_API int32_t lumen_udp_send_batch(int32_t sock, const uint8_t *data, int32_t data_len, const uint8_t *lens, int32_t lens_len, int32_t count, int32_t stride, uint8_t *info, int32_t info_len, char *err, int32_t err_len) {
  int32_t rc = check_batch(data, data_len, lens, lens_len, count, stride, err, err_len);
  if (!rc && info) rc = lumen_need(err, err_len, "send info", info, info_len, 16);
  if (rc) return rc;
  ACQUIRE_SOCK(s, sock);
  if (s->peer_len == 0) {
    lumen_handle_release(&socks, s);
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "the media socket has no peer yet (lumen_udp_set_peer)");
  }
  uint32_t calls = 0, dropped = 0;
  int next = 0;
  int64_t t0 = now_ns();
  int taken = send_range(s, data, lens, count, stride, 0, &next, &calls, &dropped);
  int64_t t1 = now_ns();
  lumen_handle_release(&socks, s);
  if (info) {
    put32(info, calls);
    put32(info + 4, dropped);
    put64(info + 8, t1 - t0);
  }
  return taken;
}

static int32_t recv_batch(Sock *s, uint8_t *data, int32_t stride, int32_t max_count, uint8_t *lens, int32_t timeout_ms, uint8_t *from, int32_t from_len, char *err, int32_t err_len) {
  struct pollfd p = {.fd = s->fd, .events = POLLIN};
  int pr = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
  if (pr <= 0) return 0;
  struct mmsghdr *msgs = calloc((size_t)max_count, sizeof *msgs);
  struct iovec *iovs = calloc((size_t)max_count, sizeof *iovs);
  struct sockaddr_storage src;
  if (!msgs || !iovs) {
    free(msgs);
    free(iovs);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory receiving datagrams");
  }
  for (int i = 0; i < max_count; i++) {
    iovs[i].iov_base = data + (size_t)i * stride;
    iovs[i].iov_len = (size_t)stride;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  msgs[0].msg_hdr.msg_name = &src;
  msgs[0].msg_hdr.msg_namelen = sizeof src;
  int r = recvmmsg(s->fd, msgs, (unsigned)max_count, MSG_DONTWAIT, NULL);
  if (r < 0) {
    int e = errno;
    free(msgs);
    free(iovs);
    if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNREFUSED) return 0;
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "receiving datagrams failed: %s", strerror(e));
  }
  uint64_t b = 0;
  for (int i = 0; i < r; i++) {
    put32(lens + 4 * i, msgs[i].msg_len);
    b += msgs[i].msg_len;
  }
  atomic_fetch_add(&s->c[C_RECV], (uint64_t)r);
  atomic_fetch_add(&s->c[C_RBYTES], b);
  if (from && from_len > 0 && r > 0) {
    char host[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (src.ss_family == AF_INET) {
      inet_ntop(AF_INET, &((struct sockaddr_in *)&src)->sin_addr, host, sizeof host);
      port = ntohs(((struct sockaddr_in *)&src)->sin_port);
    } else if (src.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&src)->sin6_addr, host, sizeof host);
      port = ntohs(((struct sockaddr_in6 *)&src)->sin6_port);
    }
    snprintf((char *)from, (size_t)from_len, "%s %d", host, port);
  }
  free(msgs);
  free(iovs);
  return r;
}

LUMEN_API int32_t lumen_udp_recv_batch(int32_t sock, uint8_t *data, int32_t data_len, int32_t stride, int32_t max_count, uint8_t *lens, int32_t lens_len, int32_t timeout_ms, uint8_t *from, int32_t from_len, char *err, int32_t err_len) {
  if (max_count <= 0 || stride <= 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "bad receive batch: %d slots of stride %d", max_count, stride);
  if (max_count > 1024) max_count = 1024;
  int32_t rc = lumen_need(err, err_len, "receive", data, data_len, (int64_t)max_count * stride);
  if (!rc) rc = lumen_need(err, err_len, "packet length", lens, lens_len, 4 * (int64_t)max_count);
  if (!rc && from) rc = lumen_need(err, err_len, "source address", from, from_len, 64);
  if (rc) return rc;
  ACQUIRE_SOCK(s, sock);
  rc = recv_batch(s, data, stride, max_count, lens, timeout_ms, from, from_len, err, err_len);
  lumen_handle_release(&socks, s);
  return rc;
}

LUMEN_API int32_t lumen_udp_stats(int32_t sock, uint8_t *out, int32_t out_len) {
  if (!out || out_len < LUMEN_UDP_STATS_LEN) return LUMEN_E_BUFFER;
  Sock *s = lumen_handle_acquire(&socks, sock);
  if (!s) return LUMEN_E_INVALID;
  for (int i = 0; i < 10; i++) {
    uint64_t v = atomic_load(&s->c[i]);
    memcpy(out + 8 * i, &v, 8);
  }
  lumen_handle_release(&socks, s);
  return LUMEN_UDP_STATS_LEN;
}

LUMEN_API int32_t lumen_udp_close(int32_t sock) {
  Sock *s = lumen_handle_retire(&socks, sock);
  if (!s) return LUMEN_E_INVALID;
  close(s->fd);
  s->fd = -1;
  lumen_handle_free(&socks, s);
  return 0;
}

static int32_t set_fifo(pthread_t t, int32_t priority, const char *who, char *err, int32_t err_len) {
  if (priority < 0 || priority > 99) return lumen_fail(err, err_len, LUMEN_E_INVALID, "real-time priority %d is outside 0-99", priority);
  struct sched_param sp = {.sched_priority = priority};
  int rc = pthread_setschedparam(t, priority == 0 ? SCHED_OTHER : SCHED_FIFO, &sp);
  if (rc == EPERM)
    return lumen_fail(err, err_len, LUMEN_E_FAILED,
                      "real-time priority for the %s was refused (EPERM): it needs CAP_SYS_NICE (root has it) or an RLIMIT_RTPRIO of at least %d (rtprio in limits.conf); it keeps its normal priority", who, priority);
  if (rc != 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot set real-time priority %d for the %s: %s", priority, who, strerror(rc));
  return 0;
}

LUMEN_API int32_t lumen_thread_set_realtime(int32_t priority, char *err, int32_t err_len) {
  return set_fifo(pthread_self(), priority, "frame loop", err, err_len);
}

LUMEN_API int32_t lumen_sleep_until(int64_t deadline_ns) {
  if (deadline_ns > now_ns()) sleep_until(deadline_ns);
  return 0;
}

/* --- the pacer ------------------------------------------------------------------------------- */

typedef struct {
  uint32_t frame_id;
  int32_t count, stride;
  int64_t deadline, interval, submit;
  size_t off;   /* where the packets start in the ring */
  size_t bytes; /* count * stride + 4 * count */
  /* what the submitting thread sent itself (pacer_dispatch): the first datagram left for the
   * send thread, when the first one went out (0: none did), its send calls and drops */
  int32_t first;
  int64_t started;
  uint32_t calls, dropped;
} Job;

#define MAX_JOBS 256
#define MAX_DONE 1024

typedef struct {
  LumenSlot slot;
  int32_t sock; /* acquired for each frame the thread sends: a closed socket's handle reaches nothing */
  int64_t spin_ns;
  int mode, burst, spread;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond, idle;
  int stop, busy;
  uint8_t *ring;
  size_t ring_size, head, tail, fill; /* byte ring: [tail, head) in use, wrapping by whole jobs */
  Job jobs[MAX_JOBS];
  int jhead, jtail, jcount;
  uint8_t done[MAX_DONE][LUMEN_PACER_RECORD_LEN];
  int dhead, dcount;
  /* AES-128-GCM of every packet at submit (media-encryption.md §3), when a key is set */
  VideoGcm *gcm;
  uint64_t iv_counter;
} Pacer;

LUMEN_TABLE(pacers, Pacer, MAX_PACERS, "send thread");
static int gcm_packet(Pacer *p, const uint8_t *src, int len, uint8_t *dst);

#define ACQUIRE_PACER(p, h)                              \
  Pacer *p = lumen_handle_acquire(&pacers, (h));         \
  if (!p) return lumen_no_handle(&pacers, (h), err, err_len)

/* The completion record of a frame (lumen_net.h LUMEN_PACER_RECORD_LEN). */
static void pacer_record(Pacer *p, const Job *j, int64_t start, int64_t end, uint32_t calls, uint32_t dropped, uint32_t largest, int late) {
  const uint8_t *lens = p->ring + j->off + (size_t)j->count * j->stride;
  uint32_t bytes = 0;
  for (int i = 0; i < j->count; i++) bytes += (uint32_t)get32(lens + 4 * i);
  pthread_mutex_lock(&p->lock);
  int slot = (p->dhead + p->dcount) % MAX_DONE;
  if (p->dcount == MAX_DONE) p->dhead = (p->dhead + 1) % MAX_DONE; /* oldest unread record is overwritten */
  else p->dcount++;
  uint8_t *r = p->done[slot];
  memset(r, 0, LUMEN_PACER_RECORD_LEN);
  put32(r, j->frame_id);
  put32(r + 4, (uint32_t)j->count);
  put32(r + 8, bytes);
  put32(r + 12, largest);
  put64(r + 16, j->deadline);
  put64(r + 24, j->submit);
  put64(r + 32, start);
  put64(r + 40, end);
  put32(r + 48, calls);
  put32(r + 52, dropped);
  put32(r + 56, (uint32_t)late);
  pthread_mutex_unlock(&p->lock);
}

static void pacer_send(Pacer *p, Job *j) {
  const uint8_t *data = p->ring + j->off;
  const uint8_t *lens = data + (size_t)j->count * j->stride;
  uint32_t calls = j->calls, dropped = j->dropped, largest = 0;
  int64_t start = now_ns();
  int late = start > j->deadline + 0 && j->submit > j->deadline;
  if (start < j->deadline) {
    pacer_wait(j->deadline, p->spin_ns);
    start = now_ns();
  }
  if (j->started) start = j->started;
  Sock *s = lumen_handle_acquire(&socks, p->sock);
  int next = 0;
  if (s && s->peer_len != 0 && j->count > j->first) {
    if (p->mode == LUMEN_PACING_BURST && j->count > p->burst) {
      int bursts = (j->count + p->burst - 1) / p->burst;
      int64_t span = j->interval * p->spread / 1000;
      int64_t step = bursts > 1 ? span / bursts : 0;
      int64_t base = start;
      for (int b = 0; b < bursts; b++) {
        int first = b * p->burst;
        int n = j->count - first < p->burst ? j->count - first : p->burst;
        if (b > 0) sleep_until(base + step * b); /* bursts: plain absolute sleeps, no spinning */
        send_range(s, data + (size_t)first * j->stride, lens + 4 * first, n, j->stride, 0, &next, &calls, &dropped);
        if ((uint32_t)n > largest) largest = (uint32_t)n;
      }
    } else {
      send_range(s, data + (size_t)j->first * j->stride, lens + 4 * j->first, j->count - j->first, j->stride, 0, &next, &calls, &dropped);
      largest = (uint32_t)j->count;
    }
  }
  lumen_handle_release(&socks, s);
  pacer_record(p, j, start, now_ns(), calls, dropped, largest, late);
}

static void *pacer_main(void *arg) {
  Pacer *p = arg;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->stop && p->jcount == 0) {
      p->busy = 0;
      pthread_cond_broadcast(&p->idle);
      pthread_cond_wait(&p->cond, &p->lock);
    }
    if (p->stop) break;
    p->busy = 1;
    Job j = p->jobs[p->jtail];
    pthread_mutex_unlock(&p->lock);
    pacer_send(p, &j);
    pthread_mutex_lock(&p->lock);
    p->jtail = (p->jtail + 1) % MAX_JOBS;
    p->jcount--;
    /* free the job's bytes: jobs leave in order, so the ring tail moves past this job */
    p->tail = j.off + j.bytes;
    p->fill = p->jcount == 0 ? 0 : p->fill - j.bytes;
    if (p->jcount == 0) p->head = p->tail = 0;
  }
  p->busy = 0;
  pthread_cond_broadcast(&p->idle);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

LUMEN_API int32_t lumen_pacer_open(int32_t sock, int32_t mode, int32_t burst_packets, int32_t spread_permille, int32_t ring_bytes, int32_t spin_us, char *err, int32_t err_len) {
  Sock *s = lumen_handle_acquire(&socks, sock);
  if (!s) return lumen_no_handle(&socks, sock, err, err_len);
  lumen_handle_release(&socks, s);
  if (spin_us < 0 || spin_us > 2000) return lumen_fail(err, err_len, LUMEN_E_INVALID, "spin time %d µs is out of range 0-2000", spin_us);
  if (mode != LUMEN_PACING_LINE && mode != LUMEN_PACING_BURST) return lumen_fail(err, err_len, LUMEN_E_INVALID, "pacing mode %d is neither line (0) nor burst (1)", mode);
  if (burst_packets < 1 || burst_packets > 1024) return lumen_fail(err, err_len, LUMEN_E_INVALID, "burst size %d is out of range 1-1024 packets", burst_packets);
  if (spread_permille < 1 || spread_permille > 1000) return lumen_fail(err, err_len, LUMEN_E_INVALID, "burst spread %d is out of range 1-1000 permille of the frame interval", spread_permille);
  size_t size = ring_bytes < (1 << 20) ? (1 << 20) : (size_t)ring_bytes;
  Pacer *p;
  int32_t h = lumen_handle_claim(&pacers, (void **)&p);
  if (h < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d send threads are in use: stop streams that ended", MAX_PACERS);
  p->ring = malloc(size);
  if (!p->ring) {
    lumen_handle_free(&pacers, p);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "cannot allocate a %zu-byte send ring", size);
  }
  p->ring_size = size;
  p->sock = sock;
  p->spin_ns = (int64_t)spin_us * 1000;
  p->mode = mode;
  p->burst = burst_packets;
  p->spread = spread_permille;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  pthread_cond_init(&p->idle, NULL);
  int32_t rc = lumen_thread_start(&p->thread, pacer_main, p, "lumen-send", err, err_len);
  if (rc != 0) {
    free(p->ring);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    pthread_cond_destroy(&p->idle);
    lumen_handle_free(&pacers, p);
    return rc;
  }
  return h;
}

LUMEN_API int32_t lumen_pacer_set_realtime(int32_t pacer, int32_t priority, char *err, int32_t err_len) {
  ACQUIRE_PACER(p, pacer);
  int32_t rc = set_fifo(p->thread, priority, "send thread", err, err_len);
  lumen_handle_release(&pacers, p);
  return rc;
}

/* Finds room for a job of `need` bytes at the ring's head, or at 0 when it does not fit before
 * the end and the tail has moved past the start. Only the (single) producer thread calls it; the
 * region it returns stays free until ring_commit. */
static int32_t ring_reserve(Pacer *p, size_t need, size_t *at, char *err, int32_t err_len) {
  pthread_mutex_lock(&p->lock);
  if (p->jcount == MAX_JOBS) {
    pthread_mutex_unlock(&p->lock);
    return lumen_fail(err, err_len, LUMEN_E_AGAIN, "the send thread has %d frames queued: the link or the thread is behind", MAX_JOBS);
  }
  size_t off;
  if (p->jcount == 0) {
    off = 0;
    if (need > p->ring_size) {
      pthread_mutex_unlock(&p->lock);
      return lumen_fail(err, err_len, LUMEN_E_INVALID, "a %zu-byte frame does not fit the %zu-byte send ring", need, p->ring_size);
    }
  } else if (p->head >= p->tail) {
    if (p->head + need <= p->ring_size) off = p->head;
    else if (need < p->tail) off = 0;
    else {
      pthread_mutex_unlock(&p->lock);
      return lumen_fail(err, err_len, LUMEN_E_AGAIN, "the send ring is full: the link or the thread is behind");
    }
  } else {
    if (p->head + need < p->tail) off = p->head;
    else {
      pthread_mutex_unlock(&p->lock);
      return lumen_fail(err, err_len, LUMEN_E_AGAIN, "the send ring is full: the link or the thread is behind");
    }
  }
  pthread_mutex_unlock(&p->lock);
  *at = off;
  return 0;
}

/* Queues a job whose packets (then lengths) fill [j->off, j->off + j->bytes) of the ring. */
static void ring_commit(Pacer *p, const Job *j) {
  pthread_mutex_lock(&p->lock);
  p->jobs[p->jhead] = *j;
  p->jhead = (p->jhead + 1) % MAX_JOBS;
  p->jcount++;
  p->head = j->off + j->bytes;
  p->fill += j->bytes;
  pthread_cond_signal(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

/* A frame that is due, with nothing queued before it (line pacing), goes out from the submitting
 * thread as far as the socket takes it without waiting: no wake-up of the send thread and no
 * switch to it, which on a shared core cost more than the send itself. The send thread sends
 * what is left, and every frame that waits for its deadline or is spread in bursts. */
static void pacer_dispatch(Pacer *p, Job *j) {
  pthread_mutex_lock(&p->lock);
  int idle = p->jcount == 0 && !p->busy && !p->stop;
  pthread_mutex_unlock(&p->lock);
  if (idle && p->mode == LUMEN_PACING_LINE && j->submit >= j->deadline && j->count > 0) {
    Sock *s = lumen_handle_acquire(&socks, p->sock);
    if (s && s->peer_len != 0) {
      const uint8_t *data = p->ring + j->off;
      int next = 0;
      int64_t start = now_ns();
      send_range(s, data, data + (size_t)j->count * j->stride, j->count, j->stride, 1, &next, &j->calls, &j->dropped);
      int64_t end = now_ns();
      lumen_handle_release(&socks, s);
      if (next == j->count) {
        pacer_record(p, j, start, end, j->calls, j->dropped, (uint32_t)j->count, start > j->deadline && j->submit > j->deadline);
        return;
      }
      if (next > 0) j->started = start;
      j->first = next;
    } else {
      lumen_handle_release(&socks, s);
    }
  }
  ring_commit(p, j);
}

static Job job_of(uint32_t frame_id, int32_t count, int32_t stride, int64_t deadline, int64_t interval, int64_t submit, size_t off, size_t need) {
  Job j = {.frame_id = frame_id, .count = count, .stride = stride, .deadline = deadline, .interval = interval, .submit = submit, .off = off, .bytes = need};
  return j;
}

static int32_t pacer_submit(Pacer *p, uint32_t frame_id, int64_t deadline_ns, int64_t interval_ns, const uint8_t *data, const uint8_t *lens, int32_t count, int32_t stride, char *err, int32_t err_len) {
  int out_stride = p->gcm ? stride + 32 : stride;
  if (p->gcm) {
    for (int i = 0; i < count; i++)
      if (get32(lens + 4 * i) < 32) return lumen_fail(err, err_len, LUMEN_E_INVALID, "datagram %d is shorter than a video header", i);
  }
  size_t need = (size_t)count * out_stride + 4 * (size_t)count;
  int64_t submit = now_ns();
  size_t off;
  int32_t rc = ring_reserve(p, need, &off, err, err_len);
  if (rc < 0) return rc;
  /* the region [off, off+need) is free and only this (single producer) thread writes it */
  if (p->gcm) {
    uint8_t *olens = p->ring + off + (size_t)count * out_stride;
    for (int i = 0; i < count; i++) {
      int l = get32(lens + 4 * i);
      if (gcm_packet(p, data + (size_t)i * stride, l, p->ring + off + (size_t)i * out_stride) != 0)
        return lumen_fail(err, err_len, LUMEN_E_FAILED, "AES-GCM encryption of datagram %d failed", i);
      put32(olens + 4 * i, (uint32_t)(l + 32));
    }
  } else {
    memcpy(p->ring + off, data, (size_t)count * stride);
    memcpy(p->ring + off + (size_t)count * stride, lens, 4 * (size_t)count);
  }
  Job j = job_of(frame_id, count, out_stride, deadline_ns, interval_ns, submit, off, need);
  pacer_dispatch(p, &j);
  return 0;
}

LUMEN_API int32_t lumen_pacer_submit(int32_t pacer, uint32_t frame_id, int64_t deadline_ns, int64_t interval_ns, const uint8_t *data, int32_t data_len, const uint8_t *lens, int32_t lens_len, int32_t count, int32_t stride, char *err, int32_t err_len) {
  int32_t rc = check_batch(data, data_len, lens, lens_len, count, stride, err, err_len);
  if (rc) return rc;
  ACQUIRE_PACER(p, pacer);
  rc = pacer_submit(p, frame_id, deadline_ns, interval_ns, data, lens, count, stride, err, err_len);
  lumen_handle_release(&pacers, p);
  return rc;
}

static int32_t pacer_submit_video(Pacer *p, uint32_t frame_id, int64_t deadline_ns, int64_t interval_ns, const uint8_t *frame, int32_t frame_len, const uint8_t *desc, int32_t desc_len, char *err, int32_t err_len) {
  VideoPlan v;
  int32_t rc = video_plan(desc, desc_len, frame_len, &v, err, err_len);
  if (rc < 0) return rc;
  if (v.encrypt && !p->gcm) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the frame asks for encryption but the send thread has no video key (lumen_pacer_set_gcm)");
  size_t data = (size_t)v.count * v.stride, need = data + 4 * (size_t)v.count;
  size_t off;
  rc = ring_reserve(p, need, &off, err, err_len);
  if (rc < 0) return rc;
  rc = video_write(&v, frame, frame_len, v.encrypt ? p->gcm : NULL, p->ring + off, data, err, err_len);
  if (rc < 0) return rc;
  int64_t submit = now_ns(); /* the frame is ready: packetized, protected, sealed */
  for (int32_t i = 0; i < v.count; i++) put32(p->ring + off + data + 4 * (size_t)i, (uint32_t)v.stride);
  if (v.encrypt) p->iv_counter = v.iv_counter + (uint64_t)v.count;
  Job j = job_of(frame_id, v.count, v.stride, deadline_ns, interval_ns, submit, off, need);
  pacer_dispatch(p, &j);
  return v.count;
}

LUMEN_API int32_t lumen_pacer_submit_video(int32_t pacer, uint32_t frame_id, int64_t deadline_ns, int64_t interval_ns, const uint8_t *frame, int32_t frame_len, const uint8_t *desc, int32_t desc_len, char *err, int32_t err_len) {
  int32_t rc = lumen_need(err, err_len, "frame", frame, frame_len, frame_len);
  if (rc) return rc;
  rc = lumen_need(err, err_len, "descriptor", desc, desc_len, desc_len);
  if (rc) return rc;
  ACQUIRE_PACER(p, pacer);
  rc = pacer_submit_video(p, frame_id, deadline_ns, interval_ns, frame, frame_len, desc, desc_len, err, err_len);
  lumen_handle_release(&pacers, p);
  return rc;
}

LUMEN_API int32_t lumen_pacer_poll(int32_t pacer, uint8_t *out, int32_t out_len) {
  if (!out || out_len < 0) return LUMEN_E_BUFFER;
  Pacer *p = lumen_handle_acquire(&pacers, pacer);
  if (!p) return LUMEN_E_INVALID;
  int max = out_len / LUMEN_PACER_RECORD_LEN;
  pthread_mutex_lock(&p->lock);
  int n = p->dcount < max ? p->dcount : max;
  for (int i = 0; i < n; i++) {
    memcpy(out + (size_t)i * LUMEN_PACER_RECORD_LEN, p->done[p->dhead], LUMEN_PACER_RECORD_LEN);
    p->dhead = (p->dhead + 1) % MAX_DONE;
  }
  p->dcount -= n;
  pthread_mutex_unlock(&p->lock);
  lumen_handle_release(&pacers, p);
  return n;
}

LUMEN_API int32_t lumen_pacer_drain(int32_t pacer, int32_t timeout_ms) {
  Pacer *p = lumen_handle_acquire(&pacers, pacer);
  if (!p) return LUMEN_E_INVALID;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  int64_t ns = until.tv_nsec + (int64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000LL;
  until.tv_sec += ns / 1000000000LL;
  until.tv_nsec = ns % 1000000000LL;
  pthread_mutex_lock(&p->lock);
  while ((p->jcount > 0 || p->busy) && !p->stop) {
    if (pthread_cond_timedwait(&p->idle, &p->lock, &until) == ETIMEDOUT) break;
  }
  int left = p->jcount;
  pthread_mutex_unlock(&p->lock);
  lumen_handle_release(&pacers, p);
  return left;
}

LUMEN_API int32_t lumen_pacer_close(int32_t pacer) {
  Pacer *p = lumen_handle_retire(&pacers, pacer);
  if (!p) return LUMEN_E_INVALID;
  lumen_thread_stop(p->thread, &p->lock, &p->cond, &p->stop);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->cond);
  pthread_cond_destroy(&p->idle);
  free(p->ring);
  p->ring = NULL;
  video_gcm_free(p->gcm);
  p->gcm = NULL;
  lumen_handle_free(&pacers, p);
  return 0;
}

static int32_t pacer_set_gcm(Pacer *p, const uint8_t *key, int32_t key_len, int64_t iv_counter, char *err, int32_t err_len) {
  if (key_len == 0) {
    video_gcm_free(p->gcm);
    p->gcm = NULL;
    return 0;
  }
  if (key_len != 16) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the video key must be 16 bytes, got %d", key_len);
  if (iv_counter < 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the GCM IV counter must be >= 0");
  VideoGcm *c = video_gcm_new(key, GCM_BEST);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot set up AES-128-GCM for the video key (out of memory, or OpenSSL refused it)");
  video_gcm_free(p->gcm);
  p->gcm = c;
  p->iv_counter = (uint64_t)iv_counter;
  return 0;
}

LUMEN_API int32_t lumen_pacer_set_gcm(int32_t pacer, const uint8_t *key, int32_t key_len, int64_t iv_counter, char *err, int32_t err_len) {
  int32_t rc = lumen_need(err, err_len, "key", key, key_len, key_len);
  if (rc) return rc;
  ACQUIRE_PACER(p, pacer);
  rc = pacer_set_gcm(p, key, key_len, iv_counter, err, err_len);
  lumen_handle_release(&pacers, p);
  return rc;
}

/* Encrypts one plaintext packet into dst: 12-byte IV, LE32 frameIndex, 16-byte tag, ciphertext. */
static int gcm_packet(Pacer *p, const uint8_t *src, int len, uint8_t *dst) {
  memcpy(dst + 32, src, (size_t)len);
  return video_gcm_seal(p->gcm, p->iv_counter++, (uint32_t)get32(src + 20), dst, len);
}

LUMEN_API int64_t lumen_pacer_gcm_counter(int32_t pacer) {
  Pacer *p = lumen_handle_acquire(&pacers, pacer);
  if (!p) return LUMEN_E_INVALID;
  int64_t v = (int64_t)p->iv_counter;
  lumen_handle_release(&pacers, p);
  return v;
}

LUMEN_API int32_t lumen_unix_peer_uid(int32_t fd, char *err, int32_t err_len) {
  if (fd < 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "file descriptor %d is not valid", fd);
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "SO_PEERCRED on fd %d failed: %s", fd, strerror(errno));
  if (cred.uid > INT32_MAX) return lumen_fail(err, err_len, LUMEN_E_FAILED, "peer uid %u does not fit", (unsigned)cred.uid);
  return (int32_t)cred.uid;
}
