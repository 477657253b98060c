/* Lumen shim: the GPU side — the zero-copy probe and the zero-copy capture chain.
 *
 * CUDA is loaded at run time with ffnvcodec's cuda_load_functions (never linked); EGL and GL
 * come through the glvnd loaders. Without an NVIDIA driver every CUDA step fails with
 * LUMEN_E_UNAVAILABLE and a sentence saying so; nothing here crashes on a box without a GPU.
 * Every buffer crosses with its length, checked before any GPU call where the check needs no
 * chain (a too-short buffer is LUMEN_E_BUFFER with the sizes in the sentence).
 *
 * Probe: each call writes one JSON object (UTF-8, NUL-terminated) into out and returns its
 * length; a check that fails is reported inside the JSON ({"ok":false,"error":"..."}), so the
 * status is negative only when out is too small (LUMEN_E_BUFFER) or memory ran out.
 *
 * Chain: a source (a dma-buf plane, or a GL texture standing in for one) is imported once as an
 * EGLImage and bound to a GL texture; each capture turns it into a frame taken from a pool of
 * CUDA frames (lumen_cuda_frame_get of lumen_codec.h, av_hwframe_get_buffer), which the caller
 * encodes (lumen_encoder_encode_cuda) and releases. Two ways, chosen per source:
 *  - the CUDA copy (XRGB8888/ARGB8888 dma-bufs and raw texture sources, whose bytes already are
 *    the B,G,R,X the encoder takes): the image's texture is registered with CUDA once, mapped
 *    once and kept mapped, and copied straight into the pooled frame (the copy out of the CUDA
 *    array de-tiles). No GL work per frame: on the H100 switching the GPU between the GL and CUDA
 *    contexts costs ~150-170 µs each way, and this path measured ~80 µs at 5120x1440.
 *  - the GL pass (other formats, a per-frame image, a refused registration, or LUMEN_ZC_GL_PASS):
 *    a compute pass (the full-screen triangle where GL has no compute shaders) de-tiles and
 *    swizzles the image with texelFetch into the chain's RGBA8 texture, registered with CUDA at
 *    open, which is mapped, copied into the pooled frame and unmapped (~450 µs at 5120x1440 on
 *    the H100, nearly all of it the context switches).
 * One chain = one EGL display + GL context + the CUDA primary context of the GL device; all of a
 * chain's calls must come from one thread (the one that opened it). Chains and sources are
 * generation-tagged handles: a closed one is refused, even after its slot is reused.
 * docs/zerocopy-experiments.md keeps the hand-overs that were measured and lost.
 */
#ifndef LUMEN_GPU_H
#define LUMEN_GPU_H

#include <stdint.h>

#include "lumen_core.h"

/* flags for lumen_zc_capture */
#define LUMEN_ZC_REIMPORT 1 /* a new EGLImage this frame instead of the one kept for the source (takes the GL pass) */
#define LUMEN_ZC_GL_PASS 2  /* the GL pass even where the CUDA copy would serve (for comparison) */

/* The timings buffer lumen_zc_capture / lumen_zc_cpu_path fill: 0 bytes (none) or at least
 * LUMEN_ZC_TIMINGS_LEN, int64 little-endian nanoseconds: [0] import (binding the source's
 * image), [1] the GL pass (0 with the CUDA copy), [2] queue (taking the pooled frame, mapping,
 * queuing the copy), [3] waiting for the copy, [4] total, then the parts of [2]: [5] map, [6]
 * taking the frame; [7] the path taken (0 GL pass, 1 CUDA copy). The CPU path fills read back in
 * [1], upload in [3] and total in [4]. */
#define LUMEN_ZC_TIMINGS_LEN 64
/* The stats buffer lumen_zc_stats fills: LUMEN_ZC_STATS_LEN bytes, int64 little-endian:
 * frames captured, GL textures registered with CUDA (ever), resources registered now, EGLImages
 * alive now, GPU memory free (bytes), GPU memory total (bytes), sources open. */
#define LUMEN_ZC_STATS_LEN 56

/* --- probe ---------------------------------------------------------------------------------- */

