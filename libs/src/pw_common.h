/* What the shim's PipeWire consumers (audio.c, capture_pipewire.c) share: one pw_init for the
 * process and one teardown order for a thread loop, its context, core and stream. */
#ifndef LUMEN_PW_COMMON_H
#define LUMEN_PW_COMMON_H

#include <pipewire/pipewire.h>

typedef struct {
  struct pw_thread_loop *loop;
  struct pw_context *context;
  struct pw_core *core;
  struct pw_stream *stream;
} LumenPw;

/* pw_init, once per process (thread-safe). */
void lumen_pw_init_once(void);
/* Stops the loop, then destroys the stream, disconnects the core, destroys the context and the
 * loop (whichever exist), and clears them: safe on a half-built LumenPw and twice. */
void lumen_pw_teardown(LumenPw *pw);

#endif
