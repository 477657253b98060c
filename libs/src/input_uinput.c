/* The uinput backend: the stream's input as kernel input devices, the way a real desktop or a
 * game sees hardware. Each device (keyboard, relative mouse, absolute mouse, touchscreen, pen,
 * one per gamepad) is its own fd on the uinput node, created the first time a record needs it.
 * Records arrive validated by TypeScript (src/input/router.ts); every value is still checked
 * here, and one out of range is refused (LUMEN_E_INVALID) and never written.
 *
 * Frames: events are written as a record is applied and a SYN_REPORT closes the frame at the end
 * of each batch (flush). A record that would change, within one frame, something the frame has
 * already changed (the same key twice, the same touch slot twice) closes the frame first, so no
 * edge is lost to a consumer that reads frames as states (libinput, SDL).
 *
 * Force feedback (gamepads): tick reads EV_UINPUT upload/erase requests and EV_FF play/stop from
 * each pad's fd, keeps the uploaded rumble effects, and hands the motor levels to input.c as
 * LUMEN_FB_RUMBLE records (control-stream.md §4, 0x010b), only when they change. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "input_backend.h"
#include "internal.h"

#define PADS 16
#define PAD_EFFECTS 16
#define TOUCH_SLOTS 10
#define OUT_EVENTS 64
#define Q16_MAX 65535
/* The absolute mouse's and the pen's axis range: a Q16 fraction of the screen. */
#define ABS_RANGE 65535

/* The protocol's gamepad button bits (control-stream.md §5; Limelight.h BUTTON flags). */
#define PB_UP 0x0001
#define PB_DOWN 0x0002
#define PB_LEFT 0x0004
#define PB_RIGHT 0x0008
#define PB_PADDLES 0x0F0000
/* Arrival capabilities (LI_CCAP_*). */
#define PCAP_RUMBLE 0x02
/* Modifier bits of a key record's v2 (MODIFIER_*). */
#define MOD_SHIFT 0x01
#define MOD_CTRL 0x02
#define MOD_ALT 0x04
#define MOD_META 0x08
/* Touch and pen event types (LI_TOUCH_EVENT_*), tool types (LI_TOOL_TYPE_*), pen buttons. */
#define TE_HOVER 0
#define TE_DOWN 1
#define TE_UP 2
#define TE_MOVE 3
#define TE_CANCEL 4
#define TE_BUTTON_ONLY 5
#define TE_HOVER_LEAVE 6
#define TE_CANCEL_ALL 7
#define TOOL_ERASER 2
#define PEN_PRIMARY 0x01
#define PEN_SECONDARY 0x02
#define PEN_TERTIARY 0x04

/* Protocol button bit → evdev key code for the Xbox-style pad (the d-pad is a hat, below). */
static const struct {
  uint32_t bit;
  uint16_t code;
} pad_buttons[] = {
    {0x1000, BTN_SOUTH},  {0x2000, BTN_EAST},   {0x4000, BTN_WEST},   {0x8000, BTN_NORTH},
    {0x0100, BTN_TL},     {0x0200, BTN_TR},     {0x0040, BTN_THUMBL}, {0x0080, BTN_THUMBR},
    {0x0020, BTN_SELECT}, {0x0010, BTN_START},  {0x0400, BTN_MODE},   {0x010000, BTN_TRIGGER_HAPPY1},
    {0x020000, BTN_TRIGGER_HAPPY2}, {0x040000, BTN_TRIGGER_HAPPY3}, {0x080000, BTN_TRIGGER_HAPPY4},
};
#define PAD_BUTTONS (sizeof pad_buttons / sizeof pad_buttons[0])

/* A BUTTON record's code (1..5) → evdev. */
static const uint16_t mouse_buttons[6] = {0, BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, BTN_SIDE, BTN_EXTRA};

typedef struct {
  uint16_t code;
  int32_t min, max, fuzz, flat, res;
} Axis;

/* What one device is made of: the bits and axes it declares at creation. */
typedef struct {
  const char *name;
  uint16_t bustype, vendor, product, version;
  const uint16_t *rel;
  int nrel;
  const Axis *abs;
  int nabs;
  const uint16_t *keys;
  int nkeys;
  int keyboard; /* every key of kbd_key_ok */
  int prop;     /* an INPUT_PROP_*, or -1 */
  int rumble;
} Spec;

typedef struct {
  int fd; /* -1 until created */
  int64_t retry_ns; /* a failed creation is retried no sooner than this */
  int dirty;        /* events written since the last SYN_REPORT */
  int failed;       /* a write of the record being applied failed */
  struct input_event out[OUT_EVENTS];
  int n;
  uint8_t frame_keys[KEY_CNT / 8]; /* keys changed in the open frame */
  uint32_t frame_slots;             /* touch slots changed in the open frame */
  int frame_state;                  /* the pen / a pad changed in the open frame */
} Dev;

typedef struct {
  int used;
  uint16_t strong, weak;
  uint16_t length_ms, delay_ms;
  int playing;
  int64_t start_ns, end_ns; /* end 0: until stopped */
} Effect;

typedef struct {
  Dev dev;
  int rumble, paddles;
  uint32_t buttons;
  int32_t lt, rt, lx, ly, rx, ry, hx, hy;
  Effect fx[PAD_EFFECTS];
  int32_t sent_low, sent_high; /* the last rumble handed to the client */
} Pad;

typedef struct {
  int active;
  uint32_t pointer;
  int32_t tracking;
} Slot;

typedef struct {
  char path[4096];
  InputFeedbackFn feedback;
  void *sink;

  Dev kbd;
  uint8_t keys_down[KEY_CNT / 8];

  Dev rel, abs;
  int abs_last; /* buttons and scroll follow the mouse the client moved last */
  uint8_t rel_buttons, abs_buttons; /* bit n: BUTTON record code n held on that device */
  int32_t wheel_rest[2][2];         /* [device][vertical, horizontal] sub-notch remainder */

  Dev touch;
  Slot slots[TOUCH_SLOTS];
  int32_t next_tracking;
  int touch_slot; /* the slot the device last selected with ABS_MT_SLOT */

  Dev pen;
  int pen_tool;  /* 0 out of range, else BTN_TOOL_PEN / BTN_TOOL_RUBBER */
  int pen_touch;
  int pen_buttons;

  Pad pads[PADS];
} Uinput;

