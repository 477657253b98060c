/* A stand-in for the kernel's uinput node, for machines whose kernel lacks it (CONFIG_INPUT_UINPUT
 * off here and on the GPU machine; no CUSE, and FUSE cannot carry uinput's by-value ioctls).
 * Loaded with LD_PRELOAD into the process under test, it takes open/ioctl/read/write/close on
 * one path and answers them as drivers/input/misc/uinput.c does, checking each request number and
 * argument size against the system's <linux/uinput.h>:
 *   - an unknown request, UI_DEV_SETUP with an empty name or after create, UI_SET_*BIT after create
 *     or past the type's maximum, UI_DEV_CREATE before setup or with a bad axis range or EV_FF
 *     without effects: EINVAL (UI_ABS_SETUP: E2BIG / EBUSY / ERANGE / EINVAL as the kernel);
 *   - a write before create or shorter than one struct input_event: EINVAL; a read on a blocking
 *     fd with nothing queued is logged as a violation (the kernel would block the writer thread);
 *   - events whose type or code the device did not declare are logged with ok:false (the input
 *     core would drop them), absolute values outside the declared range with inrange:false.
 * It writes what it saw as JSON lines to $UINPUT_STANDIN_LOG: "open", "create" (name, ids, every
 * capability bit, the axes), "ev" (every struct input_event written), "refused" (request, errno,
 * why), "destroy", and the force-feedback exchanges. $UINPUT_STANDIN_CONTROL is a file of lines the
 * test appends to, taken in order when the backend reads a device (its tick):
 *   upload NAME ID STRONG WEAK LENGTH_MS [DELAY_MS]   a game uploads a rumble effect (EV_UINPUT)
 *   play NAME ID COUNT / stop NAME ID                 a game plays / stops it (EV_FF)
 *   erase NAME ID                                     a game erases it (EV_UINPUT)
 *   fail-write NAME                                   the device's next write fails (ENODEV)
 * A line waits until a device named NAME exists, and an upload or erase holds the lines after it
 * until the backend answers it (UI_END_FF_*), as the game's EVIOCSFF waits in the kernel.
 * This is test code: the shim never reads these variables. $UINPUT_STANDIN_DENY=1 makes opening
 * the path fail with EACCES. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_FD 4096
#define QUEUE 256
#define MAX_EFFECTS_KERNEL FF_GAIN /* FF_MAX_EFFECTS in the kernel's input.h */
#define MT_MAX_SLOTS 1024          /* input_mt_init_slots' limit */

enum { NEW, SETUP, CREATED };

typedef struct {
  int id;
  int accmode, nonblock;
  int state;
  struct input_id ids;
  char name[UINPUT_MAX_NAME_SIZE + 1];
  uint32_t ff_max;
  uint8_t ev[EV_CNT / 8 + 1], key[KEY_CNT / 8 + 1], rel[REL_CNT / 8 + 1], abs[ABS_CNT / 8 + 1];
  uint8_t msc[MSC_CNT / 8 + 1], led[LED_CNT / 8 + 1], snd[SND_CNT / 8 + 1], ff[FF_CNT / 8 + 1];
  uint8_t sw[SW_CNT / 8 + 1], prop[INPUT_PROP_CNT / 8 + 1];
  struct input_absinfo absinfo[ABS_CNT];
  struct input_event q[QUEUE];
  int qhead, qtail;
  /* the one force-feedback request in flight (the kernel allows several; the test sends one) */
  uint32_t req_id;
  int req_code; /* 0 none, UI_FF_UPLOAD, UI_FF_ERASE */
  int req_begun;
  struct ff_effect req_effect;
  int uploaded[MAX_EFFECTS_KERNEL];
  int fail_write;
} Fake;

static Fake *fakes[MAX_FD];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int next_id = 1;
static uint32_t next_request = 1;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_close)(int);

static const char *fake_path, *log_path, *control_path;
static int deny;
static int log_fd = -1;
static long control_off;
static char control_buf[8192];
static int control_len;

