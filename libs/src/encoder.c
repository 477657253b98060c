/* Video encoders over libavcodec 62 and pooled CUDA frames (libs/include/lumen_codec.h).
 *
 * One call per frame: the BGRx frame is converted (lumen_bgrx_to_i420) into the encoder's frame, or, when
 * its size differs from the encoder's, scaled and converted in one swscale pass (bilinear), sent,
 * and the access unit is received into the caller's buffer with its flags and the time spent
 * converting and inside avcodec_send_frame/avcodec_receive_packet.
 *
 * The CUDA driver and NVENC are loaded at run time (ffnvcodec's loader); this file only uses
 * them to tell why a CUDA or NVENC path cannot work on this box. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* the loader first: it defines CUDA_VERSION, so hwcontext_cuda.h needs no CUDA toolkit */
#define FFNV_LOG_FUNC(logctx, msg, ...) ((void)(logctx))
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...) ((void)(logctx))
#include <ffnvcodec/dynlink_loader.h>

#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_cuda.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "gpu_yuv.h"
#include "internal.h"
#include "lumen_codec.h"

/* ---- handle tables ------------------------------------------------------------------------ */

#define MAX_ENCODERS 64
#define MAX_POOLS 32
#define MAX_FRAMES 1024

/* Encoders, pools and frames are heap objects in generation-tagged tables (internal.h). One
 * handle is used by one thread at a time (lumen_codec.h), so a lookup checks the handle's
 * generation under the table's lock and needs no reference beyond the call. */
LUMEN_TABLE(encoders, LumenBox, MAX_ENCODERS, "encoder");
LUMEN_TABLE(pools, LumenBox, MAX_POOLS, "CUDA frame pool");
LUMEN_TABLE(cframes, LumenBox, MAX_FRAMES, "CUDA frame");

static void *slot_get(LumenTable *t, int32_t h) {
  LumenBox *b = lumen_handle_acquire(t, h);
  if (!b) return NULL;
  void *obj = b->obj;
  lumen_handle_release(t, b);
  return obj;
}

static void *slot_take(LumenTable *t, int32_t h) {
  LumenBox *b = lumen_handle_retire(t, h);
  if (!b) return NULL;
  void *obj = b->obj;
  lumen_handle_free(t, b);
  return obj;
}

#define now_ns lumen_mono_ns

/* ---- colour conversion shared with decoder.c ---------------------------------------------- */

/* BGRx (full range) → I420 with BT.709 limited-range coefficients (8-bit fixed point), chroma
 * from the mean of each 2x2 block: what every software encoder gets and what PSNR checks
 * compare against. Plain loops the compiler vectorises; about 4x faster than swscale here. */
__attribute__((target_clones("avx2", "default"))) void lumen_bgrx_to_i420(const uint8_t *bgrx, int stride, int width, int height, uint8_t *y_plane, int y_stride, uint8_t *u_plane,
                        int u_stride, uint8_t *v_plane, int v_stride) {
  for (int y = 0; y < height; y += 2) {
    const uint32_t *restrict r0 = (const uint32_t *)(bgrx + (size_t)y * stride);
    const uint32_t *restrict r1 = y + 1 < height ? (const uint32_t *)((const uint8_t *)r0 + stride) : r0;
    uint8_t *restrict y0 = y_plane + (size_t)y * y_stride;
    uint8_t *restrict y1 = y + 1 < height ? y0 + y_stride : y0;
    uint8_t *restrict u = u_plane + (size_t)(y / 2) * u_stride;
    uint8_t *restrict v = v_plane + (size_t)(y / 2) * v_stride;
    for (int x = 0; x < width; x++) {
      uint32_t a = r0[x], b = r1[x];
      y0[x] = (uint8_t)(((47 * ((a >> 16) & 255) + 157 * ((a >> 8) & 255) + 16 * (a & 255) + 128) >> 8) + 16);
      y1[x] = (uint8_t)(((47 * ((b >> 16) & 255) + 157 * ((b >> 8) & 255) + 16 * (b & 255) + 128) >> 8) + 16);
    }
    for (int x = 0; x < width / 2; x++) {
      uint32_t a0 = r0[2 * x], a1 = r0[2 * x + 1], b0 = r1[2 * x], b1 = r1[2 * x + 1];
      int32_t bs = (int32_t)((a0 & 255) + (a1 & 255) + (b0 & 255) + (b1 & 255));
      int32_t gs = (int32_t)(((a0 >> 8) & 255) + ((a1 >> 8) & 255) + ((b0 >> 8) & 255) + ((b1 >> 8) & 255));
      int32_t rs = (int32_t)(((a0 >> 16) & 255) + ((a1 >> 16) & 255) + ((b0 >> 16) & 255) + ((b1 >> 16) & 255));
      u[x] = (uint8_t)(128 + ((-26 * rs - 86 * gs + 112 * bs + 512) >> 10));
      v[x] = (uint8_t)(128 + ((112 * rs - 102 * gs - 10 * bs + 512) >> 10));
    }
  }
}

/* BGRx (full range) → planar 8-bit 4:4:4, the same BT.709 limited-range coefficients as
 * lumen_bgrx_to_i420 with chroma per pixel: several times faster than swscale's path. */
__attribute__((target_clones("avx2", "default"))) void lumen_bgrx_to_yuv444(const uint8_t *bgrx, int stride, int width, int height, uint8_t *y_plane, int y_stride,
                                                                             uint8_t *u_plane, int u_stride, uint8_t *v_plane, int v_stride) {
  for (int y = 0; y < height; y++) {
    const uint32_t *restrict row = (const uint32_t *)(bgrx + (size_t)y * stride);
    uint8_t *restrict yy = y_plane + (size_t)y * y_stride;
    uint8_t *restrict u = u_plane + (size_t)y * u_stride;
    uint8_t *restrict v = v_plane + (size_t)y * v_stride;
    for (int x = 0; x < width; x++) {
      uint32_t a = row[x];
      int32_t r = (int32_t)((a >> 16) & 255), g = (int32_t)((a >> 8) & 255), b = (int32_t)(a & 255);
      yy[x] = (uint8_t)(((47 * r + 157 * g + 16 * b + 128) >> 8) + 16);
      u[x] = (uint8_t)(128 + ((-26 * r - 86 * g + 112 * b + 128) >> 8));
      v[x] = (uint8_t)(128 + ((112 * r - 102 * g - 10 * b + 128) >> 8));
    }
  }
}

