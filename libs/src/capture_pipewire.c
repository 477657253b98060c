/* PipeWire video capture (lumen_pipewire.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <pipewire/pipewire.h>
#include <spa/param/video/format-utils.h>
#include <spa/param/buffers.h>

#include "internal.h"
#include "pw_common.h"
#include "lumen_pipewire.h"

#define MAX_PW 16
#define MAX_SIDE 16384 /* enum_format's largest size */
#ifndef DRM_FORMAT_MOD_LINEAR
#define DRM_FORMAT_MOD_LINEAR 0ULL
#endif
#ifndef DRM_FORMAT_MOD_INVALID
#define DRM_FORMAT_MOD_INVALID 0x00ffffffffffffffULL
#endif

typedef struct {
  LumenSlot slot;
  LumenPw pw;
  struct spa_hook stream_listener, core_listener;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int state; /* 0 connecting, 1 streaming, 2 failed */
  char error[256];
  struct spa_video_info_raw info;
  int has_modifier;
  uint64_t modifier;
  int width, height, stride, format, buftype;
  uint8_t *latest; /* BGRx width*height*4 */
  size_t latest_size;
  int64_t seq, grabbed_seq, dropped, arrived_ns;
  int node_id;
} PwCapture;

LUMEN_TABLE(caps, PwCapture, MAX_PW, "PipeWire capture");

static void fail_stream(PwCapture *c, const char *msg) {
  pthread_mutex_lock(&c->lock);
  c->state = 2;
  snprintf(c->error, sizeof c->error, "%s", msg);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

static void on_state_changed(void *data, enum pw_stream_state old, enum pw_stream_state state, const char *error) {
  PwCapture *c = data;
  if (state == PW_STREAM_STATE_ERROR) {
    char m[256];
    snprintf(m, sizeof m, "the PipeWire video stream failed: %s", error ? error : "unknown error");
    fail_stream(c, m);
  } else if (state == PW_STREAM_STATE_UNCONNECTED && old != PW_STREAM_STATE_UNCONNECTED && c->state != 1) {
    fail_stream(c, "the PipeWire video node went away");
  }
  if (state == PW_STREAM_STATE_STREAMING || state == PW_STREAM_STATE_PAUSED) c->node_id = (int)pw_stream_get_node_id(c->pw.stream);
}

/* Takes a negotiated Format param: size, pixel format and modifier, and a frame buffer of that
 * size. -1 (the capture unchanged) when it is no raw video format or its size lies outside what
 * enum_format offered. */
static int take_format(PwCapture *c, const struct spa_pod *param) {
  struct spa_video_info_raw info;
  memset(&info, 0, sizeof info);
  if (spa_format_video_raw_parse(param, &info) < 0) return -1;
  if (info.size.width < 1 || info.size.width > MAX_SIDE || info.size.height < 1 || info.size.height > MAX_SIDE) return -1;
  const struct spa_pod_prop *mod = spa_pod_find_prop(param, NULL, SPA_FORMAT_VIDEO_modifier);
  size_t need = (size_t)info.size.width * info.size.height * 4;
  pthread_mutex_lock(&c->lock);
  if (need > c->latest_size) {
    uint8_t *frame = calloc(1, need);
    if (frame == NULL) {
      pthread_mutex_unlock(&c->lock);
      return -1;
    }
    free(c->latest);
    c->latest = frame;
    c->latest_size = need;
  }
  c->info = info;
  c->has_modifier = mod != NULL;
  c->modifier = info.modifier;
  c->width = (int)info.size.width;
  c->height = (int)info.size.height;
  c->format = (int)info.format;
  pthread_mutex_unlock(&c->lock);
  return 0;
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
  PwCapture *c = data;
  if (param == NULL || id != SPA_PARAM_Format) return;
  if (take_format(c, param) < 0) return;

  uint8_t buffer[1024];
  struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buffer, sizeof buffer);
  int types = c->has_modifier ? (1 << SPA_DATA_DmaBuf) : ((1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr));
  const struct spa_pod *params[1];
  params[0] = spa_pod_builder_add_object(&b, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers, SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(4, 2, 16),
                                         SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(1), SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int(types));
  pw_stream_update_params(c->pw.stream, params, 1);
}

