/* What the GPU files of the shim share (gpu_cuda.c, gpu_gl.c, gpu_probe.c, zerocopy.c,
 * zerocopy_bench.c); not part of the ABI. CUDA comes from ffnvcodec's run-time loader (never
 * linked); EGL and GL through the glvnd loaders. */
#ifndef LUMEN_GPU_INTERNAL_H
#define LUMEN_GPU_INTERNAL_H

#include <EGL/egl.h>
#include <EGL/eglext.h>
#define GL_GLEXT_PROTOTYPES 1
#include <GL/gl.h>
#include <GL/glext.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the loader's own messages would go to stderr; the shim reports failures in its sentences */
#define FFNV_LOG_FUNC(logctx, msg, ...) ((void)(logctx))
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...) ((void)(logctx))
#include <ffnvcodec/dynlink_loader.h>

#ifndef DRM_FORMAT_MOD_INVALID
#define DRM_FORMAT_MOD_INVALID 0x00ffffffffffffffULL
#endif
#define LUMEN_FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define FOURCC_XRGB8888 LUMEN_FOURCC('X', 'R', '2', '4')
#define FOURCC_ARGB8888 LUMEN_FOURCC('A', 'R', '2', '4')

/* --- CUDA (gpu_cuda.c) ---------------------------------------------------------------------- */

/* The driver's functions once cuda_ready() succeeded, else NULL. */
extern CudaFunctions *cu;
/* Loads libcuda.so.1 and runs cuInit once; 0, or LUMEN_E_UNAVAILABLE with the reason. */
int32_t cuda_ready(char *err, int32_t err_len);
/* "NAME (description)" of a CUDA error, in buf. */
const char *cu_err(CUresult r, char *buf, size_t len);
/* Total memory of a device and free/total memory of the current context (0 when the driver
 * lacks the call). */
size_t cuda_device_total(CUdevice dev);
void cuda_mem_info(size_t *free_bytes, size_t *total_bytes);
/* Retains dev's primary context with the flags libavcodec's CUDA hwcontext expects. */
CUresult cuda_primary_retain(CUcontext *ctx, CUdevice dev);
/* Waits for a stream / an event by polling for up to limit_ns, then blocks: the primary context
 * blocks on an interrupt (BLOCKING_SYNC), which costs tens of µs of wake-up per frame. */
CUresult cuda_wait_stream(CUstream stream, int64_t limit_ns);
CUresult cuda_wait_event(CUevent event, int64_t limit_ns);
/* A driver function ffnvcodec's loader does not load, looked up in libcuda.so.1 (NULL if absent). */
void *cuda_symbol(const char *name);

/* --- EGL and GL (gpu_gl.c) ------------------------------------------------------------------ */

typedef void (*image_target_fn)(GLenum target, void *image);

typedef struct {
  EGLDisplay dpy;
  EGLContext ctx;
  int drm_fd;
  struct gbm_device *gbm;
  bool gles;
  bool has_render_node;
  char platform[160];
  char version[64];
  const char *vendor, *client_apis, *extensions;
  PFNEGLCREATEIMAGEKHRPROC create_image;
  PFNEGLDESTROYIMAGEKHRPROC destroy_image;
  image_target_fn image_target;
} gpu_gl;

/* Whether a space-separated extension list names `name`. */
bool has_ext(const char *list, const char *name);
const char *egl_error_name(EGLint e);
/* Opens the display: GBM on a render node when one exists, else the EGL device platform (an
 * NVIDIA/CUDA device first, then a DRM device, then any), else Mesa's surfaceless one. One
 * EGLDisplay per device is shared by every user (chains, the probe): it is counted here and
 * terminated by the last gl_close. */
int32_t gl_open_display(gpu_gl *g, char *err, int32_t err_len);
/* A GL 4.5 / 3.3 core context (else GLES 3.0), current without a surface. */
int32_t gl_make_context(gpu_gl *g, char *err, int32_t err_len);
void gl_close(gpu_gl *g);
bool gl_current(gpu_gl *g);
/* A GL extension of the current context (core profiles list them only through glGetStringi). */
bool gl_has_ext(const char *name);
/* The swizzle pass (RGB sampled → BGRx bytes written): the full-screen triangle program, and the
 * same as a compute program (desktop GL 4.3+; 0 when the context has none). */
GLuint gl_program(bool gles, char *err, int32_t err_len);
GLuint gl_compute_program(void);
/* A compute program from a GLSL 4.30 body; 0 with the compiler's log on failure. */
GLuint gl_compute_from(const char *body, char *log, size_t log_len);
/* The synthetic pattern drawn on the GPU (gpu_pattern.c): the compute program (0 with the reason),
 * and one frame of it into an RGBA8 texture: raw = B,G,R,X in the channels (the bytes of an
 * XRGB8888 dma-buf), else R,G,B,X; the stamp's 32-bit value and 8-bit check when stamped. */
GLuint gl_pattern_program(char *err, int32_t err_len);
void gl_pattern_draw(GLuint prog, GLuint tex, int w, int h, bool raw, uint32_t frame, int64_t clock_ms, bool stamped, uint32_t stamp,
                     uint32_t check);
/* An immutable RGBA8 texture, nearest filtering. */
GLuint gl_texture(int w, int h);
/* Fills a texture from a BGRx picture (stride bytes per row; the caller checked its length). */
void gl_upload_bgrx(bool gles, GLuint tex, int w, int h, const uint8_t *bgrx, int stride);
/* Reads the texture attached to fbo as BGRx, width*4 per row. */
void gl_read_bgrx(bool gles, GLuint fbo, int w, int h, uint8_t *out);
/* A framebuffer around tex, or 0 with the reason. */
GLuint gl_fbo(GLuint tex, char *err, int32_t err_len);
/* Waits for the GL work submitted so far by polling a fence (50 ms, then glFinish): glFinish
 * sleeps until the driver wakes it, which costs far more than the pass on a mostly idle GPU. */
void gl_wait_polled(void);

#endif
