#define _GNU_SOURCE
#include <malloc.h>
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "lumen.h"

#ifndef LUMEN_VERSION
#define LUMEN_VERSION "0.0.0"
#endif

int32_t lumen_fail(char *err, int32_t err_len, int32_t status, const char *fmt, ...) {
  if (err && err_len > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, (size_t)err_len, fmt, ap);
    va_end(ap);
  }
  return status;
}

const char *lumen_av_error(int code, char *buf, size_t len) {
  av_strerror(code, buf, len);
  return buf;
}

/* FFmpeg logs to stderr at "error" level unless LUMEN_FFMPEG_DEBUG=1 asks for all of it;
 * set once when the library loads so every module sees the same setting. */
__attribute__((constructor)) static void lumen_core_init(void) {
  const char *debug = getenv("LUMEN_FFMPEG_DEBUG");
  av_log_set_level(debug && strcmp(debug, "1") == 0 ? AV_LOG_DEBUG : AV_LOG_QUIET);
}

const char *lumen_version(void) { return LUMEN_VERSION; }

int32_t lumen_avcodec_version(void) { return (int32_t)avcodec_version(); }

int32_t lumen_avcodec_version_string(char *out, int32_t out_len) {
  unsigned v = avcodec_version();
  int n = snprintf(out, (size_t)(out_len > 0 ? out_len : 0), "%u.%u.%u", AV_VERSION_MAJOR(v),
                   AV_VERSION_MINOR(v), AV_VERSION_MICRO(v));
  return n >= out_len ? LUMEN_E_BUFFER : n;
}

int32_t lumen_avcodec_has_encoder(const char *name) {
  return avcodec_find_encoder_by_name(name) != NULL ? 1 : 0;
}

int32_t lumen_avcodec_has_decoder(const char *name) {
  return avcodec_find_decoder_by_name(name) != NULL ? 1 : 0;
}

int32_t lumen_echo_error(int32_t status, const char *message, char *err, int32_t err_len) {
  if (status >= 0) return status;
  return lumen_fail(err, err_len, status, "%s", message);
}

LUMEN_API int32_t lumen_malloc_trim(void) {
  return malloc_trim(0) ? 1 : 0;
}

LUMEN_API int32_t lumen_malloc_arena_max(int32_t n) {
  if (n < 1 || n > 64) return LUMEN_E_INVALID;
  return mallopt(M_ARENA_MAX, n) == 1 ? 0 : LUMEN_E_INVALID;
}

int64_t lumen_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
