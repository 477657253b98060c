/* The shim's JSON text builder (json.h). */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void json_raw(LumenJson *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (b->len + n + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void json_printf(LumenJson *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  json_raw(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void json_string(LumenJson *b, const char *s) {
  json_raw(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
    if (*c == '"' || *c == '\\') {
      char e[2] = {'\\', (char)*c};
      json_raw(b, e, 2);
    } else if (*c < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", *c);
      json_raw(b, e, 6);
    } else {
      json_raw(b, (const char *)c, 1);
    }
  }
  json_raw(b, "\"", 1);
}

int32_t json_finish(LumenJson *b, const char *what, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (b->oom) {
    free(b->p);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "%s: out of memory while writing the report", what);
  }
  int32_t n = (int32_t)b->len;
  if (!out || out_len < 0 || n + 1 > out_len) {
    free(b->p);
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "%s: the report needs %d bytes, the buffer has %d", what, n + 1, out_len);
  }
  memcpy(out, b->p, (size_t)n + 1);
  free(b->p);
  return n;
}