__attribute__((constructor)) static void init(void) {
  real_open = dlsym(RTLD_NEXT, "open");
  real_openat = dlsym(RTLD_NEXT, "openat");
  real_ioctl = dlsym(RTLD_NEXT, "ioctl");
  real_read = dlsym(RTLD_NEXT, "read");
  real_write = dlsym(RTLD_NEXT, "write");
  real_close = dlsym(RTLD_NEXT, "close");
  fake_path = getenv("UINPUT_STANDIN_PATH");
  log_path = getenv("UINPUT_STANDIN_LOG");
  control_path = getenv("UINPUT_STANDIN_CONTROL");
  deny = getenv("UINPUT_STANDIN_DENY") && strcmp(getenv("UINPUT_STANDIN_DENY"), "1") == 0;
}

/* ---- the log -------------------------------------------------------------------------------- */

typedef struct {
  char b[32768];
  size_t n;
} Line;

__attribute__((format(printf, 2, 3))) static void put(Line *l, const char *fmt, ...) {
  if (l->n >= sizeof l->b) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(l->b + l->n, sizeof l->b - l->n, fmt, ap);
  va_end(ap);
  if (k > 0) l->n += (size_t)k;
  if (l->n > sizeof l->b) l->n = sizeof l->b;
}

static void emit(Line *l) {
  put(l, "\n");
  if (log_fd < 0 && log_path) log_fd = real_open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd >= 0) real_write(log_fd, l->b, l->n);
}

static void bits(Line *l, const char *key, const uint8_t *b, int count) {
  put(l, ",\"%s\":[", key);
  int first = 1;
  for (int i = 0; i < count; i++)
    if (b[i / 8] >> (i % 8) & 1) put(l, first ? "%d" : ",%d", i), first = 0;
  put(l, "]");
}

static int test_bit(const uint8_t *b, int i) { return b[i / 8] >> (i % 8) & 1; }
static void set_bit(uint8_t *b, int i) { b[i / 8] |= (uint8_t)(1u << (i % 8)); }

static int refuse(Fake *f, const char *request, int err, const char *why) {
  Line l = {.n = 0};
  put(&l, "{\"op\":\"refused\",\"dev\":%d,\"request\":\"%s\",\"errno\":%d,\"why\":\"%s\"}", f ? f->id : 0, request, err, why);
  emit(&l);
  errno = err;
  return -1;
}

static void note(Fake *f, const char *op, const char *fmt, ...) {
  Line l = {.n = 0};
  put(&l, "{\"op\":\"%s\",\"dev\":%d", op, f->id);
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l.b + l.n, sizeof l.b - l.n, fmt, ap);
    va_end(ap);
    if (k > 0) l.n += (size_t)k;
  }
  put(&l, "}");
  emit(&l);
}

/* ---- open / close --------------------------------------------------------------------------- */

static int fake_open(int flags) {
  if (deny) {
    errno = EACCES;
    return -1;
  }
  int fd = real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));
  if (fd < 0) return -1;
  if (fd >= MAX_FD) {
    real_close(fd);
    errno = EMFILE;
    return -1;
  }
  Fake *f = calloc(1, sizeof *f);
  pthread_mutex_lock(&lock);
  f->id = next_id++;
  f->accmode = flags & O_ACCMODE;
  f->nonblock = (flags & O_NONBLOCK) != 0;
  __atomic_store_n(&fakes[fd], f, __ATOMIC_RELEASE);
  note(f, "open", ",\"nonblock\":%d,\"cloexec\":%d,\"accmode\":%d", f->nonblock, (flags & O_CLOEXEC) != 0, f->accmode);
  pthread_mutex_unlock(&lock);
  return fd;
}

static Fake *fake_of(int fd) {
  if (fd < 0 || fd >= MAX_FD) return NULL;
  return __atomic_load_n(&fakes[fd], __ATOMIC_ACQUIRE);
}

static int is_fake(const char *path) { return fake_path && path && strcmp(path, fake_path) == 0; }

