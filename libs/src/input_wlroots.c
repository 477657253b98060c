/* The wlroots input backend (input_backend.h): a virtual keyboard (zwp_virtual_keyboard_v1) and a
 * virtual pointer (zwlr_virtual_pointer_v1) on a wlroots compositor's seat (sway, Hyprland, river,
 * labwc). Keys are the records' Linux codes under an XKB keymap compiled here (rules evdev, layout
 * us); UTF-8 text and keysyms that map lacks go through spare keycodes the uploaded keymap lends
 * them. Absolute motion is handed over with the client's reference area as the extent (the
 * compositor scales it to its layout), relative motion, buttons 1-5 as BTN_*, both scrolls as
 * wheel axis events. All calls but open run on input.c's writer thread; a compositor that goes
 * away marks the backend dead and every later record is refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>
#include <xkbcommon/xkbcommon.h>

#include "input_backend.h"
#include "internal.h"
#include "wl_virtual_input.h"

#define LINUX_KEYS 768 /* KEY_MAX + 1 */
#define MAX_SPARE 16
#define NOTCH 120
/* wl_pointer axis units a wheel notch moves (what libinput reports for one click) */
#define AXIS_PER_NOTCH 15.0
/* how long open and the probe wait for the compositor to answer */
#define ANSWER_MS 1000
/* how long close waits for the last requests to go out (it runs on serve's event loop) */
#define CLOSE_MS 250
/* evdev codes are XKB keycodes less 8 */
#define XKB_OFFSET 8
#define XKB_V1 1 /* wl_keyboard.keymap_format xkb_v1 */
#define AXIS_VERTICAL 0
#define AXIS_HORIZONTAL 1
#define AXIS_SOURCE_WHEEL 0

/* the record's button (1 left, 2 middle, 3 right, 4 X1, 5 X2) → <linux/input-event-codes.h> */
static const uint32_t BUTTONS[6] = {0, 0x110 /* BTN_LEFT */, 0x112 /* BTN_MIDDLE */, 0x111 /* BTN_RIGHT */,
                                    0x113 /* BTN_SIDE */, 0x114 /* BTN_EXTRA */};

/* The globals the backend binds, in the bit order of LUMEN_WLR_MISSING_*. */
static const char *const NEEDED[] = {"wl_seat", "zwlr_virtual_pointer_manager_v1", "zwp_virtual_keyboard_manager_v1"};
enum { NEED_SEAT, NEED_POINTER, NEED_KEYBOARD, NEEDS };

typedef struct {
  struct wl_display *dpy;
  struct wl_registry *registry;
  uint32_t name[NEEDS], version[NEEDS]; /* each global's registry name (0: not offered) */
  struct wl_seat *seat;
  struct wl_proxy *pointer_mgr, *keyboard_mgr, *pointer, *keyboard;
  int dead;

  struct xkb_context *xkb;
  struct xkb_keymap *base;   /* evdev/us as compiled: which keys have symbols of their own */
  char *base_text;
  struct xkb_keymap *keymap; /* what the compositor has now: base plus the lent spares */
  struct xkb_state *state;   /* mirrors the compositor's: the keys sent, the modifiers sent */
  /* keycodes the base map leaves empty, lent to keysyms it lacks; round-robin so a client still
   * reading one character's events sees its mapping, not the next one's */
  xkb_keycode_t spare[MAX_SPARE];
  xkb_keysym_t spare_sym[MAX_SPARE];
  int spares, next_spare;

  /* XKB keycode sent for each Linux key code still held (0: up) */
  uint16_t pressed[LINUX_KEYS];
  uint32_t buttons; /* bit n: record button n held */
  int scroll_acc, hscroll_acc;
} Wlr;

static uint32_t now_ms(void) { return (uint32_t)(lumen_mono_ns() / 1000000); }

static void on_global(void *data, struct wl_registry *r, uint32_t name, const char *iface, uint32_t version) {
  Wlr *w = data;
  for (int i = 0; i < NEEDS; i++)
    if (!w->name[i] && strcmp(iface, NEEDED[i]) == 0) {
      w->name[i] = name;
      w->version[i] = version;
    }
}
static void on_global_remove(void *data, struct wl_registry *r, uint32_t name) {}
static const struct wl_registry_listener registry_listener = {on_global, on_global_remove};