/* The encoder input format of a LUMEN_FMT_* combination (software encoders). */
enum AVPixelFormat lumen_fmt_pix(int32_t format) {
  switch (format & (LUMEN_FMT_444 | LUMEN_FMT_10BIT)) {
    case LUMEN_FMT_444: return AV_PIX_FMT_YUV444P;
    case LUMEN_FMT_10BIT: return AV_PIX_FMT_YUV420P10LE;
    case LUMEN_FMT_444 | LUMEN_FMT_10BIT: return AV_PIX_FMT_YUV444P10LE;
    default: return AV_PIX_FMT_YUV420P;
  }
}

/* A swscale context from full-range BGRx at src_w x src_h to `dst` at dst_w x dst_h with the
 * BT.709 limited-range matrix (the one lumen_bgrx_to_i420 uses), bilinear; the conversion of
 * every format but 8-bit 4:2:0, and the reference decoder.c's PSNR compares those against. */
struct SwsContext *lumen_bgrx_sws(int src_w, int src_h, int dst_w, int dst_h, enum AVPixelFormat dst) {
  struct SwsContext *sws = sws_getContext(src_w, src_h, AV_PIX_FMT_BGR0, dst_w, dst_h, dst, SWS_BILINEAR, NULL, NULL, NULL);
  if (sws && dst != AV_PIX_FMT_BGR0) {
    const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);
  }
  return sws;
}

/* A second thread for the conversion of large frames (convert_threads 2): the calling
 * thread converts the top half while this one converts the bottom half (the encoder is idle
 * during conversion). */
typedef struct Converter {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t go, done;
  int pending, quit;
  const uint8_t *src;
  int stride, width, y0, rows;
  AVFrame *dst;
} Converter;

static void convert_rows(const uint8_t *src, int stride, int width, int y0, int rows, AVFrame *dst) {
  lumen_bgrx_to_i420(src + (size_t)y0 * stride, stride, width, rows, dst->data[0] + (size_t)y0 * dst->linesize[0], dst->linesize[0],
                     dst->data[1] + (size_t)(y0 / 2) * dst->linesize[1], dst->linesize[1],
                     dst->data[2] + (size_t)(y0 / 2) * dst->linesize[2], dst->linesize[2]);
}

static void *converter_main(void *arg) {
  Converter *c = arg;
  pthread_mutex_lock(&c->lock);
  for (;;) {
    while (!c->pending && !c->quit) pthread_cond_wait(&c->go, &c->lock);
    if (c->quit) break;
    pthread_mutex_unlock(&c->lock);
    convert_rows(c->src, c->stride, c->width, c->y0, c->rows, c->dst);
    pthread_mutex_lock(&c->lock);
    c->pending = 0;
    pthread_cond_signal(&c->done);
  }
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

static Converter *converter_start(void) {
  Converter *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->go, NULL);
  pthread_cond_init(&c->done, NULL);
  char ignored[8];
  if (lumen_thread_start(&c->thread, converter_main, c, "lumen-convert", ignored, sizeof ignored) != 0) {
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->go);
    pthread_cond_destroy(&c->done);
    free(c);
    return NULL;
  }
  return c;
}

static void converter_stop(Converter *c) {
  if (!c) return;
  lumen_thread_stop(c->thread, &c->lock, &c->go, &c->quit);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->go);
  pthread_cond_destroy(&c->done);
  free(c);
}

/* BGRx → the I420 frame, split over the helper thread when there is one. */
static void convert_frame(Converter *c, const uint8_t *src, int stride, int width, int height, AVFrame *dst) {
  int half = (height / 2) & ~1;
  if (!c || half < 2) {
    convert_rows(src, stride, width, 0, height, dst);
    return;
  }
  pthread_mutex_lock(&c->lock);
  c->src = src;
  c->stride = stride;
  c->width = width;
  c->y0 = half;
  c->rows = height - half;
  c->dst = dst;
  c->pending = 1;
  pthread_cond_signal(&c->go);
  pthread_mutex_unlock(&c->lock);
  convert_rows(src, stride, width, 0, half, dst);
  pthread_mutex_lock(&c->lock);
  while (c->pending) pthread_cond_wait(&c->done, &c->lock);
  pthread_mutex_unlock(&c->lock);
}

/* ---- CUDA / NVENC diagnosis --------------------------------------------------------------- */

static const char *cu_name(CudaFunctions *cu, CUresult r) {
  const char *name = NULL;
  if (cu && cu->cuGetErrorName && cu->cuGetErrorName(r, &name) == CUDA_SUCCESS && name) return name;
  return "CUDA error";
}

/* 0 when the driver loads, initialises and has a device; else fills err with the reason. */
static int32_t cuda_check(char *err, int32_t err_len) {
  void *lib = dlopen("libcuda.so.1", RTLD_LAZY);
  if (!lib) return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "CUDA: no NVIDIA driver (libcuda.so.1 not found)");
  dlclose(lib);
  CudaFunctions *cu = NULL;
  if (cuda_load_functions(&cu, NULL) < 0)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "CUDA: the NVIDIA driver's libcuda.so.1 lacks functions Lumen needs (driver too old)");
  int32_t status = 0;
  CUresult r = cu->cuInit(0);
  int count = 0;
  if (r != CUDA_SUCCESS) {
    status = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "CUDA: cuInit failed (%s): no usable NVIDIA GPU", cu_name(cu, r));
  } else if ((r = cu->cuDeviceGetCount(&count)) != CUDA_SUCCESS || count == 0) {
    status = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "CUDA: the driver loads but sees no GPU");
  }
  cuda_free_functions(&cu);
  return status;
}

int32_t lumen_cuda_check(char *err, int32_t err_len) { return cuda_check(err, err_len); }

/* Why an NVENC encoder could not open: walks the same steps libavcodec takes and names the
 * first that fails. Returns a LUMEN_E_* status with err filled. */