/* CUDA: {"ok","error"?,"driverVersion"?,"devices":[{"index","name","computeCapability","memoryBytes"}]}. */
LUMEN_API int32_t lumen_probe_cuda(uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* EGL, GL, the dma-buf round trip and GL→CUDA, which share one display and context:
 * {"egl":{...},"gl":{...},"dmabuf":{...},"glCuda":{...}}. */
LUMEN_API int32_t lumen_probe_egl(uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* NVENC: opens a hevc_nvenc session through libavcodec on a CUDA device context:
 * {"ok","error"?,"encoder"}. */
LUMEN_API int32_t lumen_probe_nvenc(uint8_t *out, int32_t out_len, char *err, int32_t err_len);

/* --- chain ---------------------------------------------------------------------------------- */

/* Opens a chain for width x height frames (16..8192): the EGL display and GL context (GBM on a
 * render node when /dev/dri/renderD* exists, else the EGL device platform) and the GL pass's
 * RGBA8 texture, registered with CUDA once. Returns the chain handle. */
LUMEN_API int32_t lumen_zc_open(int32_t width, int32_t height, char *err, int32_t err_len);
/* Why a capture took the GL pass although the source's format allows the CUDA copy
 * (NUL-terminated into out; returns its length, 0 when it never did). */
LUMEN_API int32_t lumen_zc_cuda_copy_reason(int32_t chain, uint8_t *out, int32_t out_len);
/* A dma-buf source (what PipeWire hands over): the chain dup()s fd; the first capture imports it
 * as an EGLImage (EGL_LINUX_DMA_BUF_EXT with fourcc, offset, pitch and the 64-bit modifier as
 * its high and low halves, which cross the seam exactly as two uint32; pass 0x00ffffff,
 * 0xffffffff, DRM_FORMAT_MOD_INVALID, for "no modifier"). Returns a source handle. */
LUMEN_API int32_t lumen_zc_source_dmabuf(int32_t chain, int32_t fd, uint32_t fourcc, int32_t offset, int32_t pitch, uint32_t modifier_hi, uint32_t modifier_lo, char *err, int32_t err_len);
/* A GL-texture source for GPU boxes without a DRM device: a texture in the GPU's own layout
 * filled from a BGRx picture (bgrx_len bytes, stride bytes per row, the chain's size: at least
 * stride*(height-1) + width*4 bytes); its EGLImage (EGL_GL_TEXTURE_2D_KHR) goes through the GL
 * pass, so all steps after eglCreateImage are the dma-buf path's. Returns a source handle. */
LUMEN_API int32_t lumen_zc_source_texture(int32_t chain, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len);
/* A texture source that holds the BGRx bytes as they are (an RGBA8 texture with B,G,R,X in memory,
 * as an XRGB8888 dma-buf's memory is), sampled through a texture swizzle so the GL pass reads RGB
 * as from such a dma-buf: the stand-in for a dma-buf with the CUDA copy. Returns a source handle. */
LUMEN_API int32_t lumen_zc_source_texture_raw(int32_t chain, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len);
/* Refills a texture source from a new BGRx picture (the same length rule). */
LUMEN_API int32_t lumen_zc_source_update(int32_t chain, int32_t source, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len);
/* Draws synthetic-pattern frame `frame` (0..2^32-1) with the clock clock_ms into a texture
 * source on the GPU: the pixels lumen_pattern_draw draws, with the stamp (stamp 0..2^32-1 and
 * its 8-bit check, as src/media/capture/stamp.ts writes them; stamp < 0 for none). */
LUMEN_API int32_t lumen_zc_source_pattern(int32_t chain, int32_t source, int64_t frame, int64_t clock_ms, int64_t stamp, int32_t stamp_check, char *err, int32_t err_len);
/* The same pattern drawn by the same shader in a GL context of its own (any EGL display with
 * desktop GL 4.3: NVIDIA's, or Mesa's software one), read back as BGRx into bgrx (at least
 * width*4*height bytes, stride width*4); raw: through a texture holding B,G,R,X as the chain's
 * raw source does, else R,G,B. What checks the GPU drawer against lumen_pattern_draw anywhere. */
LUMEN_API int32_t lumen_pattern_draw_gl(uint8_t *bgrx, int32_t bgrx_len, int32_t width, int32_t height, int64_t frame, int64_t clock_ms, int64_t stamp, int32_t stamp_check, int32_t raw, char *err, int32_t err_len);
/* Closes a source. */
LUMEN_API int32_t lumen_zc_source_close(int32_t chain, int32_t source);
/* Runs the chain once: source → a frame taken from the CUDA pool `pool` (lumen_codec.h, same
 * size), by the CUDA copy or the GL pass (see above; LUMEN_ZC_* flags). Returns the pooled frame's
 * handle (the caller encodes and releases it); timings: 0 or LUMEN_ZC_TIMINGS_LEN bytes. */
LUMEN_API int32_t lumen_zc_capture(int32_t chain, int32_t source, int32_t pool, int32_t flags, uint8_t *timings, int32_t timings_len, char *err, int32_t err_len);
/* Writes LUMEN_ZC_STATS_LEN bytes of counters into out. */
LUMEN_API int32_t lumen_zc_stats(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Writes "GL_RENDERER | EGL platform | CUDA device" (NUL-terminated) into out. */
LUMEN_API int32_t lumen_zc_describe(int32_t chain, uint8_t *out, int32_t out_len);
/* Closes a chain and its sources: unregisters its textures, destroys its context. */
LUMEN_API int32_t lumen_zc_close(int32_t chain);

/* --- measuring tools for bench/zerocopy.ts (libs/src/zerocopy_bench.c) ------------------------ */

/* The CPU path the chain replaces: reads the source back into host (BGRx, width*4 per row,
 * host_len >= width*height*4) and uploads it into a pooled frame. Returns the frame handle. */
LUMEN_API int32_t lumen_zc_cpu_path(int32_t chain, int32_t source, int32_t pool, uint8_t *host, int32_t host_len, uint8_t *timings, int32_t timings_len, char *err, int32_t err_len);
/* The machine's floor: over `iterations` rounds, the median ns of (0) waiting on an empty CUDA
 * stream, (1) one device-to-device copy of a frame into a pooled frame plus the wait for it,
 * (2) that copy's GPU time (CUDA events). Writes three int64 into out (24 bytes). */
LUMEN_API int32_t lumen_zc_baseline(int32_t chain, int32_t pool, int32_t iterations, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* For testing the dma-buf import where no producer exists: exports a linear BGRx CUDA buffer of
 * the chain's size as a dma-buf (cuMemGetHandleForAddressRange). Returns the fd (the caller
 * closes it); out gets int32 pitch at 0 and int64 size at 8 (16 bytes). */
LUMEN_API int32_t lumen_zc_cuda_dmabuf(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len);

#endif