static void on_sync_done(void *data, struct wl_callback *cb, uint32_t serial) {
  *(int *)data = 1;
  wl_callback_destroy(cb);
}
static const struct wl_callback_listener sync_listener = {on_sync_done};

/* wl_display_roundtrip with a deadline: a socket whose owner never answers must not hang serve.
 * Returns 0, or -1 with errno ETIMEDOUT (no answer in time) or EPIPE (the connection failed). */
static int roundtrip(struct wl_display *d, int timeout_ms) {
  int done = 0;
  struct wl_callback *cb = wl_display_sync(d);
  if (!cb) return -1;
  wl_callback_add_listener(cb, &sync_listener, &done);
  int64_t deadline = lumen_mono_ns() + (int64_t)timeout_ms * 1000000;
  int timed_out = 0;
  while (!done && !timed_out) {
    if (wl_display_dispatch_pending(d) < 0) break;
    if (done || wl_display_prepare_read(d) != 0) continue;
    if (wl_display_flush(d) < 0 && errno != EAGAIN) {
      wl_display_cancel_read(d);
      break;
    }
    int left = (int)((deadline - lumen_mono_ns()) / 1000000);
    struct pollfd p = {.fd = wl_display_get_fd(d), .events = POLLIN};
    int ready = left > 0 ? poll(&p, 1, left) : 0;
    if (ready <= 0) {
      wl_display_cancel_read(d);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) break;
      timed_out = 1;
      continue;
    }
    if (wl_display_read_events(d) < 0) break;
  }
  if (done) return 0;
  wl_callback_destroy(cb); /* its listener points at this frame */
  errno = timed_out ? ETIMEDOUT : EPIPE;
  return -1;
}

/* wl_display_connect's own lookup would take an inherited $WAYLAND_SOCKET over the path asked. */
static struct wl_display *connect_path(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) {
    errno = ENAMETOOLONG;
    return NULL;
  }
  memcpy(a.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return NULL;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return NULL;
  }
  return wl_display_connect_to_fd(fd); /* which closes fd when it fails */
}

/* Connects and lists the globals. Fills w->dpy, w->registry, w->name/version. `who` starts the
 * sentences (open's name the backend; the probe's stand as they are in serve's reasons). */
static int32_t connect_and_list(Wlr *w, const char *socket, const char *who, char *err, int32_t err_len) {
  w->dpy = connect_path(socket);
  if (!w->dpy)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "%scannot connect to a Wayland compositor at %s (%s): is it running, and may this user open its socket?",
                      who, socket, strerror(errno));
  w->registry = wl_display_get_registry(w->dpy);
  if (w->registry) wl_registry_add_listener(w->registry, &registry_listener, w);
  if (!w->registry || roundtrip(w->dpy, ANSWER_MS) < 0) {
    int timed_out = errno == ETIMEDOUT;
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      timed_out ? "%s%s does not answer as a Wayland compositor (no reply within 1 s)"
                                : "%sthe compositor on %s closed the connection while listing its globals",
                      who, socket);
  }
  return 0;
}

static void disconnect(Wlr *w) {
  if (w->registry) wl_registry_destroy(w->registry);
  if (w->dpy) wl_display_disconnect(w->dpy);
  w->registry = NULL;
  w->dpy = NULL;
}

static int32_t missing_mask(const Wlr *w) {
  int32_t m = 0;
  for (int i = 0; i < NEEDS; i++)
    if (!w->name[i]) m |= 1 << i;
  return m;
}

static int32_t socket_param(const uint8_t *socket, int32_t socket_len, char *out, size_t out_len, char *err, int32_t err_len) {
  int32_t st = lumen_need(err, err_len, "Wayland socket path", socket, socket_len, socket_len);
  if (st) return st;
  if (socket_len <= 0 || (size_t)socket_len >= out_len || memchr(socket, 0, (size_t)socket_len))
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "the Wayland socket path must be 1 to %zu bytes without NUL", out_len - 1);
  memcpy(out, socket, (size_t)socket_len);
  out[socket_len] = '\0';
  return 0;
}