static void log_create(Fake *f) {
  Line l = {.n = 0};
  put(&l, "{\"op\":\"create\",\"dev\":%d,\"name\":\"%s\",\"bustype\":%u,\"vendor\":%u,\"product\":%u,\"version\":%u,\"ff_effects_max\":%u",
      f->id, f->name, f->ids.bustype, f->ids.vendor, f->ids.product, f->ids.version, f->ff_max);
  bits(&l, "ev", f->ev, EV_CNT);
  bits(&l, "key", f->key, KEY_CNT);
  bits(&l, "rel", f->rel, REL_CNT);
  bits(&l, "msc", f->msc, MSC_CNT);
  bits(&l, "ff", f->ff, FF_CNT);
  bits(&l, "prop", f->prop, INPUT_PROP_CNT);
  put(&l, ",\"abs\":[");
  int first = 1;
  for (int i = 0; i < ABS_CNT; i++) {
    if (!test_bit(f->abs, i)) continue;
    const struct input_absinfo *a = &f->absinfo[i];
    put(&l, "%s[%d,%d,%d,%d,%d,%d]", first ? "" : ",", i, a->minimum, a->maximum, a->fuzz, a->flat, a->resolution);
    first = 0;
  }
  put(&l, "]}");
  emit(&l);
}

static void fake_close(int fd, Fake *f) {
  pthread_mutex_lock(&lock);
  __atomic_store_n(&fakes[fd], NULL, __ATOMIC_RELEASE);
  if (f->state == CREATED) note(f, "destroy", ",\"by\":\"close\"");
  note(f, "close", NULL);
  pthread_mutex_unlock(&lock);
  free(f);
}

/* ---- ioctls --------------------------------------------------------------------------------- */

static int check_abs(const struct input_absinfo *a) {
  int min = a->minimum, max = a->maximum, range;
  if ((min != 0 || max != 0) && max < min) return -1;
  if (!__builtin_sub_overflow(max, min, &range) && a->flat > range) return -1;
  return 0;
}

static int set_bit_ioctl(Fake *f, const char *what, uint8_t *b, unsigned long arg, unsigned long max) {
  if (f->state == CREATED) return refuse(f, what, EINVAL, "bit set after UI_DEV_CREATE");
  if (arg > max) return refuse(f, what, EINVAL, "bit past the type's maximum");
  set_bit(b, (int)arg);
  return 0;
}

static int dev_create(Fake *f) {
  if (f->state == CREATED) return refuse(f, "UI_DEV_CREATE", EINVAL, "device already created");
  if (f->state != SETUP) return refuse(f, "UI_DEV_CREATE", EINVAL, "UI_DEV_CREATE before UI_DEV_SETUP");
  if (test_bit(f->ev, EV_ABS))
    for (int i = 0; i < ABS_CNT; i++)
      if (test_bit(f->abs, i) && check_abs(&f->absinfo[i]) < 0) return refuse(f, "UI_DEV_CREATE", EINVAL, "bad absolute axis range");
  if (test_bit(f->abs, ABS_MT_SLOT) && test_bit(f->ev, EV_ABS)) {
    int nslot = f->absinfo[ABS_MT_SLOT].maximum + 1;
    if (nslot < 0 || nslot > MT_MAX_SLOTS) return refuse(f, "UI_DEV_CREATE", EINVAL, "too many multi-touch slots");
  }
  if (test_bit(f->ev, EV_FF) && !f->ff_max) return refuse(f, "UI_DEV_CREATE", EINVAL, "EV_FF set with ff_effects_max 0");
  if (f->ff_max > MAX_EFFECTS_KERNEL) return refuse(f, "UI_DEV_CREATE", EINVAL, "ff_effects_max above FF_MAX_EFFECTS");
  if (f->ff_max) set_bit(f->ev, EV_FF);
  set_bit(f->ev, EV_SYN); /* input_register_device: every device reports EV_SYN */
  f->key[0] &= (uint8_t)~1u;  /* and never KEY_RESERVED */
  f->state = CREATED;
  log_create(f);
  return 0;
}

static int ff_begin_upload(Fake *f, struct uinput_ff_upload *up) {
  if (f->req_code != UI_FF_UPLOAD || up->request_id != f->req_id)
    return refuse(f, "UI_BEGIN_FF_UPLOAD", EINVAL, "no such upload request");
  up->retval = 0;
  up->effect = f->req_effect;
  memset(&up->old, 0, sizeof up->old);
  f->req_begun = 1;
  return 0;
}

