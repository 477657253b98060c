/* BGRx → I420 on the GPU (gpu_yuv.c), for encoder.c; not part of the ABI. CUDA types are passed
 * opaque so that this header needs no CUDA header. */
#ifndef LUMEN_GPU_YUV_H
#define LUMEN_GPU_YUV_H

#include <stddef.h>
#include <stdint.h>

/* A converter for width x height pooled BGRx frames of the CUDA context cuda_ctx (a CUcontext):
 * the kernel of libs/cuda/bgrx_to_i420.cu (PTX compiled by the driver when it opens), a device
 * I420 buffer and a stream. 0, or a status with the reason. */
typedef struct gpu_yuv gpu_yuv;
int32_t gpu_yuv_open(gpu_yuv **out, void *cuda_ctx, int width, int height, char *err, int32_t err_len);
/* Converts the frame at device address src (pitch bytes a row) and downloads the three planes
 * (1.5 bytes a pixel) into the host planes; kernel_ns gets the kernel's GPU time, download_ns the
 * copy's (0 where the driver cannot time them). */
int32_t gpu_yuv_convert(gpu_yuv *y, uint64_t src, size_t pitch, uint8_t *const planes[3], const int linesize[3], int64_t *kernel_ns,
                        int64_t *download_ns, char *err, int32_t err_len);
void gpu_yuv_close(gpu_yuv *y);

#endif
