/* Lumen shim: video encoders, decoders and pooled CUDA frames (libavcodec 62).
 *
 * Encoders: libx264, libx265 (software) and h264_nvenc, hevc_nvenc, av1_nvenc. Every encoder
 * is opened for streaming: no B-frames, zero-latency tuning, CBR at the given bitrate with a
 * one-frame VBV, the given slice count, and an infinite GOP (one IDR at the start, then
 * P-frames only; an IDR only when the caller forces one). H.264/HEVC output is Annex B with the
 * parameter sets in front of every IDR (libx265: repeat-headers=1, info=0, so no SEI sits
 * between the PPS and the IDR slice).
 *
 * Two frame paths:
 *  - CPU: a BGRx frame in host memory goes into lumen_encoder_encode(); the shim converts it
 *    to the encoder's input format, or passes it as is where the encoder takes BGRx. A frame of
 *    another size than the encoder's is scaled to it (swscale, bilinear) in the same pass.
 *  - CUDA: frames come from a pool (lumen_cuda_pool_open: an AV_HWDEVICE_TYPE_CUDA device on
 *    the device's PRIMARY context + an AV_PIX_FMT_CUDA frames context, sw_format BGR0) and are
 *    taken with lumen_cuda_frame_get() (av_hwframe_get_buffer). Fill one on the device (see
 *    lumen_cuda_frame_info for its device pointer and pitch) or from the host
 *    (lumen_cuda_frame_upload), then hand it to lumen_encoder_encode_cuda(). An NVENC encoder
 *    opened with that pool encodes the frame on the GPU; a software encoder converts it to
 *    I420 on the GPU (a CUDA kernel the driver compiles from PTX when the encoder opens) and
 *    downloads only the I420 planes, or, where that kernel cannot load, downloads the BGRx frame
 *    (av_hwframe_transfer_data) and encodes it like a CPU frame (the check used on GPU
 *    machines without NVENC).
 *
 * Handles (encoders, decoders, pools, frames) are int32 ids; every call is thread-safe with
 * respect to the handle tables, but one handle must be used by one thread at a time.
 * Without an NVIDIA driver the CUDA calls fail with LUMEN_E_UNAVAILABLE and one sentence
 * ("CUDA: no NVIDIA driver (libcuda.so.1 not found)"); an NVENC encoder on a GPU without an
 * encoder engine fails the same way ("... this GPU has no NVENC engine").
 */
#ifndef LUMEN_CODEC_H
#define LUMEN_CODEC_H

#include <stdint.h>

#include "lumen_core.h"

/* the picture format an encoder is opened for (lumen_encoder_open's `format`), bits:
 * 0 = 8-bit 4:2:0 (I420); LUMEN_FMT_444: full-resolution chroma (H.264 High 4:4:4 Predictive,
 * HEVC Main 4:4:4); LUMEN_FMT_10BIT: 10-bit samples (HEVC Main10 / Main 4:4:4 10). Both are
 * software-encoder formats (libx264: 4:4:4 only; libx265: either); BT.709 limited range in every
 * format. */
#define LUMEN_FMT_444 1
#define LUMEN_FMT_10BIT 2

/* flags for lumen_encoder_encode / lumen_encoder_encode_cuda */
#define LUMEN_ENC_FORCE_IDR 1 /* this frame is encoded as an IDR (pict_type I; NVENC forced-idr) */

/* The info buffer an encode call fills: LUMEN_ENC_INFO_LEN bytes, int64 little-endian fields. */
#define LUMEN_ENC_INFO_LEN 64
#define LUMEN_ENC_INFO_FLAGS 0      /* int64 at byte 0: bit 0 = IDR (key frame) */
#define LUMEN_ENC_INFO_CONVERT_NS 1 /* int64 at byte 8: swscale / download / copy into the frame */
#define LUMEN_ENC_INFO_ENCODE_NS 2  /* int64 at byte 16: inside avcodec_send_frame + avcodec_receive_packet */
#define LUMEN_ENC_INFO_PTS 3        /* int64 at byte 24: the input frame number the packet came from */
#define LUMEN_ENC_INFO_PACKETS 4    /* int64 at byte 32: packets joined into this access unit (normally 1) */
#define LUMEN_ENC_INFO_NEEDED 5     /* int64 at byte 40: on LUMEN_E_BUFFER, the size the output needed */
#define LUMEN_ENC_INFO_GPU_KERNEL_NS 6   /* int64 at byte 48: a software encoder fed CUDA frames: the BGRx → I420 kernel's GPU time */
#define LUMEN_ENC_INFO_GPU_DOWNLOAD_NS 7 /* int64 at byte 56: ... and the I420 planes' download (GPU time); both 0 otherwise */

