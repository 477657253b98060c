/* The interface every input backend (input_uinput.c, input_xtest.c, input_wlroots.c) implements
 * for input.c, which owns the handle, the queue and the writer thread. All calls but open come
 * from that one writer thread. Not part of the ABI. */
#ifndef LUMEN_INPUT_BACKEND_H
#define LUMEN_INPUT_BACKEND_H

#include <stdint.h>

#include "lumen_input.h"

typedef struct {
  uint16_t kind;
  uint16_t code;
  int32_t v[LUMEN_INPUT_RECORD_VALUES];
} InputRecord;

/* Hands a feedback record (LUMEN_FB_*) to input.c's feedback queue; backends call it from the
 * writer thread (from apply or tick). */
typedef void (*InputFeedbackFn)(void *sink, const InputRecord *feedback);

typedef struct {
  const char *name;
  /* Opens the backend (params: the string lumen_input_open got, NUL-terminated). */
  int32_t (*open)(void **state, const char *params, InputFeedbackFn feedback, void *sink, char *err, int32_t err_len);
  /* Applies one record. Returns 0, or a negative LUMEN_E_* when it could not (counted as refused). */
  int32_t (*apply)(void *state, const InputRecord *r);
  /* End of a batch: flush what apply buffered (SYN_REPORT, XFlush, wl_display_flush). */
  void (*flush)(void *state);
  /* Called about every 10 ms while the device is open (read force feedback, dispatch events); may be NULL. */
  void (*tick)(void *state);
  /* Releases every key, button, contact and pad input held. */
  void (*release_all)(void *state);
  void (*close)(void *state);
} InputBackend;

extern const InputBackend lumen_input_uinput;
extern const InputBackend lumen_input_xtest;
extern const InputBackend lumen_input_wlroots;

#endif
