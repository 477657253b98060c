/* The XTEST input backend (input_backend.h): keys through the X server's own keymap (the record's
 * keysym looked up in it), UTF-8 text and keysyms the map lacks through a temporary mapping on a
 * spare keycode, absolute motion scaled from the client's reference area to the screen, relative
 * motion, buttons 1-3 and 8/9 (X1/X2), vertical and horizontal scroll as buttons 4/5 and 6/7, one
 * click per accumulated 120-unit notch. All calls but open run on input.c's writer thread. */
#include <stdlib.h>
#include <string.h>

#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>

#include "input_backend.h"
#include "internal.h"

#define LINUX_KEYS 768 /* KEY_MAX + 1 */
#define MAX_SPARE 16
#define NOTCH 120

typedef struct {
  Display *dpy;
  int dead; /* the connection failed: no more Xlib calls */
  int width, height;
  int min_keycode, max_keycode;
  /* keycode pressed for each Linux key code still held (0: up) */
  uint8_t pressed[LINUX_KEYS];
  /* X buttons held (bit n = button n) */
  uint32_t buttons;
  /* keycodes without keysyms, lent to keysyms the map lacks; round-robin so a client still
   * reading one character's event sees its mapping, not the next one's */
  int spare[MAX_SPARE];
  KeySym spare_sym[MAX_SPARE];
  int spares, next_spare;
  int scroll_acc, hscroll_acc;
} XTest;

static XErrorHandler previous_handler;
static int on_x_error(Display *d, XErrorEvent *e);
static __thread int x_error;

/* Errors of our own displays are counted; others go to whoever set the handler before us. */
static int on_x_error(Display *d, XErrorEvent *e) {
  x_error = e->error_code ? e->error_code : 1;
  if (previous_handler && previous_handler != on_x_error) return previous_handler(d, e);
  return 0;
}

/* Xlib exits the process on a lost connection unless a display has this. */
static void on_io_exit(Display *d, void *user) {
  XTest *x = user;
  x->dead = 1;
}

static void find_spares(XTest *x) {
  int n = x->max_keycode - x->min_keycode + 1, per = 0;
  KeySym *map = XGetKeyboardMapping(x->dpy, (KeyCode)x->min_keycode, n, &per);
  if (!map) return;
  /* from the top: the low keycodes are the ones keyboards have */
  for (int i = n - 1; i >= 0 && x->spares < MAX_SPARE; i--) {
    int empty = 1;
    for (int j = 0; j < per; j++)
      if (map[i * per + j] != NoSymbol) empty = 0;
    if (empty) x->spare[x->spares++] = x->min_keycode + i;
  }
  XFree(map);
}

static int spare_held(XTest *x, int keycode) {
  for (int i = 0; i < LINUX_KEYS; i++)
    if (x->pressed[i] == keycode) return 1;
  return 0;
}

/* A keycode that types `sym`: the map's own, else a spare mapped to it (0: none free). */
static int keycode_for(XTest *x, KeySym sym, int allow_map_own) {
  if (allow_map_own) {
    KeyCode kc = XKeysymToKeycode(x->dpy, sym);
    if (kc) return kc;
  }
  for (int i = 0; i < x->spares; i++)
    if (x->spare_sym[i] == sym) return x->spare[i];
  for (int tries = 0; tries < x->spares; tries++) {
    int i = x->next_spare;
    x->next_spare = (x->next_spare + 1) % x->spares;
    if (spare_held(x, x->spare[i])) continue;
    KeySym syms[2] = {sym, sym}; /* both levels: Shift held or not, the same character */
    XChangeKeyboardMapping(x->dpy, x->spare[i], 2, syms, 1);
    x->spare_sym[i] = sym;
    /* the server has to know the mapping before the key event reaches it */
    XSync(x->dpy, False);
    return x->spare[i];
  }
  return 0;
}

static KeySym keysym_of_codepoint(int32_t cp) {
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return (KeySym)cp;
  return (KeySym)(0x01000000 | cp);
}

static int32_t xt_open(void **state, const char *params, InputFeedbackFn feedback, void *sink, char *err, int32_t err_len) {
  const char *name = params && *params ? params : NULL;
  if (!name) return lumen_fail(err, err_len, LUMEN_E_INVALID, "XTEST: no X display given (serve passes $DISPLAY or --display)");
  XErrorHandler prev = XSetErrorHandler(on_x_error);
  if (prev != on_x_error) previous_handler = prev;
  Display *dpy = XOpenDisplay(name);
  if (!dpy) return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "XTEST: cannot open X display '%s' (is the X server running and reachable?)", name);
  int ev, er, major, minor;
  if (!XTestQueryExtension(dpy, &ev, &er, &major, &minor)) {
    XCloseDisplay(dpy);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "XTEST: X display '%s' has no XTEST extension (start the server with it enabled)", name);
  }
  XTest *x = calloc(1, sizeof *x);
  if (!x) {
    XCloseDisplay(dpy);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "XTEST: out of memory");
  }
  x->dpy = dpy;
  XSetIOErrorExitHandler(dpy, on_io_exit, x);
  x->width = DisplayWidth(dpy, DefaultScreen(dpy));
  x->height = DisplayHeight(dpy, DefaultScreen(dpy));
  XDisplayKeycodes(dpy, &x->min_keycode, &x->max_keycode);
  find_spares(x);
  /* our events must not wait behind another client's grab of the server */
  XTestGrabControl(dpy, True);
  *state = x;
  return 0;
}