/* ---- the device specs ---------------------------------------------------------------------- */

static const uint16_t mouse_keys[] = {BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA};
static const uint16_t wheel_rels[] = {REL_WHEEL, REL_HWHEEL, REL_WHEEL_HI_RES, REL_HWHEEL_HI_RES};
static const uint16_t mouse_rels[] = {REL_X, REL_Y, REL_WHEEL, REL_HWHEEL, REL_WHEEL_HI_RES, REL_HWHEEL_HI_RES};
static const Axis abs_mouse_axes[] = {{ABS_X, 0, ABS_RANGE, 0, 0, 0}, {ABS_Y, 0, ABS_RANGE, 0, 0, 0}};

static const uint16_t touch_keys[] = {BTN_TOUCH};
static const Axis touch_axes[] = {
    {ABS_X, 0, Q16_MAX, 0, 0, 0},
    {ABS_Y, 0, Q16_MAX, 0, 0, 0},
    {ABS_PRESSURE, 0, Q16_MAX, 0, 0, 0},
    {ABS_MT_SLOT, 0, TOUCH_SLOTS - 1, 0, 0, 0},
    {ABS_MT_TRACKING_ID, 0, 65535, 0, 0, 0},
    {ABS_MT_POSITION_X, 0, Q16_MAX, 0, 0, 0},
    {ABS_MT_POSITION_Y, 0, Q16_MAX, 0, 0, 0},
    {ABS_MT_PRESSURE, 0, Q16_MAX, 0, 0, 0},
    {ABS_MT_TOUCH_MAJOR, 0, Q16_MAX, 0, 0, 0},
    {ABS_MT_TOUCH_MINOR, 0, Q16_MAX, 0, 0, 0},
    {ABS_MT_ORIENTATION, -90, 90, 0, 0, 0},
};

static const uint16_t pen_keys[] = {BTN_TOOL_PEN, BTN_TOOL_RUBBER, BTN_TOUCH, BTN_STYLUS, BTN_STYLUS2, BTN_STYLUS3};
/* Tilt in degrees; evdev gives tilt resolution in units per radian (57 ≈ 180/π). */
static const Axis pen_axes[] = {
    {ABS_X, 0, ABS_RANGE, 0, 0, 0},      {ABS_Y, 0, ABS_RANGE, 0, 0, 0},
    {ABS_PRESSURE, 0, Q16_MAX, 0, 0, 0}, {ABS_DISTANCE, 0, Q16_MAX, 0, 0, 0},
    {ABS_TILT_X, -90, 90, 0, 0, 57},     {ABS_TILT_Y, -90, 90, 0, 0, 57},
};

