/* Virtual input devices (lumen_input.h): the handle table, the bounded record queue, one writer
 * thread per device that applies records through its backend (input_backend.h), the feedback
 * queue and the counters. The backends are linked weakly: a build without a backend's file (or
 * its libraries) still links, and opening that backend says so. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "input_backend.h"
#include "internal.h"
#include "lumen_input.h"

#define MAX_DEVICES 32
/* feedback records kept for TypeScript to collect; older ones are dropped first */
#define FEEDBACK_QUEUE 256
/* records the writer takes from the queue per batch (one flush each) */
#define WRITER_BATCH 256
#define TICK_NS 10000000LL
#define MAX_PARAMS 4096

extern const InputBackend lumen_input_uinput __attribute__((weak, visibility("hidden")));
extern const InputBackend lumen_input_xtest __attribute__((weak, visibility("hidden")));
extern const InputBackend lumen_input_wlroots __attribute__((weak, visibility("hidden")));

typedef struct {
  const InputBackend *be;
  void *state;
  pthread_t thread;
  int thread_started;
  pthread_mutex_t lock;
  pthread_cond_t wake;    /* the writer: records queued, a release asked, stop */
  pthread_cond_t settled; /* drain: the queue is empty and nothing is being applied */
  InputRecord *queue;     /* ring of LUMEN_INPUT_QUEUE */
  int32_t head, count;
  int32_t applying;       /* records the writer took and has not finished */
  int release_pending;
  int stop;
  InputRecord feedback[FEEDBACK_QUEUE];
  int32_t fb_head, fb_count;
  int64_t stats[LUMEN_INPUT_STATS];
} Device;

LUMEN_TABLE(devices, LumenBox, MAX_DEVICES, "input device");

static const char *backend_word(int32_t backend) {
  switch (backend) {
    case LUMEN_INPUT_UINPUT: return "uinput";
    case LUMEN_INPUT_XTEST: return "XTEST";
    case LUMEN_INPUT_WLROOTS: return "wlroots";
    default: return NULL;
  }
}

static const InputBackend *backend_of(int32_t backend) {
  switch (backend) {
    case LUMEN_INPUT_UINPUT: return &lumen_input_uinput;
    case LUMEN_INPUT_XTEST: return &lumen_input_xtest;
    case LUMEN_INPUT_WLROOTS: return &lumen_input_wlroots;
    default: return NULL;
  }
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static int32_t get32(const uint8_t *p) { return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24); }
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, int32_t v) {
  uint32_t u = (uint32_t)v;
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(u >> (8 * i));
}
static void put64(uint8_t *p, int64_t v) {
  uint64_t u = (uint64_t)v;
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(u >> (8 * i));
}

static void decode_record(const uint8_t *p, InputRecord *r) {
  r->kind = get16(p);
  r->code = get16(p + 2);
  for (int i = 0; i < LUMEN_INPUT_RECORD_VALUES; i++) r->v[i] = get32(p + 4 + 4 * i);
}

static void encode_record(const InputRecord *r, uint8_t *p) {
  put16(p, r->kind);
  put16(p + 2, r->code);
  for (int i = 0; i < LUMEN_INPUT_RECORD_VALUES; i++) put32(p + 4 + 4 * i, r->v[i]);
}

/* Called by the backend on the writer thread. */
static void push_feedback(void *sink, const InputRecord *fb) {
  Device *d = sink;
  pthread_mutex_lock(&d->lock);
  if (d->fb_count == FEEDBACK_QUEUE) {
    d->fb_head = (d->fb_head + 1) % FEEDBACK_QUEUE;
    d->fb_count--;
  }
  d->feedback[(d->fb_head + d->fb_count) % FEEDBACK_QUEUE] = *fb;
  d->fb_count++;
  d->stats[LUMEN_INPUT_STAT_FEEDBACK]++;
  pthread_mutex_unlock(&d->lock);
}

static void deadline_in(struct timespec *ts, int64_t ns) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  int64_t t = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec + ns;
  ts->tv_sec = t / 1000000000LL;
  ts->tv_nsec = t % 1000000000LL;
}

