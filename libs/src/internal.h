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

/* Index of the first unused entry of a handle table (an array of structs with a `used` member),
 * or -1 when every entry is in use. The caller holds the table's lock and claims the entry. */
#define LUMEN_FREE_SLOT(table, count)                  \
  __extension__({                                      \
    int slot_ = -1;                                    \
    for (int i_ = 0; i_ < (count); i_++)               \
      if (!(table)[i_].used) {                         \
        slot_ = i_;                                    \
        break;                                         \
      }                                                \
    slot_;                                             \
  })

/* Describes an FFmpeg error code (AVERROR) in words. */
const char *lumen_av_error(int code, char *buf, size_t len);

#endif