/* The Xbox 360 pad's layout as the kernel's xpad driver reports it, so SDL and Steam map it. */
static const Axis pad_axes[] = {
    {ABS_X, -32768, 32767, 16, 128, 0},  {ABS_Y, -32768, 32767, 16, 128, 0},
    {ABS_RX, -32768, 32767, 16, 128, 0}, {ABS_RY, -32768, 32767, 16, 128, 0},
    {ABS_Z, 0, 255, 0, 0, 0},            {ABS_RZ, 0, 255, 0, 0, 0},
    {ABS_HAT0X, -1, 1, 0, 0, 0},         {ABS_HAT0Y, -1, 1, 0, 0, 0},
};
/* pad_buttons' codes in its order (the paddles last, left out of a pad without them). */
static const uint16_t pad_keys[PAD_BUTTONS] = {
    BTN_SOUTH, BTN_EAST, BTN_WEST, BTN_NORTH, BTN_TL, BTN_TR, BTN_THUMBL, BTN_THUMBR,
    BTN_SELECT, BTN_START, BTN_MODE, BTN_TRIGGER_HAPPY1, BTN_TRIGGER_HAPPY2, BTN_TRIGGER_HAPPY3,
    BTN_TRIGGER_HAPPY4,
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const Spec kbd_spec = {"Lumen keyboard", BUS_VIRTUAL, 0x4c55, 0x0001, 1, NULL, 0, NULL, 0, NULL, 0, 1, -1, 0};
static const Spec rel_spec = {"Lumen mouse (relative)", BUS_VIRTUAL, 0x4c55, 0x0002, 1, mouse_rels, N(mouse_rels), NULL, 0,
                              mouse_keys, N(mouse_keys), 0, INPUT_PROP_POINTER, 0};
static const Spec abs_spec = {"Lumen mouse (absolute)", BUS_VIRTUAL, 0x4c55, 0x0003, 1, wheel_rels, N(wheel_rels),
                              abs_mouse_axes, N(abs_mouse_axes), mouse_keys, N(mouse_keys), 0, INPUT_PROP_POINTER, 0};
static const Spec touch_spec = {"Lumen touchscreen", BUS_VIRTUAL, 0x4c55, 0x0004, 1, NULL, 0, touch_axes, N(touch_axes),
                                touch_keys, N(touch_keys), 0, INPUT_PROP_DIRECT, 0};
static const Spec pen_spec = {"Lumen pen", BUS_VIRTUAL, 0x4c55, 0x0005, 1, NULL, 0, pen_axes, N(pen_axes),
                              pen_keys, N(pen_keys), 0, INPUT_PROP_DIRECT, 0};

/* Keys the keyboard declares: the keyboard range below the buttons and the KEY_* ranges above
 * them (KEY_OK..KEY_NUMERIC_*, KEY_CAMERA_FOCUS..), leaving out every BTN_* range, so udev
 * classifies it as a keyboard and nothing else. */
static int kbd_key_ok(int code) {
  return (code >= KEY_ESC && code < BTN_MISC) || (code >= KEY_OK && code < BTN_DPAD_UP) ||
         (code > BTN_DPAD_RIGHT && code < BTN_TRIGGER_HAPPY);
}

/* ---- writing -------------------------------------------------------------------------------- */

static void dev_init(Dev *d) {
  memset(d, 0, sizeof *d);
  d->fd = -1;
}

/* Writes the queued events out now (a record that queues more than OUT_EVENTS: the kernel
 * gathers events until the SYN_REPORT, so the frame stays whole). */
static void spill(Dev *d) {
  size_t len = (size_t)d->n * sizeof(struct input_event);
  if (d->n && write(d->fd, d->out, len) != (ssize_t)len) d->failed = 1;
  d->n = 0;
}

static void ev(Dev *d, uint16_t type, uint16_t code, int32_t value) {
  if (d->n == OUT_EVENTS) spill(d);
  struct input_event *e = &d->out[d->n++];
  memset(e, 0, sizeof *e);
  e->type = type;
  e->code = code;
  e->value = value;
}

/* Ends the open frame with a SYN_REPORT (appended to what the record is about to write). */
static void frame_end(Dev *d) {
  ev(d, EV_SYN, SYN_REPORT, 0);
  memset(d->frame_keys, 0, sizeof d->frame_keys);
  d->frame_slots = 0;
  d->frame_state = 0;
}

static void destroy(Dev *d) {
  if (d->fd < 0) return;
  ioctl(d->fd, UI_DEV_DESTROY);
  close(d->fd);
  int64_t retry = d->retry_ns;
  dev_init(d);
  d->retry_ns = retry;
}

/* Writes what the record queued. A failed write loses the device (the kernel refuses writes only
 * to a device that is gone or a malformed buffer): it is destroyed and re-created on next use. */
static int32_t commit(Dev *d) {
  int ends_frame = d->n > 0 && d->out[d->n - 1].type == EV_SYN;
  int wrote = d->n > 0;
  spill(d);
  if (d->failed) {
    destroy(d);
    return LUMEN_E_FAILED;
  }
  if (wrote) d->dirty = !ends_frame;
  return 0;
}

static void key_frame(Dev *d, int code) {
  if (d->frame_keys[code / 8] & (1u << (code % 8))) frame_end(d);
  d->frame_keys[code / 8] |= (uint8_t)(1u << (code % 8));
}

static int32_t xioctl(int fd, unsigned long req, long arg) {
  return ioctl(fd, req, arg) < 0 ? -1 : 0;
}

/* A device made anew (first use, or after a failed write lost the old one) holds nothing. */
static void owner_reset(Uinput *u, Dev *d) {
  if (d == &u->kbd) memset(u->keys_down, 0, sizeof u->keys_down);
  if (d == &u->rel) u->rel_buttons = 0, u->wheel_rest[0][0] = u->wheel_rest[0][1] = 0;
  if (d == &u->abs) u->abs_buttons = 0, u->wheel_rest[1][0] = u->wheel_rest[1][1] = 0;
  if (d == &u->touch) memset(u->slots, 0, sizeof u->slots), u->touch_slot = 0;
  if (d == &u->pen) u->pen_tool = u->pen_touch = u->pen_buttons = 0;
}

/* Creates the device behind d from spec (idempotent; a failure is retried after a second). */
static int32_t ensure(Uinput *u, Dev *d, const Spec *s, int index) {
  if (d->fd >= 0) return 0;
  int64_t now = lumen_mono_ns();
  if (d->retry_ns && now < d->retry_ns) return LUMEN_E_UNAVAILABLE;
  int fd = open(u->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) goto fail;
  int ok = 1;
  if (s->nkeys || s->keyboard) ok &= xioctl(fd, UI_SET_EVBIT, EV_KEY) == 0;
  for (int i = 0; ok && i < s->nkeys; i++) ok &= xioctl(fd, UI_SET_KEYBIT, s->keys[i]) == 0;
  for (int c = 0; ok && s->keyboard && c < KEY_CNT; c++)
    if (kbd_key_ok(c)) ok &= xioctl(fd, UI_SET_KEYBIT, c) == 0;
  if (ok && s->nrel) ok &= xioctl(fd, UI_SET_EVBIT, EV_REL) == 0;
  for (int i = 0; ok && i < s->nrel; i++) ok &= xioctl(fd, UI_SET_RELBIT, s->rel[i]) == 0;
  if (ok && s->nabs) ok &= xioctl(fd, UI_SET_EVBIT, EV_ABS) == 0;
  for (int i = 0; ok && i < s->nabs; i++) {
    struct uinput_abs_setup a;
    memset(&a, 0, sizeof a);
    a.code = s->abs[i].code;
    a.absinfo.minimum = s->abs[i].min;
    a.absinfo.maximum = s->abs[i].max;
    a.absinfo.fuzz = s->abs[i].fuzz;
    a.absinfo.flat = s->abs[i].flat;
    a.absinfo.resolution = s->abs[i].res;
    ok &= xioctl(fd, UI_SET_ABSBIT, a.code) == 0;
    ok &= ioctl(fd, UI_ABS_SETUP, &a) == 0;
  }
  if (ok && s->rumble) ok &= xioctl(fd, UI_SET_EVBIT, EV_FF) == 0 && xioctl(fd, UI_SET_FFBIT, FF_RUMBLE) == 0;
  if (ok && s->prop >= 0) ok &= xioctl(fd, UI_SET_PROPBIT, s->prop) == 0;
  if (ok) {
    struct uinput_setup setup;
    memset(&setup, 0, sizeof setup);
    setup.id.bustype = s->bustype;
    setup.id.vendor = s->vendor;
    setup.id.product = s->product;
    setup.id.version = s->version;
    if (index >= 0) snprintf(setup.name, sizeof setup.name, "%s %d", s->name, index);
    else snprintf(setup.name, sizeof setup.name, "%s", s->name);
    setup.ff_effects_max = s->rumble ? PAD_EFFECTS : 0;
    ok &= ioctl(fd, UI_DEV_SETUP, &setup) == 0;
  }
  if (ok) ok &= xioctl(fd, UI_DEV_CREATE, 0) == 0;
  if (!ok) {
    close(fd);
    goto fail;
  }
  d->fd = fd;
  d->retry_ns = 0;
  owner_reset(u, d);
  return 0;
fail:
  d->retry_ns = now + 1000000000LL;
  return LUMEN_E_UNAVAILABLE;
}

/* ---- keyboard ------------------------------------------------------------------------------- */

static int held(const uint8_t *bits, int code) { return (bits[code / 8] >> (code % 8)) & 1; }
static void set_held(uint8_t *bits, int code, int down) {
  if (down) bits[code / 8] |= (uint8_t)(1u << (code % 8));
  else bits[code / 8] &= (uint8_t)~(1u << (code % 8));
}

static void kbd_key(Uinput *u, int code, int down) {
  key_frame(&u->kbd, code);
  ev(&u->kbd, EV_KEY, (uint16_t)code, down);
  set_held(u->keys_down, code, down);
}

static const struct {
  int bit, left, right;
} modifiers[] = {
    {MOD_SHIFT, KEY_LEFTSHIFT, KEY_RIGHTSHIFT},
    {MOD_CTRL, KEY_LEFTCTRL, KEY_RIGHTCTRL},
    {MOD_ALT, KEY_LEFTALT, KEY_RIGHTALT},
    {MOD_META, KEY_LEFTMETA, KEY_RIGHTMETA},
};

static int is_modifier(int code) {
  for (size_t i = 0; i < sizeof modifiers / sizeof modifiers[0]; i++)
    if (code == modifiers[i].left || code == modifiers[i].right) return 1;
  return 0;
}

/* A key press carries the modifiers the client holds: one it lost the edge of (a focus change
 * on the client) is pressed or released first, so Ctrl+C is Ctrl+C. Modifier keys themselves
 * are taken as they come (clients differ on whether their own bit is set yet). */
static void sync_modifiers(Uinput *u, int mods) {
  for (size_t i = 0; i < sizeof modifiers / sizeof modifiers[0]; i++) {
    int l = held(u->keys_down, modifiers[i].left), r = held(u->keys_down, modifiers[i].right);
    if ((mods & modifiers[i].bit) && !l && !r) kbd_key(u, modifiers[i].left, 1);
    if (!(mods & modifiers[i].bit)) {
      if (l) kbd_key(u, modifiers[i].left, 0);
      if (r) kbd_key(u, modifiers[i].right, 0);
    }
  }
}

static int32_t apply_key(Uinput *u, const InputRecord *r) {
  int code = r->code, down = r->v[0];
  if (!kbd_key_ok(code) || (down != 0 && down != 1) || r->v[2] < 0 || r->v[2] > 0xff) return LUMEN_E_INVALID;
  int32_t st = ensure(u, &u->kbd, &kbd_spec, -1);
  if (st < 0) return st;
  if (down && !is_modifier(code)) sync_modifiers(u, r->v[2]);
  kbd_key(u, code, down);
  return commit(&u->kbd);
}

/* ---- mice ----------------------------------------------------------------------------------- */

static Dev *mouse(Uinput *u, int abs) { return abs ? &u->abs : &u->rel; }
static int32_t ensure_mouse(Uinput *u, int abs) {
  return ensure(u, mouse(u, abs), abs ? &abs_spec : &rel_spec, -1);
}

static int32_t apply_move_rel(Uinput *u, const InputRecord *r) {
  if (r->v[0] < -32768 || r->v[0] > 32767 || r->v[1] < -32768 || r->v[1] > 32767) return LUMEN_E_INVALID;
  int32_t st = ensure_mouse(u, 0);
  if (st < 0) return st;
  u->abs_last = 0;
  if (r->v[0]) ev(&u->rel, EV_REL, REL_X, r->v[0]);
  if (r->v[1]) ev(&u->rel, EV_REL, REL_Y, r->v[1]);
  return commit(&u->rel);
}

/* x, y within the client's reference area of v2 × v3 → the device's range (the whole screen,
 * which is the streamed picture). Positions outside the area are clamped to its edge. */
static int32_t scale_abs(int32_t v, int32_t extent) {
  if (extent <= 1) return 0;
  int64_t s = ((int64_t)v * ABS_RANGE + (extent - 1) / 2) / (extent - 1);
  return s < 0 ? 0 : s > ABS_RANGE ? ABS_RANGE : (int32_t)s;
}

static int32_t apply_move_abs(Uinput *u, const InputRecord *r) {
  const int32_t *v = r->v;
  if (v[0] < -32768 || v[0] > 32767 || v[1] < -32768 || v[1] > 32767) return LUMEN_E_INVALID;
  if (v[2] < 1 || v[2] > 65536 || v[3] < 1 || v[3] > 65536) return LUMEN_E_INVALID;
  int32_t st = ensure_mouse(u, 1);
  if (st < 0) return st;
  u->abs_last = 1;
  ev(&u->abs, EV_ABS, ABS_X, scale_abs(v[0], v[2]));
  ev(&u->abs, EV_ABS, ABS_Y, scale_abs(v[1], v[3]));
  return commit(&u->abs);
}

static int32_t apply_button(Uinput *u, const InputRecord *r) {
  int b = r->code, down = r->v[0];
  if (b < 1 || b > 5 || (down != 0 && down != 1)) return LUMEN_E_INVALID;
  uint8_t bit = (uint8_t)(1u << b);
  /* A release goes to the mouse that holds the button, whichever moved since. */
  int abs = u->abs_last;
  if (!down) abs = (u->abs_buttons & bit) ? 1 : (u->rel_buttons & bit) ? 0 : abs;
  int32_t st = ensure_mouse(u, abs);
  if (st < 0) return st;
  Dev *d = mouse(u, abs);
  key_frame(d, mouse_buttons[b]);
  ev(d, EV_KEY, mouse_buttons[b], down);
  st = commit(d);
  if (st < 0) return st;
  uint8_t *held_mask = abs ? &u->abs_buttons : &u->rel_buttons;
  *held_mask = down ? (uint8_t)(*held_mask | bit) : (uint8_t)(*held_mask & ~bit);
  return 0;
}

/* 120 units a notch: the high-resolution axis gets every unit, the classic one whole notches
 * (the remainder carried, dropped when the direction turns). */
static int32_t apply_scroll(Uinput *u, const InputRecord *r, int horizontal) {
  int32_t amount = r->v[0];
  if (amount < -32768 || amount > 32767) return LUMEN_E_INVALID;
  int abs = u->abs_last;
  int32_t st = ensure_mouse(u, abs);
  if (st < 0) return st;
  Dev *d = mouse(u, abs);
  if (amount == 0) return 0;
  int32_t *rest = &u->wheel_rest[abs][horizontal];
  if ((*rest > 0 && amount < 0) || (*rest < 0 && amount > 0)) *rest = 0;
  *rest += amount;
  int32_t notches = *rest / 120;
  *rest -= notches * 120;
  ev(d, EV_REL, horizontal ? REL_HWHEEL_HI_RES : REL_WHEEL_HI_RES, amount);
  if (notches) ev(d, EV_REL, horizontal ? REL_HWHEEL : REL_WHEEL, notches);
  return commit(d);
}

/* ---- touchscreen (multi-touch protocol B) ---------------------------------------------------- */

static int q16_ok(int32_t v) { return v >= 0 && v <= Q16_MAX; }

static void touch_select(Uinput *u, int slot) {
  if (u->touch.frame_slots & (1u << slot)) frame_end(&u->touch);
  u->touch.frame_slots |= 1u << slot;
  if (u->touch_slot != slot) {
    ev(&u->touch, EV_ABS, ABS_MT_SLOT, slot);
    u->touch_slot = slot;
  }
}

static int touch_find(Uinput *u, uint32_t pointer) {
  for (int i = 0; i < TOUCH_SLOTS; i++)
    if (u->slots[i].active && u->slots[i].pointer == pointer) return i;
  return -1;
}

static int touch_count(Uinput *u) {
  int n = 0;
  for (int i = 0; i < TOUCH_SLOTS; i++) n += u->slots[i].active;
  return n;
}

/* The single-touch axes follow the lowest active slot (for consumers without multi-touch). */
static int touch_primary(Uinput *u) {
  for (int i = 0; i < TOUCH_SLOTS; i++)
    if (u->slots[i].active) return i;
  return -1;
}

static void touch_lift(Uinput *u, int slot) {
  touch_select(u, slot);
  ev(&u->touch, EV_ABS, ABS_MT_TRACKING_ID, -1);
  u->slots[slot].active = 0;
  if (touch_count(u) == 0) ev(&u->touch, EV_KEY, BTN_TOUCH, 0);
}

static int32_t apply_touch(Uinput *u, const InputRecord *r) {
  const int32_t *v = r->v;
  int type = v[0];
  uint32_t pointer = (uint32_t)v[1];
  if (type < TE_HOVER || type > TE_CANCEL_ALL) return LUMEN_E_INVALID;
  if (!q16_ok(v[2]) || !q16_ok(v[3]) || !q16_ok(v[4]) || !q16_ok(v[5]) || !q16_ok(v[6])) return LUMEN_E_INVALID;
  if (v[7] < -1 || v[7] > 360) return LUMEN_E_INVALID;
  int slot = touch_find(u, pointer);
  if (type == TE_HOVER || type == TE_HOVER_LEAVE || type == TE_BUTTON_ONLY) return 0; /* a touchscreen has no hover, no buttons */
  if ((type == TE_UP || type == TE_CANCEL || type == TE_MOVE) && slot < 0) return LUMEN_E_INVALID; /* a contact that never went down */
  int32_t st = ensure(u, &u->touch, &touch_spec, -1);
  if (st < 0) return st;
  switch (type) {
    case TE_CANCEL_ALL:
      for (int i = 0; i < TOUCH_SLOTS; i++)
        if (u->slots[i].active) touch_lift(u, i);
      return commit(&u->touch);
    case TE_UP:
    case TE_CANCEL:
      touch_lift(u, slot);
      return commit(&u->touch);
    case TE_DOWN:
    case TE_MOVE:
      break;
  }
  if (slot < 0) {
    for (int i = 0; i < TOUCH_SLOTS && slot < 0; i++)
      if (!u->slots[i].active) slot = i;
    if (slot < 0) return LUMEN_E_INVALID; /* more contacts than slots */
    int first = touch_count(u) == 0;
    touch_select(u, slot);
    u->slots[slot].active = 1;
    u->slots[slot].pointer = pointer;
    u->slots[slot].tracking = u->next_tracking;
    u->next_tracking = (u->next_tracking + 1) & 0xffff;
    ev(&u->touch, EV_ABS, ABS_MT_TRACKING_ID, u->slots[slot].tracking);
    if (first) ev(&u->touch, EV_KEY, BTN_TOUCH, 1);
  } else {
    touch_select(u, slot);
  }
  int32_t pressure = v[4] ? v[4] : Q16_MAX / 2; /* 0: the client does not know */
  ev(&u->touch, EV_ABS, ABS_MT_POSITION_X, v[2]);
  ev(&u->touch, EV_ABS, ABS_MT_POSITION_Y, v[3]);
  ev(&u->touch, EV_ABS, ABS_MT_PRESSURE, pressure);
  ev(&u->touch, EV_ABS, ABS_MT_TOUCH_MAJOR, v[5] > v[6] ? v[5] : v[6]);
  ev(&u->touch, EV_ABS, ABS_MT_TOUCH_MINOR, v[5] > v[6] ? v[6] : v[5]);
  if (v[7] >= 0) {
    /* An ellipse's orientation repeats every 180°: 0..360 from vertical → -90..90. */
    int o = v[7] % 180;
    ev(&u->touch, EV_ABS, ABS_MT_ORIENTATION, o > 90 ? o - 180 : o);
  }
  if (touch_primary(u) == slot) {
    ev(&u->touch, EV_ABS, ABS_X, v[2]);
    ev(&u->touch, EV_ABS, ABS_Y, v[3]);
    ev(&u->touch, EV_ABS, ABS_PRESSURE, pressure);
  }
  return commit(&u->touch);
}

/* ---- pen ------------------------------------------------------------------------------------ */

/* Tilt t from the screen's normal toward the direction `rot` (degrees clockwise from the
 * screen's up) → the angles in the x-z and y-z planes evdev reports (x right, y down). */
static void pen_tilt(int rot, int tilt, int32_t *tx, int32_t *ty) {
  if (rot < 0 || tilt < 0) {
    *tx = *ty = 0;
    return;
  }
  double t = tilt * M_PI / 180.0, a = rot * M_PI / 180.0;
  double x = sin(t) * sin(a), y = -sin(t) * cos(a), z = cos(t);
  *tx = (int32_t)lround(atan2(x, z) * 180.0 / M_PI);
  *ty = (int32_t)lround(atan2(y, z) * 180.0 / M_PI);
}

static void pen_leave(Uinput *u) {
  Dev *d = &u->pen;
  if (u->pen_touch) ev(d, EV_KEY, BTN_TOUCH, 0), ev(d, EV_ABS, ABS_PRESSURE, 0);
  if (u->pen_buttons & PEN_PRIMARY) ev(d, EV_KEY, BTN_STYLUS, 0);
  if (u->pen_buttons & PEN_SECONDARY) ev(d, EV_KEY, BTN_STYLUS2, 0);
  if (u->pen_buttons & PEN_TERTIARY) ev(d, EV_KEY, BTN_STYLUS3, 0);
  if (u->pen_tool) ev(d, EV_KEY, (uint16_t)u->pen_tool, 0);
  u->pen_touch = 0;
  u->pen_buttons = 0;
  u->pen_tool = 0;
}

static int32_t apply_pen(Uinput *u, const InputRecord *r) {
  const int32_t *v = r->v;
  int type = v[0], tool = v[1], buttons = v[2];
  if (type < TE_HOVER || type > TE_CANCEL_ALL || tool < 0 || tool > 2 || buttons < 0 || buttons > 7)
    return LUMEN_E_INVALID;
  if (!q16_ok(v[3]) || !q16_ok(v[4]) || !q16_ok(v[5]) || !q16_ok(v[8])) return LUMEN_E_INVALID;
  if (v[6] < -1 || v[6] > 360 || v[7] < -1 || v[7] > 90) return LUMEN_E_INVALID;
  int32_t st = ensure(u, &u->pen, &pen_spec, -1);
  if (st < 0) return st;
  Dev *d = &u->pen;
  if (d->frame_state) frame_end(d);
  d->frame_state = 1;
  if (type == TE_HOVER_LEAVE || type == TE_CANCEL || type == TE_CANCEL_ALL) {
    pen_leave(u);
    return commit(d);
  }
  int want = tool == TOOL_ERASER ? BTN_TOOL_RUBBER : (tool == 0 && u->pen_tool) ? u->pen_tool : BTN_TOOL_PEN;
  if (u->pen_tool && u->pen_tool != want) {
    /* A new tool leaves proximity with the old one in its own frame. */
    pen_leave(u);
    frame_end(d);
    d->frame_state = 1;
  }
  if (!u->pen_tool) {
    ev(d, EV_KEY, (uint16_t)want, 1);
    u->pen_tool = want;
  }
  if (type != TE_BUTTON_ONLY) {
    int32_t tx, ty;
    pen_tilt(v[6], v[7], &tx, &ty);
    ev(d, EV_ABS, ABS_X, v[3]);
    ev(d, EV_ABS, ABS_Y, v[4]);
    ev(d, EV_ABS, ABS_TILT_X, tx);
    ev(d, EV_ABS, ABS_TILT_Y, ty);
    int touching = type == TE_DOWN || (type == TE_MOVE && u->pen_touch);
    if (touching) {
      ev(d, EV_ABS, ABS_DISTANCE, 0);
      ev(d, EV_ABS, ABS_PRESSURE, v[5] ? v[5] : Q16_MAX / 2);
    } else {
      /* Hovering, the pressure field is the distance (1.0 farthest; 0 unknown). */
      ev(d, EV_ABS, ABS_PRESSURE, 0);
      ev(d, EV_ABS, ABS_DISTANCE, type == TE_HOVER || type == TE_UP ? v[5] : 0);
    }
    if (touching != u->pen_touch) ev(d, EV_KEY, BTN_TOUCH, touching);
    u->pen_touch = touching;
  }
  static const struct {
    int bit;
    uint16_t code;
  } pen_button_map[] = {{PEN_PRIMARY, BTN_STYLUS}, {PEN_SECONDARY, BTN_STYLUS2}, {PEN_TERTIARY, BTN_STYLUS3}};
  for (int i = 0; i < 3; i++) {
    int now = (buttons & pen_button_map[i].bit) != 0, was = (u->pen_buttons & pen_button_map[i].bit) != 0;
    if (now != was) ev(d, EV_KEY, pen_button_map[i].code, now);
  }
  u->pen_buttons = buttons;
  return commit(d);
}

/* ---- gamepads ------------------------------------------------------------------------------- */

static const Spec pad_spec_base = {"Lumen gamepad", BUS_USB, 0x045e, 0x028e, 0x0114, NULL, 0, pad_axes, N(pad_axes),
                                   pad_keys, (int)PAD_BUTTONS, 0, -1, 1};

static void pad_reset(Pad *p) {
  Dev keep = p->dev;
  memset(p, 0, sizeof *p);
  p->dev = keep;
}

static int32_t pad_create(Uinput *u, int i, int rumble, int paddles) {
  Pad *p = &u->pads[i];
  if (p->dev.fd >= 0) return 0;
  Spec s = pad_spec_base;
  s.rumble = rumble;
  s.nkeys = paddles ? (int)PAD_BUTTONS : (int)PAD_BUTTONS - 4; /* the paddles are the table's last four */
  int32_t st = ensure(u, &p->dev, &s, i);
  if (st < 0) return st;
  pad_reset(p);
  p->rumble = rumble;
  p->paddles = paddles;
  return 0;
}

static void rumble_send(Uinput *u, int i, int32_t low, int32_t high) {
  Pad *p = &u->pads[i];
  if (low == p->sent_low && high == p->sent_high) return;
  p->sent_low = low;
  p->sent_high = high;
  InputRecord fb;
  memset(&fb, 0, sizeof fb);
  fb.kind = LUMEN_FB_RUMBLE;
  fb.code = (uint16_t)i;
  fb.v[0] = low;
  fb.v[1] = high;
  if (u->feedback) u->feedback(u->sink, &fb);
}

static void pad_destroy(Uinput *u, int i) {
  Pad *p = &u->pads[i];
  if (p->dev.fd < 0) return;
  rumble_send(u, i, 0, 0); /* a pad that leaves stops shaking the client's */
  destroy(&p->dev);
  pad_reset(p);
}

static int32_t apply_pad_arrive(Uinput *u, const InputRecord *r) {
  if (r->code >= PADS) return LUMEN_E_INVALID;
  if (r->v[0] < 0 || r->v[0] > 255 || r->v[1] < 0 || r->v[1] > 0xffff) return LUMEN_E_INVALID;
  uint32_t supported = (uint32_t)r->v[2];
  return pad_create(u, r->code, (r->v[1] & PCAP_RUMBLE) != 0, (supported & PB_PADDLES) != 0);
}

static int32_t clamp_neg(int32_t y) { return y == -32768 ? 32767 : -y; } /* evdev's Y grows downward */

static int32_t apply_pad_state(Uinput *u, const InputRecord *r) {
  const int32_t *v = r->v;
  if (r->code >= PADS) return LUMEN_E_INVALID;
  if (v[1] < 0 || v[1] > 255 || v[2] < 0 || v[2] > 255) return LUMEN_E_INVALID;
  for (int k = 3; k <= 6; k++)
    if (v[k] < -32768 || v[k] > 32767) return LUMEN_E_INVALID;
  Pad *p = &u->pads[r->code];
  /* A client that sends no arrival gets a full pad on first use. */
  int32_t st = pad_create(u, r->code, 1, 1);
  if (st < 0) return st;
  Dev *d = &p->dev;
  if (d->frame_state) frame_end(d);
  d->frame_state = 1;
  uint32_t b = (uint32_t)v[0];
  for (size_t k = 0; k < PAD_BUTTONS; k++) {
    int now = (b & pad_buttons[k].bit) != 0, was = (p->buttons & pad_buttons[k].bit) != 0;
    if ((pad_buttons[k].bit & PB_PADDLES) && !p->paddles) continue;
    if (now != was) ev(d, EV_KEY, pad_buttons[k].code, now);
  }
  int32_t hx = ((b & PB_RIGHT) != 0) - ((b & PB_LEFT) != 0), hy = ((b & PB_DOWN) != 0) - ((b & PB_UP) != 0);
  int32_t vals[8] = {v[3], clamp_neg(v[4]), v[5], clamp_neg(v[6]), v[1], v[2], hx, hy};
  int32_t *state[8] = {&p->lx, &p->ly, &p->rx, &p->ry, &p->lt, &p->rt, &p->hx, &p->hy};
  static const uint16_t codes[8] = {ABS_X, ABS_Y, ABS_RX, ABS_RY, ABS_Z, ABS_RZ, ABS_HAT0X, ABS_HAT0Y};
  for (int k = 0; k < 8; k++)
    if (vals[k] != *state[k]) ev(d, EV_ABS, codes[k], vals[k]);
  st = commit(d);
  if (st < 0) return st;
  p->buttons = b;
  for (int k = 0; k < 8; k++) *state[k] = vals[k];
  return 0;
}

static int32_t apply_pad_remove(Uinput *u, const InputRecord *r) {
  if (r->code >= PADS) return LUMEN_E_INVALID;
  pad_destroy(u, r->code);
  return 0;
}

/* ---- force feedback --------------------------------------------------------------------------- */

static void rumble_update(Uinput *u, int i, int64_t now) {
  Pad *p = &u->pads[i];
  int64_t low = 0, high = 0;
  for (int k = 0; k < PAD_EFFECTS; k++) {
    Effect *e = &p->fx[k];
    if (!e->used || !e->playing) continue;
    if (e->end_ns && now >= e->end_ns) {
      e->playing = 0;
      continue;
    }
    if (now < e->start_ns) continue;
    low += e->strong;
    high += e->weak;
  }
  rumble_send(u, i, low > 65535 ? 65535 : (int32_t)low, high > 65535 ? 65535 : (int32_t)high);
}

static void ff_upload(Pad *p, uint32_t request) {
  struct uinput_ff_upload up;
  memset(&up, 0, sizeof up);
  up.request_id = request;
  if (ioctl(p->dev.fd, UI_BEGIN_FF_UPLOAD, &up) < 0) return;
  int id = up.effect.id;
  if (up.effect.type != FF_RUMBLE || id < 0 || id >= PAD_EFFECTS) {
    up.retval = -EINVAL;
  } else {
    Effect *e = &p->fx[id];
    int playing = e->used && e->playing;
    int64_t start = e->start_ns, end = e->end_ns;
    e->used = 1;
    e->strong = up.effect.u.rumble.strong_magnitude;
    e->weak = up.effect.u.rumble.weak_magnitude;
    e->length_ms = up.effect.replay.length;
    e->delay_ms = up.effect.replay.delay;
    /* Updating a playing effect changes its levels, not its timing. */
    e->playing = playing;
    e->start_ns = start;
    e->end_ns = end;
    up.retval = 0;
  }
  ioctl(p->dev.fd, UI_END_FF_UPLOAD, &up);
}

static void ff_erase(Pad *p, uint32_t request) {
  struct uinput_ff_erase er;
  memset(&er, 0, sizeof er);
  er.request_id = request;
  if (ioctl(p->dev.fd, UI_BEGIN_FF_ERASE, &er) < 0) return;
  if (er.effect_id < PAD_EFFECTS) memset(&p->fx[er.effect_id], 0, sizeof p->fx[0]);
  er.retval = 0;
  ioctl(p->dev.fd, UI_END_FF_ERASE, &er);
}

static void ff_play(Pad *p, int id, int32_t count, int64_t now) {
  if (id < 0 || id >= PAD_EFFECTS || !p->fx[id].used) return;
  Effect *e = &p->fx[id];
  if (count <= 0) {
    e->playing = 0;
    return;
  }
  if (count > 1000) count = 1000;
  e->playing = 1;
  e->start_ns = now + (int64_t)e->delay_ms * 1000000;
  e->end_ns = e->length_ms ? e->start_ns + (int64_t)e->length_ms * count * 1000000 : 0;
}

static void pad_tick(Uinput *u, int i, int64_t now) {
  Pad *p = &u->pads[i];
  struct input_event in[16];
  for (int round = 0; round < 8; round++) {
    ssize_t n = read(p->dev.fd, in, sizeof in);
    if (n < (ssize_t)sizeof in[0]) break;
    for (int k = 0; k < (int)(n / (ssize_t)sizeof in[0]); k++) {
      if (in[k].type == EV_UINPUT && in[k].code == UI_FF_UPLOAD) ff_upload(p, (uint32_t)in[k].value);
      else if (in[k].type == EV_UINPUT && in[k].code == UI_FF_ERASE) ff_erase(p, (uint32_t)in[k].value);
      else if (in[k].type == EV_FF) ff_play(p, in[k].code, in[k].value, now);
    }
    if (n < (ssize_t)sizeof in) break;
  }
  rumble_update(u, i, now);
}

/* ---- the vtable ------------------------------------------------------------------------------ */

static int32_t u_open(void **state, const char *params, InputFeedbackFn feedback, void *sink, char *err, int32_t err_len) {
  size_t len = params ? strlen(params) : 0;
  if (len == 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "uinput: no device node path given");
  if (len >= sizeof(((Uinput *)0)->path)) return lumen_fail(err, err_len, LUMEN_E_INVALID, "uinput: the device node path is too long");
  /* Probe the node now, so a missing module or a missing permission is said at open, not as
   * silently refused records later. */
  int fd = open(params, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO)
      return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "no %s: load the uinput module (modprobe uinput)", params);
    if (e == EACCES || e == EPERM)
      return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                        "%s is not writable: add a udev rule KERNEL==\"uinput\", GROUP=\"input\", MODE=\"0660\" and join the input group", params);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "%s: %s", params, strerror(e));
  }
  close(fd);
  Uinput *u = calloc(1, sizeof *u);
  if (!u) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "uinput: out of memory");
  memcpy(u->path, params, len + 1);
  u->feedback = feedback;
  u->sink = sink;
  dev_init(&u->kbd);
  dev_init(&u->rel);
  dev_init(&u->abs);
  dev_init(&u->touch);
  dev_init(&u->pen);
  for (int i = 0; i < PADS; i++) dev_init(&u->pads[i].dev);
  /* The keyboard and both mice exist from the start of the stream, so the desktop has opened
   * them before the first key press arrives (a device made on that press would lose it). One
   * that fails here is made again on first use. */
  (void)ensure(u, &u->kbd, &kbd_spec, -1);
  (void)ensure_mouse(u, 0);
  (void)ensure_mouse(u, 1);
  *state = u;
  return 0;
}

