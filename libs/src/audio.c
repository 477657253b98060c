/* Audio: Opus through libopus's multistream API and capture paced on the monotonic clock
 * (lumen_audio.h).
 *
 * Why libopus directly and not libavcodec's libopus wrapper: the client decodes 5.1/7.1 with the
 * stream count, coupled-stream count and channel mapping the host's DESCRIBE advertised
 * (audio.md §2.1), e.g. 5.1 as 4 streams / 2 coupled / mapping 0 1 2 3 4 5. The wrapper only picks
 * a layout from its mapping_family option: family 1 is libopus's own surround layout (5.1 =
 * mapping 0 4 1 2 3 5, Vorbis channel order, LFE coded apart) and family 255 only gives one
 * uncoupled stream per channel; neither produces the normal-quality layouts, so the encoder and
 * the test client's decoder are libopus multistream objects built from an explicit layout.
 * Stereo (1 stream, 1 coupled, mapping 0 1, with the settings the wrapper used: restricted low
 * delay, complexity 10, CBR, no in-band FEC or DTX) gives the same bytes as before. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opus_multistream.h>

#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>

#include "internal.h"
#include "pw_common.h"
#include "lumen_audio.h"

#define MAX_CODECS 64
#define MAX_CAPTURES 16
#define MAX_CHANNELS 8
#define RATE 48000
#define MAX_FRAME 5760 /* 120 ms: the longest Opus packet, per channel */

typedef struct {
  LumenSlot slot;
  int channels, frame;
  OpusMSEncoder *enc;
  OpusMSDecoder *dec;
} Codec;

LUMEN_TABLE(encoders, Codec, MAX_CODECS, "Opus encoder");
LUMEN_TABLE(decoders, Codec, MAX_CODECS, "Opus decoder");

static void codec_free(LumenTable *t, Codec *c) {
  if (c->enc) opus_multistream_encoder_destroy(c->enc);
  if (c->dec) opus_multistream_decoder_destroy(c->dec);
  c->enc = NULL;
  c->dec = NULL;
  lumen_handle_free(t, c);
}

/* The layout checks libopus would make, as sentences: 0 or LUMEN_E_INVALID. */
static int32_t check_layout(const char *what, int32_t channels, int32_t streams, int32_t coupled, const uint8_t *mapping, int32_t mapping_len, char *err, int32_t err_len) {
  if (channels < 1 || channels > MAX_CHANNELS) return lumen_fail(err, err_len, LUMEN_E_INVALID, "%s: %d channels; 1 to %d are supported", what, channels, MAX_CHANNELS);
  if (streams < 1 || coupled < 0 || coupled > streams || streams + coupled > 255)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "%s: %d streams with %d coupled is not an Opus multistream layout", what, streams, coupled);
  if (!mapping) return lumen_fail(err, err_len, LUMEN_E_INVALID, "%s: no channel mapping", what);
  int32_t r = lumen_need(err, err_len, "channel mapping", mapping, mapping_len, channels);
  if (r) return r;
  for (int i = 0; i < channels; i++)
    if (mapping[i] >= streams + coupled && mapping[i] != 255)
      return lumen_fail(err, err_len, LUMEN_E_INVALID, "%s: mapping entry %d is %d but the layout codes only %d channels", what, i, mapping[i], streams + coupled);
  return 0;
}

LUMEN_API int32_t lumen_opus_encoder_open(int32_t channels, int32_t streams, int32_t coupled, const uint8_t *mapping, int32_t mapping_len, int32_t bitrate_bps, int32_t frame_us, char *err, int32_t err_len) {
  int32_t r = check_layout("Opus encoder", channels, streams, coupled, mapping, mapping_len, err, err_len);
  if (r < 0) return r;
  /* libopus accepts 500 bit/s to 750 kbit/s per coded channel (and clamps beyond) */
  int coded = streams + coupled;
  if (bitrate_bps < 6000 * streams || (int64_t)bitrate_bps > 750000LL * coded)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "Opus bitrate %d bit/s is out of range %d-%lld for %d streams", bitrate_bps, 6000 * streams, 750000LL * coded, streams);
  if (frame_us != 2500 && frame_us != 5000 && frame_us != 10000 && frame_us != 20000)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "Opus frame duration %d µs is not one of 2500, 5000, 10000, 20000", frame_us);
  Codec *c;
  int32_t h = lumen_handle_claim(&encoders, (void **)&c);
  if (h < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d Opus encoder slots are in use", MAX_CODECS);
  c->channels = channels;
  c->frame = RATE / 1000 * frame_us / 1000;
  int e = OPUS_OK;
  c->enc = opus_multistream_encoder_create(RATE, channels, streams, coupled, mapping, OPUS_APPLICATION_RESTRICTED_LOWDELAY, &e);
  if (!c->enc || e != OPUS_OK) {
    codec_free(&encoders, c);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot open the Opus encoder (%d channels, %d streams, %d coupled): %s", channels, streams, coupled, opus_strerror(e));
  }
  /* CBR (audio.md §2: every packet of an FEC block has the same size) */
  int ok = opus_multistream_encoder_ctl(c->enc, OPUS_SET_BITRATE(bitrate_bps)) == OPUS_OK &&
           opus_multistream_encoder_ctl(c->enc, OPUS_SET_VBR(0)) == OPUS_OK &&
           opus_multistream_encoder_ctl(c->enc, OPUS_SET_COMPLEXITY(10)) == OPUS_OK &&
           opus_multistream_encoder_ctl(c->enc, OPUS_SET_PACKET_LOSS_PERC(0)) == OPUS_OK &&
           opus_multistream_encoder_ctl(c->enc, OPUS_SET_INBAND_FEC(0)) == OPUS_OK &&
           opus_multistream_encoder_ctl(c->enc, OPUS_SET_DTX(0)) == OPUS_OK;
  if (!ok) {
    codec_free(&encoders, c);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "the Opus encoder refused CBR at %d bit/s", bitrate_bps);
  }
  return h;
}