LUMEN_API int32_t lumen_input_wlroots_probe(const uint8_t *socket, int32_t socket_len, char *err, int32_t err_len) {
  char path[4096];
  int32_t st = socket_param(socket, socket_len, path, sizeof path, err, err_len);
  if (st) return st;
  Wlr w = {0};
  st = connect_and_list(&w, path, "", err, err_len);
  int32_t missing = missing_mask(&w);
  disconnect(&w);
  return st ? st : missing;
}

/* ---- keymap ---- */

static int key_has_symbols(struct xkb_keymap *k, xkb_keycode_t kc) {
  if (kc < xkb_keymap_min_keycode(k) || kc > xkb_keymap_max_keycode(k)) return 0;
  return xkb_keymap_num_layouts_for_key(k, kc) > 0;
}

/* Named keycodes without symbols, from the top; those X clients can reach (≤ 255, the core
 * protocol's limit, for Xwayland) first. */
static void find_spares(Wlr *w) {
  xkb_keycode_t lo = xkb_keymap_min_keycode(w->base), hi = xkb_keymap_max_keycode(w->base);
  for (int pass = 0; pass < 2; pass++)
    for (xkb_keycode_t kc = hi; kc >= lo && kc > XKB_OFFSET && w->spares < MAX_SPARE; kc--) {
      if ((pass == 0) != (kc <= 255)) continue;
      if (xkb_keymap_key_get_name(w->base, kc) && !key_has_symbols(w->base, kc)) w->spare[w->spares++] = kc;
    }
}

/* The base keymap's text with a symbols line for every lent spare, put at the end of its
 * xkb_symbols section (the last "};" but one: the last closes xkb_keymap). */
static char *keymap_text(Wlr *w) {
  const char *t = w->base_text;
  const char *end = NULL, *sym_end = NULL;
  for (const char *p = strstr(t, "};"); p; p = strstr(p + 2, "};")) {
    sym_end = end;
    end = p;
  }
  if (!sym_end) return NULL;
  size_t head = (size_t)(sym_end - t), cap = strlen(t) + (size_t)w->spares * 96 + 1;
  char *out = malloc(cap);
  if (!out) return NULL;
  memcpy(out, t, head);
  size_t n = head;
  for (int i = 0; i < w->spares; i++) {
    if (!w->spare_sym[i]) continue;
    char sym[64];
    if (xkb_keysym_get_name(w->spare_sym[i], sym, sizeof sym) < 0) continue;
    n += (size_t)snprintf(out + n, cap - n, "\tkey <%s> { [ %s ] };\n", xkb_keymap_key_get_name(w->base, w->spare[i]), sym);
  }
  snprintf(out + n, cap - n, "%s", sym_end);
  return out;
}

static void send_modifiers(Wlr *w) {
  wl_proxy_marshal_flags(w->keyboard, VKBD_MODIFIERS, NULL, wl_proxy_get_version(w->keyboard), 0,
                         xkb_state_serialize_mods(w->state, XKB_STATE_MODS_DEPRESSED),
                         xkb_state_serialize_mods(w->state, XKB_STATE_MODS_LATCHED),
                         xkb_state_serialize_mods(w->state, XKB_STATE_MODS_LOCKED),
                         xkb_state_serialize_layout(w->state, XKB_STATE_LAYOUT_EFFECTIVE));
}

/* Compiles the keymap with the current spares and hands it to the compositor. The compositor
 * starts a fresh XKB state with the keys held pressed again and nothing locked, so the state
 * here does the same and the locked and latched modifiers (Caps Lock, Num Lock) are sent back. */
