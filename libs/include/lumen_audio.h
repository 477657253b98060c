/* Lumen shim: audio for the stream (shared/protocol/audio.md): Opus encode/decode through
 * libavcodec (libopus encoder, CBR, restricted low delay; FFmpeg's opus decoder for the test
 * client) and audio capture paced on the monotonic clock.
 *
 * PCM is interleaved signed 16-bit little-endian at 48 kHz.
 *
 * Capture sources:
 *   LUMEN_AUDIO_SOURCE_PIPEWIRE: the default sink's monitor through libpipewire (what the desktop
 *     plays); fails with LUMEN_E_UNAVAILABLE when no PipeWire daemon answers.
 *   LUMEN_AUDIO_SOURCE_TONE: a synthetic sine tone (frequency_hz) at -12 dBFS on every channel.
 *   LUMEN_AUDIO_SOURCE_AUTO: PipeWire when it answers, else the tone.
 * lumen_audio_capture_read() returns one packet's worth of samples exactly on a cadence of the
 * monotonic clock: it sleeps (absolute deadline) until the samples are due, then hands out what
 * the source delivered, padded with silence where it delivered less (a quiet or stalled desktop
 * still produces a steady packet stream). */
#ifndef LUMEN_AUDIO_H
#define LUMEN_AUDIO_H

#include <stdint.h>

#include "lumen_core.h"

#define LUMEN_AUDIO_SOURCE_AUTO 0
#define LUMEN_AUDIO_SOURCE_PIPEWIRE 1
#define LUMEN_AUDIO_SOURCE_TONE 2

/* Opens a libopus encoder: 48 kHz, channels 1..8 (1 stream, 1 coupled for stereo; multistream
 * layouts per audio.md for 6/8 are not offered yet: 1 or 2 only), bitrate in bit/s, frame
 * duration in microseconds (2500, 5000, 10000, 20000). CBR. Returns the encoder handle. */
LUMEN_API int32_t lumen_opus_encoder_open(int32_t channels, int32_t bitrate_bps, int32_t frame_us, char *err, int32_t err_len);
/* Encodes one frame (frame_us worth of samples per channel, s16 interleaved) into out.
 * Returns the packet length. */
LUMEN_API int32_t lumen_opus_encode(int32_t encoder, const uint8_t *pcm, int32_t samples_per_channel, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Closes the encoder. */
LUMEN_API int32_t lumen_opus_encoder_close(int32_t encoder);
/* Opens an Opus decoder (48 kHz, 1 or 2 channels, s16 interleaved output). */
LUMEN_API int32_t lumen_opus_decoder_open(int32_t channels, char *err, int32_t err_len);
/* Decodes one Opus packet into pcm_out; returns the samples per channel written. */
LUMEN_API int32_t lumen_opus_decode(int32_t decoder, const uint8_t *data, int32_t len, uint8_t *pcm_out, int32_t out_len, char *err, int32_t err_len);
/* Closes the decoder. */
LUMEN_API int32_t lumen_opus_decoder_close(int32_t decoder);

/* Opens a capture source (LUMEN_AUDIO_SOURCE_*), channels 1 or 2, at 48 kHz; target: a PipeWire
 * node name or id to capture instead of the default sink's monitor ("" = default);
 * frequency_hz: the tone's frequency. Returns the capture handle. */
LUMEN_API int32_t lumen_audio_capture_open(int32_t source, const char *target, int32_t channels, int32_t frequency_hz, char *err, int32_t err_len);
/* Which source the capture uses (LUMEN_AUDIO_SOURCE_PIPEWIRE or LUMEN_AUDIO_SOURCE_TONE). */
LUMEN_API int32_t lumen_audio_capture_kind(int32_t capture);
/* Waits until the next samples_per_channel samples are due and writes them (s16 interleaved)
 * into pcm. Returns samples_per_channel. */
LUMEN_API int32_t lumen_audio_capture_read(int32_t capture, uint8_t *pcm, int32_t samples_per_channel, char *err, int32_t err_len);
/* Counters, int64 LE: samples delivered by the source, samples padded with silence, samples
 * dropped on overflow. Returns the bytes written (24). */
LUMEN_API int32_t lumen_audio_capture_stats(int32_t capture, uint8_t *out, int32_t out_len);
/* Stops and frees the capture. */
LUMEN_API int32_t lumen_audio_capture_close(int32_t capture);

#endif