static int32_t nvenc_diagnose(const char *encoder, int averr, char *err, int32_t err_len) {
  int32_t st = cuda_check(err, err_len);
  if (st < 0) {
    char reason[256];
    snprintf(reason, sizeof reason, "%s", err ? err : "CUDA unavailable");
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "%s: %s", encoder, reason);
  }
  void *lib = dlopen("libnvidia-encode.so.1", RTLD_LAZY);
  if (!lib)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "%s: NVENC library libnvidia-encode.so.1 not found (install the NVIDIA driver's encode library)", encoder);
  dlclose(lib);
  CudaFunctions *cu = NULL;
  NvencFunctions *nv = NULL;
  CUcontext cuctx = NULL;
  CUdevice dev = 0;
  char avmsg[128];
  lumen_av_error(averr, avmsg, sizeof avmsg);
  st = lumen_fail(err, err_len, LUMEN_E_FAILED, "%s: the encoder failed to open (%s)", encoder, avmsg);
  if (cuda_load_functions(&cu, NULL) < 0 || nvenc_load_functions(&nv, NULL) < 0) goto done;
  if (cu->cuInit(0) != CUDA_SUCCESS || cu->cuDeviceGet(&dev, 0) != CUDA_SUCCESS) goto done;
  if (cu->cuDevicePrimaryCtxRetain(&cuctx, dev) != CUDA_SUCCESS) goto done;
  uint32_t maxver = 0;
  if (nv->NvEncodeAPIGetMaxSupportedVersion(&maxver) == NV_ENC_SUCCESS) {
    uint32_t need = (NVENCAPI_MAJOR_VERSION << 4) | NVENCAPI_MINOR_VERSION;
    if (maxver < need) {
      st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "%s: the NVIDIA driver's NVENC API is %u.%u, libavcodec needs %d.%d (update the driver)", encoder,
                      maxver >> 4, maxver & 0xf, NVENCAPI_MAJOR_VERSION, NVENCAPI_MINOR_VERSION);
      goto release;
    }
  }
  NV_ENCODE_API_FUNCTION_LIST fl;
  memset(&fl, 0, sizeof fl);
  fl.version = NV_ENCODE_API_FUNCTION_LIST_VER;
  if (nv->NvEncodeAPICreateInstance(&fl) != NV_ENC_SUCCESS) goto release;
  NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS p;
  memset(&p, 0, sizeof p);
  p.version = NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER;
  p.deviceType = NV_ENC_DEVICE_TYPE_CUDA;
  p.device = cuctx;
  p.apiVersion = NVENCAPI_VERSION;
  void *session = NULL;
  NVENCSTATUS ns = fl.nvEncOpenEncodeSessionEx(&p, &session);
  if (ns == NV_ENC_ERR_NO_ENCODE_DEVICE) {
    st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                    "%s: this GPU has no NVENC engine (NV_ENC_ERR_NO_ENCODE_DEVICE); use libx264/libx265", encoder);
  } else if (ns == NV_ENC_ERR_OUT_OF_MEMORY || ns == NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY) {
    st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                    "%s: NVENC refused a session (status %d): the GPU's concurrent session limit may be reached",
                    encoder, (int)ns);
  } else if (ns != NV_ENC_SUCCESS) {
    st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "%s: NVENC refused a session (NVENCSTATUS %d)", encoder, (int)ns);
  }
  if (session) fl.nvEncDestroyEncoder(session);
release:
  cu->cuDevicePrimaryCtxRelease(dev);
done:
  nvenc_free_functions(&nv);
  cuda_free_functions(&cu);
  return st;
}

/* ---- pools and frames --------------------------------------------------------------------- */

typedef struct Pool {
  AVBufferRef *device;
  AVBufferRef *frames;
  int width, height, ordinal;
} Pool;

typedef struct CFrame {
  AVFrame *frame;
  int32_t pool;
  int ordinal;
} CFrame;


int32_t lumen_cuda_pool_open(int32_t device, int32_t width, int32_t height, int32_t pool_size, char *err, int32_t err_len) {
  if (device < 0 || device > 63) return lumen_fail(err, err_len, LUMEN_E_INVALID, "CUDA device %d is out of range", device);
  if (width < 16 || height < 16 || width > 8192 || height > 8192 || (width & 1) || (height & 1))
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "pool size %dx%d: width and height must be even, 16..8192", width, height);
  if (pool_size < 1 || pool_size > 64) return lumen_fail(err, err_len, LUMEN_E_INVALID, "pool size %d is out of range 1..64", pool_size);
  int32_t st = cuda_check(err, err_len);
  if (st < 0) return st;
  Pool *p = calloc(1, sizeof *p);
  if (!p) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  char ord[16];
  snprintf(ord, sizeof ord, "%d", device);
  AVDictionary *opts = NULL;
  av_dict_set(&opts, "primary_ctx", "1", 0);
  int r = av_hwdevice_ctx_create(&p->device, AV_HWDEVICE_TYPE_CUDA, ord, opts, 0);
  av_dict_free(&opts);
  char msg[128];
  if (r < 0) {
    free(p);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "CUDA: cannot open device %d (%s)", device, lumen_av_error(r, msg, sizeof msg));
  }
  p->frames = av_hwframe_ctx_alloc(p->device);
  if (!p->frames) {
    av_buffer_unref(&p->device);
    free(p);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  }
  AVHWFramesContext *fc = (AVHWFramesContext *)p->frames->data;
  fc->format = AV_PIX_FMT_CUDA;
  fc->sw_format = AV_PIX_FMT_BGR0;
  fc->width = width;
  fc->height = height;
  fc->initial_pool_size = pool_size;
  if ((r = av_hwframe_ctx_init(p->frames)) < 0) {
    av_buffer_unref(&p->frames);
    av_buffer_unref(&p->device);
    free(p);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "CUDA: cannot make a frame pool of %dx%d BGR0 (%s)", width, height,
                      lumen_av_error(r, msg, sizeof msg));
  }
  p->width = width;
  p->height = height;
  p->ordinal = device;
  int32_t id = lumen_box_put(&pools, p);
  if (id < 0) {
    av_buffer_unref(&p->frames);
    av_buffer_unref(&p->device);
    free(p);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "too many CUDA frame pools open (%d)", MAX_POOLS);
  }
  return id;
}

int32_t lumen_cuda_pool_close(int32_t pool) {
  Pool *p = slot_take(&pools, pool);
  if (!p) return LUMEN_E_INVALID;
  av_buffer_unref(&p->frames);
  av_buffer_unref(&p->device);
  free(p);
  return 0;
}

int32_t lumen_cuda_frame_get(int32_t pool, char *err, int32_t err_len) {
  Pool *p = slot_get(&pools, pool);
  if (!p) return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown CUDA frame pool %d", pool);
  CFrame *f = calloc(1, sizeof *f);
  if (!f || !(f->frame = av_frame_alloc())) {
    free(f);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  }
  int r = av_hwframe_get_buffer(p->frames, f->frame, 0);
  if (r < 0) {
    char msg[128];
    av_frame_free(&f->frame);
    free(f);
    return lumen_fail(err, err_len, r == AVERROR(ENOMEM) ? LUMEN_E_AGAIN : LUMEN_E_FAILED,
                      "CUDA frame pool %d: no free frame (%s): release frames after encoding them", pool,
                      lumen_av_error(r, msg, sizeof msg));
  }
  f->pool = pool;
  f->ordinal = p->ordinal;
  int32_t id = lumen_box_put(&cframes, f);
  if (id < 0) {
    av_frame_free(&f->frame);
    free(f);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "too many CUDA frames held (%d)", MAX_FRAMES);
  }
  return id;
}