static int ff_end_upload(Fake *f, const struct uinput_ff_upload *up) {
  if (f->req_code != UI_FF_UPLOAD || up->request_id != f->req_id)
    return refuse(f, "UI_END_FF_UPLOAD", EINVAL, "no such upload request");
  note(f, "ff-upload", ",\"request\":%u,\"effect\":%d,\"retval\":%d,\"begun\":%d", up->request_id, f->req_effect.id, up->retval, f->req_begun);
  if (up->retval == 0) f->uploaded[f->req_effect.id] = 1;
  f->req_code = 0;
  return 0;
}

static int ff_begin_erase(Fake *f, struct uinput_ff_erase *er) {
  if (f->req_code != UI_FF_ERASE || er->request_id != f->req_id)
    return refuse(f, "UI_BEGIN_FF_ERASE", EINVAL, "no such erase request");
  er->retval = 0;
  er->effect_id = (uint32_t)f->req_effect.id;
  f->req_begun = 1;
  return 0;
}

static int ff_end_erase(Fake *f, const struct uinput_ff_erase *er) {
  if (f->req_code != UI_FF_ERASE || er->request_id != f->req_id)
    return refuse(f, "UI_END_FF_ERASE", EINVAL, "no such erase request");
  note(f, "ff-erase", ",\"request\":%u,\"effect\":%d,\"retval\":%d,\"begun\":%d", er->request_id, f->req_effect.id, er->retval, f->req_begun);
  f->uploaded[f->req_effect.id] = 0;
  f->req_code = 0;
  return 0;
}