/* Copies rows of a BGRx/BGRA/RGBx/RGBA source into the BGRx frame. */
static void copy_frame(PwCapture *c, const uint8_t *src, int stride) {
  int w = c->width, h = c->height;
  int rgb = c->format == SPA_VIDEO_FORMAT_RGBx || c->format == SPA_VIDEO_FORMAT_RGBA;
  for (int y = 0; y < h; y++) {
    const uint8_t *s = src + (size_t)y * stride;
    uint8_t *d = c->latest + (size_t)y * w * 4;
    if (!rgb) {
      memcpy(d, s, (size_t)w * 4);
    } else {
      for (int x = 0; x < w; x++) {
        d[4 * x] = s[4 * x + 2];
        d[4 * x + 1] = s[4 * x + 1];
        d[4 * x + 2] = s[4 * x];
        d[4 * x + 3] = s[4 * x + 3];
      }
    }
  }
}

/* The source stride of a chunk (its own, or tightly packed rows when it gives none) and the bytes
 * a frame spans at that stride: every row but the last a stride, the last its pixels. */
static size_t frame_span(const PwCapture *c, int32_t chunk_stride, int *stride) {
  *stride = chunk_stride > 0 ? chunk_stride : c->width * 4;
  return (size_t)*stride * (size_t)(c->height - 1) + (size_t)c->width * 4;
}

/* Copies a shared-memory (MemFd, MemPtr) buffer's frame when the chunk's offset and the frame's
 * span (need bytes) lie inside the mapped maxsize; 1 when copied. Called with the lock held. */
static int read_mem_chunk(PwCapture *c, const struct spa_data *d, int stride, size_t need) {
  if (d->data == NULL || (uint64_t)d->chunk->offset + need > d->maxsize) return 0;
  copy_frame(c, (const uint8_t *)d->data + d->chunk->offset, stride);
  c->buftype = d->type == SPA_DATA_MemFd ? 1 : 2;
  return 1;
}

static void on_process(void *data) {
  PwCapture *c = data;
  struct pw_buffer *pb = NULL, *b;
  /* take the newest queued buffer, give the older ones back */
  while ((b = pw_stream_dequeue_buffer(c->pw.stream)) != NULL) {
    if (pb) pw_stream_queue_buffer(c->pw.stream, pb);
    pb = b;
  }
  if (!pb) return;
  struct spa_buffer *buf = pb->buffer;
  struct spa_data *d = &buf->datas[0];
  int ok = 0;
  if (d->chunk && d->chunk->size > 0 && !(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) && c->latest && c->width > 0) {
    int stride;
    size_t need = frame_span(c, d->chunk->stride, &stride);
    pthread_mutex_lock(&c->lock);
    if (d->type == SPA_DATA_DmaBuf) {
      if (c->has_modifier && c->modifier != DRM_FORMAT_MOD_LINEAR && c->modifier != DRM_FORMAT_MOD_INVALID) {
        snprintf(c->error, sizeof c->error, "the node sends tiled dma-bufs (modifier 0x%llx): only linear ones can be read without the zero-copy path", (unsigned long long)c->modifier);
      } else {
        size_t off = d->chunk->offset;
        size_t len = off + need;
        void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, (int)d->fd, 0);
        if (map != MAP_FAILED) {
          struct dma_buf_sync sync = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ};
          ioctl((int)d->fd, DMA_BUF_IOCTL_SYNC, &sync);
          copy_frame(c, (const uint8_t *)map + off, stride);
          sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
          ioctl((int)d->fd, DMA_BUF_IOCTL_SYNC, &sync);
          munmap(map, len);
          ok = 1;
          c->buftype = 3;
        } else {
          snprintf(c->error, sizeof c->error, "cannot map a dma-buf of the PipeWire video node: %s", strerror(errno));
        }
      }
    } else {
      ok = read_mem_chunk(c, d, stride, need);
    }
    if (ok) {
      c->stride = stride;
      c->seq++;
      c->arrived_ns = lumen_mono_ns();
      c->state = 1;
      pthread_cond_broadcast(&c->cond);
    } else {
      c->dropped++;
    }
    pthread_mutex_unlock(&c->lock);
  }
  pw_stream_queue_buffer(c->pw.stream, pb);
}

