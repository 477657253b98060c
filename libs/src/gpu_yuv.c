/* BGRx → I420 on the GPU for software encoders fed pooled CUDA frames (lumen_codec.h): the
 * kernel of libs/cuda/bgrx_to_i420.cu, loaded as PTX the driver compiles when a converter opens
 * (no CUDA toolkit at build time), converts the frame on the device, and only the I420 planes
 * (1.5 bytes a pixel instead of the BGRx frame's 4) cross to the host. Byte-exact with
 * lumen_bgrx_to_i420: the kernel does the same integer arithmetic per 2x2 block. */
#include <stdio.h>
#include <stdlib.h>

#include "gpu.h"
#include "gpu_yuv.h"
#include "gpu_yuv_ptx.h"
#include "internal.h"

typedef CUresult CUDAAPI tcuEventElapsedTime(float *ms, CUevent start, CUevent end);

struct gpu_yuv {
  tcuEventElapsedTime *elapsed;
  CUcontext ctx;
  CUmodule module;
  CUfunction kernel;
  CUstream stream;
  CUevent start, converted, downloaded;
  CUdeviceptr planes; /* Y (width x height), then U and V (width/2 x height/2), rows packed */
  int width, height;
};

static int32_t cu_fail(char *err, int32_t err_len, const char *what, CUresult r) {
  char e[160];
  return lumen_fail(err, err_len, LUMEN_E_FAILED, "GPU conversion: %s failed: %s", what, cu_err(r, e, sizeof e));
}

void gpu_yuv_close(gpu_yuv *y) {
  if (!y) return;
  if (cu && y->ctx) {
    CUcontext d;
    cu->cuCtxPushCurrent(y->ctx);
    if (y->stream) cu->cuStreamSynchronize(y->stream);
    if (y->planes) cu->cuMemFree(y->planes);
    if (y->start) cu->cuEventDestroy(y->start);
    if (y->converted) cu->cuEventDestroy(y->converted);
    if (y->downloaded) cu->cuEventDestroy(y->downloaded);
    if (y->stream) cu->cuStreamDestroy(y->stream);
    if (y->module) cu->cuModuleUnload(y->module);
    cu->cuCtxPopCurrent(&d);
  }
  free(y);
}

int32_t gpu_yuv_open(gpu_yuv **out, void *cuda_ctx, int width, int height, char *err, int32_t err_len) {
  *out = NULL;
  CUcontext ctx = cuda_ctx;
  int32_t st = cuda_ready(err, err_len);
  if (st < 0) return st;
  if (width < 2 || height < 2 || (width & 1) || (height & 1))
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "GPU conversion: %dx%d is not an even size", width, height);
  gpu_yuv *y = calloc(1, sizeof *y);
  if (!y) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  y->ctx = ctx, y->width = width, y->height = height;
  CUcontext d;
  CUresult r = cu->cuCtxPushCurrent(ctx);
  if (r != CUDA_SUCCESS) {
    free(y);
    return cu_fail(err, err_len, "making the pool's context current", r);
  }
  const char *what = "loading the conversion kernel (PTX)";
  if ((r = cu->cuModuleLoadData(&y->module, gpu_yuv_ptx)) != CUDA_SUCCESS) goto fail;
  what = "finding the conversion kernel";
  if ((r = cu->cuModuleGetFunction(&y->kernel, y->module, "bgrx_to_i420")) != CUDA_SUCCESS) goto fail;
  /* a blocking stream: ordered after work on the legacy default stream, where libavcodec's CUDA
   * hwcontext queues its uploads into pooled frames (av_hwframe_transfer_data does not wait for
   * an upload to finish) */
  what = "creating a stream";
  if ((r = cu->cuStreamCreate(&y->stream, CU_STREAM_DEFAULT)) != CUDA_SUCCESS) goto fail;
  what = "creating events";
  if ((r = cu->cuEventCreate(&y->start, CU_EVENT_DEFAULT)) != CUDA_SUCCESS) goto fail;
  if ((r = cu->cuEventCreate(&y->converted, CU_EVENT_DEFAULT)) != CUDA_SUCCESS) goto fail;
  if ((r = cu->cuEventCreate(&y->downloaded, CU_EVENT_DEFAULT)) != CUDA_SUCCESS) goto fail;
  what = "allocating the I420 planes";
  if ((r = cu->cuMemAlloc(&y->planes, (size_t)width * height * 3 / 2)) != CUDA_SUCCESS) goto fail;
  cu->cuCtxPopCurrent(&d);
  y->elapsed = (tcuEventElapsedTime *)cuda_symbol("cuEventElapsedTime");
  *out = y;
  return 0;
fail:
  cu->cuCtxPopCurrent(&d);
  st = cu_fail(err, err_len, what, r);
  gpu_yuv_close(y);
  return st;
}

int32_t gpu_yuv_convert(gpu_yuv *y, uint64_t src_addr, size_t pitch, uint8_t *const planes[3], const int linesize[3], int64_t *kernel_ns,
                        int64_t *download_ns, char *err, int32_t err_len) {
  CUdeviceptr src = (CUdeviceptr)src_addr;
  int w = y->width, h = y->height, hw = w / 2, hh = h / 2;
  CUdeviceptr dy = y->planes, du = dy + (size_t)w * h, dv = du + (size_t)hw * hh;
  unsigned long long src_pitch = pitch;
  void *args[] = {&src, &src_pitch, &dy, &du, &dv, &w, &h};
  CUcontext d;
  CUresult r = cu->cuCtxPushCurrent(y->ctx);
  if (r != CUDA_SUCCESS) return cu_fail(err, err_len, "making the pool's context current", r);
  const char *what = "launching the kernel";
  cu->cuEventRecord(y->start, y->stream);
  if ((r = cu->cuLaunchKernel(y->kernel, (unsigned)(hw + 31) / 32, (unsigned)(hh + 7) / 8, 1, 32, 8, 1, 0, y->stream, args, NULL)) !=
      CUDA_SUCCESS)
    goto fail;
  cu->cuEventRecord(y->converted, y->stream);
  what = "downloading the planes";
  const CUdeviceptr from[3] = {dy, du, dv};
  const int pw[3] = {w, hw, hw}, ph[3] = {h, hh, hh};
  for (int i = 0; i < 3; i++) {
    CUDA_MEMCPY2D m = {0};
    m.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    m.srcDevice = from[i];
    m.srcPitch = (size_t)pw[i];
    m.dstMemoryType = CU_MEMORYTYPE_HOST;
    m.dstHost = planes[i];
    m.dstPitch = (size_t)linesize[i];
    m.WidthInBytes = (size_t)pw[i];
    m.Height = (size_t)ph[i];
    if ((r = cu->cuMemcpy2DAsync(&m, y->stream)) != CUDA_SUCCESS) goto fail;
  }
  cu->cuEventRecord(y->downloaded, y->stream);
  what = "waiting for the conversion";
  if ((r = cuda_wait_event(y->downloaded, 2000000)) != CUDA_SUCCESS) goto fail;
  float ms = 0;
  *kernel_ns = y->elapsed && y->elapsed(&ms, y->start, y->converted) == CUDA_SUCCESS ? (int64_t)(ms * 1e6) : 0;
  *download_ns = y->elapsed && y->elapsed(&ms, y->converted, y->downloaded) == CUDA_SUCCESS ? (int64_t)(ms * 1e6) : 0;
  cu->cuCtxPopCurrent(&d);
  return 0;
fail:
  cu->cuCtxPopCurrent(&d);
  return cu_fail(err, err_len, what, r);
}