int32_t lumen_cuda_frame_info(int32_t frame, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  CFrame *f = slot_get(&cframes, frame);
  if (!f) return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown CUDA frame %d", frame);
  if (out_len < LUMEN_CUDA_FRAME_INFO_LEN)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "frame info needs %d bytes", LUMEN_CUDA_FRAME_INFO_LEN);
  AVHWFramesContext *fc = (AVHWFramesContext *)f->frame->hw_frames_ctx->data;
  AVCUDADeviceContext *dc = fc->device_ctx->hwctx;
  uint64_t ptr = (uint64_t)(uintptr_t)f->frame->data[0];
  int32_t pitch = f->frame->linesize[0], w = f->frame->width, h = f->frame->height, ord = f->ordinal;
  uint64_t ctx = (uint64_t)(uintptr_t)dc->cuda_ctx;
  memset(out, 0, LUMEN_CUDA_FRAME_INFO_LEN);
  memcpy(out, &ptr, 8);
  memcpy(out + 8, &pitch, 4);
  memcpy(out + 12, &w, 4);
  memcpy(out + 16, &h, 4);
  memcpy(out + 20, &ord, 4);
  memcpy(out + 24, &ctx, 8);
  return LUMEN_CUDA_FRAME_INFO_LEN;
}

static void no_free(void *opaque, uint8_t *data) {}

/* A BGR0 AVFrame over caller memory (with a non-owning buffer so transfer_data writes into it). */
static AVFrame *wrap_host(uint8_t *data, int stride, int width, int height) {
  AVFrame *h = av_frame_alloc();
  if (!h) return NULL;
  h->format = AV_PIX_FMT_BGR0;
  h->width = width;
  h->height = height;
  h->data[0] = data;
  h->linesize[0] = stride;
  h->buf[0] = av_buffer_create(data, (size_t)stride * (size_t)height, no_free, NULL, AV_BUFFER_FLAG_READONLY);
  if (!h->buf[0]) av_frame_free(&h);
  return h;
}

static int32_t frame_transfer(int32_t frame, uint8_t *bgrx, int32_t bgrx_len, int32_t stride, int upload, char *err, int32_t err_len) {
  /* what needs no frame first, so a bad buffer gets its own sentence even where no GPU is */
  if (!bgrx || bgrx_len <= 0) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "CUDA frame %s: no host buffer (%d bytes)", upload ? "upload" : "download", bgrx_len);
  if (stride <= 0 || bgrx_len < stride)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "CUDA frame %s: the host buffer has %d bytes, less than one row of %d", upload ? "upload" : "download", bgrx_len, stride);
  CFrame *f = slot_get(&cframes, frame);
  if (!f) return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown CUDA frame %d", frame);
  if (stride < f->frame->width * 4)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "host stride %d is less than width*4 (%d)", stride, f->frame->width * 4);
  int64_t need = (int64_t)stride * (f->frame->height - 1) + (int64_t)f->frame->width * 4;
  if (bgrx_len < need)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "CUDA frame %s: the host buffer has %d bytes; %dx%d at stride %d needs %lld", upload ? "upload" : "download",
                      bgrx_len, f->frame->width, f->frame->height, stride, (long long)need);
  AVFrame *h = wrap_host(bgrx, stride, f->frame->width, f->frame->height);
  if (!h) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  int r = upload ? av_hwframe_transfer_data(f->frame, h, 0) : av_hwframe_transfer_data(h, f->frame, 0);
  av_frame_free(&h);
  if (r < 0) {
    char msg[128];
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "CUDA: %s of frame %d failed (%s)", upload ? "upload" : "download", frame,
                      lumen_av_error(r, msg, sizeof msg));
  }
  return 0;
}

int32_t lumen_cuda_frame_upload(int32_t frame, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len) {
  return frame_transfer(frame, (uint8_t *)bgrx, bgrx_len, stride, 1, err, err_len);
}

int32_t lumen_cuda_frame_download(int32_t frame, uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len) {
  return frame_transfer(frame, bgrx, bgrx_len, stride, 0, err, err_len);
}

int32_t lumen_cuda_frame_release(int32_t frame) {
  CFrame *f = slot_take(&cframes, frame);
  if (!f) return LUMEN_E_INVALID;
  av_frame_free(&f->frame);
  free(f);
  return 0;
}

/* ---- encoders ----------------------------------------------------------------------------- */

typedef enum { ENC_X264, ENC_X265, ENC_AOM, ENC_NVENC } EncKind;

typedef struct Encoder {
  char name[32];
  EncKind kind;
  const AVCodec *codec;
  AVCodecContext *ctx;
  AVFrame *frame;        /* the encoder's input frame (CPU path) */
  AVFrame *download;     /* BGR0 host frame a pooled frame is downloaded into (software encoders without yuv) */
  gpu_yuv *yuv;          /* software encoders with a pool: the pooled frame converted to I420 on the GPU */
  char yuv_why[200];     /* why the GPU conversion did not open (the BGRx download and CPU conversion serve) */
  AVPacket *pkt;
  AVBufferRef *hw_frames; /* the pool's frames context (NVENC with a pool) */
  enum AVPixelFormat in_fmt;
  int32_t format; /* LUMEN_FMT_* bits */
  int width, height, fps, bitrate_kbps, slices, pool;
  int force_next_idr;
  int64_t pts;
  Converter *converter; /* a second conversion thread for large frames, or NULL */
  struct SwsContext *sws; /* BGRx at sws_w x sws_h → in_fmt at the encoder's size, or NULL */
  int sws_w, sws_h;
  char preset[16];
} Encoder;


static void set_rate(AVCodecContext *c, int kbps, int fps) {
  c->bit_rate = (int64_t)kbps * 1000;
  c->rc_max_rate = c->bit_rate;
  c->rc_min_rate = c->bit_rate;
  c->rc_buffer_size = (int)(c->bit_rate / fps); /* one frame of VBV */
}

