/* Measuring tools for bench/zerocopy.ts (lumen_gpu.h): the CPU path the chain replaces, the
 * machine's copy floor, and a CUDA-exported dma-buf to exercise the import where no producer
 * exists. No command uses them. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "lumen_codec.h"
#include "lumen_gpu.h"
#include "zerocopy.h"

/* The chain's scratch BGRx device buffer, allocated on first use and freed with the chain. */
static CUresult scratch(zc_chain *c) {
  if (c->scratch) return CUDA_SUCCESS;
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  CUresult r = cu->cuMemAllocPitch(&c->scratch, &c->scratch_pitch, (size_t)c->w * 4, (size_t)c->h, 16);
  if (r != CUDA_SUCCESS) c->scratch = 0;
  cu->cuCtxPopCurrent(&d);
  return r;
}

static int32_t cpu_path(zc_chain *c, zc_source *s, int32_t pool, uint8_t *host, int32_t host_len, uint8_t *timings,
                        int32_t timings_len, char *err, int32_t err_len) {
  if (host_len < c->w * c->h * 4)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the host buffer has %d bytes; it needs %d", host_len, c->w * c->h * 4);
  int64_t t0 = lumen_mono_ns();
  if (!gl_current(&c->g)) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  zc_source_unmap(c, s);
  EGLImageKHR img = EGL_NO_IMAGE_KHR;
  GLuint fbo = s->fbo;
  if (s->dmabuf) {
    if ((img = zc_import_image(c, s, err, err_len)) == EGL_NO_IMAGE_KHR) return LUMEN_E_FAILED;
    glBindTexture(GL_TEXTURE_2D, c->import_tex);
    c->g.image_target(GL_TEXTURE_2D, img);
    glBindFramebuffer(GL_FRAMEBUFFER, c->read_fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, c->import_tex, 0);
    fbo = c->read_fbo;
  }
  if (s->raw) { /* the texture holds B,G,R,X already */
    glBindFramebuffer(GL_READ_FRAMEBUFFER, fbo);
    glPixelStorei(GL_PACK_ALIGNMENT, 4);
    glReadPixels(0, 0, c->w, c->h, GL_RGBA, GL_UNSIGNED_BYTE, host);
  } else {
    gl_read_bgrx(c->g.gles, fbo, c->w, c->h, host);
  }
  if (img != EGL_NO_IMAGE_KHR) c->g.destroy_image(c->g.dpy, img), c->live_images--;
  int64_t t1 = lumen_mono_ns();
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = zc_pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  if (f < 0) return f;
  CUcontext d;
  char e[160];
  cu->cuCtxPushCurrent(c->cuctx);
  CUDA_MEMCPY2D m = {0};
  m.srcMemoryType = CU_MEMORYTYPE_HOST, m.srcHost = host, m.srcPitch = (size_t)c->w * 4;
  m.dstMemoryType = CU_MEMORYTYPE_DEVICE, m.dstDevice = fptr, m.dstPitch = fpitch;
  m.WidthInBytes = (size_t)c->w * 4, m.Height = (size_t)c->h;
  CUresult r = cu->cuMemcpy2D(&m);
  cu->cuCtxPopCurrent(&d);
  int64_t t2 = lumen_mono_ns();
  if (r != CUDA_SUCCESS) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: upload (cuMemcpy2D host to device): %s", cu_err(r, e, sizeof e));
  }
  int64_t t[LUMEN_ZC_TIMINGS_LEN / 8] = {0, t1 - t0, 0, t2 - t1, t2 - t0};
  zc_put_timings(timings, timings_len, t);
  return f;
}