static int32_t u_apply(void *state, const InputRecord *r) {
  Uinput *u = state;
  switch (r->kind) {
    case LUMEN_IN_KEY: return apply_key(u, r);
    case LUMEN_IN_MOVE_REL: return apply_move_rel(u, r);
    case LUMEN_IN_MOVE_ABS: return apply_move_abs(u, r);
    case LUMEN_IN_BUTTON: return apply_button(u, r);
    case LUMEN_IN_SCROLL: return apply_scroll(u, r, 0);
    case LUMEN_IN_HSCROLL: return apply_scroll(u, r, 1);
    case LUMEN_IN_TOUCH: return apply_touch(u, r);
    case LUMEN_IN_PEN: return apply_pen(u, r);
    case LUMEN_IN_PAD_ARRIVE: return apply_pad_arrive(u, r);
    case LUMEN_IN_PAD_STATE: return apply_pad_state(u, r);
    case LUMEN_IN_PAD_REMOVE: return apply_pad_remove(u, r);
    default: return LUMEN_E_UNAVAILABLE; /* text, motion, battery, touchpad: not on these devices */
  }
}

static void syn(Dev *d) {
  if (d->fd < 0 || !d->dirty) return;
  frame_end(d);
  commit(d);
}

static void u_flush(void *state) {
  Uinput *u = state;
  syn(&u->kbd);
  syn(&u->rel);
  syn(&u->abs);
  syn(&u->touch);
  syn(&u->pen);
  for (int i = 0; i < PADS; i++) syn(&u->pads[i].dev);
}

