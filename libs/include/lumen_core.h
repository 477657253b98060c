/* Lumen shim: the status convention and the core calls every module relies on.
 *
 * Every call returns an int32 status: >= 0 is success (a handle, a length or 0),
 * < 0 is one of the LUMEN_E_* codes below. Calls that can fail take a caller-owned
 * `char *err, int32_t err_len` pair and write a sentence a person can act on into it.
 *
 * Declarations start with LUMEN_API and sit on one line each: the TypeScript binding
 * table (src/native/bindings/) is checked against these lines by a test. */
#ifndef LUMEN_CORE_H
#define LUMEN_CORE_H

#include <stdint.h>

#define LUMEN_API __attribute__((visibility("default")))

#define LUMEN_OK 0
#define LUMEN_E_INVALID (-1)     /* a caller's argument is out of range */
#define LUMEN_E_UNAVAILABLE (-2) /* a library, device or feature is absent on this box */
#define LUMEN_E_FAILED (-3)      /* the operation was attempted and failed */
#define LUMEN_E_NOMEM (-4)       /* an allocation failed */
#define LUMEN_E_AGAIN (-5)       /* nothing ready yet; call again */
#define LUMEN_E_EOF (-6)         /* a stream ended */
#define LUMEN_E_BUFFER (-7)      /* a caller's output buffer is too small */

/* The shim's own version string (semver). */
LUMEN_API const char *lumen_version(void);
/* The libavcodec version this process runs against, packed as AV_VERSION_INT. */
LUMEN_API int32_t lumen_avcodec_version(void);
/* Writes the libavcodec version string ("62.28.102") and the build configuration's
 * libavcodec major into out; returns the string length. */
LUMEN_API int32_t lumen_avcodec_version_string(char *out, int32_t out_len);
/* 1 when libavcodec has an encoder of that name, else 0. */
LUMEN_API int32_t lumen_avcodec_has_encoder(const char *name);
/* 1 when libavcodec has a decoder of that name, else 0. */
LUMEN_API int32_t lumen_avcodec_has_decoder(const char *name);
/* Fills err with a test message and returns the given status: lets tests check that
 * error strings cross the seam intact. */
LUMEN_API int32_t lumen_echo_error(int32_t status, const char *message, char *err, int32_t err_len);
/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the clock deadlines are set on. */
LUMEN_API int64_t lumen_now_ns(void);
/* Hands the process's free heap memory back to the kernel (glibc malloc_trim(0): every arena,
 * not only the main one). Returns 1 when memory was released, 0 when none could be. */
LUMEN_API int32_t lumen_malloc_trim(void);
/* Caps the glibc malloc arenas of the process at n (1-64; mallopt M_ARENA_MAX): every thread
 * beyond them shares one, so memory freed by ended streams and closed connections is reused
 * instead of stranded in arenas no thread visits again. Returns 0, or LUMEN_E_INVALID. */
LUMEN_API int32_t lumen_malloc_arena_max(int32_t n);

#endif
