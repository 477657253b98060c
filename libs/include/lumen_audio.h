/* Lumen shim: audio for the stream (docs/protocol/audio.md): Opus multistream encode/decode
 * through libopus (CBR, restricted low delay; the decoder serves the test client) with the
 * layout the caller gives (stream count, coupled streams, channel mapping: the table lives in
 * src/protocol/audio.ts), and audio capture paced on the monotonic clock.
 *
 * PCM is interleaved signed 16-bit little-endian at 48 kHz.
 *
 * Capture sources:
 *   LUMEN_AUDIO_SOURCE_PIPEWIRE: the default sink's monitor through libpipewire (what the desktop
 *     plays); fails with LUMEN_E_UNAVAILABLE when no PipeWire daemon answers.
 *   LUMEN_AUDIO_SOURCE_TONE: synthetic sine tones at -12 dBFS (frequencies: see capture_open).
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

/* Opens a libopus multistream encoder: 48 kHz, channels 1..8 coded as `streams` Opus streams of
 * which the first `coupled` are stereo; mapping (channels bytes) sends input channel i to coded
 * channel mapping[i] (RFC 7845 §5.1.1; the decoder must use the same layout). Stereo is 2, 1, 1,
 * {0, 1}; mapping_len: the mapping buffer's length (at least channels). bitrate in bit/s for all streams together, frame duration in microseconds (2500, 5000,
 * 10000, 20000). CBR: every packet is floor(bitrate * duration / 8) bytes. Returns the handle. */
LUMEN_API int32_t lumen_opus_encoder_open(int32_t channels, int32_t streams, int32_t coupled, const uint8_t *mapping, int32_t mapping_len, int32_t bitrate_bps, int32_t frame_us, char *err, int32_t err_len);
/* Encodes one frame (frame_us worth of samples per channel, s16 interleaved; pcm_len >=
 * samples_per_channel * channels * 2) into out. Returns the packet length. */
LUMEN_API int32_t lumen_opus_encode(int32_t encoder, const uint8_t *pcm, int32_t pcm_len, int32_t samples_per_channel, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Closes the encoder. */
LUMEN_API int32_t lumen_opus_encoder_close(int32_t encoder);
/* Opens a libopus multistream decoder (48 kHz, s16 interleaved output) for the layout the
 * encoder used (same arguments as lumen_opus_encoder_open). */
LUMEN_API int32_t lumen_opus_decoder_open(int32_t channels, int32_t streams, int32_t coupled, const uint8_t *mapping, int32_t mapping_len, char *err, int32_t err_len);
/* Decodes one Opus packet into pcm_out; returns the samples per channel written. */
LUMEN_API int32_t lumen_opus_decode(int32_t decoder, const uint8_t *data, int32_t len, uint8_t *pcm_out, int32_t out_len, char *err, int32_t err_len);
/* Closes the decoder. */
LUMEN_API int32_t lumen_opus_decoder_close(int32_t decoder);

/* Opens a capture source (LUMEN_AUDIO_SOURCE_*) at 48 kHz with 1, 2, 6 or 8 channels in the
 * client's order FL FR FC LFE RL RR SL SR (PipeWire mixes the monitor to those positions);
 * target: a PipeWire node name or id to capture instead of the default sink's monitor
 * ("" = default); frequency_hz: the tone's frequency — on every channel for mono and stereo, and
 * frequency_hz * (1 + k/4) on channel k for 6 and 8 channels, so each channel can be told apart.
 * Returns the capture handle. */
LUMEN_API int32_t lumen_audio_capture_open(int32_t source, const char *target, int32_t channels, int32_t frequency_hz, char *err, int32_t err_len);
/* Which source the capture uses (LUMEN_AUDIO_SOURCE_PIPEWIRE or LUMEN_AUDIO_SOURCE_TONE). */
LUMEN_API int32_t lumen_audio_capture_kind(int32_t capture);
/* Waits until the next samples_per_channel samples are due and writes them (s16 interleaved)
 * into pcm (pcm_len >= samples_per_channel * channels * 2, else LUMEN_E_BUFFER and nothing is
 * written). Returns samples_per_channel. */
LUMEN_API int32_t lumen_audio_capture_read(int32_t capture, uint8_t *pcm, int32_t pcm_len, int32_t samples_per_channel, char *err, int32_t err_len);
/* Counters, int64 LE: samples delivered by the source, samples padded with silence, samples
 * dropped on overflow. Returns the bytes written (24). */
LUMEN_API int32_t lumen_audio_capture_stats(int32_t capture, uint8_t *out, int32_t out_len);
/* Stops and frees the capture. */
LUMEN_API int32_t lumen_audio_capture_close(int32_t capture);

#endif