static int32_t upload_keymap(Wlr *w, char *err, int32_t err_len) {
  char *text = keymap_text(w);
  if (!text) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "wlroots: cannot build the keymap (out of memory, or the base keymap has no xkb_symbols section)");
  struct xkb_keymap *k = xkb_keymap_new_from_string(w->xkb, text, XKB_KEYMAP_FORMAT_TEXT_V1, XKB_KEYMAP_COMPILE_NO_FLAGS);
  if (!k) {
    free(text);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "wlroots: the keymap with the lent keysyms does not compile");
  }
  size_t size = strlen(text) + 1; /* wl_keyboard keymaps are NUL-terminated */
  int fd = memfd_create("lumen-keymap", MFD_CLOEXEC);
  int ok = fd >= 0 && write(fd, text, size) == (ssize_t)size;
  free(text);
  if (!ok) {
    if (fd >= 0) close(fd);
    xkb_keymap_unref(k);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "wlroots: cannot write the keymap to a memfd (%s)", strerror(errno));
  }
  wl_proxy_marshal_flags(w->keyboard, VKBD_KEYMAP, NULL, wl_proxy_get_version(w->keyboard), 0, XKB_V1, fd, (uint32_t)size);
  close(fd); /* libwayland sent a duplicate */

  struct xkb_state *s = xkb_state_new(k);
  if (!s) {
    xkb_keymap_unref(k);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "wlroots: out of memory");
  }
  for (int i = 0; i < LINUX_KEYS; i++)
    if (w->pressed[i]) xkb_state_update_key(s, w->pressed[i], XKB_KEY_DOWN);
  if (w->state) {
    xkb_state_update_mask(s, xkb_state_serialize_mods(s, XKB_STATE_MODS_DEPRESSED),
                          xkb_state_serialize_mods(w->state, XKB_STATE_MODS_LATCHED),
                          xkb_state_serialize_mods(w->state, XKB_STATE_MODS_LOCKED), 0, 0,
                          xkb_state_serialize_layout(w->state, XKB_STATE_LAYOUT_LOCKED));
    xkb_state_unref(w->state);
  }
  if (w->keymap) xkb_keymap_unref(w->keymap);
  w->keymap = k;
  w->state = s;
  send_modifiers(w);
  return 0;
}

static int spare_held(const Wlr *w, xkb_keycode_t kc) {
  for (int i = 0; i < LINUX_KEYS; i++)
    if (w->pressed[i] == kc) return 1;
  return 0;
}

/* A keycode that types `sym` through a spare (0: none free, or the keymap failed). A lent keysym
 * stays in the keymap until its spare is needed for another: the base keys keep their symbols, so
 * there is nothing to restore, and every keymap sent makes each client compile it again. */
static xkb_keycode_t spare_for(Wlr *w, xkb_keysym_t sym) {
  for (int i = 0; i < w->spares; i++)
    if (w->spare_sym[i] == sym) return w->spare[i];
  for (int tries = 0; tries < w->spares; tries++) {
    int i = w->next_spare;
    w->next_spare = (w->next_spare + 1) % w->spares;
    if (spare_held(w, w->spare[i])) continue;
    xkb_keysym_t was = w->spare_sym[i];
    w->spare_sym[i] = sym;
    if (upload_keymap(w, NULL, 0) == 0) return w->spare[i];
    w->spare_sym[i] = was;
    return 0;
  }
  return 0;
}

/* Sends one key and, when it changed them, the modifiers: wlroots works them out from the keys
 * itself, but the protocol leaves that to the compositor, and a compositor that does not would
 * otherwise never see Shift. */
static void send_key(Wlr *w, xkb_keycode_t kc, int down) {
  xkb_mod_mask_t before = xkb_state_serialize_mods(w->state, XKB_STATE_MODS_EFFECTIVE);
  wl_proxy_marshal_flags(w->keyboard, VKBD_KEY, NULL, wl_proxy_get_version(w->keyboard), 0, now_ms(),
                         (uint32_t)(kc - XKB_OFFSET), (uint32_t)(down ? 1 : 0));
  xkb_state_update_key(w->state, kc, down ? XKB_KEY_DOWN : XKB_KEY_UP);
  if (xkb_state_serialize_mods(w->state, XKB_STATE_MODS_EFFECTIVE) != before) send_modifiers(w);
}

static int32_t key(Wlr *w, const InputRecord *r) {
  int code = r->code;
  if (code <= 0 || code >= LINUX_KEYS) return LUMEN_E_INVALID;
  if (r->v[0]) {
    if (w->pressed[code]) return 0; /* auto-repeat: the compositor repeats on its own */
    xkb_keycode_t kc = (xkb_keycode_t)code + XKB_OFFSET;
    if (!key_has_symbols(w->base, kc)) {
      if (r->v[1] == 0) return LUMEN_E_UNAVAILABLE;
      kc = spare_for(w, (xkb_keysym_t)(uint32_t)r->v[1]);
      if (!kc) return LUMEN_E_UNAVAILABLE;
    }
    send_key(w, kc, 1);
    w->pressed[code] = (uint16_t)kc;
  } else {
    if (!w->pressed[code]) return 0;
    send_key(w, w->pressed[code], 0);
    w->pressed[code] = 0;
  }
  return 0;
}

