/* The zero-copy chain's state, shared by the chain (zerocopy.c) and its measuring tools
 * (zerocopy_bench.c); not part of the ABI. */
#ifndef LUMEN_ZEROCOPY_INTERNAL_H
#define LUMEN_ZEROCOPY_INTERNAL_H

#include "gpu.h"
#include "internal.h"

/* A source: a dma-buf plane, or a GL texture standing in for one on GPUs without a DRM device. */
typedef struct {
  LumenSlot slot;
  int32_t chain; /* the handle of the chain it belongs to */
  bool dmabuf;
  bool raw;   /* texture source holding BGRx bytes as an XRGB8888 dma-buf does (samples through a swizzle) */
  GLuint tex; /* texture source: the picture, GPU layout */
  GLuint fbo; /* texture source: for the CPU path's read back */
  int fd;
  uint32_t fourcc;
  int offset, pitch;
  uint64_t modifier;
  EGLImageKHR image; /* the source's EGLImage, imported once and kept (PipeWire cycles a few buffers) */
  GLuint image_tex;  /* a texture bound to that image */
  CUgraphicsResource res; /* the CUDA copy: image_tex registered with CUDA, once */
  bool cuda_failed;  /* the registration was refused: this source takes the GL pass */
  bool dirty;        /* texture source refilled since the last capture (GL upload not yet waited for) */
  bool mapped;       /* res mapped into CUDA, kept mapped between captures (GL does not touch the image meanwhile) */
  CUarray arr;       /* its array while mapped */
} zc_source;

typedef struct {
  LumenSlot slot;
  int32_t handle;
  int w, h;
  gpu_gl g;
  GLuint prog, cprog, vao, import_tex, out_tex, out_fbo, read_fbo;
  GLuint pattern_prog; /* gpu_pattern.c's program, built for the first pattern a source draws */
  CUdevice dev;
  CUcontext cuctx;
  CUstream stream;
  CUevent copied; /* recorded after the copy into the pooled frame */
  CUgraphicsResource res; /* out_tex registered with CUDA at open */
  int64_t frames, registrations, live_images;
  int32_t sources;
  CUdeviceptr scratch; /* zerocopy_bench.c: a BGRx device buffer (machine-floor copy, dma-buf export) */
  size_t scratch_pitch;
  char describe[480];
  char cuda_why[300]; /* why the CUDA copy fell back to the GL pass (empty: it did not) */
} zc_chain;

/* The live chain behind h (held until zc_chain_release), or NULL. */
zc_chain *zc_chain_acquire(int32_t h);
void zc_chain_release(zc_chain *c);
/* The live source behind h when it belongs to c (held until zc_source_release), or NULL. */
zc_source *zc_source_acquire(zc_chain *c, int32_t h);
void zc_source_release(zc_source *s);
/* Hands a source's image back to GL (before GL reads or refills it, or before it goes). */
void zc_source_unmap(zc_chain *c, zc_source *s);
/* The import step: an EGLImage of the source (the dma-buf, or the GL texture). */
EGLImageKHR zc_import_image(zc_chain *c, zc_source *s, char *err, int32_t err_len);
/* Takes a frame of the CUDA pool (lumen_codec.h) and checks its size; returns its handle. */
int32_t zc_pool_frame(int32_t pool, CUdeviceptr *ptr, size_t *pitch, int w, int h, char *err, int32_t err_len);
/* Writes the LUMEN_ZC_TIMINGS_LEN bytes of v into t when the caller gave a buffer (length checked at entry). */
void zc_put_timings(uint8_t *t, int32_t len, const int64_t *v);
/* Checks a timings buffer: none (len 0) or at least LUMEN_ZC_TIMINGS_LEN bytes. */
int32_t zc_check_timings(const uint8_t *t, int32_t len, char *err, int32_t err_len);

#endif
