/* The CUDA driver, loaded at run time through ffnvcodec's loader (gpu.h). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "gpu.h"
#include "internal.h"

typedef CUresult CUDAAPI tcuMemGetInfo(size_t *free_bytes, size_t *total_bytes);
typedef CUresult CUDAAPI tcuDeviceTotalMem(size_t *bytes, CUdevice dev);

CudaFunctions *cu;
static tcuMemGetInfo *cu_mem_get_info;
static tcuDeviceTotalMem *cu_device_total_mem;
static int cu_status = 1; /* 1 = not tried, 0 = ok, < 0 = failed (cu_error says why) */
static char cu_error[256];
static pthread_mutex_t cu_lock = PTHREAD_MUTEX_INITIALIZER;

const char *cu_err(CUresult r, char *buf, size_t len) {
  const char *name = NULL, *text = NULL;
  if (cu && cu->cuGetErrorName) cu->cuGetErrorName(r, &name);
  if (cu && cu->cuGetErrorString) cu->cuGetErrorString(r, &text);
  snprintf(buf, len, "%s (%s)", name ? name : "CUDA error", text ? text : "no description");
  return buf;
}

int32_t cuda_ready(char *err, int32_t err_len) {
  pthread_mutex_lock(&cu_lock);
  if (cu_status == 1) {
    if (cuda_load_functions(&cu, NULL) < 0 || !cu) {
      cu = NULL;
      snprintf(cu_error, sizeof cu_error, "CUDA: no NVIDIA driver (libcuda.so.1 not found)");
      cu_status = LUMEN_E_UNAVAILABLE;
    } else {
      cu_mem_get_info = (tcuMemGetInfo *)dlsym(cu->lib, "cuMemGetInfo_v2");
      cu_device_total_mem = (tcuDeviceTotalMem *)dlsym(cu->lib, "cuDeviceTotalMem_v2");
      CUresult r = cu->cuInit(0);
      if (r != CUDA_SUCCESS) {
        char e[160];
        snprintf(cu_error, sizeof cu_error, "CUDA: cuInit failed: %s", cu_err(r, e, sizeof e));
        cu_status = LUMEN_E_UNAVAILABLE;
      } else {
        cu_status = 0;
      }
    }
  }
  int32_t status = cu_status;
  pthread_mutex_unlock(&cu_lock);
  if (status < 0) return lumen_fail(err, err_len, status, "%s", cu_error);
  return 0;
}

size_t cuda_device_total(CUdevice dev) {
  size_t mem = 0;
  if (cu_device_total_mem) cu_device_total_mem(&mem, dev);
  return mem;
}

void cuda_mem_info(size_t *free_bytes, size_t *total_bytes) {
  *free_bytes = *total_bytes = 0;
  if (cu_mem_get_info) cu_mem_get_info(free_bytes, total_bytes);
}

void *cuda_symbol(const char *name) {
  return cu ? dlsym(cu->lib, name) : NULL;
}

/* libavcodec's CUDA hwcontext (primary_ctx=1) refuses a primary context already active with
 * flags other than CU_CTX_SCHED_BLOCKING_SYNC, so an inactive one gets those flags first. */
#define LUMEN_CU_CTX_SCHED_BLOCKING_SYNC 0x04
CUresult cuda_primary_retain(CUcontext *ctx, CUdevice dev) {
  unsigned int flags = 0;
  int active = 0;
  if (cu->cuDevicePrimaryCtxGetState(dev, &flags, &active) == CUDA_SUCCESS && !active &&
      flags != LUMEN_CU_CTX_SCHED_BLOCKING_SYNC)
    cu->cuDevicePrimaryCtxSetFlags(dev, LUMEN_CU_CTX_SCHED_BLOCKING_SYNC);
  return cu->cuDevicePrimaryCtxRetain(ctx, dev);
}

CUresult cuda_wait_stream(CUstream stream, int64_t limit_ns) {
  int64_t until = lumen_mono_ns() + limit_ns;
  CUresult r;
  while ((r = cu->cuStreamQuery(stream)) == CUDA_ERROR_NOT_READY && lumen_mono_ns() < until) {
  }
  return r == CUDA_ERROR_NOT_READY ? cu->cuStreamSynchronize(stream) : r;
}

CUresult cuda_wait_event(CUevent event, int64_t limit_ns) {
  int64_t until = lumen_mono_ns() + limit_ns;
  CUresult r;
  while ((r = cu->cuEventQuery(event)) == CUDA_ERROR_NOT_READY && lumen_mono_ns() < until) {
  }
  return r == CUDA_ERROR_NOT_READY ? cu->cuEventSynchronize(event) : r;
}