/* The info buffer lumen_cuda_frame_info fills: LUMEN_CUDA_FRAME_INFO_LEN bytes, little-endian.
 *   uint64 at 0: CUdeviceptr of the BGR0 plane      int32 at 8: pitch in bytes
 *   int32 at 12: width    int32 at 16: height       int32 at 20: CUDA device ordinal
 *   uint64 at 24: the CUcontext (the device's primary context) */
#define LUMEN_CUDA_FRAME_INFO_LEN 32

/* --- encoders ----------------------------------------------------------------------------- */

/* Opens an encoder ("libx264", "libx265", "libaom-av1", "h264_nvenc", "hevc_nvenc", "av1_nvenc") for
 * width x height (even, 16..8192) at fps (1..1000), bitrate_kbps (50..1000000) CBR, slices
 * per frame (1..64). cuda_pool: -1 for CPU frames, or a pool handle whose frames this encoder
 * will take (NVENC: required for lumen_encoder_encode_cuda; the pool must have the same size).
 * preset: the libx264/libx265 preset, or libaom's realtime speed 6-10 ("" = superfast for libx264, ultrafast
 * for libx265, 6 for libaom-av1; NVENC ignores it). convert_threads: 1, or 2 to split the BGRx → I420 conversion of frames of
 * 640x480 and more over a second thread. format: LUMEN_FMT_* bits (0 = 8-bit 4:2:0); a format
 * the encoder (or this build of its library) cannot encode fails with LUMEN_E_UNAVAILABLE, which
 * is how the host learns what to offer. Returns the encoder handle. */
LUMEN_API int32_t lumen_encoder_open(const char *encoder, int32_t width, int32_t height, int32_t fps, int32_t bitrate_kbps, int32_t slices, int32_t cuda_pool, const char *preset, int32_t convert_threads, int32_t format, char *err, int32_t err_len);
/* Encodes one BGRx frame of width x height (stride bytes per row; bgrx_len >= stride*(height-1) +
 * width*4) and writes the access unit into out; info (NULL, or at least LUMEN_ENC_INFO_LEN bytes)
 * gets LUMEN_ENC_INFO_LEN bytes (flags, timings). A frame of the encoder's size
 * (or one more in an odd dimension, whose last column/row is left out) is converted as is; any
 * other size is scaled to the encoder's size (swscale bilinear; the scaler is kept per input
 * size and rebuilt when it changes). Returns the access unit's length (0: the encoder
 * produced nothing for this frame). LUMEN_E_BUFFER when out is too small (info says how much
 * was needed; that packet is lost: size out to the encoder's width*height*4). */
LUMEN_API int32_t lumen_encoder_encode(int32_t encoder, const uint8_t *bgrx, int32_t bgrx_len, int32_t width, int32_t height, int32_t stride, int32_t flags, uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len, char *err, int32_t err_len);
/* Encodes a pooled CUDA frame (lumen_cuda_frame_get), like lumen_encoder_encode, but without
 * scaling: the frame must have the encoder's size (LUMEN_E_INVALID otherwise). The caller
 * still owns the frame handle and releases it afterwards; the encoder keeps its own
 * reference while it needs one. */
LUMEN_API int32_t lumen_encoder_encode_cuda(int32_t encoder, int32_t frame, int32_t flags, uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len, char *err, int32_t err_len);
/* Changes the bitrate (kbit/s) from the next frame on. Returns 0 when the encoder took the new
 * rate in place (libx264, NVENC), 1 when the encoder had to be reopened for it (libx265:
 * libavcodec 62 has no reconfiguration for it), in which case the next frame is an IDR. */
LUMEN_API int32_t lumen_encoder_set_bitrate(int32_t encoder, int32_t bitrate_kbps, char *err, int32_t err_len);
/* Writes a one-line description of the encoder's settings (NUL-terminated) into out. */
LUMEN_API int32_t lumen_encoder_describe(int32_t encoder, uint8_t *out, int32_t out_len);
/* Closes an encoder; 0, or LUMEN_E_INVALID for an unknown handle. */
LUMEN_API int32_t lumen_encoder_close(int32_t encoder);

/* --- pooled CUDA frames --------------------------------------------------------------------- */

/* 0 when the CUDA driver loads and has a device; else LUMEN_E_UNAVAILABLE and the reason. */
LUMEN_API int32_t lumen_cuda_check(char *err, int32_t err_len);
/* Opens a pool of BGR0 CUDA frames width x height on CUDA device `device` (its primary
 * context), holding up to pool_size frames at once (1..64). Returns the pool handle. */
