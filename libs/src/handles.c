/* Generation-tagged handle tables (internal.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define GEN_LIMIT (1u << (31 - LUMEN_HANDLE_INDEX_BITS))

static LumenSlot *slot_at(LumenTable *t, int32_t i) {
  return (LumenSlot *)(t->entries + (size_t)i * t->entry_size + t->slot_offset);
}

static int32_t index_of(LumenTable *t, const void *entry) {
  return (int32_t)(((const unsigned char *)entry - t->entries) / t->entry_size);
}

static int32_t handle_at(LumenTable *t, int32_t i) {
  return (int32_t)((slot_at(t, i)->gen << LUMEN_HANDLE_INDEX_BITS) | (uint32_t)i);
}

/* The entry h names, if h is well formed and its generation is the slot's current one. */
static void *live(LumenTable *t, int32_t h) {
  if (h <= 0) return NULL;
  int32_t i = h & (LUMEN_HANDLE_MAX_ENTRIES - 1);
  uint32_t gen = (uint32_t)h >> LUMEN_HANDLE_INDEX_BITS;
  if (i >= t->count) return NULL;
  LumenSlot *s = slot_at(t, i);
  if (!s->used || s->gen != gen) return NULL;
  return t->entries + (size_t)i * t->entry_size;
}

int32_t lumen_handle_claim(LumenTable *t, void **entry) {
  pthread_mutex_lock(&t->lock);
  for (int32_t i = 0; i < t->count; i++) {
    LumenSlot *s = slot_at(t, i);
    if (s->used) continue;
    unsigned char *e = t->entries + (size_t)i * t->entry_size;
    LumenSlot kept = *s;
    memset(e, 0, t->entry_size);
    kept.gen = kept.gen + 1 < GEN_LIMIT ? kept.gen + 1 : 1;
    kept.used = 1;
    kept.retiring = 0;
    kept.refs = 0;
    *slot_at(t, i) = kept;
    int32_t h = handle_at(t, i);
    pthread_mutex_unlock(&t->lock);
    *entry = e;
    return h;
  }
  pthread_mutex_unlock(&t->lock);
  *entry = NULL;
  return LUMEN_E_NOMEM;
}

void *lumen_handle_acquire(LumenTable *t, int32_t h) {
  pthread_mutex_lock(&t->lock);
  void *e = live(t, h);
  if (e) {
    LumenSlot *s = slot_at(t, index_of(t, e));
    if (s->retiring)
      e = NULL;
    else
      s->refs++;
  }
  pthread_mutex_unlock(&t->lock);
  return e;
}

void lumen_handle_release(LumenTable *t, void *entry) {
  if (!entry) return;
  pthread_mutex_lock(&t->lock);
  LumenSlot *s = slot_at(t, index_of(t, entry));
  if (s->refs > 0 && --s->refs == 0) pthread_cond_broadcast(&t->idle);
  pthread_mutex_unlock(&t->lock);
}

void *lumen_handle_retire(LumenTable *t, int32_t h) {
  pthread_mutex_lock(&t->lock);
  void *e = live(t, h);
  if (!e || slot_at(t, index_of(t, e))->retiring) {
    pthread_mutex_unlock(&t->lock);
    return NULL;
  }
  LumenSlot *s = slot_at(t, index_of(t, e));
  s->retiring = 1;
  while (s->refs > 0) pthread_cond_wait(&t->idle, &t->lock);
  pthread_mutex_unlock(&t->lock);
  return e;
}

void lumen_handle_free(LumenTable *t, void *entry) {
  if (!entry) return;
  pthread_mutex_lock(&t->lock);
  LumenSlot *s = slot_at(t, index_of(t, entry));
  s->used = 0;
  s->retiring = 0;
  s->refs = 0;
  pthread_mutex_unlock(&t->lock);
}

int32_t lumen_handle_of(LumenTable *t, const void *entry) {
  pthread_mutex_lock(&t->lock);
  int32_t h = handle_at(t, index_of(t, entry));
  pthread_mutex_unlock(&t->lock);
  return h;
}

void lumen_handle_each(LumenTable *t, void (*fn)(int32_t handle, void *ctx), void *ctx) {
  int32_t live_handles[LUMEN_HANDLE_MAX_ENTRIES];
  int32_t n = 0;
  pthread_mutex_lock(&t->lock);
  for (int32_t i = 0; i < t->count; i++)
    if (slot_at(t, i)->used && !slot_at(t, i)->retiring) live_handles[n++] = handle_at(t, i);
  pthread_mutex_unlock(&t->lock);
  for (int32_t i = 0; i < n; i++) fn(live_handles[i], ctx);
}

int64_t lumen_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int32_t lumen_no_handle(LumenTable *t, int32_t h, char *err, int32_t err_len) {
  return lumen_fail(err, err_len, LUMEN_E_INVALID, "no %s %d (closed, or never opened)", t->what, h);
}

int32_t lumen_need(char *err, int32_t err_len, const char *what, const void *buf, int64_t len, int64_t need) {
  if (need <= 0) return 0;
  if (!buf) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "no %s buffer given (%lld bytes needed)", what, (long long)need);
  if (len < need) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "the %s buffer has %lld bytes, %lld are needed", what, (long long)len, (long long)need);
  return 0;
}

int32_t lumen_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *name, char *err, int32_t err_len) {
  int rc = pthread_create(thread, NULL, fn, arg);
  if (rc != 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot start the %s thread: %s", name, strerror(rc));
  pthread_setname_np(*thread, name);
  return 0;
}

void lumen_thread_stop(pthread_t thread, pthread_mutex_t *lock, pthread_cond_t *cond, int *stop) {
  pthread_mutex_lock(lock);
  *stop = 1;
  if (cond) pthread_cond_broadcast(cond);
  pthread_mutex_unlock(lock);
  pthread_join(thread, NULL);
}

int32_t lumen_box_put(LumenTable *t, void *obj) {
  LumenBox *b;
  int32_t h = lumen_handle_claim(t, (void **)&b);
  if (h > 0) b->obj = obj;
  return h;
}