static void *writer_main(void *arg) {
  Device *d = arg;
  InputRecord batch[WRITER_BATCH];
  int64_t next_tick = lumen_mono_ns() + TICK_NS;
  pthread_mutex_lock(&d->lock);
  for (;;) {
    while (!d->stop && d->count == 0 && !d->release_pending) {
      int64_t now = lumen_mono_ns();
      if (now >= next_tick) break;
      struct timespec ts;
      deadline_in(&ts, next_tick - now);
      pthread_cond_timedwait(&d->wake, &d->lock, &ts);
    }
    int32_t n = d->count < WRITER_BATCH ? d->count : WRITER_BATCH;
    for (int32_t i = 0; i < n; i++) batch[i] = d->queue[(d->head + i) % LUMEN_INPUT_QUEUE];
    d->head = (d->head + n) % LUMEN_INPUT_QUEUE;
    d->count -= n;
    /* a release applies after the records queued before it was asked */
    int release = d->release_pending && d->count == 0;
    if (release) d->release_pending = 0;
    int stop = d->stop && d->count == 0 && !d->release_pending;
    d->applying = n + release;
    pthread_mutex_unlock(&d->lock);

    int64_t applied = 0, refused = 0;
    for (int32_t i = 0; i < n; i++) {
      if (d->be->apply(d->state, &batch[i]) == 0) applied++;
      else refused++;
    }
    if (release || stop) d->be->release_all(d->state);
    if (n > 0 || release || stop) d->be->flush(d->state);
    int64_t now = lumen_mono_ns();
    if (now >= next_tick) {
      if (d->be->tick) d->be->tick(d->state);
      next_tick = now + TICK_NS;
    }

    pthread_mutex_lock(&d->lock);
    d->stats[LUMEN_INPUT_STAT_APPLIED] += applied;
    d->stats[LUMEN_INPUT_STAT_REFUSED] += refused;
    d->applying = 0;
    if (d->count == 0 && !d->release_pending) pthread_cond_broadcast(&d->settled);
    if (stop) break;
  }
  pthread_mutex_unlock(&d->lock);
  return NULL;
}

static void device_free(Device *d) {
  pthread_mutex_destroy(&d->lock);
  pthread_cond_destroy(&d->wake);
  pthread_cond_destroy(&d->settled);
  free(d->queue);
  free(d);
}

LUMEN_API int32_t lumen_input_open(int32_t backend, const uint8_t *params, int32_t params_len, char *err, int32_t err_len) {
  const char *word = backend_word(backend);
  if (!word) return lumen_fail(err, err_len, LUMEN_E_INVALID, "input backend %d is not one of uinput (1), XTEST (2), wlroots (3)", backend);
  const InputBackend *be = backend_of(backend);
  if (!be) return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "this build has no %s backend (its source or libraries were missing when the shim was built)", word);
  if (params_len < 0 || params_len > MAX_PARAMS) return lumen_fail(err, err_len, LUMEN_E_INVALID, "input parameters of %d bytes (at most %d)", params_len, MAX_PARAMS);
  int32_t st = lumen_need(err, err_len, "input parameters", params, params_len, params_len);
  if (st) return st;
  if (params_len > 0 && memchr(params, 0, (size_t)params_len)) return lumen_fail(err, err_len, LUMEN_E_INVALID, "input parameters contain a NUL byte");
  char text[MAX_PARAMS + 1];
  if (params_len > 0) memcpy(text, params, (size_t)params_len);
  text[params_len] = '\0';

  Device *d = calloc(1, sizeof *d);
  InputRecord *queue = calloc(LUMEN_INPUT_QUEUE, sizeof *queue);
  if (!d || !queue) {
    free(d);
    free(queue);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "cannot allocate an input device's queue");
  }
  d->queue = queue;
  d->be = be;
  pthread_mutex_init(&d->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d->wake, &ca);
  pthread_cond_init(&d->settled, &ca);
  pthread_condattr_destroy(&ca);

  st = be->open(&d->state, text, push_feedback, d, err, err_len);
  if (st < 0) {
    device_free(d);
    return st;
  }
  st = lumen_thread_start(&d->thread, writer_main, d, "lumen-input", err, err_len);
  if (st < 0) {
    be->close(d->state);
    device_free(d);
    return st;
  }
  d->thread_started = 1;
  int32_t h = lumen_box_put(&devices, d);
  if (h < 0) {
    lumen_thread_stop(d->thread, &d->lock, &d->wake, &d->stop);
    be->close(d->state);
    device_free(d);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d input device slots are in use: close devices that are no longer needed", MAX_DEVICES);
  }
  return h;
}