static int32_t encode_frame(Codec *c, const uint8_t *pcm, int32_t pcm_len, int32_t samples_per_channel, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (samples_per_channel != c->frame)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "the Opus encoder takes %d samples per channel per frame, not %d", c->frame, samples_per_channel);
  int32_t r = lumen_need(err, err_len, "PCM", pcm, pcm_len, (int64_t)samples_per_channel * c->channels * 2);
  if (!r) r = lumen_need(err, err_len, "Opus packet", out, out_len, 1);
  if (r) return r;
  int n = opus_multistream_encode(c->enc, (const opus_int16 *)pcm, samples_per_channel, out, out_len);
  if (n == OPUS_BUFFER_TOO_SMALL) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "an Opus packet does not fit a %d-byte buffer", out_len);
  if (n < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "Opus encode failed: %s", opus_strerror(n));
  return n;
}

LUMEN_API int32_t lumen_opus_encode(int32_t encoder, const uint8_t *pcm, int32_t pcm_len, int32_t samples_per_channel, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  Codec *c = lumen_handle_acquire(&encoders, encoder);
  if (!c) return lumen_no_handle(&encoders, encoder, err, err_len);
  int32_t r = encode_frame(c, pcm, pcm_len, samples_per_channel, out, out_len, err, err_len);
  lumen_handle_release(&encoders, c);
  return r;
}

static int32_t codec_close(LumenTable *t, int32_t h) {
  Codec *c = lumen_handle_retire(t, h);
  if (!c) return LUMEN_E_INVALID;
  codec_free(t, c);
  return 0;
}

LUMEN_API int32_t lumen_opus_encoder_close(int32_t encoder) { return codec_close(&encoders, encoder); }

LUMEN_API int32_t lumen_opus_decoder_open(int32_t channels, int32_t streams, int32_t coupled, const uint8_t *mapping, int32_t mapping_len, char *err, int32_t err_len) {
  int32_t r = check_layout("Opus decoder", channels, streams, coupled, mapping, mapping_len, err, err_len);
  if (r < 0) return r;
  Codec *c;
  int32_t h = lumen_handle_claim(&decoders, (void **)&c);
  if (h < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d Opus decoder slots are in use", MAX_CODECS);
  c->channels = channels;
  int e = OPUS_OK;
  c->dec = opus_multistream_decoder_create(RATE, channels, streams, coupled, mapping, &e);
  if (!c->dec || e != OPUS_OK) {
    codec_free(&decoders, c);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot open the Opus decoder (%d channels, %d streams, %d coupled): %s", channels, streams, coupled, opus_strerror(e));
  }
  return h;
}

static int32_t decode_packet(Codec *c, const uint8_t *data, int32_t len, uint8_t *pcm_out, int32_t out_len, char *err, int32_t err_len) {
  if (!pcm_out || out_len < 0) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "no PCM buffer given");
  int frames = out_len / (2 * c->channels);
  if (frames > MAX_FRAME) frames = MAX_FRAME;
  if (frames <= 0) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "a %d-byte buffer holds no %d-channel sample", out_len, c->channels);
  if (!data || len <= 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "an empty Opus packet");
  int n = opus_multistream_decode(c->dec, data, len, (opus_int16 *)pcm_out, frames, 0);
  if (n == OPUS_BUFFER_TOO_SMALL) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "decoded audio does not fit a %d-byte buffer", out_len);
  if (n < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "Opus decode failed: %s", opus_strerror(n));
  return n;
}

