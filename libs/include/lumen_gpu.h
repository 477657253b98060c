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
 *
 * Measured on the H100 (driver 580): switching the GPU between the GL context and the CUDA
 * context costs ~150-170 µs each way (lumen_zc_latency), so any per-frame GL pass followed by a
 * CUDA copy costs ~400 µs at 5120x1440 however the hand-over is done. The fast path
 * (LUMEN_ZC_CUDA_COPY) therefore runs no GL per frame: an XRGB8888/ARGB8888 buffer already holds
 * B,G,R,X, so the source's EGLImage texture is registered with CUDA once, kept mapped, and copied
 * (de-tiled by the array copy) straight into the pooled frame (~80 µs at 5120x1440). The GL pass
 * (LUMEN_ZC_DIRECT: mapped output texture copied straight into the pooled frame) serves the other
 * formats, a per-frame image, or a driver that refuses the registration.
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
#define LUMEN_ZC_SHARED 32      /* with LUMEN_ZC_COMPUTE, on a chain whose owned buffer is shared with GL: the pass writes
                                   straight into it (no texture registration map, no texture copy); else ignored */
#define LUMEN_ZC_STREAM_WAIT 64 /* with LUMEN_ZC_SHARED: GL hands over to CUDA on the GPU (a flag the pass writes,
                                   cuStreamWaitValue32), not through a CPU-polled fence */
#define LUMEN_ZC_GPU_TIMES 128  /* GL timestamp queries and CUDA timing events: fills timings [8..12] */
#define LUMEN_ZC_WIDE 256       /* with LUMEN_ZC_SHARED: 4 pixels per shader invocation (width a multiple of 4) */
#define LUMEN_ZC_KERNEL_COPY 512 /* the pool copy as a CUDA kernel (PTX) instead of cuMemcpy2DAsync */
#define LUMEN_ZC_DIRECT 1024    /* the registered-texture path without the owned buffer: the mapped texture is copied
                                   straight into the pooled frame (the pass already freed the source) */
#define LUMEN_ZC_CUDA_COPY 2048 /* no GL pass: the source's EGLImage texture, registered with CUDA once per source, copied
                                   straight into the pooled frame (XRGB8888/ARGB8888 dma-bufs and raw texture sources hold
                                   B,G,R,X; the copy from the CUDA array de-tiles); other sources, a per-frame image
                                   (LUMEN_ZC_REIMPORT) or a refused registration take the GL pass (lumen_zc_cuda_copy_reason).
                                   The image stays mapped into CUDA between captures (GL does not touch it; the chain
                                   hands it back before a GL pass, a read back or a refill of a texture source) */
#define LUMEN_ZC_REMAP 4096     /* with LUMEN_ZC_CUDA_COPY: unmap the image after every capture (for comparison) */

/* flags for lumen_zc_open_ex */
#define LUMEN_ZC_OPEN_GL_NO_ERROR 1 /* a GL context without error checking (EGL_KHR_create_context_no_error) */
#define LUMEN_ZC_OPEN_NO_SHARED 2   /* do not share the owned buffer with GL (the registered-texture path only) */

/* The timings buffer lumen_zc_capture / lumen_zc_cpu_path fill: LUMEN_ZC_TIMINGS_LEN bytes,
 * int64 little-endian nanoseconds: [0] import, [1] draw, [2] map+copy, [3] pool copy, [4] total,
 * then the parts [5] map (cuGraphicsMapResources alone, inside map+copy) and [6] frame get
 * (taking the pooled frame, inside pool copy), [7] the path taken (0 registered texture + map,
 * 1 shared buffer + fence, 2 shared buffer + stream wait, 3 registered texture + map, copied
 * straight into the pooled frame: [2] is then taking the frame + map + queuing the copy and [3]
 * the wait for it; 4 the source image copied by CUDA, no GL pass: [1] is 0). With LUMEN_ZC_GPU_TIMES (GPU clocks):
 * [8] GL submit → pass start, [9] the pass's execution, [10] pass end → the CPU saw its fence
 * (0 when no CPU fence), [11] the pool copy's GPU time, [12] the texture → owned copy's GPU time
 * (map path) or the CUDA stream's wait for GL (stream-wait path); [13..15] reserved. The shared
 * path has no map+copy ([2] = 0): the pass writes the owned buffer. With stream wait, [1] is the
 * GL submission alone and [3] runs from there until the pooled frame is ready (the pass, the
 * hand-over and the copy). A 64-byte buffer gets [0..7].
 * The CPU path fills read back in [1], upload in [3] and total in [4]. */
