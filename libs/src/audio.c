/* Audio: Opus through libavcodec and capture paced on the monotonic clock (lumen_audio.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>

#include "internal.h"
#include "lumen_audio.h"

#define MAX_CODECS 64
#define MAX_CAPTURES 16
#define RATE 48000

typedef struct {
  int used, encoder, channels;
  AVCodecContext *ctx;
  AVFrame *frame;
  AVPacket *pkt;
} Codec;

static Codec codecs[MAX_CODECS];
static pthread_mutex_t codecs_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Takes a free codec slot, zeroed and marked used; -1 (with err filled) when all are taken. */
static int32_t codec_acquire(char *err, int32_t err_len) {
  pthread_mutex_lock(&codecs_lock);
  int h = -1;
  for (int i = 0; i < MAX_CODECS && h < 0; i++)
    if (!codecs[i].used) h = i;
  if (h >= 0) {
    memset(&codecs[h], 0, sizeof codecs[h]);
    codecs[h].used = 1;
  }
  pthread_mutex_unlock(&codecs_lock);
  if (h < 0) lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d audio codec slots are in use", MAX_CODECS);
  return h;
}

static void codec_free(Codec *c) {
  avcodec_free_context(&c->ctx);
  av_frame_free(&c->frame);
  av_packet_free(&c->pkt);
  c->used = 0;
}

LUMEN_API int32_t lumen_opus_encoder_open(int32_t channels, int32_t bitrate_bps, int32_t frame_us, char *err, int32_t err_len) {
  if (channels < 1 || channels > 2) return lumen_fail(err, err_len, LUMEN_E_INVALID, "Opus encoder: %d channels; this build encodes mono or stereo", channels);
  if (bitrate_bps < 6000 || bitrate_bps > 510000) return lumen_fail(err, err_len, LUMEN_E_INVALID, "Opus bitrate %d bit/s is out of range 6000-510000", bitrate_bps);
  if (frame_us != 2500 && frame_us != 5000 && frame_us != 10000 && frame_us != 20000)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "Opus frame duration %d µs is not one of 2500, 5000, 10000, 20000", frame_us);
  const AVCodec *codec = avcodec_find_encoder_by_name("libopus");
  if (!codec) return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "libavcodec has no libopus encoder: rebuild FFmpeg with --enable-libopus (scripts/ffmpeg.sh)");
  int h = codec_acquire(err, err_len);
  if (h < 0) return LUMEN_E_NOMEM;
  Codec *c = &codecs[h];
  c->encoder = 1;
  c->channels = channels;
  c->ctx = avcodec_alloc_context3(codec);
  c->frame = av_frame_alloc();
  c->pkt = av_packet_alloc();
  if (!c->ctx || !c->frame || !c->pkt) {
    codec_free(c);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory opening the Opus encoder");
  }
  c->ctx->sample_rate = RATE;
  c->ctx->sample_fmt = AV_SAMPLE_FMT_S16;
  av_channel_layout_default(&c->ctx->ch_layout, channels);
  c->ctx->bit_rate = bitrate_bps;
  c->ctx->time_base = (AVRational){1, RATE};
  av_opt_set(c->ctx->priv_data, "application", "lowdelay", 0);
  av_opt_set(c->ctx->priv_data, "vbr", "off", 0);
  av_opt_set_double(c->ctx->priv_data, "frame_duration", frame_us / 1000.0, 0);
  int r = avcodec_open2(c->ctx, codec, NULL);
  if (r < 0) {
    char b[128];
    codec_free(c);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot open the libopus encoder: %s", lumen_av_error(r, b, sizeof b));
  }
  c->frame->format = AV_SAMPLE_FMT_S16;
  c->frame->sample_rate = RATE;
  av_channel_layout_copy(&c->frame->ch_layout, &c->ctx->ch_layout);
  c->frame->nb_samples = RATE / 1000 * frame_us / 1000;
  c->frame->pts = 0;
  if (av_frame_get_buffer(c->frame, 0) < 0) {
    codec_free(c);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory for the Opus input frame");
  }
  return h;
}