/* Builds and opens e->ctx from e's settings. */
static int32_t open_ctx(Encoder *e, char *err, int32_t err_len) {
  AVCodecContext *c = avcodec_alloc_context3(e->codec);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  c->width = e->width;
  c->height = e->height;
  c->time_base = (AVRational){1, e->fps};
  c->framerate = (AVRational){e->fps, 1};
  c->pix_fmt = e->in_fmt;
  c->max_b_frames = 0;
  c->slices = e->slices;
  c->color_range = AVCOL_RANGE_MPEG;
  c->colorspace = AVCOL_SPC_BT709;
  c->color_primaries = AVCOL_PRI_BT709;
  c->color_trc = AVCOL_TRC_BT709;
  c->flags |= AV_CODEC_FLAG_CLOSED_GOP;
  set_rate(c, e->bitrate_kbps, e->fps);
  char params[256];
  switch (e->kind) {
    case ENC_X264:
      c->gop_size = -1;
      c->refs = 1;
      av_opt_set(c->priv_data, "preset", e->preset, 0);
      av_opt_set(c->priv_data, "tune", "zerolatency", 0);
      av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
      /* infinite GOP, no scene-cut keyframes, SPS/PPS before every IDR */
      av_opt_set(c->priv_data, "x264-params", "keyint=infinite:scenecut=0:repeat-headers=1:aud=0", 0);
      break;
    case ENC_X265:
      c->gop_size = -1;
      av_opt_set(c->priv_data, "preset", e->preset, 0);
      av_opt_set(c->priv_data, "tune", "zerolatency", 0);
      av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
      /* keyint=-1: infinite GOP; info=0: no version SEI between PPS and slice; repeat-headers:
       * VPS/SPS/PPS before every IDR; vbv: CBR with one frame of buffer */
      snprintf(params, sizeof params,
               "keyint=-1:scenecut=0:info=0:repeat-headers=1:aud=0:bframes=0:frame-threads=1:slices=%d:"
               "vbv-maxrate=%d:vbv-bufsize=%d:log-level=none",
               e->slices, e->bitrate_kbps, e->bitrate_kbps / e->fps > 0 ? e->bitrate_kbps / e->fps : 1);
      av_opt_set(c->priv_data, "x265-params", params, 0);
      break;
    case ENC_AOM:
      c->gop_size = INT_MAX; /* kf_max_dist: no periodic key frames */
      /* libaom's realtime CBR runs on a buffer in ms, as WebRTC sets it: 1 s, starting half full
       * (a one-frame buffer is x264/x265's way of capping each frame, not libaom's) */
      c->rc_buffer_size = (int)c->bit_rate;
      c->rc_initial_buffer_occupancy = c->rc_buffer_size / 2;
      av_opt_set(c->priv_data, "usage", "realtime", 0);
      /* the wrapper's cpu-used stops at 8; libaom's realtime speeds go to 10 through its own
       * options. Screen-content tools keep a desktop's sharp edges and small text */
      snprintf(params, sizeof params, "cpu-used=%s:tune-content=screen", e->preset);
      av_opt_set(c->priv_data, "aom-params", params, 0);
      /* no look-ahead: each frame's packet comes out of the call that took the frame; key frames
       * only when asked for (the wrapper forces one for a frame marked I), each with its
       * sequence header; row multithreading over the encoder's threads */
      av_opt_set_int(c->priv_data, "lag-in-frames", 0, 0);
      av_opt_set_int(c->priv_data, "row-mt", 1, 0);
      break;
    case ENC_NVENC:
      c->gop_size = INT_MAX; /* libavcodec's nvenc maps gop_size to gopLength/idrPeriod: effectively infinite */
      c->refs = 1;           /* one reference frame: no RFI is advertised, so nothing needs more */
      av_opt_set(c->priv_data, "preset", "p1", 0);
      av_opt_set(c->priv_data, "tune", "ull", 0);
      av_opt_set(c->priv_data, "rc", "cbr", 0);
      av_opt_set_int(c->priv_data, "zerolatency", 1, 0);
      av_opt_set_int(c->priv_data, "delay", 0, 0);
      av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
      if (e->hw_frames) {
        c->hw_frames_ctx = av_buffer_ref(e->hw_frames);
        c->sw_pix_fmt = AV_PIX_FMT_BGR0;
      }
      break;
  }
  int r = avcodec_open2(c, e->codec, NULL);
  if (r < 0) {
    avcodec_free_context(&c);
    if (e->kind == ENC_NVENC) return nvenc_diagnose(e->name, r, err, err_len);
    char msg[128];
    return lumen_fail(err, err_len, e->format ? LUMEN_E_UNAVAILABLE : LUMEN_E_FAILED, "%s: the encoder failed to open at %dx%d %d fps %d kbit/s (%s)", e->name,
                      e->width, e->height, e->fps, e->bitrate_kbps, lumen_av_error(r, msg, sizeof msg));
  }
  e->ctx = c;
  return 0;
}

static void encoder_free(Encoder *e) {
  if (!e) return;
  avcodec_free_context(&e->ctx);
  av_frame_free(&e->frame);
  av_frame_free(&e->download);
  gpu_yuv_close(e->yuv);
  av_packet_free(&e->pkt);
  av_buffer_unref(&e->hw_frames);
  converter_stop(e->converter);
  sws_freeContext(e->sws);
  free(e);
}

