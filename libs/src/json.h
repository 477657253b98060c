/* A small JSON text builder for the shim's reports (the zero-copy probe writes one object per
 * check). Appends grow a heap buffer; a failed allocation is remembered and reported once, by
 * json_finish. Not part of the ABI. */
#ifndef LUMEN_JSON_H
#define LUMEN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *p;
  size_t len, cap;
  bool oom;
} LumenJson;

/* Appends n bytes as they are. */
void json_raw(LumenJson *b, const char *s, size_t n);
/* Appends formatted text (at most 1023 bytes per call: numbers and fixed keys, never strings
 * from outside; those go through json_string). */
__attribute__((format(printf, 2, 3))) void json_printf(LumenJson *b, const char *fmt, ...);
/* Appends s as a quoted JSON string (NULL as ""), escaping quotes, backslashes and control bytes. */
void json_string(LumenJson *b, const char *s);
/* Copies the text with its NUL into out (out_len bytes) and frees the builder. Returns the text's
 * length, LUMEN_E_BUFFER when out is too small, LUMEN_E_NOMEM when an append ran out of memory;
 * `what` names the report in the error sentence. */
int32_t json_finish(LumenJson *b, const char *what, uint8_t *out, int32_t out_len, char *err, int32_t err_len);

#endif