LUMEN_API int32_t lumen_opus_encode(int32_t encoder, const uint8_t *pcm, int32_t samples_per_channel, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (encoder < 0 || encoder >= MAX_CODECS || !codecs[encoder].used || !codecs[encoder].encoder) return lumen_fail(err, err_len, LUMEN_E_INVALID, "no Opus encoder %d", encoder);
  Codec *c = &codecs[encoder];
  if (samples_per_channel != c->frame->nb_samples)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "the Opus encoder takes %d samples per channel per frame, not %d", c->frame->nb_samples, samples_per_channel);
  int r = av_frame_make_writable(c->frame);
  if (r < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "Opus frame not writable");
  memcpy(c->frame->data[0], pcm, (size_t)samples_per_channel * c->channels * 2);
  c->frame->pts = c->frame->pts + samples_per_channel;
  char b[128];
  r = avcodec_send_frame(c->ctx, c->frame);
  if (r < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "Opus encode failed: %s", lumen_av_error(r, b, sizeof b));
  r = avcodec_receive_packet(c->ctx, c->pkt);
  if (r == AVERROR(EAGAIN)) return 0;
  if (r < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "Opus encode failed: %s", lumen_av_error(r, b, sizeof b));
  int n = c->pkt->size;
  if (n > out_len) {
    av_packet_unref(c->pkt);
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "an Opus packet of %d bytes does not fit a %d-byte buffer", n, out_len);
  }
  memcpy(out, c->pkt->data, (size_t)n);
  av_packet_unref(c->pkt);
  return n;
}

static int32_t codec_close(int32_t h, int encoder) {
  pthread_mutex_lock(&codecs_lock);
  if (h < 0 || h >= MAX_CODECS || !codecs[h].used || codecs[h].encoder != encoder) {
    pthread_mutex_unlock(&codecs_lock);
    return LUMEN_E_INVALID;
  }
  codec_free(&codecs[h]);
  pthread_mutex_unlock(&codecs_lock);
  return 0;
}

LUMEN_API int32_t lumen_opus_encoder_close(int32_t encoder) { return codec_close(encoder, 1); }

LUMEN_API int32_t lumen_opus_decoder_open(int32_t channels, char *err, int32_t err_len) {
  if (channels < 1 || channels > 2) return lumen_fail(err, err_len, LUMEN_E_INVALID, "Opus decoder: %d channels; mono or stereo only", channels);
  const AVCodec *codec = avcodec_find_decoder_by_name("opus");
  if (!codec) codec = avcodec_find_decoder_by_name("libopus");
  if (!codec) return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "libavcodec has no Opus decoder");
  int h = codec_acquire(err, err_len);
  if (h < 0) return LUMEN_E_NOMEM;
  Codec *c = &codecs[h];
  c->channels = channels;
  c->ctx = avcodec_alloc_context3(codec);
  c->frame = av_frame_alloc();
  c->pkt = av_packet_alloc();
  if (!c->ctx || !c->frame || !c->pkt) {
    codec_free(c);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory opening the Opus decoder");
  }
  c->ctx->sample_rate = RATE;
  av_channel_layout_default(&c->ctx->ch_layout, channels);
  c->ctx->request_sample_fmt = AV_SAMPLE_FMT_S16;
  int r = avcodec_open2(c->ctx, codec, NULL);
  if (r < 0) {
    char b[128];
    codec_free(c);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot open the Opus decoder: %s", lumen_av_error(r, b, sizeof b));
  }
  return h;
}

static int16_t to_s16(float v) {
  float s = v * 32767.0f;
  if (s > 32767.0f) s = 32767.0f;
  if (s < -32768.0f) s = -32768.0f;
  return (int16_t)lrintf(s);
}