int32_t lumen_encoder_open(const char *encoder, int32_t width, int32_t height, int32_t fps, int32_t bitrate_kbps, int32_t slices,
                           int32_t cuda_pool, const char *preset, int32_t convert_threads, int32_t format, char *err, int32_t err_len) {
  if (convert_threads != 1 && convert_threads != 2)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "conversion threads %d: 1 or 2 are supported", convert_threads);
  if (preset && strlen(preset) >= 16) return lumen_fail(err, err_len, LUMEN_E_INVALID, "encoder preset '%s' is too long", preset);
  EncKind kind;
  if (!encoder) return lumen_fail(err, err_len, LUMEN_E_INVALID, "no encoder named");
  if (strcmp(encoder, "libx264") == 0) kind = ENC_X264;
  else if (strcmp(encoder, "libx265") == 0) kind = ENC_X265;
  else if (strcmp(encoder, "libaom-av1") == 0) kind = ENC_AOM;
  else if (strcmp(encoder, "h264_nvenc") == 0 || strcmp(encoder, "hevc_nvenc") == 0 || strcmp(encoder, "av1_nvenc") == 0)
    kind = ENC_NVENC;
  else
    return lumen_fail(err, err_len, LUMEN_E_INVALID,
                      "unknown encoder '%s' (known: libx264, libx265, libaom-av1, h264_nvenc, hevc_nvenc, av1_nvenc)", encoder);
  if (width < 16 || height < 16 || width > 8192 || height > 8192 || (width & 1) || (height & 1))
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "size %dx%d: width and height must be even, 16..8192", width, height);
  if (fps < 1 || fps > 1000) return lumen_fail(err, err_len, LUMEN_E_INVALID, "fps %d is out of range 1..1000", fps);
  if (bitrate_kbps < 50 || bitrate_kbps > 1000000)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "bitrate %d kbit/s is out of range 50..1000000", bitrate_kbps);
  if (slices < 1 || slices > 64) return lumen_fail(err, err_len, LUMEN_E_INVALID, "slices %d is out of range 1..64", slices);
  if (format & ~(LUMEN_FMT_444 | LUMEN_FMT_10BIT)) return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown picture format bits 0x%x", format);
  if (format != 0 && kind == ENC_NVENC)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "%s: 4:4:4 and 10-bit are encoded by the software encoders only here (libx264, libx265; libaom-av1 4:4:4)", encoder);
  if ((format & LUMEN_FMT_10BIT) && kind == ENC_AOM)
    /* a 10-bit stream would take the whole host down at a client's first 1080p request */
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "libaom-av1: 10-bit is not offered (libaom's realtime encoder crashes on 10-bit pictures of 1080 lines and more; 8-bit AV1 is)");
  if ((format & LUMEN_FMT_10BIT) && kind == ENC_X264)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "libx264: Moonlight has no 10-bit H.264 format (10-bit is HEVC Main10)");
  const AVCodec *codec = avcodec_find_encoder_by_name(encoder);
  if (!codec)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "%s: this libavcodec was built without that encoder", encoder);
  if (kind != ENC_NVENC) {
    /* the wrapper lists what the linked library was built for (libx265: 10-bit only with its 10-bit build) */
    enum AVPixelFormat want = lumen_fmt_pix(format);
    const enum AVPixelFormat *fmts = NULL;
    int nfmts = 0, found = 0;
    if (avcodec_get_supported_config(NULL, codec, AV_CODEC_CONFIG_PIX_FORMAT, 0, (const void **)&fmts, &nfmts) >= 0 && fmts)
      for (int i = 0; i < nfmts; i++) found |= fmts[i] == want;
    else
      found = 1; /* no list: let avcodec_open2 decide */
    if (!found)
      return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "%s: this build of the encoder cannot take %s", encoder, av_get_pix_fmt_name(want));
  }
  Pool *pool = NULL;
  if (cuda_pool >= 0) {
    pool = slot_get(&pools, cuda_pool);
    if (!pool) return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown CUDA frame pool %d", cuda_pool);
    if (pool->width != width || pool->height != height)
      return lumen_fail(err, err_len, LUMEN_E_INVALID, "CUDA frame pool is %dx%d, the encoder %dx%d", pool->width, pool->height,
                        width, height);
  } else if (kind == ENC_NVENC) {
    /* fail early with the driver's reason rather than libavcodec's generic one */
    int32_t st = cuda_check(err, err_len);
    if (st < 0) return nvenc_diagnose(encoder, AVERROR(ENOSYS), err, err_len);
  }

  Encoder *e = calloc(1, sizeof *e);
  if (!e) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  snprintf(e->name, sizeof e->name, "%s", encoder);
  e->kind = kind;
  e->codec = codec;
  e->width = width;
  e->height = height;
  e->fps = fps;
  e->bitrate_kbps = bitrate_kbps;
  e->slices = slices;
  e->pool = cuda_pool;
  snprintf(e->preset, sizeof e->preset, "%s", preset && *preset ? preset : kind == ENC_X265 ? "ultrafast" : kind == ENC_AOM ? "6" : "superfast");
  e->format = format;
  e->in_fmt = kind == ENC_NVENC ? (pool ? AV_PIX_FMT_CUDA : AV_PIX_FMT_BGR0) : lumen_fmt_pix(format);
  if (pool && kind == ENC_NVENC) e->hw_frames = av_buffer_ref(pool->frames);
  e->pkt = av_packet_alloc();
  if (!e->pkt) {
    encoder_free(e);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  }
  int32_t st = open_ctx(e, err, err_len);
  if (st < 0) {
    encoder_free(e);
    return st;
  }
  if (e->in_fmt != AV_PIX_FMT_CUDA) {
    e->frame = av_frame_alloc();
    if (!e->frame) goto nomem;
    e->frame->format = e->in_fmt;
    e->frame->width = width;
    e->frame->height = height;
    if (av_frame_get_buffer(e->frame, 0) < 0) goto nomem;
  }
  /* opt-in: on the 2-core dev box, where the encoder's own threads already fill the cores, the
   * helper did not pay for its wake-ups (bench/encode.ts); hosts with idle cores may gain */
  if (e->in_fmt == AV_PIX_FMT_YUV420P && convert_threads == 2 && (int64_t)width * height >= 640 * 480 &&
      sysconf(_SC_NPROCESSORS_ONLN) >= 2)
    e->converter = converter_start(); /* NULL: convert on the calling thread */
  /* the GPU kernel writes I420 only; 4:4:4 and 10-bit are converted on the CPU */
  if (pool && kind != ENC_NVENC && e->in_fmt != AV_PIX_FMT_YUV420P)
    snprintf(e->yuv_why, sizeof e->yuv_why, "the GPU kernel writes I420, this stream is %s", av_get_pix_fmt_name(e->in_fmt));
  else if (pool && kind != ENC_NVENC) {
    AVHWFramesContext *fc = (AVHWFramesContext *)pool->frames->data;
    AVCUDADeviceContext *dc = fc->device_ctx->hwctx;
    if (gpu_yuv_open(&e->yuv, dc->cuda_ctx, width, height, e->yuv_why, sizeof e->yuv_why) < 0) e->yuv = NULL;
  }
  if (pool && kind != ENC_NVENC && !e->yuv) {
    e->download = av_frame_alloc();
    if (!e->download) goto nomem;
    e->download->format = AV_PIX_FMT_BGR0;
    e->download->width = width;
    e->download->height = height;
    if (av_frame_get_buffer(e->download, 0) < 0) goto nomem;
  }
  int32_t id = lumen_box_put(&encoders, e);
  if (id < 0) {
    encoder_free(e);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "too many encoders open (%d)", MAX_ENCODERS);
  }
  return id;
nomem:
  encoder_free(e);
  return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory setting up %s at %dx%d", encoder, width, height);
}

static void put_i64(uint8_t *info, int32_t info_len, int field, int64_t v) {
  if (info && info_len >= (field + 1) * 8) memcpy(info + field * 8, &v, 8);
}