static const struct pw_stream_events stream_events = {
    PW_VERSION_STREAM_EVENTS,
    .state_changed = on_state_changed,
    .param_changed = on_param_changed,
    .process = on_process,
};

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message) {
  PwCapture *c = data;
  if (id == PW_ID_CORE && res == -EPIPE) fail_stream(c, "the PipeWire daemon went away");
}

static const struct pw_core_events core_events = {
    PW_VERSION_CORE_EVENTS,
    .error = on_core_error,
};

static const struct spa_pod *enum_format(struct spa_pod_builder *b, int with_modifier) {
  struct spa_pod_frame f;
  spa_pod_builder_push_object(b, &f, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
  spa_pod_builder_add(b, SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video), SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                      SPA_FORMAT_VIDEO_format,
                      SPA_POD_CHOICE_ENUM_Id(5, SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRA, SPA_VIDEO_FORMAT_RGBx, SPA_VIDEO_FORMAT_RGBA), 0);
  if (with_modifier) {
    spa_pod_builder_prop(b, SPA_FORMAT_VIDEO_modifier, SPA_POD_PROP_FLAG_MANDATORY | SPA_POD_PROP_FLAG_DONT_FIXATE);
    spa_pod_builder_long(b, (int64_t)DRM_FORMAT_MOD_LINEAR);
  }
  spa_pod_builder_add(b, SPA_FORMAT_VIDEO_size, SPA_POD_CHOICE_RANGE_Rectangle(&SPA_RECTANGLE(1280, 720), &SPA_RECTANGLE(1, 1), &SPA_RECTANGLE(16384, 16384)),
                      SPA_FORMAT_VIDEO_framerate, SPA_POD_CHOICE_RANGE_Fraction(&SPA_FRACTION(60, 1), &SPA_FRACTION(0, 1), &SPA_FRACTION(1000, 1)), 0);
  return spa_pod_builder_pop(b, &f);
}

static void pw_free(PwCapture *c) {
  lumen_pw_teardown(&c->pw);
  free(c->latest);
  c->latest = NULL;
  c->latest_size = 0;
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->cond);
  lumen_handle_free(&caps, c);
}

LUMEN_API int32_t lumen_pw_video_open(const char *target, int32_t remote_fd, char *err, int32_t err_len) {
  lumen_pw_init_once();
  PwCapture *c;
  int32_t h = lumen_handle_claim(&caps, (void **)&c);
  if (h < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d PipeWire capture slots are in use", MAX_PW);
  c->node_id = -1;
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, NULL);

  c->pw.loop = pw_thread_loop_new("lumen-pw-video", NULL);
  if (!c->pw.loop || !(c->pw.context = pw_context_new(pw_thread_loop_get_loop(c->pw.loop), NULL, 0)) || pw_thread_loop_start(c->pw.loop) != 0) {
    pw_free(c);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot start a PipeWire loop");
  }
  pw_thread_loop_lock(c->pw.loop);
  if (remote_fd >= 0) {
    int fd = fcntl(remote_fd, F_DUPFD_CLOEXEC, 3);
    c->pw.core = fd >= 0 ? pw_context_connect_fd(c->pw.context, fd, NULL, 0) : NULL;
  } else {
    c->pw.core = pw_context_connect(c->pw.context, NULL, 0);
  }
  if (!c->pw.core) {
    int e = errno;
    pw_thread_loop_unlock(c->pw.loop);
    pw_free(c);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "no PipeWire daemon answers (%s): start pipewire (and wireplumber), or use --source x11/synthetic", strerror(e));
  }
  pw_core_add_listener(c->pw.core, &c->core_listener, &core_events, c);
  struct pw_properties *props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY, "Capture", PW_KEY_MEDIA_ROLE, "Screen", PW_KEY_NODE_NAME, "lumen-video", NULL);
  if (target && target[0]) pw_properties_set(props, PW_KEY_TARGET_OBJECT, target);
  c->pw.stream = pw_stream_new(c->pw.core, "lumen video capture", props);
  if (!c->pw.stream) {
    pw_thread_loop_unlock(c->pw.loop);
    pw_free(c);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create a PipeWire video stream");
  }
  pw_stream_add_listener(c->pw.stream, &c->stream_listener, &stream_events, c);
  uint8_t buffer[2048];
  struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buffer, sizeof buffer);
  const struct spa_pod *params[2];
  params[0] = enum_format(&b, 1);
  params[1] = enum_format(&b, 0);
  uint32_t id = PW_ID_ANY;
  int r = pw_stream_connect(c->pw.stream, PW_DIRECTION_INPUT, id, PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 2);
  pw_thread_loop_unlock(c->pw.loop);
  if (r < 0) {
    pw_free(c);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot connect to the PipeWire video node '%s': %s", target ? target : "", strerror(-r));
  }
  return h;
}