LUMEN_API int32_t lumen_opus_decode(int32_t decoder, const uint8_t *data, int32_t len, uint8_t *pcm_out, int32_t out_len, char *err, int32_t err_len) {
  if (decoder < 0 || decoder >= MAX_CODECS || !codecs[decoder].used || codecs[decoder].encoder) return lumen_fail(err, err_len, LUMEN_E_INVALID, "no Opus decoder %d", decoder);
  Codec *c = &codecs[decoder];
  char b[128];
  c->pkt->data = (uint8_t *)data;
  c->pkt->size = len;
  int r = avcodec_send_packet(c->ctx, c->pkt);
  c->pkt->data = NULL;
  c->pkt->size = 0;
  if (r < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "Opus decode failed: %s", lumen_av_error(r, b, sizeof b));
  int total = 0;
  for (;;) {
    r = avcodec_receive_frame(c->ctx, c->frame);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
    if (r < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "Opus decode failed: %s", lumen_av_error(r, b, sizeof b));
    int ch = c->frame->ch_layout.nb_channels;
    int n = c->frame->nb_samples;
    if ((size_t)(total + n) * c->channels * 2 > (size_t)out_len) {
      av_frame_unref(c->frame);
      return lumen_fail(err, err_len, LUMEN_E_BUFFER, "decoded audio does not fit a %d-byte buffer", out_len);
    }
    int16_t *o = (int16_t *)pcm_out + (size_t)total * c->channels;
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < c->channels; k++) {
        int src = k < ch ? k : ch - 1;
        float v;
        switch (c->frame->format) {
        case AV_SAMPLE_FMT_FLTP: v = ((float *)c->frame->data[src])[i]; break;
        case AV_SAMPLE_FMT_FLT: v = ((float *)c->frame->data[0])[i * ch + src]; break;
        case AV_SAMPLE_FMT_S16P: v = ((int16_t *)c->frame->data[src])[i] / 32768.0f; break;
        case AV_SAMPLE_FMT_S16: v = ((int16_t *)c->frame->data[0])[i * ch + src] / 32768.0f; break;
        default: v = 0;
        }
        o[(size_t)i * c->channels + k] = to_s16(v);
      }
    }
    total += n;
    av_frame_unref(c->frame);
  }
  return total;
}

LUMEN_API int32_t lumen_opus_decoder_close(int32_t decoder) { return codec_close(decoder, 0); }

/* --- capture ----------------------------------------------------------------------------------- */

typedef struct {
  int used, kind, channels, freq;
  int64_t t0, due; /* samples handed out so far, on the clock from t0 */
  double phase;
  /* PipeWire */
  struct pw_thread_loop *loop;
  struct pw_context *context;
  struct pw_core *core;
  struct pw_stream *stream;
  struct spa_hook listener;
  pthread_mutex_t lock;
  int16_t *ring;
  size_t ring_frames, rhead, rfill;
  int64_t delivered, padded, dropped;
} Capture;

static Capture captures[MAX_CAPTURES];
static pthread_mutex_t captures_lock = PTHREAD_MUTEX_INITIALIZER;
static int pw_inited;

static void on_process(void *data) {
  Capture *c = data;
  struct pw_buffer *b = pw_stream_dequeue_buffer(c->stream);
  if (!b) return;
  struct spa_buffer *buf = b->buffer;
  if (buf->datas[0].data && buf->datas[0].chunk) {
    const int16_t *src = (const int16_t *)((uint8_t *)buf->datas[0].data + buf->datas[0].chunk->offset);
    size_t frames = buf->datas[0].chunk->size / (2 * (size_t)c->channels);
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < frames; i++) {
      if (c->rfill == c->ring_frames) { /* overflow: drop the oldest */
        c->rfill--;
        c->dropped++;
      }
      size_t pos = (c->rhead + c->rfill) % c->ring_frames;
      memcpy(&c->ring[pos * c->channels], &src[i * c->channels], 2 * (size_t)c->channels);
      c->rfill++;
    }
    c->delivered += (int64_t)frames;
    pthread_mutex_unlock(&c->lock);
  }
  pw_stream_queue_buffer(c->stream, b);
}

static const struct pw_stream_events stream_events = {
    PW_VERSION_STREAM_EVENTS,
    .process = on_process,
};

static void capture_free(Capture *c) {
  if (c->loop) pw_thread_loop_stop(c->loop);
  if (c->stream) pw_stream_destroy(c->stream);
  if (c->core) pw_core_disconnect(c->core);
  if (c->context) pw_context_destroy(c->context);
  if (c->loop) pw_thread_loop_destroy(c->loop);
  c->stream = NULL;
  c->core = NULL;
  c->context = NULL;
  c->loop = NULL;
  free(c->ring);
  c->ring = NULL;
  pthread_mutex_destroy(&c->lock);
  c->used = 0;
}