LUMEN_API int32_t lumen_input_submit(int32_t dev, const uint8_t *records, int32_t records_len, int32_t count, char *err, int32_t err_len) {
  if (count < 0 || count > LUMEN_INPUT_QUEUE) return lumen_fail(err, err_len, LUMEN_E_INVALID, "%d input records (0 to %d in one submit)", count, LUMEN_INPUT_QUEUE);
  int32_t st = lumen_need(err, err_len, "input records", records, records_len, (int64_t)count * LUMEN_INPUT_RECORD_LEN);
  if (st) return st;
  for (int32_t i = 0; i < count; i++) {
    uint16_t kind = get16(records + (size_t)i * LUMEN_INPUT_RECORD_LEN);
    if (kind < LUMEN_IN_KEY || kind > LUMEN_IN_PAD_TOUCHPAD)
      return lumen_fail(err, err_len, LUMEN_E_INVALID, "input record %d has kind %u, not one of LUMEN_IN_* (1-%d)", i, kind, LUMEN_IN_PAD_TOUCHPAD);
  }
  LumenBox *b = lumen_handle_acquire(&devices, dev);
  if (!b) return lumen_no_handle(&devices, dev, err, err_len);
  Device *d = b->obj;
  pthread_mutex_lock(&d->lock);
  d->stats[LUMEN_INPUT_STAT_BATCHES]++;
  if (count > LUMEN_INPUT_QUEUE - d->count) {
    d->stats[LUMEN_INPUT_STAT_QUEUE_FULL] += count;
    int32_t queued = d->count;
    pthread_mutex_unlock(&d->lock);
    lumen_handle_release(&devices, b);
    return lumen_fail(err, err_len, LUMEN_E_AGAIN, "the input queue holds %d of %d records: %d more do not fit", queued, LUMEN_INPUT_QUEUE, count);
  }
  for (int32_t i = 0; i < count; i++)
    decode_record(records + (size_t)i * LUMEN_INPUT_RECORD_LEN, &d->queue[(d->head + d->count + i) % LUMEN_INPUT_QUEUE]);
  d->count += count;
  if (count > 0) pthread_cond_signal(&d->wake);
  pthread_mutex_unlock(&d->lock);
  lumen_handle_release(&devices, b);
  return count;
}

LUMEN_API int32_t lumen_input_release_all(int32_t dev) {
  LumenBox *b = lumen_handle_acquire(&devices, dev);
  if (!b) return LUMEN_E_INVALID;
  Device *d = b->obj;
  pthread_mutex_lock(&d->lock);
  d->release_pending = 1;
  pthread_cond_signal(&d->wake);
  pthread_mutex_unlock(&d->lock);
  lumen_handle_release(&devices, b);
  return LUMEN_OK;
}

LUMEN_API int32_t lumen_input_drain(int32_t dev, int32_t timeout_ms) {
  if (timeout_ms < 0) timeout_ms = 0;
  LumenBox *b = lumen_handle_acquire(&devices, dev);
  if (!b) return LUMEN_E_INVALID;
  Device *d = b->obj;
  struct timespec ts;
  deadline_in(&ts, (int64_t)timeout_ms * 1000000LL);
  pthread_mutex_lock(&d->lock);
  while (d->count > 0 || d->applying > 0 || d->release_pending) {
    if (pthread_cond_timedwait(&d->settled, &d->lock, &ts) == ETIMEDOUT) break;
  }
  int32_t left = d->count + d->applying + d->release_pending;
  pthread_mutex_unlock(&d->lock);
  lumen_handle_release(&devices, b);
  return left;
}

LUMEN_API int32_t lumen_input_feedback(int32_t dev, uint8_t *out, int32_t out_len) {
  if (!out || out_len < 0) return LUMEN_E_BUFFER;
  LumenBox *b = lumen_handle_acquire(&devices, dev);
  if (!b) return LUMEN_E_INVALID;
  Device *d = b->obj;
  pthread_mutex_lock(&d->lock);
  int32_t room = out_len / LUMEN_INPUT_RECORD_LEN;
  int32_t n = d->fb_count < room ? d->fb_count : room;
  for (int32_t i = 0; i < n; i++) encode_record(&d->feedback[(d->fb_head + i) % FEEDBACK_QUEUE], out + (size_t)i * LUMEN_INPUT_RECORD_LEN);
  d->fb_head = (d->fb_head + n) % FEEDBACK_QUEUE;
  d->fb_count -= n;
  pthread_mutex_unlock(&d->lock);
  lumen_handle_release(&devices, b);
  return n;
}

LUMEN_API int32_t lumen_input_stats(int32_t dev, uint8_t *out, int32_t out_len) {
  if (!out || out_len < 8 * LUMEN_INPUT_STATS) return LUMEN_E_BUFFER;
  LumenBox *b = lumen_handle_acquire(&devices, dev);
  if (!b) return LUMEN_E_INVALID;
  Device *d = b->obj;
  pthread_mutex_lock(&d->lock);
  for (int i = 0; i < LUMEN_INPUT_STATS; i++) put64(out + 8 * i, d->stats[i]);
  pthread_mutex_unlock(&d->lock);
  lumen_handle_release(&devices, b);
  return LUMEN_INPUT_STATS;
}

LUMEN_API int32_t lumen_input_close(int32_t dev) {
  LumenBox *b = lumen_handle_retire(&devices, dev);
  if (!b) return LUMEN_E_INVALID;
  Device *d = b->obj;
  /* the writer applies what is queued, releases everything held, flushes, then exits */
  if (d->thread_started) lumen_thread_stop(d->thread, &d->lock, &d->wake, &d->stop);
  d->be->close(d->state);
  lumen_handle_free(&devices, b);
  device_free(d);
  return LUMEN_OK;
}