LUMEN_API int32_t lumen_opus_decode(int32_t decoder, const uint8_t *data, int32_t len, uint8_t *pcm_out, int32_t out_len, char *err, int32_t err_len) {
  Codec *c = lumen_handle_acquire(&decoders, decoder);
  if (!c) return lumen_no_handle(&decoders, decoder, err, err_len);
  int32_t r = decode_packet(c, data, len, pcm_out, out_len, err, err_len);
  lumen_handle_release(&decoders, c);
  return r;
}

LUMEN_API int32_t lumen_opus_decoder_close(int32_t decoder) { return codec_close(&decoders, decoder); }

/* --- capture ----------------------------------------------------------------------------------- */

typedef struct {
  LumenSlot slot;
  int kind, channels, freq;
  int64_t t0, due; /* samples handed out so far, on the clock from t0 */
  double phase[MAX_CHANNELS];
  LumenPw pw;
  struct spa_hook listener;
  pthread_mutex_t lock;
  int16_t *ring;
  size_t ring_frames, rhead, rfill;
  int64_t delivered, padded, dropped;
} Capture;

LUMEN_TABLE(captures, Capture, MAX_CAPTURES, "audio capture");

static void on_process(void *data) {
  Capture *c = data;
  struct pw_buffer *b = pw_stream_dequeue_buffer(c->pw.stream);
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
  pw_stream_queue_buffer(c->pw.stream, b);
}

static const struct pw_stream_events stream_events = {
    PW_VERSION_STREAM_EVENTS,
    .process = on_process,
};

static void capture_free(Capture *c) {
  lumen_pw_teardown(&c->pw);
  free(c->ring);
  c->ring = NULL;
  pthread_mutex_destroy(&c->lock);
  lumen_handle_free(&captures, c);
}

static int pipewire_open(Capture *c, const char *target, char *err, int32_t err_len) {
  lumen_pw_init_once();
  c->ring_frames = RATE / 5; /* 200 ms */
  c->ring = calloc(c->ring_frames * (size_t)c->channels, 2);
  if (!c->ring) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory for the audio ring");
  c->pw.loop = pw_thread_loop_new("lumen-audio", NULL);
  if (!c->pw.loop) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create a PipeWire loop");
  c->pw.context = pw_context_new(pw_thread_loop_get_loop(c->pw.loop), NULL, 0);
  if (!c->pw.context) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create a PipeWire context");
  if (pw_thread_loop_start(c->pw.loop) != 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot start the PipeWire loop");
  pw_thread_loop_lock(c->pw.loop);
  c->pw.core = pw_context_connect(c->pw.context, NULL, 0);
  if (!c->pw.core) {
    pw_thread_loop_unlock(c->pw.loop);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "no PipeWire daemon answers (%s): no desktop audio to capture", strerror(errno));
  }
  struct pw_properties *props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Capture", PW_KEY_MEDIA_ROLE, "Game", PW_KEY_NODE_NAME, "lumen-audio", NULL);
  if (target && target[0]) pw_properties_set(props, PW_KEY_TARGET_OBJECT, target);
  pw_properties_set(props, PW_KEY_STREAM_CAPTURE_SINK, "true");
  pw_properties_setf(props, PW_KEY_NODE_LATENCY, "%d/%d", 240, RATE);
  c->pw.stream = pw_stream_new(c->pw.core, "lumen audio capture", props);
  if (!c->pw.stream) {
    pw_thread_loop_unlock(c->pw.loop);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot create a PipeWire audio stream");
  }
  pw_stream_add_listener(c->pw.stream, &c->listener, &stream_events, c);
  uint8_t buffer[1024];
  struct spa_pod_builder bld = SPA_POD_BUILDER_INIT(buffer, sizeof buffer);
  struct spa_audio_info_raw info = {.format = SPA_AUDIO_FORMAT_S16_LE, .rate = RATE, .channels = (uint32_t)c->channels};
  /* the client's channel order (audio.md §2); PipeWire's channel mixer up- or down-mixes the
   * monitor (usually stereo) to these positions */
  static const uint32_t order[MAX_CHANNELS] = {SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR, SPA_AUDIO_CHANNEL_FC, SPA_AUDIO_CHANNEL_LFE,
                                               SPA_AUDIO_CHANNEL_RL, SPA_AUDIO_CHANNEL_RR, SPA_AUDIO_CHANNEL_SL, SPA_AUDIO_CHANNEL_SR};
  if (c->channels == 1) info.position[0] = SPA_AUDIO_CHANNEL_MONO;
  else
    for (int i = 0; i < c->channels; i++) info.position[i] = order[i];
  const struct spa_pod *params[1] = {spa_format_audio_raw_build(&bld, SPA_PARAM_EnumFormat, &info)};
  int r = pw_stream_connect(c->pw.stream, PW_DIRECTION_INPUT, PW_ID_ANY, PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS | PW_STREAM_FLAG_RT_PROCESS, params, 1);
  pw_thread_loop_unlock(c->pw.loop);
  if (r < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot connect the PipeWire audio stream: %s", strerror(-r));
  return 0;
}

LUMEN_API int32_t lumen_audio_capture_open(int32_t source, const char *target, int32_t channels, int32_t frequency_hz, char *err, int32_t err_len) {
  if (channels != 1 && channels != 2 && channels != 6 && channels != 8)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "audio capture: %d channels; 1, 2, 6 (5.1) or 8 (7.1) are supported", channels);
  if (source < 0 || source > 2) return lumen_fail(err, err_len, LUMEN_E_INVALID, "audio source %d is not auto (0), pipewire (1) or tone (2)", source);
  Capture *c;
  int32_t h = lumen_handle_claim(&captures, (void **)&c);
  if (h < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d audio capture slots are in use", MAX_CAPTURES);
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
      lumen_pw_teardown(&c->pw);
      free(c->ring);
      c->ring = NULL;
      if (source == LUMEN_AUDIO_SOURCE_PIPEWIRE) {
        capture_free(c);
        return lumen_fail(err, err_len, r, "%s", e2);
      }
    }
  }
  c->t0 = lumen_mono_ns();
  return h;
}