static int pipewire_open(Capture *c, const char *target, char *err, int32_t err_len) {
  if (!pw_inited) {
    pw_init(NULL, NULL);
    pw_inited = 1;
  }
  c->ring_frames = RATE / 5; /* 200 ms */
  c->ring = calloc(c->ring_frames * (size_t)c->channels, 2);
  if (!c->ring) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory for the audio ring");
  c->loop = pw_thread_loop_new("lumen-audio", NULL);
  if (!c->loop) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create a PipeWire loop");
  c->context = pw_context_new(pw_thread_loop_get_loop(c->loop), NULL, 0);
  if (!c->context) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create a PipeWire context");
  if (pw_thread_loop_start(c->loop) != 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot start the PipeWire loop");
  pw_thread_loop_lock(c->loop);
  c->core = pw_context_connect(c->context, NULL, 0);
  if (!c->core) {
    pw_thread_loop_unlock(c->loop);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "no PipeWire daemon answers (%s): no desktop audio to capture", strerror(errno));
  }
  struct pw_properties *props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Capture", PW_KEY_MEDIA_ROLE, "Game", PW_KEY_NODE_NAME, "lumen-audio", NULL);
  if (target && target[0]) pw_properties_set(props, PW_KEY_TARGET_OBJECT, target);
  pw_properties_set(props, PW_KEY_STREAM_CAPTURE_SINK, "true");
  pw_properties_setf(props, PW_KEY_NODE_LATENCY, "%d/%d", 240, RATE);
  c->stream = pw_stream_new(c->core, "lumen audio capture", props);
  if (!c->stream) {
    pw_thread_loop_unlock(c->loop);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create a PipeWire audio stream");
  }
  pw_stream_add_listener(c->stream, &c->listener, &stream_events, c);
  uint8_t buffer[1024];
  struct spa_pod_builder bld = SPA_POD_BUILDER_INIT(buffer, sizeof buffer);
  struct spa_audio_info_raw info = {.format = SPA_AUDIO_FORMAT_S16_LE, .rate = RATE, .channels = (uint32_t)c->channels};
  if (c->channels == 2) {
    info.position[0] = SPA_AUDIO_CHANNEL_FL;
    info.position[1] = SPA_AUDIO_CHANNEL_FR;
  } else {
    info.position[0] = SPA_AUDIO_CHANNEL_MONO;
  }
  const struct spa_pod *params[1] = {spa_format_audio_raw_build(&bld, SPA_PARAM_EnumFormat, &info)};
  int r = pw_stream_connect(c->stream, PW_DIRECTION_INPUT, PW_ID_ANY, PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS | PW_STREAM_FLAG_RT_PROCESS, params, 1);
  pw_thread_loop_unlock(c->loop);
  if (r < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot connect the PipeWire audio stream: %s", strerror(-r));
  return 0;
}

LUMEN_API int32_t lumen_audio_capture_open(int32_t source, const char *target, int32_t channels, int32_t frequency_hz, char *err, int32_t err_len) {
  if (channels < 1 || channels > 2) return lumen_fail(err, err_len, LUMEN_E_INVALID, "audio capture: %d channels; mono or stereo only", channels);
  if (source < 0 || source > 2) return lumen_fail(err, err_len, LUMEN_E_INVALID, "audio source %d is not auto (0), pipewire (1) or tone (2)", source);
  pthread_mutex_lock(&captures_lock);
  int h = -1;
  for (int i = 0; i < MAX_CAPTURES; i++)
    if (!captures[i].used) {
      h = i;
      break;
    }
  if (h < 0) {
    pthread_mutex_unlock(&captures_lock);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d audio capture slots are in use", MAX_CAPTURES);
  }
  Capture *c = &captures[h];
  memset(c, 0, sizeof *c);
  c->used = 1;
  pthread_mutex_unlock(&captures_lock);
  pthread_mutex_init(&c->lock, NULL);
  c->channels = channels;
  c->freq = frequency_hz > 0 ? frequency_hz : 440;
  c->kind = LUMEN_AUDIO_SOURCE_TONE;
  /* PipeWire only where a daemon could be listening: pw_context_connect would otherwise try to
   * start one through the session bus */
  if (source != LUMEN_AUDIO_SOURCE_TONE) {
    char e2[256] = "";
    int r = pipewire_open(c, target, e2, sizeof e2);
    if (r == 0) c->kind = LUMEN_AUDIO_SOURCE_PIPEWIRE;
    else {
      /* tear down what was built, keep the slot */
      if (c->loop) pw_thread_loop_stop(c->loop);
      if (c->stream) pw_stream_destroy(c->stream);
      if (c->core) pw_core_disconnect(c->core);
      if (c->context) pw_context_destroy(c->context);
      if (c->loop) pw_thread_loop_destroy(c->loop);
      c->stream = NULL;
      c->core = NULL;
      c->context = NULL;
      c->loop = NULL;
      free(c->ring);
      c->ring = NULL;
      if (source == LUMEN_AUDIO_SOURCE_PIPEWIRE) {
        pthread_mutex_destroy(&c->lock);
        c->used = 0;
        return lumen_fail(err, err_len, r, "%s", e2);
      }
    }
  }
  c->t0 = now_ns();
  return h;
}

LUMEN_API int32_t lumen_audio_capture_kind(int32_t capture) {
  if (capture < 0 || capture >= MAX_CAPTURES || !captures[capture].used) return LUMEN_E_INVALID;
  return captures[capture].kind;
}

LUMEN_API int32_t lumen_audio_capture_read(int32_t capture, uint8_t *pcm, int32_t samples_per_channel, char *err, int32_t err_len) {
  if (capture < 0 || capture >= MAX_CAPTURES || !captures[capture].used) return lumen_fail(err, err_len, LUMEN_E_INVALID, "no audio capture %d", capture);
  Capture *c = &captures[capture];
  if (samples_per_channel <= 0 || samples_per_channel > RATE) return lumen_fail(err, err_len, LUMEN_E_INVALID, "cannot read %d samples", samples_per_channel);
  c->due += samples_per_channel;
  int64_t deadline = c->t0 + c->due * 1000000000LL / RATE;
  int64_t now = now_ns();
  if (deadline > now) {
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    struct timespec ts = {.tv_sec = deadline / 1000000000LL, .tv_nsec = deadline % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
  } else if (now - deadline > 200000000LL) {
    /* more than 200 ms behind (the caller stalled): restart the cadence instead of bursting */
    c->t0 = now - c->due * 1000000000LL / RATE;
  }
  int16_t *o = (int16_t *)pcm;
  if (c->kind == LUMEN_AUDIO_SOURCE_TONE) {
    double step = 2.0 * M_PI * c->freq / RATE;
    for (int i = 0; i < samples_per_channel; i++) {
      int16_t v = (int16_t)lrint(sin(c->phase) * 8192.0); /* -12 dBFS */
      c->phase += step;
      if (c->phase > 2.0 * M_PI) c->phase -= 2.0 * M_PI;
      for (int k = 0; k < c->channels; k++) o[i * c->channels + k] = v;
    }
    c->delivered += samples_per_channel;
    return samples_per_channel;
  }
  pthread_mutex_lock(&c->lock);
  size_t n = c->rfill < (size_t)samples_per_channel ? c->rfill : (size_t)samples_per_channel;
  for (size_t i = 0; i < n; i++) {
    memcpy(&o[i * c->channels], &c->ring[((c->rhead + i) % c->ring_frames) * c->channels], 2 * (size_t)c->channels);
  }
  c->rhead = (c->rhead + n) % c->ring_frames;
  c->rfill -= n;
  pthread_mutex_unlock(&c->lock);
  if (n < (size_t)samples_per_channel) {
    memset(&o[n * c->channels], 0, ((size_t)samples_per_channel - n) * c->channels * 2);
    c->padded += samples_per_channel - (int64_t)n;
  }
  return samples_per_channel;
}

LUMEN_API int32_t lumen_audio_capture_stats(int32_t capture, uint8_t *out, int32_t out_len) {
  if (capture < 0 || capture >= MAX_CAPTURES || !captures[capture].used) return LUMEN_E_INVALID;
  if (out_len < 24) return LUMEN_E_BUFFER;
  Capture *c = &captures[capture];
  pthread_mutex_lock(&c->lock);
  memcpy(out, &c->delivered, 8);
  memcpy(out + 8, &c->padded, 8);
  memcpy(out + 16, &c->dropped, 8);
  pthread_mutex_unlock(&c->lock);
  return 24;
}

LUMEN_API int32_t lumen_audio_capture_close(int32_t capture) {
  pthread_mutex_lock(&captures_lock);
  if (capture < 0 || capture >= MAX_CAPTURES || !captures[capture].used) {
    pthread_mutex_unlock(&captures_lock);
    return LUMEN_E_INVALID;
  }
  capture_free(&captures[capture]);
  pthread_mutex_unlock(&captures_lock);
  return 0;
}