LUMEN_API int32_t lumen_cuda_pool_open(int32_t device, int32_t width, int32_t height, int32_t pool_size, char *err, int32_t err_len);
/* Closes a pool (frames still held keep their memory until released). */
LUMEN_API int32_t lumen_cuda_pool_close(int32_t pool);
/* Takes a frame from the pool (av_hwframe_get_buffer); returns the frame handle. */
LUMEN_API int32_t lumen_cuda_frame_get(int32_t pool, char *err, int32_t err_len);
/* Writes LUMEN_CUDA_FRAME_INFO_LEN bytes describing the frame's device memory into out. */
LUMEN_API int32_t lumen_cuda_frame_info(int32_t frame, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Copies a BGRx host frame into the pooled frame (av_hwframe_transfer_data host → device); bgrx
 * holds bgrx_len bytes, at least stride*(height-1) + width*4. */
LUMEN_API int32_t lumen_cuda_frame_upload(int32_t frame, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len);
/* Copies the pooled frame back into a BGRx host buffer (av_hwframe_transfer_data); the same
 * length rule. */
LUMEN_API int32_t lumen_cuda_frame_download(int32_t frame, uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len);
/* Gives the frame back to its pool. */
LUMEN_API int32_t lumen_cuda_frame_release(int32_t frame);

/* --- decoders ------------------------------------------------------------------------------- */

#define LUMEN_DEC_BGRX 0 /* decoded picture as BGRx, width*4 bytes per row */
#define LUMEN_DEC_I420 1 /* decoded picture as I420: Y (w*h), U, V ((w/2)*(h/2) each) */
#define LUMEN_DEC_PLANAR 2 /* the decoder's own planar YUV, planes packed without padding: Y, U, V at
                            * their sizes (4:2:0: chroma (w/2)*(h/2); 4:4:4: w*h), one byte a sample
                            * at 8 bits, two (little-endian) above */

/* The info buffer a decode call fills: LUMEN_DEC_INFO_LEN bytes, int32 little-endian fields:
 * width, height, key frame (1/0), picture type (AVPictureType: 1 = I, 2 = P, 3 = B),
 * frames decoded so far, bit depth of the picture, chroma format (420, 422 or 444), and the
 * colour description the bitstream signals: bits 0-7 colour primaries, 8-15 transfer, 16-23
 * matrix (ISO/IEC 23091-4 codes: 1 = BT.709, 2 = unspecified, 9 = BT.2020, transfer 16 = PQ),
 * 24-31 range (1 = limited, 2 = full, 0 = unspecified). */
#define LUMEN_DEC_INFO_LEN 32

/* Opens a decoder: "h264", "hevc" or "av1" (dav1d); low delay, one picture out per access unit in. */
LUMEN_API int32_t lumen_decoder_open(const char *codec, char *err, int32_t err_len);
/* Feeds one access unit (Annex B; len 0 = end of stream, drain) and writes the next decoded
 * picture into out in `format`; info (NULL, or LUMEN_DEC_INFO_LEN bytes or more). Returns the picture's length, LUMEN_E_AGAIN when no picture is
 * ready yet, LUMEN_E_EOF when drained. */
LUMEN_API int32_t lumen_decoder_decode(int32_t decoder, const uint8_t *data, int32_t len, int32_t format, uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len, char *err, int32_t err_len);
/* Closes a decoder. */
LUMEN_API int32_t lumen_decoder_close(int32_t decoder);
/* PSNR of an I420 picture against a BGRx source converted the way the encoder converts it
 * (BT.709 limited range, swscale); bgrx_len and i420_len are the buffers' lengths (LUMEN_E_BUFFER
 * when shorter than the geometry needs). Writes four doubles into out: Y, U, V and all planes
 * (sample-weighted), in dB (100 when identical). */
LUMEN_API int32_t lumen_psnr_bgrx_i420(const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, const uint8_t *i420, int32_t i420_len, int32_t width, int32_t height, uint8_t *out, int32_t out_len, char *err, int32_t err_len);

/* PSNR of a LUMEN_DEC_PLANAR picture in encoder format `format` (LUMEN_FMT_* bits) against a
 * BGRx source converted the way an encoder opened with that format converts it; peak 255 at
 * 8 bits, 1023 at 10. The same lengths and result as lumen_psnr_bgrx_i420. */
LUMEN_API int32_t lumen_psnr_bgrx_planar(const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, const uint8_t *planar, int32_t planar_len, int32_t width, int32_t height, int32_t format, uint8_t *out, int32_t out_len, char *err, int32_t err_len);

#endif