static int fake_ioctl(Fake *f, unsigned long req, unsigned long arg) {
  void *p = (void *)arg;
  switch (req) {
    case UI_DEV_CREATE: return dev_create(f);
    case UI_DEV_DESTROY:
      if (f->state == CREATED) note(f, "destroy", ",\"by\":\"ioctl\"");
      f->state = NEW;
      memset(f->ev, 0, sizeof f->ev);
      return 0;
    case UI_DEV_SETUP: {
      if (f->state == CREATED) return refuse(f, "UI_DEV_SETUP", EINVAL, "setup after create");
      const struct uinput_setup *s = p;
      if (!s->name[0]) return refuse(f, "UI_DEV_SETUP", EINVAL, "empty device name");
      f->ids = s->id;
      f->ff_max = s->ff_effects_max;
      memcpy(f->name, s->name, UINPUT_MAX_NAME_SIZE);
      f->name[UINPUT_MAX_NAME_SIZE] = 0;
      for (char *c = f->name; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = '?';
      f->state = SETUP;
      return 0;
    }
    case UI_SET_EVBIT: return set_bit_ioctl(f, "UI_SET_EVBIT", f->ev, arg, EV_MAX);
    case UI_SET_KEYBIT: return set_bit_ioctl(f, "UI_SET_KEYBIT", f->key, arg, KEY_MAX);
    case UI_SET_RELBIT: return set_bit_ioctl(f, "UI_SET_RELBIT", f->rel, arg, REL_MAX);
    case UI_SET_ABSBIT: return set_bit_ioctl(f, "UI_SET_ABSBIT", f->abs, arg, ABS_MAX);
    case UI_SET_MSCBIT: return set_bit_ioctl(f, "UI_SET_MSCBIT", f->msc, arg, MSC_MAX);
    case UI_SET_LEDBIT: return set_bit_ioctl(f, "UI_SET_LEDBIT", f->led, arg, LED_MAX);
    case UI_SET_SNDBIT: return set_bit_ioctl(f, "UI_SET_SNDBIT", f->snd, arg, SND_MAX);
    case UI_SET_FFBIT: return set_bit_ioctl(f, "UI_SET_FFBIT", f->ff, arg, FF_MAX);
    case UI_SET_SWBIT: return set_bit_ioctl(f, "UI_SET_SWBIT", f->sw, arg, SW_MAX);
    case UI_SET_PROPBIT: return set_bit_ioctl(f, "UI_SET_PROPBIT", f->prop, arg, INPUT_PROP_MAX);
    case UI_SET_PHYS:
      if (f->state == CREATED) return refuse(f, "UI_SET_PHYS", EINVAL, "phys after create");
      return 0;
    case UI_GET_VERSION:
      *(unsigned *)p = UINPUT_VERSION;
      return 0;
    case UI_BEGIN_FF_UPLOAD: return ff_begin_upload(f, p);
    case UI_END_FF_UPLOAD: return ff_end_upload(f, p);
    case UI_BEGIN_FF_ERASE: return ff_begin_erase(f, p);
    case UI_END_FF_ERASE: return ff_end_erase(f, p);
  }
  /* The requests the kernel matches with their size masked off. */
  unsigned long size = _IOC_SIZE(req);
  if ((req & ~(unsigned long)(_IOC_SIZEMASK << _IOC_SIZESHIFT)) == (UI_ABS_SETUP & ~(unsigned long)(_IOC_SIZEMASK << _IOC_SIZESHIFT))) {
    if (size > sizeof(struct uinput_abs_setup)) return refuse(f, "UI_ABS_SETUP", E2BIG, "argument larger than struct uinput_abs_setup");
    if (f->state == CREATED) return refuse(f, "UI_ABS_SETUP", EBUSY, "abs setup after create");
    struct uinput_abs_setup a;
    memset(&a, 0, sizeof a);
    memcpy(&a, p, size);
    if (a.code > ABS_MAX) return refuse(f, "UI_ABS_SETUP", ERANGE, "axis past ABS_MAX");
    if (check_abs(&a.absinfo) < 0) return refuse(f, "UI_ABS_SETUP", EINVAL, "bad axis range");
    set_bit(f->abs, a.code);
    f->absinfo[a.code] = a.absinfo;
    return 0;
  }
  if ((req & ~(unsigned long)(_IOC_SIZEMASK << _IOC_SIZESHIFT)) == (UI_GET_SYSNAME(0) & ~(unsigned long)(_IOC_SIZEMASK << _IOC_SIZESHIFT))) {
    if (f->state != CREATED) return refuse(f, "UI_GET_SYSNAME", ENOENT, "device not created");
    snprintf(p, size, "input%d", f->id);
    return 0;
  }
  char what[64];
  snprintf(what, sizeof what, "0x%lx", req);
  return refuse(f, what, EINVAL, "unknown uinput request");
}

/* ---- force feedback from the test's control file ------------------------------------------- */

static void enqueue(Fake *f, uint16_t type, uint16_t code, int32_t value) {
  int next = (f->qtail + 1) % QUEUE;
  if (next == f->qhead) return;
  struct input_event *e = &f->q[f->qtail];
  memset(e, 0, sizeof *e);
  e->type = type;
  e->code = code;
  e->value = value;
  f->qtail = next;
}

static Fake *fake_named(const char *name) {
  for (int i = 0; i < MAX_FD; i++)
    if (fakes[i] && fakes[i]->state == CREATED && strcmp(fakes[i]->name, name) == 0) return fakes[i];
  return NULL;
}

/* One control line; 1 when it is done (or malformed), 0 when it must wait. Names are quoted with
 * '|' as the delimiter so they may hold spaces: upload |Lumen gamepad 0| 0 1000 2000 50 */
static int control_line(char *line) {
  char *a = strchr(line, '|'), *b = a ? strchr(a + 1, '|') : NULL;
  if (!a || !b) return 1;
  *b = 0;
  char verb[32] = {0};
  sscanf(line, "%31s", verb);
  Fake *f = fake_named(a + 1);
  if (!f) return 0;
  if (f->req_code) return 0; /* the game still waits for its last request */
  int v[5] = {0, 0, 0, 0, 0};
  int n = sscanf(b + 1, "%d %d %d %d %d", &v[0], &v[1], &v[2], &v[3], &v[4]);
  if (strcmp(verb, "fail-write") == 0) {
    f->fail_write = 1;
    return 1;
  }
  if (n < 1 || v[0] < 0 || v[0] >= MAX_EFFECTS_KERNEL) return 1;
  int ff = test_bit(f->ev, EV_FF);
  if (strcmp(verb, "upload") == 0 && n >= 4) {
    /* input_ff_upload: the type must be one the device declared, the id one of its slots */
    if (!ff || !test_bit(f->ff, FF_RUMBLE) || (uint32_t)v[0] >= f->ff_max) {
      note(f, "ff-upload-rejected", ",\"effect\":%d", v[0]);
      return 1;
    }
    memset(&f->req_effect, 0, sizeof f->req_effect);
    f->req_effect.type = FF_RUMBLE;
    f->req_effect.id = (int16_t)v[0];
    f->req_effect.u.rumble.strong_magnitude = (uint16_t)v[1];
    f->req_effect.u.rumble.weak_magnitude = (uint16_t)v[2];
    f->req_effect.replay.length = (uint16_t)(n >= 4 ? v[3] : 0);
    f->req_effect.replay.delay = (uint16_t)(n >= 5 ? v[4] : 0);
    f->req_id = next_request++;
    f->req_code = UI_FF_UPLOAD;
    f->req_begun = 0;
    enqueue(f, EV_UINPUT, UI_FF_UPLOAD, (int32_t)f->req_id);
    return 1;
  }
  if (strcmp(verb, "erase") == 0) {
    if (!f->uploaded[v[0]]) return 1;
    memset(&f->req_effect, 0, sizeof f->req_effect);
    f->req_effect.id = (int16_t)v[0];
    f->req_id = next_request++;
    f->req_code = UI_FF_ERASE;
    f->req_begun = 0;
    enqueue(f, EV_UINPUT, UI_FF_ERASE, (int32_t)f->req_id);
    return 1;
  }
  if (strcmp(verb, "play") == 0 || strcmp(verb, "stop") == 0) {
    int value = strcmp(verb, "play") == 0 ? (n >= 2 ? v[1] : 1) : 0;
    /* input_ff_event drops a play of an effect the file never uploaded */
    if (!f->uploaded[v[0]]) {
      note(f, "ff-play-dropped", ",\"effect\":%d", v[0]);
      return 1;
    }
    enqueue(f, EV_FF, (uint16_t)v[0], value);
    note(f, "ff-play", ",\"effect\":%d,\"value\":%d", v[0], value);
    return 1;
  }
  return 1;
}

static void poll_control(void) {
  if (!control_path) return;
  int fd = real_open(control_path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (lseek(fd, control_off, SEEK_SET) == control_off) {
      ssize_t n = real_read(fd, control_buf + control_len, sizeof control_buf - 1 - (size_t)control_len);
      if (n > 0) control_len += (int)n, control_off += n;
    }
    real_close(fd);
  }
  for (;;) {
    char *nl = memchr(control_buf, '\n', (size_t)control_len);
    if (!nl) break;
    char line[512];
    size_t len = (size_t)(nl - control_buf);
    if (len >= sizeof line) len = sizeof line - 1;
    memcpy(line, control_buf, len);
    line[len] = 0;
    if (!control_line(line)) break;
    int used = (int)(nl - control_buf) + 1;
    memmove(control_buf, control_buf + used, (size_t)(control_len - used));
    control_len -= used;
  }
}

/* ---- read / write --------------------------------------------------------------------------- */

static ssize_t fake_read(Fake *f, void *buf, size_t count) {
  if (f->accmode == O_WRONLY) return refuse(f, "read", EBADF, "fd not open for reading");
  if (count != 0 && count < sizeof(struct input_event)) return refuse(f, "read", EINVAL, "buffer smaller than struct input_event");
  poll_control();
  if (f->state != CREATED) return refuse(f, "read", ENODEV, "read before UI_DEV_CREATE");
  if (f->qhead == f->qtail) {
    if (!f->nonblock) {
      refuse(f, "read", EAGAIN, "blocking read with nothing queued: the kernel would block here");
    }
    errno = EAGAIN;
    return -1;
  }
  size_t n = 0;
  while (f->qhead != f->qtail && n + sizeof(struct input_event) <= count) {
    memcpy((char *)buf + n, &f->q[f->qhead], sizeof(struct input_event));
    f->qhead = (f->qhead + 1) % QUEUE;
    n += sizeof(struct input_event);
  }
  return (ssize_t)n;
}

static int supported(Fake *f, const struct input_event *e) {
  if (!test_bit(f->ev, e->type)) return 0;
  switch (e->type) {
    case EV_SYN: return 1;
    case EV_KEY: return e->code < KEY_CNT && test_bit(f->key, e->code);
    case EV_REL: return e->code < REL_CNT && test_bit(f->rel, e->code);
    case EV_ABS: return e->code < ABS_CNT && test_bit(f->abs, e->code);
    case EV_MSC: return e->code < MSC_CNT && test_bit(f->msc, e->code);
    case EV_FF: return 1;
    default: return 0;
  }
}

static ssize_t fake_write(Fake *f, const void *buf, size_t count) {
  if (f->accmode == O_RDONLY) return refuse(f, "write", EBADF, "fd not open for writing");
  if (f->state != CREATED) return refuse(f, "write", EINVAL, "write before UI_DEV_CREATE (the legacy uinput_user_dev path)");
  if (count != 0 && count < sizeof(struct input_event)) return refuse(f, "write", EINVAL, "shorter than struct input_event");
  poll_control();
  if (f->fail_write) {
    f->fail_write = 0;
    return refuse(f, "write", ENODEV, "the test failed this write");
  }
  size_t n = 0;
  while (n + sizeof(struct input_event) <= count) {
    struct input_event e;
    memcpy(&e, (const char *)buf + n, sizeof e);
    int ok = supported(f, &e);
    int inrange = 1;
    if (ok && e.type == EV_ABS && !(e.code == ABS_MT_TRACKING_ID && e.value == -1))
      inrange = e.value >= f->absinfo[e.code].minimum && e.value <= f->absinfo[e.code].maximum;
    note(f, "ev", ",\"type\":%u,\"code\":%u,\"value\":%d,\"ok\":%s,\"inrange\":%s", e.type, e.code, e.value,
         ok ? "true" : "false", inrange ? "true" : "false");
    n += sizeof e;
  }
  return (ssize_t)n;
}

/* ---- the interposed calls ------------------------------------------------------------------- */

/* "<path>.mark/<text>": a marker the test drops into the log between steps (fails ENOENT). */
static int is_mark(const char *path) {
  if (!fake_path || !path) return 0;
  size_t n = strlen(fake_path);
  if (strncmp(path, fake_path, n) != 0 || strncmp(path + n, ".mark/", 6) != 0) return 0;
  Line l = {.n = 0};
  char text[64];
  snprintf(text, sizeof text, "%s", path + n + 6);
  for (char *c = text; *c; c++)
    if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = '?';
  put(&l, "{\"op\":\"mark\",\"text\":\"%s\"}", text);
  pthread_mutex_lock(&lock);
  emit(&l);
  pthread_mutex_unlock(&lock);
  return 1;
}

static int open_common(const char *path, int flags, mode_t mode, int dirfd, int at) {
  if (is_fake(path)) return fake_open(flags);
  if (is_mark(path)) {
    errno = ENOENT;
    return -1;
  }
  if (at) return real_openat(dirfd, path, flags, mode);
  return real_open(path, flags, mode);
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
  va_end(ap);
  return open_common(path, flags, mode, 0, 0);
}
int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
  va_end(ap);
  return open_common(path, flags, mode, 0, 0);
}
int __open_2(const char *path, int flags) { return open_common(path, flags, 0, 0, 0); }
int __open64_2(const char *path, int flags) { return open_common(path, flags, 0, 0, 0); }
int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
  va_end(ap);
  return open_common(path, flags, mode, dirfd, 1);
}
int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
  va_end(ap);
  return open_common(path, flags, mode, dirfd, 1);
}

int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  Fake *f = fake_of(fd);
  if (!f) return real_ioctl(fd, req, arg);
  pthread_mutex_lock(&lock);
  int r = fake_ioctl(f, req, arg);
  int e = errno;
  pthread_mutex_unlock(&lock);
  errno = e;
  return r;
}

ssize_t read(int fd, void *buf, size_t count) {
  Fake *f = fake_of(fd);
  if (!f) return real_read(fd, buf, count);
  pthread_mutex_lock(&lock);
  ssize_t r = fake_read(f, buf, count);
  int e = errno;
  pthread_mutex_unlock(&lock);
  errno = e;
  return r;
}
ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen) { return read(fd, buf, count); }

ssize_t write(int fd, const void *buf, size_t count) {
  Fake *f = fake_of(fd);
  if (!f) return real_write(fd, buf, count);
  pthread_mutex_lock(&lock);
  ssize_t r = fake_write(f, buf, count);
  int e = errno;
  pthread_mutex_unlock(&lock);
  errno = e;
  return r;
}

int close(int fd) {
  Fake *f = fake_of(fd);
  if (f) fake_close(fd, f);
  return real_close(fd);
}