int32_t lumen_zc_cpu_path(int32_t chain, int32_t source, int32_t pool, uint8_t *host, int32_t host_len, uint8_t *timings,
                          int32_t timings_len, char *err, int32_t err_len) {
  if (!host || host_len <= 0) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: no host buffer (%d bytes)", host_len);
  int32_t st = zc_check_timings(timings, timings_len, err, err_len);
  if (st < 0) return st;
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  zc_source *s = zc_source_acquire(c, source);
  st = s ? cpu_path(c, s, pool, host, host_len, timings, timings_len, err, err_len)
         : lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown source %d", source);
  zc_source_release(s);
  zc_chain_release(c);
  return st;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

typedef CUresult CUDAAPI tcuEventElapsedTime(float *ms, CUevent start, CUevent end);

static int32_t baseline(zc_chain *c, int32_t pool, int32_t iterations, int64_t med[3], char *err, int32_t err_len) {
  char e[160];
  CUresult r = scratch(c);
  if (r != CUDA_SUCCESS) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: cuMemAllocPitch: %s", cu_err(r, e, sizeof e));
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = zc_pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  if (f < 0) return f;
  tcuEventElapsedTime *elapsed = cuda_symbol("cuEventElapsedTime_v2");
  if (!elapsed) elapsed = cuda_symbol("cuEventElapsedTime");
  int64_t *a = malloc(sizeof(int64_t) * (size_t)iterations * 3);
  if (!a) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "zero-copy: out of memory");
  }
  int64_t *wait = a, *copy = a + iterations, *gpu = a + 2 * iterations;
  CUcontext d;
  CUevent e0 = NULL, e1 = NULL;
  cu->cuCtxPushCurrent(c->cuctx);
  cu->cuEventCreate(&e0, 0);
  cu->cuEventCreate(&e1, 0);
  CUDA_MEMCPY2D m = {0};
  m.srcMemoryType = CU_MEMORYTYPE_DEVICE, m.srcDevice = c->scratch, m.srcPitch = c->scratch_pitch;
  m.dstMemoryType = CU_MEMORYTYPE_DEVICE, m.dstDevice = fptr, m.dstPitch = fpitch;
  m.WidthInBytes = (size_t)c->w * 4, m.Height = (size_t)c->h;
  for (int i = 0; i < iterations && r == CUDA_SUCCESS; i++) {
    int64_t t0 = lumen_mono_ns();
    r = cuda_wait_stream(c->stream, 50 * 1000000LL); /* nothing queued: the cost of asking */
    int64_t t1 = lumen_mono_ns();
    cu->cuEventRecord(e0, c->stream);
    if (r == CUDA_SUCCESS) r = cu->cuMemcpy2DAsync(&m, c->stream);
    cu->cuEventRecord(e1, c->stream);
    if (r == CUDA_SUCCESS) r = cuda_wait_stream(c->stream, 50 * 1000000LL);
    int64_t t2 = lumen_mono_ns();
    float ms = 0;
    if (elapsed) elapsed(&ms, e0, e1);
    wait[i] = t1 - t0, copy[i] = t2 - t1, gpu[i] = (int64_t)(ms * 1e6f);
  }
  cu->cuEventDestroy(e0);
  cu->cuEventDestroy(e1);
  cu->cuCtxPopCurrent(&d);
  lumen_cuda_frame_release(f);
  if (r != CUDA_SUCCESS) {
    free(a);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: baseline copy: %s", cu_err(r, e, sizeof e));
  }
  for (int k = 0; k < 3; k++) {
    qsort(a + (size_t)k * iterations, (size_t)iterations, sizeof(int64_t), cmp_i64);
    med[k] = a[(size_t)k * iterations + iterations / 2];
  }
  free(a);
  return 0;
}

int32_t lumen_zc_baseline(int32_t chain, int32_t pool, int32_t iterations, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (!out || out_len < 24)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the baseline buffer has %d bytes; it needs 24", out_len);
  if (iterations < 1 || iterations > 100000)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: iterations %d outside 1..100000", iterations);
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  int64_t med[3];
  int32_t st = baseline(c, pool, iterations, med, err, err_len);
  zc_chain_release(c);
  if (st < 0) return st;
  memcpy(out, med, sizeof med);
  return 24;
}

typedef CUresult CUDAAPI tcuMemGetHandleForAddressRange(void *handle, CUdeviceptr dptr, size_t size, int type,
                                                         unsigned long long flags);

static int32_t cuda_dmabuf(zc_chain *c, uint8_t *out, char *err, int32_t err_len) {
  tcuMemGetHandleForAddressRange *get = cuda_symbol("cuMemGetHandleForAddressRange");
  if (!get)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "zero-copy: this CUDA driver cannot export dma-bufs (no cuMemGetHandleForAddressRange)");
  char e[160];
  CUresult r = scratch(c);
  if (r != CUDA_SUCCESS) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: cuMemAllocPitch: %s", cu_err(r, e, sizeof e));
  size_t size = (c->scratch_pitch * (size_t)c->h + 4095) & ~(size_t)4095;
  int fd = -1;
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  r = get(&fd, c->scratch, size, 1 /* CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD */, 0);
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS)
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: CUDA could not export its buffer as a dma-buf: %s", cu_err(r, e, sizeof e));
  int32_t pitch = (int32_t)c->scratch_pitch;
  int64_t sz = (int64_t)size;
  memcpy(out, &pitch, 4);
  memset(out + 4, 0, 4);
  memcpy(out + 8, &sz, 8);
  return fd;
}

int32_t lumen_zc_cuda_dmabuf(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (!out || out_len < 16)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the dma-buf info buffer has %d bytes; it needs 16", out_len);
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  int32_t st = cuda_dmabuf(c, out, err, err_len);
  zc_chain_release(c);
  return st;
}