LUMEN_API int32_t lumen_audio_capture_kind(int32_t capture) {
  Capture *c = lumen_handle_acquire(&captures, capture);
  if (!c) return LUMEN_E_INVALID;
  int kind = c->kind;
  lumen_handle_release(&captures, c);
  return kind;
}

static int32_t capture_read(Capture *c, uint8_t *pcm, int32_t pcm_len, int32_t samples_per_channel, char *err, int32_t err_len) {
  if (samples_per_channel <= 0 || samples_per_channel > RATE) return lumen_fail(err, err_len, LUMEN_E_INVALID, "cannot read %d samples", samples_per_channel);
  int32_t r = lumen_need(err, err_len, "PCM", pcm, pcm_len, (int64_t)samples_per_channel * c->channels * 2);
  if (r) return r;
  c->due += samples_per_channel;
  int64_t deadline = c->t0 + c->due * 1000000000LL / RATE;
  int64_t now = lumen_mono_ns();
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
    /* mono and stereo: one tone on every channel; surround: channel k at freq * (1 + k/4) */
    int tones = c->channels > 2 ? c->channels : 1;
    for (int k = 0; k < tones; k++) {
      double step = 2.0 * M_PI * c->freq * (1.0 + k / 4.0) / RATE;
      double phase = c->phase[k];
      for (int i = 0; i < samples_per_channel; i++) {
        int16_t v = (int16_t)lrint(sin(phase) * 8192.0); /* -12 dBFS */
        phase += step;
        if (phase > 2.0 * M_PI) phase -= 2.0 * M_PI;
        if (tones == 1)
          for (int j = 0; j < c->channels; j++) o[i * c->channels + j] = v;
        else o[i * c->channels + k] = v;
      }
      c->phase[k] = phase;
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

LUMEN_API int32_t lumen_audio_capture_read(int32_t capture, uint8_t *pcm, int32_t pcm_len, int32_t samples_per_channel, char *err, int32_t err_len) {
  Capture *c = lumen_handle_acquire(&captures, capture);
  if (!c) return lumen_no_handle(&captures, capture, err, err_len);
  int32_t r = capture_read(c, pcm, pcm_len, samples_per_channel, err, err_len);
  lumen_handle_release(&captures, c);
  return r;
}

LUMEN_API int32_t lumen_audio_capture_stats(int32_t capture, uint8_t *out, int32_t out_len) {
  if (!out || out_len < 24) return LUMEN_E_BUFFER;
  Capture *c = lumen_handle_acquire(&captures, capture);
  if (!c) return LUMEN_E_INVALID;
  pthread_mutex_lock(&c->lock);
  memcpy(out, &c->delivered, 8);
  memcpy(out + 8, &c->padded, 8);
  memcpy(out + 16, &c->dropped, 8);
  pthread_mutex_unlock(&c->lock);
  lumen_handle_release(&captures, c);
  return 24;
}

LUMEN_API int32_t lumen_audio_capture_close(int32_t capture) {
  Capture *c = lumen_handle_retire(&captures, capture);
  if (!c) return LUMEN_E_INVALID;
  capture_free(c);
  return 0;
}