/* Sends `frame` (or the pooled frame) and collects the access unit into out. */
static int32_t encode_frame(Encoder *e, AVFrame *frame, int32_t flags, int64_t convert_ns, uint8_t *out, int32_t out_len, uint8_t *info,
                            int32_t info_len, char *err, int32_t err_len) {
  int force = (flags & LUMEN_ENC_FORCE_IDR) || e->force_next_idr;
  frame->pts = e->pts++;
  frame->pict_type = force ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  if (force) frame->flags |= AV_FRAME_FLAG_KEY;
  else frame->flags &= ~AV_FRAME_FLAG_KEY;
  e->force_next_idr = 0;
  char msg[128];
  int64_t t0 = now_ns();
  int r = avcodec_send_frame(e->ctx, frame);
  if (r < 0) {
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "%s: avcodec_send_frame failed (%s)", e->name, lumen_av_error(r, msg, sizeof msg));
  }
  int64_t len = 0, key = 0, packets = 0, pts = -1, needed = 0;
  for (;;) {
    r = avcodec_receive_packet(e->ctx, e->pkt);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
    if (r < 0)
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "%s: avcodec_receive_packet failed (%s)", e->name,
                        lumen_av_error(r, msg, sizeof msg));
    if (len + e->pkt->size <= out_len) memcpy(out + len, e->pkt->data, (size_t)e->pkt->size);
    len += e->pkt->size;
    if (e->pkt->flags & AV_PKT_FLAG_KEY) key = 1;
    if (pts < 0) pts = e->pkt->pts;
    packets++;
    av_packet_unref(e->pkt);
  }
  int64_t t1 = now_ns();
  if (len > out_len) needed = len;
  if (info && info_len > 0) memset(info, 0, (size_t)(info_len < LUMEN_ENC_INFO_LEN ? info_len : LUMEN_ENC_INFO_LEN));
  put_i64(info, info_len, LUMEN_ENC_INFO_FLAGS, key);
  put_i64(info, info_len, LUMEN_ENC_INFO_CONVERT_NS, convert_ns);
  put_i64(info, info_len, LUMEN_ENC_INFO_ENCODE_NS, t1 - t0);
  put_i64(info, info_len, LUMEN_ENC_INFO_PTS, pts);
  put_i64(info, info_len, LUMEN_ENC_INFO_PACKETS, packets);
  put_i64(info, info_len, LUMEN_ENC_INFO_NEEDED, needed);
  if (needed)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "%s: the access unit (%lld bytes) does not fit the output buffer (%d bytes)",
                      e->name, (long long)needed, out_len);
  return (int32_t)len;
}

/* The scaler for a src_w x src_h BGRx input (bilinear, as a low-latency host uses), made on the
 * first frame of that size and kept until the input size changes. SWS_BILINEAR rather than
 * SWS_FAST_BILINEAR: the fast one point-samples on a 2:1 downscale (test/encoder/scale.test.ts
 * measured 36.6 against 48 dB luma PSNR to an area-averaged reference). I420 output uses the same
 * BT.709 limited-range matrix from full-range RGB as lumen_bgrx_to_i420. */
static int32_t scaler_for(Encoder *e, int src_w, int src_h, char *err, int32_t err_len) {
  if (e->sws && e->sws_w == src_w && e->sws_h == src_h) return 0;
  sws_freeContext(e->sws);
  e->sws = lumen_bgrx_sws(src_w, src_h, e->width, e->height, e->in_fmt);
  if (!e->sws)
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "%s: swscale cannot scale %dx%d BGRx to %dx%d %s", e->name, src_w, src_h, e->width,
                      e->height, av_get_pix_fmt_name(e->in_fmt));
  e->sws_w = src_w;
  e->sws_h = src_h;
  return 0;
}

/* The output and info buffers every encode call writes. */
static int32_t check_out(uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len, char *err, int32_t err_len) {
  int32_t st = lumen_need(err, err_len, "access unit", out, out_len, 1);
  if (!st && info) st = lumen_need(err, err_len, "encode info", info, info_len, LUMEN_ENC_INFO_LEN);
  return st;
}

int32_t lumen_encoder_encode(int32_t encoder, const uint8_t *bgrx, int32_t bgrx_len, int32_t width, int32_t height, int32_t stride, int32_t flags,
                             uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len, char *err, int32_t err_len) {
  Encoder *e = slot_get(&encoders, encoder);
  if (!e) return lumen_no_handle(&encoders, encoder, err, err_len);
  int32_t bad = check_out(out, out_len, info, info_len, err, err_len);
  if (bad) return bad;
  if (!e->frame)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "%s was opened for CUDA frames: use lumen_encoder_encode_cuda", e->name);
  if (width < 2 || height < 2 || width > 16384 || height > 16384)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "input frame size %dx%d is out of range 2..16384", width, height);
  if (stride < width * 4) return lumen_fail(err, err_len, LUMEN_E_INVALID, "stride %d is less than width*4 (%d)", stride, width * 4);
  bad = lumen_need(err, err_len, "BGRx frame", bgrx, bgrx_len, (int64_t)stride * (height - 1) + (int64_t)width * 4);
  if (bad) return bad;
  /* the encoder's size, or one more in an odd dimension (the last column/row is left out): no scaling */
  int same = (width & ~1) == e->width && (height & ~1) == e->height;
  /* 10-bit goes through swscale at every size (the hand-written paths are 8-bit) */
  if (same && e->in_fmt != AV_PIX_FMT_YUV420P && e->in_fmt != AV_PIX_FMT_YUV444P && e->in_fmt != AV_PIX_FMT_BGR0) {
    same = 0;
    height = e->height; /* an odd last row is left out, as on the I420 path */
    width = e->width;
  }
  if (!same) {
    int32_t st = scaler_for(e, width, height, err, err_len);
    if (st < 0) return st;
  }
  int64_t t0 = now_ns();
  int r = av_frame_make_writable(e->frame);
  if (r < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  if (!same) {
    const uint8_t *src[4] = {bgrx, NULL, NULL, NULL};
    const int src_stride[4] = {stride, 0, 0, 0};
    r = sws_scale(e->sws, src, src_stride, 0, height, e->frame->data, e->frame->linesize);
    if (r < 0) {
      char msg[128];
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "%s: swscale from %dx%d failed (%s)", e->name, width, height,
                        lumen_av_error(r, msg, sizeof msg));
    }
  } else if (e->in_fmt == AV_PIX_FMT_YUV420P) {
    convert_frame(e->converter, bgrx, stride, e->width, e->height, e->frame);
  } else if (e->in_fmt == AV_PIX_FMT_YUV444P) {
    AVFrame *f = e->frame;
    lumen_bgrx_to_yuv444(bgrx, stride, e->width, e->height, f->data[0], f->linesize[0], f->data[1], f->linesize[1], f->data[2], f->linesize[2]);
  } else {
    av_image_copy_plane(e->frame->data[0], e->frame->linesize[0], bgrx, stride, e->width * 4, e->height);
  }
  int64_t convert = now_ns() - t0;
  return encode_frame(e, e->frame, flags, convert, out, out_len, info, info_len, err, err_len);
}