static int32_t key(XTest *x, const InputRecord *r) {
  int code = r->code;
  if (code <= 0 || code >= LINUX_KEYS) return LUMEN_E_INVALID;
  if (r->v[0]) {
    if (x->pressed[code]) return 0; /* auto-repeat: the server repeats on its own */
    int kc = keycode_for(x, (KeySym)(uint32_t)r->v[1], 1);
    if (!kc) return LUMEN_E_UNAVAILABLE;
    XTestFakeKeyEvent(x->dpy, (unsigned)kc, True, CurrentTime);
    x->pressed[code] = (uint8_t)kc;
  } else {
    if (!x->pressed[code]) return 0;
    XTestFakeKeyEvent(x->dpy, x->pressed[code], False, CurrentTime);
    x->pressed[code] = 0;
  }
  return 0;
}

static int32_t text(XTest *x, int32_t cp) {
  if (cp < 0x20 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return LUMEN_E_INVALID;
  int kc = keycode_for(x, keysym_of_codepoint(cp), 0);
  if (!kc) return LUMEN_E_UNAVAILABLE;
  XTestFakeKeyEvent(x->dpy, (unsigned)kc, True, CurrentTime);
  XTestFakeKeyEvent(x->dpy, (unsigned)kc, False, CurrentTime);
  return 0;
}

static void click(XTest *x, unsigned button) {
  XTestFakeButtonEvent(x->dpy, button, True, CurrentTime);
  XTestFakeButtonEvent(x->dpy, button, False, CurrentTime);
}

/* amount: 120 a notch; positive clicks `plus`, negative `minus`; the remainder waits. */
static void notches(XTest *x, int *acc, int32_t amount, unsigned plus, unsigned minus) {
  int64_t a = (int64_t)*acc + amount;
  if (a > 100 * NOTCH) a = 100 * NOTCH;
  if (a < -100 * NOTCH) a = -100 * NOTCH;
  while (a >= NOTCH) {
    click(x, plus);
    a -= NOTCH;
  }
  while (a <= -NOTCH) {
    click(x, minus);
    a += NOTCH;
  }
  *acc = (int)a;
}

static int32_t xt_apply(void *state, const InputRecord *r) {
  XTest *x = state;
  if (x->dead) return LUMEN_E_UNAVAILABLE;
  switch (r->kind) {
    case LUMEN_IN_KEY: return key(x, r);
    case LUMEN_IN_TEXT: return text(x, r->v[0]);
    case LUMEN_IN_MOVE_REL:
      XTestFakeRelativeMotionEvent(x->dpy, r->v[0], r->v[1], CurrentTime);
      return 0;
    case LUMEN_IN_MOVE_ABS: {
      int64_t rw = r->v[2], rh = r->v[3];
      if (rw <= 0 || rh <= 0 || r->v[0] < 0 || r->v[1] < 0 || r->v[0] >= rw || r->v[1] >= rh) return LUMEN_E_INVALID;
      int px = (int)((int64_t)r->v[0] * x->width / rw), py = (int)((int64_t)r->v[1] * x->height / rh);
      XTestFakeMotionEvent(x->dpy, -1, px, py, CurrentTime);
      return 0;
    }
    case LUMEN_IN_BUTTON: {
      static const unsigned map[6] = {0, Button1, Button2, Button3, 8, 9};
      if (r->code < 1 || r->code > 5) return LUMEN_E_INVALID;
      unsigned b = map[r->code];
      int down = r->v[0] != 0;
      if (down == !!(x->buttons & (1u << b))) return 0;
      XTestFakeButtonEvent(x->dpy, b, down ? True : False, CurrentTime);
      if (down) x->buttons |= 1u << b;
      else x->buttons &= ~(1u << b);
      return 0;
    }
    case LUMEN_IN_SCROLL: notches(x, &x->scroll_acc, r->v[0], Button4, Button5); return 0;
    case LUMEN_IN_HSCROLL: notches(x, &x->hscroll_acc, r->v[0], 7, 6); return 0;
    default: return LUMEN_E_UNAVAILABLE; /* touch, pen, gamepads: not XTEST's */
  }
}

static void xt_flush(void *state) {
  XTest *x = state;
  if (!x->dead) XFlush(x->dpy);
}

static void xt_tick(void *state) {
  XTest *x = state;
  if (x->dead) return;
  /* nothing is selected, but a MappingNotify or an error reply must not pile up */
  while (!x->dead && XPending(x->dpy) > 0) {
    XEvent e;
    XNextEvent(x->dpy, &e);
  }
}

static void xt_release_all(void *state) {
  XTest *x = state;
  if (x->dead) return;
  for (int i = 0; i < LINUX_KEYS; i++) {
    if (!x->pressed[i]) continue;
    XTestFakeKeyEvent(x->dpy, x->pressed[i], False, CurrentTime);
    x->pressed[i] = 0;
  }
  for (unsigned b = 1; b < 32; b++)
    if (x->buttons & (1u << b)) XTestFakeButtonEvent(x->dpy, b, False, CurrentTime);
  x->buttons = 0;
  x->scroll_acc = x->hscroll_acc = 0;
}

static void xt_close(void *state) {
  XTest *x = state;
  if (!x->dead) {
    xt_release_all(x);
    /* give the lent keycodes back to nobody */
    for (int i = 0; i < x->spares; i++) {
      if (x->spare_sym[i] == NoSymbol) continue;
      KeySym none[2] = {NoSymbol, NoSymbol};
      XChangeKeyboardMapping(x->dpy, x->spare[i], 2, none, 1);
    }
    XSync(x->dpy, False);
    XCloseDisplay(x->dpy);
  }
  free(x);
}

const InputBackend lumen_input_xtest = {
    .name = "XTEST",
    .open = xt_open,
    .apply = xt_apply,
    .flush = xt_flush,
    .tick = xt_tick,
    .release_all = xt_release_all,
    .close = xt_close,
};