static void u_tick(void *state) {
  Uinput *u = state;
  int64_t now = lumen_mono_ns();
  for (int i = 0; i < PADS; i++)
    if (u->pads[i].dev.fd >= 0 && u->pads[i].rumble) pad_tick(u, i, now);
}

static void u_release_all(void *state) {
  Uinput *u = state;
  if (u->kbd.fd >= 0) {
    for (int c = 0; c < KEY_CNT; c++)
      if (held(u->keys_down, c)) kbd_key(u, c, 0);
    commit(&u->kbd);
  }
  for (int abs = 0; abs < 2; abs++) {
    Dev *d = mouse(u, abs);
    uint8_t *mask = abs ? &u->abs_buttons : &u->rel_buttons;
    if (d->fd >= 0)
      for (int b = 1; b <= 5; b++)
        if (*mask & (1u << b)) key_frame(d, mouse_buttons[b]), ev(d, EV_KEY, mouse_buttons[b], 0);
    *mask = 0;
    u->wheel_rest[abs][0] = u->wheel_rest[abs][1] = 0;
    if (d->fd >= 0) commit(d);
  }
  if (u->touch.fd >= 0) {
    for (int i = 0; i < TOUCH_SLOTS; i++)
      if (u->slots[i].active) touch_lift(u, i);
    commit(&u->touch);
  }
  if (u->pen.fd >= 0) {
    if (u->pen.frame_state) frame_end(&u->pen);
    pen_leave(u);
    commit(&u->pen);
  }
  for (int i = 0; i < PADS; i++) {
    Pad *p = &u->pads[i];
    if (p->dev.fd < 0) continue;
    InputRecord centre;
    memset(&centre, 0, sizeof centre);
    centre.kind = LUMEN_IN_PAD_STATE;
    centre.code = (uint16_t)i;
    apply_pad_state(u, &centre);
  }
  u_flush(u);
}

static void u_close(void *state) {
  Uinput *u = state;
  u_release_all(u);
  destroy(&u->kbd);
  destroy(&u->rel);
  destroy(&u->abs);
  destroy(&u->touch);
  destroy(&u->pen);
  for (int i = 0; i < PADS; i++) destroy(&u->pads[i].dev);
  free(u);
}

const InputBackend lumen_input_uinput = {
    "uinput", u_open, u_apply, u_flush, u_tick, u_release_all, u_close,
};