int32_t lumen_encoder_encode_cuda(int32_t encoder, int32_t frame, int32_t flags, uint8_t *out, int32_t out_len, uint8_t *info,
                                  int32_t info_len, char *err, int32_t err_len) {
  Encoder *e = slot_get(&encoders, encoder);
  if (!e) return lumen_no_handle(&encoders, encoder, err, err_len);
  int32_t bad = check_out(out, out_len, info, info_len, err, err_len);
  if (bad) return bad;
  CFrame *f = slot_get(&cframes, frame);
  if (!f) return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown CUDA frame %d", frame);
  if (e->pool < 0 || f->pool != e->pool)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "%s was not opened with the pool of CUDA frame %d", e->name, frame);
  if (f->frame->width != e->width || f->frame->height != e->height)
    return lumen_fail(err, err_len, LUMEN_E_INVALID,
                      "CUDA frame %d is %dx%d, %s is %dx%d: CUDA frames are not scaled (use a pool of the encoder's size)", frame,
                      f->frame->width, f->frame->height, e->name, e->width, e->height);
  char msg[128];
  if (e->kind == ENC_NVENC) {
    AVFrame *ref = av_frame_clone(f->frame);
    if (!ref) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
    int32_t st = encode_frame(e, ref, flags, 0, out, out_len, info, info_len, err, err_len);
    av_frame_free(&ref);
    return st;
  }
  int64_t t0 = now_ns();
  int r;
  if (e->yuv) {
    /* software encoder: I420 made on the GPU, only its planes downloaded */
    if ((r = av_frame_make_writable(e->frame)) < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
    int64_t kernel_ns = 0, download_ns = 0;
    int32_t st = gpu_yuv_convert(e->yuv, (uint64_t)(uintptr_t)f->frame->data[0], (size_t)f->frame->linesize[0], e->frame->data,
                                 e->frame->linesize, &kernel_ns, &download_ns, err, err_len);
    if (st < 0) return st;
    int64_t convert = now_ns() - t0;
    st = encode_frame(e, e->frame, flags, convert, out, out_len, info, info_len, err, err_len);
    put_i64(info, info_len, LUMEN_ENC_INFO_GPU_KERNEL_NS, kernel_ns);
    put_i64(info, info_len, LUMEN_ENC_INFO_GPU_DOWNLOAD_NS, download_ns);
    return st;
  }
  /* software encoder without the GPU conversion: download the pooled frame, then convert like a CPU frame */
  r = av_frame_make_writable(e->download);
  if (r >= 0) r = av_hwframe_transfer_data(e->download, f->frame, 0);
  if (r < 0)
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "CUDA: download of frame %d failed (%s)", frame, lumen_av_error(r, msg, sizeof msg));
  if ((r = av_frame_make_writable(e->frame)) < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  if (e->in_fmt == AV_PIX_FMT_YUV420P) {
    convert_frame(e->converter, e->download->data[0], e->download->linesize[0], e->width, e->height, e->frame);
  } else if (e->in_fmt == AV_PIX_FMT_YUV444P) {
    AVFrame *o = e->frame;
    lumen_bgrx_to_yuv444(e->download->data[0], e->download->linesize[0], e->width, e->height, o->data[0], o->linesize[0], o->data[1], o->linesize[1],
                         o->data[2], o->linesize[2]);
  } else {
    int32_t st = scaler_for(e, e->width, e->height, err, err_len);
    if (st < 0) return st;
    sws_scale(e->sws, (const uint8_t *const *)e->download->data, e->download->linesize, 0, e->height, e->frame->data, e->frame->linesize);
  }
  int64_t convert = now_ns() - t0;
  return encode_frame(e, e->frame, flags, convert, out, out_len, info, info_len, err, err_len);
}

int32_t lumen_encoder_set_bitrate(int32_t encoder, int32_t bitrate_kbps, char *err, int32_t err_len) {
  Encoder *e = slot_get(&encoders, encoder);
  if (!e) return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown encoder %d", encoder);
  if (bitrate_kbps < 50 || bitrate_kbps > 1000000)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "bitrate %d kbit/s is out of range 50..1000000", bitrate_kbps);
  if (bitrate_kbps == e->bitrate_kbps) return 0;
  if (e->kind != ENC_X265) {
    /* libx264, libaom and nvenc compare these fields with their running settings on every frame and
     * reconfigure in place (x264_encoder_reconfig / nvEncReconfigureEncoder) */
    e->bitrate_kbps = bitrate_kbps;
    set_rate(e->ctx, bitrate_kbps, e->fps);
    return 0;
  }
  /* libavcodec 62's libx265 wrapper never calls x265_encoder_reconfig: reopen */
  int old = e->bitrate_kbps;
  AVCodecContext *prev = e->ctx;
  e->ctx = NULL;
  e->bitrate_kbps = bitrate_kbps;
  int32_t st = open_ctx(e, err, err_len);
  if (st < 0) {
    e->ctx = prev;
    e->bitrate_kbps = old;
    return st;
  }
  avcodec_free_context(&prev);
  e->force_next_idr = 1;
  return 1;
}

int32_t lumen_encoder_describe(int32_t encoder, uint8_t *out, int32_t out_len) {
  Encoder *e = slot_get(&encoders, encoder);
  if (!e) return LUMEN_E_INVALID;
  if (!out || out_len <= 0) return LUMEN_E_BUFFER;
  int n;
  if (e->kind == ENC_NVENC)
    n = snprintf((char *)out, (size_t)out_len, "%s %dx%d@%d CBR %d kbit/s VBV 1 frame, p1/ull zerolatency, %d slice(s), infinite GOP, %s frames",
                 e->name, e->width, e->height, e->fps, e->bitrate_kbps, e->slices, e->pool >= 0 ? "CUDA" : "BGRx host");
  else
    n = snprintf((char *)out, (size_t)out_len,
                 "%s %dx%d@%d CBR %d kbit/s %s %s%s, %d slice(s), infinite GOP, %s frames → %s BT.709 limited%s%s%s",
                 e->name, e->width, e->height, e->fps, e->bitrate_kbps, e->kind == ENC_AOM ? "buffer 1 s, realtime speed" : "VBV 1 frame, preset",
                 e->preset, e->kind == ENC_AOM ? ", no look-ahead" : " zerolatency", e->slices,
                 e->yuv ? "CUDA (converted to I420 on the GPU, 1.5 B/px downloaded)" : e->pool >= 0 ? "CUDA (BGRx downloaded, converted on the CPU)" : "BGRx host",
                 e->in_fmt == AV_PIX_FMT_YUV420P ? "I420" : av_get_pix_fmt_name(e->in_fmt),
                 e->converter && !e->yuv ? " on 2 threads" : "", e->download && e->yuv_why[0] ? "; no GPU conversion: " : "",
                 e->download ? e->yuv_why : "");
  return n >= out_len ? out_len - 1 : n;
}

int32_t lumen_encoder_close(int32_t encoder) {
  Encoder *e = slot_take(&encoders, encoder);
  if (!e) return LUMEN_E_INVALID;
  encoder_free(e);
  return 0;
}