#define LUMEN_ZC_TIMINGS_LEN 128
/* The stats buffer lumen_zc_stats fills: LUMEN_ZC_STATS_LEN bytes, int64 little-endian:
 * frames captured, GL textures registered with CUDA (ever), resources registered now, EGLImages
 * alive now, GPU memory free (bytes), GPU memory total (bytes), sources open, owned buffer
 * shared with GL (1/0). */
#define LUMEN_ZC_STATS_LEN 64

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
/* lumen_zc_open with LUMEN_ZC_OPEN_* flags. Unless LUMEN_ZC_OPEN_NO_SHARED, the chain also tries
 * to share its owned buffer with GL: CUDA memory from cuMemCreate exported as an opaque fd
 * (cuMemExportToShareableHandle) and imported with GL_EXT_memory_object_fd as a storage buffer
 * the compute pass writes BGRx into (LUMEN_ZC_SHARED); when that fails the chain still opens and
 * lumen_zc_shared_reason says why. */
LUMEN_API int32_t lumen_zc_open_ex(int32_t width, int32_t height, int32_t flags, char *err, int32_t err_len);
/* Why the owned buffer is not shared with GL (NUL-terminated into out; returns its length), or 0
 * (out = "") when it is. */
LUMEN_API int32_t lumen_zc_shared_reason(int32_t chain, uint8_t *out, int32_t out_len);
/* Why a LUMEN_ZC_CUDA_COPY capture took the GL pass (NUL-terminated into out; returns its length,
 * 0 when it never did). */
LUMEN_API int32_t lumen_zc_cuda_copy_reason(int32_t chain, uint8_t *out, int32_t out_len);
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
/* A texture source that holds the BGRx bytes as they are (an RGBA8 texture with B,G,R,X in memory,
 * as an XRGB8888 dma-buf's memory is), sampled through a texture swizzle so the GL passes read RGB
 * as from such a dma-buf: the stand-in for a dma-buf with LUMEN_ZC_CUDA_COPY. Returns a source id. */
LUMEN_API int32_t lumen_zc_source_texture_raw(int32_t chain, const uint8_t *bgrx, int32_t stride, char *err, int32_t err_len);
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
/* Where the time goes between the two APIs, with no interop object involved: over `iterations`
 * rounds (gap_us of sleep before each), mode 1 runs the compute pass alone (the texture source's
 * own texture → the RGBA8 texture, CPU-polled fence), mode 2 a frame copy on the CUDA stream
 * alone (owned buffer → a pooled frame, CPU-polled event), mode 3 both one after the other.
 * Writes six int64 medians (ns) into out (48 bytes): GL wall, GL submit → pass start, GL pass
 * execution (GPU clock), CUDA wall, CUDA copy GPU time, round total. */
LUMEN_API int32_t lumen_zc_latency(int32_t chain, int32_t source, int32_t pool, int32_t mode, int32_t iterations, int32_t gap_us, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* For testing the dma-buf import where no producer exists: exports the chain's owned buffer (linear,
 * BGRx) as a dma-buf through CUDA (cuMemGetHandleForAddressRange). Returns the fd (the caller
 * closes it); out gets int32 pitch at 0 and int64 size at 8 (16 bytes). */
LUMEN_API int32_t lumen_zc_cuda_dmabuf(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Whether the pool's frames could be written by GL directly (for the record): takes a frame and
 * writes a sentence into out saying whether its memory is a cuMemCreate allocation and whether
 * GL imports its dma-buf as a memory object. Returns the sentence's length. */
LUMEN_API int32_t lumen_zc_pool_shareable(int32_t chain, int32_t pool, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Copies the owned buffer the last capture filled (BGRx) into out (width*4 per row). */
LUMEN_API int32_t lumen_zc_read_owned(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Writes LUMEN_ZC_STATS_LEN bytes of counters into out. */
LUMEN_API int32_t lumen_zc_stats(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Writes "GL_RENDERER | EGL platform | CUDA device" (NUL-terminated) into out. */
LUMEN_API int32_t lumen_zc_describe(int32_t chain, uint8_t *out, int32_t out_len);
/* Closes a chain: unregisters its texture, frees its buffer, destroys its context. */
LUMEN_API int32_t lumen_zc_close(int32_t chain);

#endif