LUMEN_API int32_t lumen_pw_video_wait(int32_t capture, int32_t timeout_ms, char *err, int32_t err_len) {
  PwCapture *c = lumen_handle_acquire(&caps, capture);
  if (!c) return lumen_no_handle(&caps, capture, err, err_len);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  int64_t ns = until.tv_nsec + (int64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000LL;
  until.tv_sec += ns / 1000000000LL;
  until.tv_nsec = ns % 1000000000LL;
  pthread_mutex_lock(&c->lock);
  while (c->seq == 0 && c->state != 2) {
    if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT) break;
  }
  int32_t r = 0;
  if (c->state == 2) r = lumen_fail(err, err_len, LUMEN_E_FAILED, "%s", c->error);
  else if (c->seq == 0)
    r = lumen_fail(err, err_len, LUMEN_E_AGAIN, "no frame from the PipeWire video node within %d ms%s%s", timeout_ms, c->error[0] ? ": " : "", c->error);
  pthread_mutex_unlock(&c->lock);
  lumen_handle_release(&caps, c);
  return r;
}

LUMEN_API int32_t lumen_pw_video_info(int32_t capture, uint8_t *out, int32_t out_len) {
  if (!out || out_len < LUMEN_PW_INFO_LEN) return LUMEN_E_BUFFER;
  PwCapture *c = lumen_handle_acquire(&caps, capture);
  if (!c) return LUMEN_E_INVALID;
  pthread_mutex_lock(&c->lock);
  int32_t v[9] = {c->state, c->width, c->height, c->stride, c->format, c->buftype, (int32_t)c->seq, (int32_t)c->dropped, c->node_id};
  pthread_mutex_unlock(&c->lock);
  lumen_handle_release(&caps, c);
  memcpy(out, v, sizeof v);
  return LUMEN_PW_INFO_LEN;
}

static int32_t video_grab(PwCapture *c, uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len, char *err, int32_t err_len) {
  if (info) {
    int32_t r = lumen_need(err, err_len, "grab info", info, info_len, LUMEN_PW_GRAB_INFO_LEN);
    if (r) return r;
  }
  pthread_mutex_lock(&c->lock);
  if (c->state == 2) {
    pthread_mutex_unlock(&c->lock);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "%s", c->error);
  }
  if (c->seq == 0) {
    pthread_mutex_unlock(&c->lock);
    return lumen_fail(err, err_len, LUMEN_E_AGAIN, "no frame from the PipeWire video node yet");
  }
  size_t need = (size_t)c->width * c->height * 4;
  if (!out || out_len < 0 || (size_t)out_len < need) {
    pthread_mutex_unlock(&c->lock);
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "a %dx%d frame needs %zu bytes, the buffer has %d", c->width, c->height, need, out_len);
  }
  memcpy(out, c->latest, need);
  int fresh = c->seq != c->grabbed_seq;
  c->grabbed_seq = c->seq;
  if (info) {
    memcpy(info, &c->arrived_ns, 8);
    memcpy(info + 8, &c->seq, 8);
  }
  pthread_mutex_unlock(&c->lock);
  return fresh;
}

LUMEN_API int32_t lumen_pw_video_grab(int32_t capture, uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len, char *err, int32_t err_len) {
  PwCapture *c = lumen_handle_acquire(&caps, capture);
  if (!c) return lumen_no_handle(&caps, capture, err, err_len);
  int32_t r = video_grab(c, out, out_len, info, info_len, err, err_len);
  lumen_handle_release(&caps, c);
  return r;
}

LUMEN_API int32_t lumen_pw_video_close(int32_t capture) {
  PwCapture *c = lumen_handle_retire(&caps, capture);
  if (!c) return LUMEN_E_INVALID;
  pw_free(c);
  return 0;
}