static int32_t text(Wlr *w, int32_t cp) {
  if (cp < 0x20 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return LUMEN_E_INVALID;
  xkb_keysym_t sym = xkb_utf32_to_keysym((uint32_t)cp);
  if (sym == XKB_KEY_NoSymbol) return LUMEN_E_INVALID;
  xkb_keycode_t kc = spare_for(w, sym);
  if (!kc) return LUMEN_E_UNAVAILABLE;
  send_key(w, kc, 1);
  send_key(w, kc, 0);
  return 0;
}

/* ---- pointer ---- */

static void frame(Wlr *w) { wl_proxy_marshal_flags(w->pointer, VPTR_FRAME, NULL, wl_proxy_get_version(w->pointer), 0); }

static void button(Wlr *w, int b, int down) {
  wl_proxy_marshal_flags(w->pointer, VPTR_BUTTON, NULL, wl_proxy_get_version(w->pointer), 0, now_ms(), BUTTONS[b], (uint32_t)(down ? 1 : 0));
  frame(w);
}

/* amount: 120 a notch, with `sign` turning the record's direction into Wayland's. The smooth
 * value goes every time; the notch count once whole notches add up. axis_discrete carries both,
 * and names the axis before axis_source: wlroots 0.15 files a source under the axis named last. */
static void scroll(Wlr *w, uint32_t axis, int *acc, int32_t amount, int sign) {
  int64_t a = (int64_t)*acc + amount;
  if (a > 100 * NOTCH) a = 100 * NOTCH;
  if (a < -100 * NOTCH) a = -100 * NOTCH;
  int32_t notches = (int32_t)(a / NOTCH);
  *acc = (int)(a - (int64_t)notches * NOTCH);
  uint32_t t = now_ms();
  uint32_t v = wl_proxy_get_version(w->pointer);
  wl_proxy_marshal_flags(w->pointer, VPTR_AXIS_DISCRETE, NULL, v, 0, t, axis,
                         wl_fixed_from_double(sign * amount * AXIS_PER_NOTCH / NOTCH), sign * notches);
  wl_proxy_marshal_flags(w->pointer, VPTR_AXIS_SOURCE, NULL, v, 0, (uint32_t)AXIS_SOURCE_WHEEL);
  frame(w);
}

static int32_t wl_apply(void *state, const InputRecord *r) {
  Wlr *w = state;
  if (w->dead) return LUMEN_E_UNAVAILABLE;
  switch (r->kind) {
    case LUMEN_IN_KEY: return key(w, r);
    case LUMEN_IN_TEXT: return text(w, r->v[0]);
    case LUMEN_IN_MOVE_REL:
      wl_proxy_marshal_flags(w->pointer, VPTR_MOTION, NULL, wl_proxy_get_version(w->pointer), 0, now_ms(),
                             wl_fixed_from_int(r->v[0]), wl_fixed_from_int(r->v[1]));
      frame(w);
      return 0;
    case LUMEN_IN_MOVE_ABS:
      if (r->v[2] <= 0 || r->v[3] <= 0 || r->v[0] < 0 || r->v[1] < 0 || r->v[0] >= r->v[2] || r->v[1] >= r->v[3]) return LUMEN_E_INVALID;
      /* the compositor maps x / x_extent onto its layout */
      wl_proxy_marshal_flags(w->pointer, VPTR_MOTION_ABSOLUTE, NULL, wl_proxy_get_version(w->pointer), 0, now_ms(),
                             (uint32_t)r->v[0], (uint32_t)r->v[1], (uint32_t)r->v[2], (uint32_t)r->v[3]);
      frame(w);
      return 0;
    case LUMEN_IN_BUTTON: {
      if (r->code < 1 || r->code > 5) return LUMEN_E_INVALID;
      int down = r->v[0] != 0;
      if (down == !!(w->buttons & (1u << r->code))) return 0;
      button(w, r->code, down);
      if (down) w->buttons |= 1u << r->code;
      else w->buttons &= ~(1u << r->code);
      return 0;
    }
    /* Moonlight's positive is away from the user (up), Wayland's is down; right is right in both */
    case LUMEN_IN_SCROLL: scroll(w, AXIS_VERTICAL, &w->scroll_acc, r->v[0], -1); return 0;
    case LUMEN_IN_HSCROLL: scroll(w, AXIS_HORIZONTAL, &w->hscroll_acc, r->v[0], 1); return 0;
    default: return LUMEN_E_UNAVAILABLE; /* touch, pen, gamepads: not these protocols' */
  }
}

static void mark_dead_if_gone(Wlr *w) {
  if (wl_display_get_error(w->dpy)) w->dead = 1;
}

static void wl_flush(void *state) {
  Wlr *w = state;
  if (w->dead) return;
  /* EAGAIN: the socket is full; what is left goes with the next flush */
  if (wl_display_flush(w->dpy) < 0 && errno != EAGAIN) w->dead = 1;
  mark_dead_if_gone(w);
}

/* Reads what the compositor sent (nothing is listened to but the registry) without blocking, so
 * its messages do not pile up and a closed connection is noticed. */
static void wl_tick(void *state) {
  Wlr *w = state;
  if (w->dead) return;
  if (wl_display_dispatch_pending(w->dpy) < 0) {
    w->dead = 1;
    return;
  }
  if (wl_display_prepare_read(w->dpy) == 0) {
    struct pollfd p = {.fd = wl_display_get_fd(w->dpy), .events = POLLIN};
    if (poll(&p, 1, 0) > 0) {
      if (wl_display_read_events(w->dpy) < 0) w->dead = 1;
    } else {
      wl_display_cancel_read(w->dpy);
    }
  }
  if (!w->dead && wl_display_dispatch_pending(w->dpy) < 0) w->dead = 1;
  mark_dead_if_gone(w);
}

static void wl_release_all(void *state) {
  Wlr *w = state;
  if (w->dead) return;
  for (int i = 0; i < LINUX_KEYS; i++) {
    if (!w->pressed[i]) continue;
    send_key(w, w->pressed[i], 0);
    w->pressed[i] = 0;
  }
  for (int b = 1; b <= 5; b++)
    if (w->buttons & (1u << b)) button(w, b, 0);
  w->buttons = 0;
  w->scroll_acc = w->hscroll_acc = 0;
}

static void destroy(Wlr *w) {
  if (w->state) xkb_state_unref(w->state);
  if (w->keymap) xkb_keymap_unref(w->keymap);
  if (w->base) xkb_keymap_unref(w->base);
  free(w->base_text);
  if (w->xkb) xkb_context_unref(w->xkb);
  if (w->dpy && w->dead) {
    /* nothing more can be sent: the proxies only need freeing */
    struct wl_proxy *all[] = {w->keyboard, w->pointer, w->pointer_mgr, w->keyboard_mgr, (struct wl_proxy *)w->seat};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
      if (all[i]) wl_proxy_destroy(all[i]);
  } else if (w->dpy) {
    if (w->keyboard) wl_proxy_marshal_flags(w->keyboard, VKBD_DESTROY, NULL, wl_proxy_get_version(w->keyboard), WL_MARSHAL_FLAG_DESTROY);
    if (w->pointer) wl_proxy_marshal_flags(w->pointer, VPTR_DESTROY, NULL, wl_proxy_get_version(w->pointer), WL_MARSHAL_FLAG_DESTROY);
    if (w->pointer_mgr) {
      if (wl_proxy_get_version(w->pointer_mgr) >= 2)
        wl_proxy_marshal_flags(w->pointer_mgr, VPTR_MGR_DESTROY, NULL, wl_proxy_get_version(w->pointer_mgr), WL_MARSHAL_FLAG_DESTROY);
      else
        wl_proxy_destroy(w->pointer_mgr);
    }
    if (w->keyboard_mgr) wl_proxy_destroy(w->keyboard_mgr); /* the protocol has no destroy request */
    if (w->seat) wl_seat_destroy(w->seat);
    /* the releases and destroys must reach the compositor before the socket closes */
    roundtrip(w->dpy, CLOSE_MS);
  }
  disconnect(w);
  free(w);
}

static struct wl_proxy *bind_global(Wlr *w, int need, const struct wl_interface *iface, uint32_t newest) {
  uint32_t v = w->version[need] < newest ? w->version[need] : newest;
  return wl_registry_bind(w->registry, w->name[need], iface, v);
}

static int32_t wl_open(void **state, const char *params, InputFeedbackFn feedback, void *sink, char *err, int32_t err_len) {
  if (!params || !*params)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "wlroots: no Wayland socket given (serve passes $WAYLAND_DISPLAY under $XDG_RUNTIME_DIR)");
  Wlr *w = calloc(1, sizeof *w);
  if (!w) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "wlroots: out of memory");
  int32_t st = connect_and_list(w, params, "wlroots: ", err, err_len);
  if (st) {
    destroy(w);
    return st;
  }
  int32_t missing = missing_mask(w);
  if (missing) {
    char names[160] = "";
    int left = __builtin_popcount((unsigned)missing);
    for (int i = 0; i < NEEDS; i++) {
      if (!(missing & (1 << i))) continue;
      left--;
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", NEEDED[i], left > 1 ? ", " : left == 1 ? " and " : "");
    }
    destroy(w);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "wlroots: the compositor on %s offers no %s (GNOME and KDE do not; use uinput there)", params, names);
  }
  w->seat = (struct wl_seat *)bind_global(w, NEED_SEAT, &wl_seat_interface, 1);
  w->pointer_mgr = bind_global(w, NEED_POINTER, &lumen_zwlr_virtual_pointer_manager_v1_interface, VPTR_VERSION);
  w->keyboard_mgr = bind_global(w, NEED_KEYBOARD, &lumen_zwp_virtual_keyboard_manager_v1_interface, VKBD_VERSION);
  if (w->pointer_mgr)
    w->pointer = wl_proxy_marshal_flags(w->pointer_mgr, VPTR_MGR_CREATE, &lumen_zwlr_virtual_pointer_v1_interface,
                                        wl_proxy_get_version(w->pointer_mgr), 0, w->seat, NULL);
  if (w->keyboard_mgr)
    w->keyboard = wl_proxy_marshal_flags(w->keyboard_mgr, VKBD_MGR_CREATE, &lumen_zwp_virtual_keyboard_v1_interface,
                                         wl_proxy_get_version(w->keyboard_mgr), 0, w->seat, NULL);
  if (!w->seat || !w->pointer || !w->keyboard) {
    destroy(w);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "wlroots: out of memory creating the virtual pointer and keyboard");
  }

  struct xkb_rule_names names = {.rules = "evdev", .model = "pc105", .layout = "us"};
  w->xkb = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
  w->base = w->xkb ? xkb_keymap_new_from_names(w->xkb, &names, XKB_KEYMAP_COMPILE_NO_FLAGS) : NULL;
  w->base_text = w->base ? xkb_keymap_get_as_string(w->base, XKB_KEYMAP_FORMAT_TEXT_V1) : NULL;
  if (!w->base_text) {
    destroy(w);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "wlroots: cannot compile the XKB keymap evdev/pc105/us (is xkb-data installed in /usr/share/X11/xkb?)");
  }
  find_spares(w);
  st = upload_keymap(w, err, err_len);
  /* a refused keymap or seat is a protocol error, which shows at the roundtrip */
  if (st == 0 && roundtrip(w->dpy, ANSWER_MS) < 0)
    st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                    errno == ETIMEDOUT
                        ? "wlroots: the compositor on %s stopped answering while the virtual devices were made"
                        : "wlroots: the compositor on %s refused the virtual pointer or keyboard (is this client allowed to use them?)",
                    params);
  if (st) {
    w->dead = 1; /* nothing more is sent on a failed connection */
    destroy(w);
    return st;
  }
  *state = w;
  return 0;
}

static void wl_close(void *state) {
  Wlr *w = state;
  wl_release_all(w);
  destroy(w);
}

const InputBackend lumen_input_wlroots = {
    .name = "wlroots",
    .open = wl_open,
    .apply = wl_apply,
    .flush = wl_flush,
    .tick = wl_tick,
    .release_all = wl_release_all,
    .close = wl_close,
};
