/* PipeWire set-up and teardown shared by audio and video capture (pw_common.h). */
#include <pthread.h>

#include "pw_common.h"

static pthread_once_t pw_once = PTHREAD_ONCE_INIT;
static void pw_init_now(void) { pw_init(NULL, NULL); }

void lumen_pw_init_once(void) { pthread_once(&pw_once, pw_init_now); }

void lumen_pw_teardown(LumenPw *pw) {
  if (pw->loop) pw_thread_loop_stop(pw->loop);
  if (pw->stream) pw_stream_destroy(pw->stream);
  if (pw->core) pw_core_disconnect(pw->core);
  if (pw->context) pw_context_destroy(pw->context);
  if (pw->loop) pw_thread_loop_destroy(pw->loop);
  pw->stream = NULL;
  pw->core = NULL;
  pw->context = NULL;
  pw->loop = NULL;
}
