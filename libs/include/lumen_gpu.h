/* Lumen shim: the GPU side — the zero-copy probe and the zero-copy capture chain.
 *
 * CUDA is loaded at run time with ffnvcodec's cuda_load_functions (never linked); EGL and GL
 * come through the glvnd loaders. Without an NVIDIA driver every CUDA step fails with
 * LUMEN_E_UNAVAILABLE and a sentence saying so; nothing here crashes on a box without a GPU.
 *
 * Probe: each call writes one JSON object (UTF-8, NUL-terminated) into out and returns its
 * length; a check that fails is reported inside the JSON ({"ok":false,"error":"..."}), so the
 * status is negative only when out is too small (LUMEN_E_BUFFER) or memory ran out.
 *
 * Chain (issue 8): source EGLImage → GL texture → full-screen-triangle shader with a .bgra
 * swizzle into an immutable GL_RGBA8 texture (de-tiles and turns sampled RGB into the BGRx
 * byte order the encoder takes) → cuGraphicsGLRegisterImage, registered once at open → map →
 * device-to-device copy into a buffer the chain owns (the source can go back at once) →
 * device-to-device copy into a pooled CUDA frame (lumen_cuda_frame_get of lumen_codec.h, an
 * av_hwframe_get_buffer frame) → the encoder (lumen_encoder_encode_cuda).
 * One chain = one EGL display + GL context + the CUDA primary context of the GL device; all of
 * a chain's calls must come from one thread (the one that opened it).
 */
#ifndef LUMEN_GPU_H
#define LUMEN_GPU_H

#include <stdint.h>

#include "lumen_core.h"

/* flags for lumen_zc_capture */
#define LUMEN_ZC_STAGE_SYNC 1 /* wait for the GPU after every stage, so the stage timings are each stage's own */
#define LUMEN_ZC_COMPUTE 2    /* de-tile + swizzle with a compute pass instead of the full-screen triangle (GL 4.3+) */
#define LUMEN_ZC_REIMPORT 4   /* make a new EGLImage this frame instead of the one kept for the source */
#define LUMEN_ZC_LATE_UNMAP 8 /* unmap the registered texture after the pool copy is queued, not before */
#define LUMEN_ZC_FRAME_EVENT 16 /* unmap late and return once the pooled frame's copy is done, not the unmap */

/* The timings buffer lumen_zc_capture / lumen_zc_cpu_path fill: LUMEN_ZC_TIMINGS_LEN bytes,
 * int64 little-endian nanoseconds: import, draw, map+copy, pool copy, total, then the parts
 * map (cuGraphicsMapResources alone, inside map+copy) and frame get (taking the pooled frame,
 * inside pool copy), and one reserved. The CPU path fills read back in [1], upload in [3] and
 * total in [4]. */
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
 * render node when /dev/dri/renderD* exists, else the EGL device platform), the output RGBA8
 * texture registered with CUDA once, and the owned buffer. Returns the chain handle. */
LUMEN_API int32_t lumen_zc_open(int32_t width, int32_t height, char *err, int32_t err_len);
/* A dma-buf source (what PipeWire hands over): the chain dup()s fd; every capture imports it
 * as an EGLImage (EGL_LINUX_DMA_BUF_EXT with fourcc, offset, pitch and the 64-bit modifier as
 * its high and low halves, which cross the seam exactly as two uint32; pass 0x00ffffff,
 * 0xffffffff, DRM_FORMAT_MOD_INVALID, for "no modifier"). Returns a source id. */
LUMEN_API int32_t lumen_zc_source_dmabuf(int32_t chain, int32_t fd, uint32_t fourcc, int32_t offset, int32_t pitch, uint32_t modifier_hi, uint32_t modifier_lo, char *err, int32_t err_len);
/* A GL-texture source for GPU boxes without a DRM device: a texture in the GPU's own layout
 * filled from a BGRx picture (stride bytes per row, the chain's size); every capture makes an
 * EGLImage of it (EGL_GL_TEXTURE_2D_KHR), so all steps after eglCreateImage are the dma-buf
 * path's. Returns a source id. */
LUMEN_API int32_t lumen_zc_source_texture(int32_t chain, const uint8_t *bgrx, int32_t stride, char *err, int32_t err_len);
/* Refills a texture source from a new BGRx picture. */
LUMEN_API int32_t lumen_zc_source_update(int32_t chain, int32_t source, const uint8_t *bgrx, int32_t stride, char *err, int32_t err_len);
/* Closes a source. */
LUMEN_API int32_t lumen_zc_source_close(int32_t chain, int32_t source);
/* Runs the chain once: source → ... → a frame taken from the CUDA pool `pool` (lumen_codec.h,
 * same size). The source's EGLImage is made on its first capture and kept (a dma-buf source is
 * one buffer of the producer's small set), unless flags has LUMEN_ZC_REIMPORT. Returns the pooled frame's handle (the caller encodes and releases it); timings
 * gets LUMEN_ZC_TIMINGS_LEN bytes (may be empty). */
LUMEN_API int32_t lumen_zc_capture(int32_t chain, int32_t source, int32_t pool, int32_t flags, uint8_t *timings, int32_t timings_len, char *err, int32_t err_len);
/* The CPU path the chain replaces, for comparison: reads the source back into host (BGRx,
 * width*4 per row, host_len >= width*height*4) and uploads it into a pooled frame. Returns the
 * frame handle. */
LUMEN_API int32_t lumen_zc_cpu_path(int32_t chain, int32_t source, int32_t pool, uint8_t *host, int32_t host_len, uint8_t *timings, int32_t timings_len, char *err, int32_t err_len);
/* What the machine gives at best, for reading the chain's figures: over `iterations` rounds, the
 * median ns of (0) waiting on an empty CUDA stream, (1) one device-to-device copy of a frame
 * (owned buffer → a pooled frame) plus the wait for it, (2) that copy's GPU time (CUDA events).
 * Writes three int64 into out (24 bytes). */
LUMEN_API int32_t lumen_zc_baseline(int32_t chain, int32_t pool, int32_t iterations, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* For testing the dma-buf import where no producer exists: exports the chain's owned buffer (linear,
 * BGRx) as a dma-buf through CUDA (cuMemGetHandleForAddressRange). Returns the fd (the caller
 * closes it); out gets int32 pitch at 0 and int64 size at 8 (16 bytes). */
LUMEN_API int32_t lumen_zc_cuda_dmabuf(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Copies the chain's owned buffer (the last capture, BGRx) into out (width*4 per row). */
LUMEN_API int32_t lumen_zc_read_owned(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Writes LUMEN_ZC_STATS_LEN bytes of counters into out. */
LUMEN_API int32_t lumen_zc_stats(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Writes "GL_RENDERER | EGL platform | CUDA device" (NUL-terminated) into out. */
LUMEN_API int32_t lumen_zc_describe(int32_t chain, uint8_t *out, int32_t out_len);
/* Closes a chain: unregisters its texture, frees its buffer, destroys its context. */
LUMEN_API int32_t lumen_zc_close(int32_t chain);

#endif
