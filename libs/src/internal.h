/* Helpers shared by the shim's modules; not part of the ABI. */
#ifndef LUMEN_INTERNAL_H
#define LUMEN_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "lumen_core.h"

/* Writes a formatted sentence into err (when given) and returns status, so a failing
 * path reads `return lumen_fail(err, err_len, LUMEN_E_FAILED, "...", ...);`. */
__attribute__((format(printf, 4, 5))) int32_t lumen_fail(char *err, int32_t err_len, int32_t status,
                                                         const char *fmt, ...);

/* Handle tables. Every object the shim hands to TypeScript (a socket, a send thread, an encoder,
 * a capture, an input device...) lives in a fixed table of entries, each embedding a LumenSlot
 * named `slot`. A handle is (generation << LUMEN_HANDLE_INDEX_BITS) | index, always > 0, and the
 * generation moves on every time the entry is claimed: a handle kept after its close can never
 * reach the object that later reuses the slot (another stream's socket, say).
 *
 *   LUMEN_TABLE(socks, Sock, 256, "media socket");      at file scope
 *   Sock *s; int32_t h = lumen_handle_claim(&socks, (void **)&s);   h < 0: the table is full
 *   Sock *s = lumen_handle_acquire(&socks, h);   NULL: no such handle (stale or never issued)
 *   ... use s ...; lumen_handle_release(&socks, s);
 *   Sock *s = lumen_handle_retire(&socks, h);    new acquires fail; waits for the ones in flight
 *   ... tear s down ...; lumen_handle_free(&socks, s);
 *
 * claim zeroes the entry (all but its slot). Lookups take the table's lock, so a lookup racing a
 * close sees either the live object or nothing. */
#include <pthread.h>
#include <stddef.h>

#define LUMEN_HANDLE_INDEX_BITS 12
#define LUMEN_HANDLE_MAX_ENTRIES (1 << LUMEN_HANDLE_INDEX_BITS)

typedef struct {
  uint32_t gen;   /* generation of the current (or last) claim; 0 = never claimed */
  uint8_t used;   /* claimed and not yet freed */
  uint8_t retiring;
  int32_t refs;   /* acquires not yet released */
} LumenSlot;

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t idle;
  unsigned char *entries;
  size_t entry_size;
  size_t slot_offset;
  int32_t count;
  const char *what; /* names the kind of object in error sentences */
} LumenTable;

#define LUMEN_TABLE(name, type, n, what_)                                                        \
  _Static_assert((n) <= LUMEN_HANDLE_MAX_ENTRIES, "handle table too large");                     \
  static type name##_entries[n];                                                                 \
  static LumenTable name = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,                 \
                            (unsigned char *)name##_entries, sizeof(type), offsetof(type, slot), \
                            (n), (what_)}

/* Claims a free entry; *entry points at it (zeroed but for its slot). Returns the handle, or
 * LUMEN_E_NOMEM when every entry is in use. */
int32_t lumen_handle_claim(LumenTable *t, void **entry);
/* The live entry behind handle h with a reference held, or NULL. */
void *lumen_handle_acquire(LumenTable *t, int32_t h);
void lumen_handle_release(LumenTable *t, void *entry);
/* Stops new acquires of h, waits until the references in flight are released, and returns the
 * entry for its owner to tear down (then lumen_handle_free), or NULL when h is not live. */
void *lumen_handle_retire(LumenTable *t, int32_t h);
void lumen_handle_free(LumenTable *t, void *entry);
/* The handle of a live entry (for messages and back-references). */
int32_t lumen_handle_of(LumenTable *t, const void *entry);
/* Calls fn on every live entry's handle (for "close everything" at shutdown). */
void lumen_handle_each(LumenTable *t, void (*fn)(int32_t handle, void *ctx), void *ctx);

/* An entry for a table of heap objects: LUMEN_TABLE(decoders, LumenBox, 64, "video decoder");
 * the object is built first, then lumen_box_put claims an entry for it. */
typedef struct {
  LumenSlot slot;
  void *obj;
} LumenBox;
/* Claims an entry holding obj; the handle, or LUMEN_E_NOMEM when the table is full. */
int32_t lumen_box_put(LumenTable *t, void *obj);

/* The "no such handle" sentence for a lookup that failed. */
int32_t lumen_no_handle(LumenTable *t, int32_t h, char *err, int32_t err_len);
/* 0 when buf holds at least need bytes (len given by the caller), else LUMEN_E_BUFFER with a
 * sentence naming `what`. */
int32_t lumen_need(char *err, int32_t err_len, const char *what, const void *buf, int64_t len, int64_t need);
/* Starts a named thread (0, or LUMEN_E_FAILED with a sentence). */
int32_t lumen_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *name, char *err, int32_t err_len);
/* Sets *stop under lock, broadcasts cond (when given) and joins the thread. */
void lumen_thread_stop(pthread_t thread, pthread_mutex_t *lock, pthread_cond_t *cond, int *stop);

/* CLOCK_MONOTONIC in nanoseconds: the clock every deadline and timing in the shim uses. */
int64_t lumen_mono_ns(void);

/* Describes an FFmpeg error code (AVERROR) in words. */
const char *lumen_av_error(int code, char *buf, size_t len);

#endif
