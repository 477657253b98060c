/* The GPU side of the shim: the zero-copy probe and the zero-copy capture chain
 * (libs/include/lumen_gpu.h). CUDA comes from ffnvcodec's run-time loader, never linked;
 * EGL and GL through the glvnd loaders. */
#define _GNU_SOURCE
#include <EGL/egl.h>
#include <EGL/eglext.h>
#define GL_GLEXT_PROTOTYPES 1
#include <GL/gl.h>
#include <GL/glext.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gbm.h>
#include <glob.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* the loader's own messages would go to stderr; the shim reports failures in its sentences */
#define FFNV_LOG_FUNC(logctx, msg, ...) ((void)(logctx))
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...) ((void)(logctx))
#include <ffnvcodec/dynlink_loader.h>
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/log.h>

#include "internal.h"
#include "lumen_codec.h"
#include "lumen_gpu.h"

/* The pooled CUDA frames live in the encoder module (encoder.c, lumen_codec.h). Weak, so this
 * file links (and fails with a sentence) in a shim built without it. */
#pragma weak lumen_cuda_frame_get
#pragma weak lumen_cuda_frame_info
#pragma weak lumen_cuda_frame_release

#ifndef DRM_FORMAT_MOD_INVALID
#define DRM_FORMAT_MOD_INVALID 0x00ffffffffffffffULL
#endif
#define FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define FOURCC_XRGB8888 FOURCC('X', 'R', '2', '4')
#define FOURCC_ARGB8888 FOURCC('A', 'R', '2', '4')

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON text builder                                                                           */

typedef struct {
  char *p;
  size_t len, cap;
  bool oom;
} jbuf;

static void jraw(jbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (b->len + n + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

__attribute__((format(printf, 2, 3))) static void jf(jbuf *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  jraw(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void jstr(jbuf *b, const char *s) {
  jraw(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
    if (*c == '"' || *c == '\\') {
      char e[2] = {'\\', (char)*c};
      jraw(b, e, 2);
    } else if (*c < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", *c);
      jraw(b, e, 6);
    } else {
      jraw(b, (const char *)c, 1);
    }
  }
  jraw(b, "\"", 1);
}

static int32_t jfinish(jbuf *b, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (b->oom) {
    free(b->p);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "probe: out of memory while writing the report");
  }
  int32_t n = (int32_t)b->len;
  if (!out || n + 1 > out_len) {
    free(b->p);
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "probe: the report needs %d bytes, the buffer has %d", n + 1,
                      out_len);
  }
  memcpy(out, b->p, (size_t)n + 1);
  free(b->p);
  return n;
}

/* ------------------------------------------------------------------------------------------ */
/* CUDA, loaded at run time                                                                    */

typedef CUresult CUDAAPI tcuMemGetInfo(size_t *free_bytes, size_t *total_bytes);
typedef CUresult CUDAAPI tcuDeviceTotalMem(size_t *bytes, CUdevice dev);

static CudaFunctions *cu;
static tcuMemGetInfo *cu_mem_get_info;
static tcuDeviceTotalMem *cu_device_total_mem;
static int cu_status = 1; /* 1 = not tried, 0 = ok, < 0 = failed (cu_error says why) */
static char cu_error[256];
static pthread_mutex_t cu_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *cu_err(CUresult r, char *buf, size_t len) {
  const char *name = NULL, *text = NULL;
  if (cu && cu->cuGetErrorName) cu->cuGetErrorName(r, &name);
  if (cu && cu->cuGetErrorString) cu->cuGetErrorString(r, &text);
  snprintf(buf, len, "%s (%s)", name ? name : "CUDA error", text ? text : "no description");
  return buf;
}

/* Loads libcuda.so.1 and runs cuInit once; 0 or LUMEN_E_UNAVAILABLE with the reason. */
static int32_t cuda_ready(char *err, int32_t err_len) {
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

/* Retains the device's primary context the way libavcodec's CUDA hwcontext (primary_ctx=1) wants
 * it: it refuses a primary context already active with flags other than
 * CU_CTX_SCHED_BLOCKING_SYNC, so an inactive one gets those flags before it is retained. */
#define LUMEN_CU_CTX_SCHED_BLOCKING_SYNC 0x04
static CUresult primary_retain(CUcontext *ctx, CUdevice dev) {
  unsigned int flags = 0;
  int active = 0;
  if (cu->cuDevicePrimaryCtxGetState(dev, &flags, &active) == CUDA_SUCCESS && !active &&
      flags != LUMEN_CU_CTX_SCHED_BLOCKING_SYNC)
    cu->cuDevicePrimaryCtxSetFlags(dev, LUMEN_CU_CTX_SCHED_BLOCKING_SYNC);
  return cu->cuDevicePrimaryCtxRetain(ctx, dev);
}

/* Waits for a stream by polling: the primary context blocks on an interrupt in
 * cuStreamSynchronize (BLOCKING_SYNC), which costs tens of µs of wake-up per frame. */
static CUresult stream_wait(CUstream stream) {
  int64_t until = now_ns() + 50 * 1000000LL;
  for (;;) {
    CUresult r = cu->cuStreamQuery(stream);
    if (r != CUDA_ERROR_NOT_READY) return r;
    if (now_ns() > until) return cu->cuStreamSynchronize(stream);
  }
}

int32_t lumen_probe_cuda(uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  jbuf b = {0};
  char why[300];
  if (cuda_ready(why, sizeof why) < 0) {
    jf(&b, "{\"ok\":false,\"error\":");
    jstr(&b, why);
    jf(&b, ",\"devices\":[]}");
    return jfinish(&b, out, out_len, err, err_len);
  }
  int version = 0, count = 0;
  char e[160];
  cu->cuDriverGetVersion(&version);
  CUresult r = cu->cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS || count == 0) {
    snprintf(why, sizeof why, "CUDA: the driver loads but reports no device%s%s", r != CUDA_SUCCESS ? ": " : "",
             r != CUDA_SUCCESS ? cu_err(r, e, sizeof e) : "");
    jf(&b, "{\"ok\":false,\"error\":");
    jstr(&b, why);
    jf(&b, ",\"driverVersion\":\"%d.%d\",\"devices\":[]}", version / 1000, (version % 1000) / 10);
    return jfinish(&b, out, out_len, err, err_len);
  }
  jf(&b, "{\"ok\":true,\"driverVersion\":\"%d.%d\",\"devices\":[", version / 1000, (version % 1000) / 10);
  for (int i = 0; i < count; i++) {
    CUdevice dev;
    char name[256] = "";
    int major = 0, minor = 0;
    size_t mem = 0;
    cu->cuDeviceGet(&dev, i);
    cu->cuDeviceGetName(name, sizeof name, dev);
    cu->cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    cu->cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    if (cu_device_total_mem) cu_device_total_mem(&mem, dev);
    jf(&b, "%s{\"index\":%d,\"name\":", i ? "," : "", i);
    jstr(&b, name);
    jf(&b, ",\"computeCapability\":\"%d.%d\",\"memoryBytes\":%zu}", major, minor, mem);
  }
  jf(&b, "]}");
  return jfinish(&b, out, out_len, err, err_len);
}

/* ------------------------------------------------------------------------------------------ */
/* EGL display + GL context                                                                    */

typedef void (*image_target_fn)(GLenum target, void *image);
typedef EGLBoolean (*export_query_fn)(EGLDisplay, EGLImageKHR, int *, int *, EGLuint64KHR *);
typedef EGLBoolean (*export_fn)(EGLDisplay, EGLImageKHR, int *, EGLint *, EGLint *);
typedef EGLBoolean (*query_modifiers_fn)(EGLDisplay, EGLint, EGLint, EGLuint64KHR *, EGLBoolean *, EGLint *);

typedef struct {
  EGLDisplay dpy;
  EGLContext ctx;
  int drm_fd;
  struct gbm_device *gbm;
  bool gles;
  bool no_error; /* made with EGL_CONTEXT_OPENGL_NO_ERROR_KHR */
  bool has_render_node;
  char platform[160];
  char version[64];
  const char *vendor, *client_apis, *extensions;
  PFNEGLCREATEIMAGEKHRPROC create_image;
  PFNEGLDESTROYIMAGEKHRPROC destroy_image;
  image_target_fn image_target;
} gpu_gl;

static bool has_ext(const char *list, const char *name) {
  if (!list) return false;
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return true;
  return false;
}

static const char *egl_error_name(EGLint e) {
  switch (e) {
    case EGL_SUCCESS: return "EGL_SUCCESS";
    case EGL_NOT_INITIALIZED: return "EGL_NOT_INITIALIZED";
    case EGL_BAD_ACCESS: return "EGL_BAD_ACCESS";
    case EGL_BAD_ALLOC: return "EGL_BAD_ALLOC";
    case EGL_BAD_ATTRIBUTE: return "EGL_BAD_ATTRIBUTE";
    case EGL_BAD_CONFIG: return "EGL_BAD_CONFIG";
    case EGL_BAD_CONTEXT: return "EGL_BAD_CONTEXT";
    case EGL_BAD_CURRENT_SURFACE: return "EGL_BAD_CURRENT_SURFACE";
    case EGL_BAD_DISPLAY: return "EGL_BAD_DISPLAY";
    case EGL_BAD_MATCH: return "EGL_BAD_MATCH";
    case EGL_BAD_NATIVE_PIXMAP: return "EGL_BAD_NATIVE_PIXMAP";
    case EGL_BAD_NATIVE_WINDOW: return "EGL_BAD_NATIVE_WINDOW";
    case EGL_BAD_PARAMETER: return "EGL_BAD_PARAMETER";
    case EGL_BAD_SURFACE: return "EGL_BAD_SURFACE";
    case EGL_CONTEXT_LOST: return "EGL_CONTEXT_LOST";
    default: return "EGL error";
  }
}

static bool render_node_exists(char *path, size_t len) {
  glob_t g;
  bool found = false;
  if (glob("/dev/dri/renderD*", 0, NULL, &g) == 0 && g.gl_pathc > 0) {
    snprintf(path, len, "%s", g.gl_pathv[0]);
    found = true;
  }
  globfree(&g);
  return found;
}

static bool display_in_use(EGLDisplay dpy, const gpu_gl *self);

static void gl_close(gpu_gl *g) {
  if (g->dpy != EGL_NO_DISPLAY) {
    eglMakeCurrent(g->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    if (g->ctx != EGL_NO_CONTEXT) eglDestroyContext(g->dpy, g->ctx);
    /* one EGLDisplay per device is shared by every chain (and the probe) on it: terminating it
     * would end the other chains' contexts too */
    if (!display_in_use(g->dpy, g)) eglTerminate(g->dpy);
  }
  if (g->gbm) gbm_device_destroy(g->gbm);
  if (g->drm_fd >= 0) close(g->drm_fd);
  g->dpy = EGL_NO_DISPLAY;
  g->ctx = EGL_NO_CONTEXT;
  g->gbm = NULL;
  g->drm_fd = -1;
}

/* Opens the display: GBM on a render node when one exists, else the EGL device platform
 * (an NVIDIA/CUDA device first, then a DRM device, then any), else Mesa's surfaceless one. */
static int32_t gl_open_display(gpu_gl *g, char *err, int32_t err_len) {
  memset(g, 0, sizeof *g);
  g->dpy = EGL_NO_DISPLAY;
  g->ctx = EGL_NO_CONTEXT;
  g->drm_fd = -1;
  const char *client = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
  if (!client)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "EGL: no client extensions (the glvnd loader found no EGL vendor library; install the GPU's "
                      "EGL driver or set __EGL_VENDOR_LIBRARY_FILENAMES)");
  PFNEGLGETPLATFORMDISPLAYEXTPROC get_display =
      (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
  char node[64] = "", last[200] = "";
  EGLint major = 0, minor = 0;
  g->has_render_node = render_node_exists(node, sizeof node);

  if (g->has_render_node && get_display && (has_ext(client, "EGL_KHR_platform_gbm") || has_ext(client, "EGL_MESA_platform_gbm"))) {
    g->drm_fd = open(node, O_RDWR | O_CLOEXEC);
    if (g->drm_fd >= 0) g->gbm = gbm_create_device(g->drm_fd);
    if (g->gbm) {
      g->dpy = get_display(EGL_PLATFORM_GBM_KHR, g->gbm, NULL);
      if (g->dpy != EGL_NO_DISPLAY && eglInitialize(g->dpy, &major, &minor)) {
        snprintf(g->platform, sizeof g->platform, "gbm (%s)", node);
        goto opened;
      }
      snprintf(last, sizeof last, "GBM display on %s: %s", node, egl_error_name(eglGetError()));
      g->dpy = EGL_NO_DISPLAY;
      gbm_device_destroy(g->gbm);
      g->gbm = NULL;
    } else {
      snprintf(last, sizeof last, "cannot open %s: %s", node, strerror(errno));
    }
    if (g->drm_fd >= 0) close(g->drm_fd);
    g->drm_fd = -1;
  }

  if (get_display && has_ext(client, "EGL_EXT_platform_device")) {
    PFNEGLQUERYDEVICESEXTPROC query_devices = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
    PFNEGLQUERYDEVICESTRINGEXTPROC device_string =
        (PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
    EGLDeviceEXT devs[16];
    EGLint n = 0;
    if (query_devices && query_devices(16, devs, &n) && n > 0) {
      for (int rank = 3; rank >= 1; rank--) {
        for (int i = 0; i < n; i++) {
          const char *dext = device_string ? device_string(devs[i], EGL_EXTENSIONS) : NULL;
          int r = has_ext(dext, "EGL_NV_device_cuda") ? 3 : has_ext(dext, "EGL_EXT_device_drm") ? 2 : 1;
          if (r != rank) continue;
          EGLDisplay d = get_display(EGL_PLATFORM_DEVICE_EXT, devs[i], NULL);
          if (d == EGL_NO_DISPLAY || !eglInitialize(d, &major, &minor)) {
            snprintf(last, sizeof last, "EGL device %d: %s", i, egl_error_name(eglGetError()));
            continue;
          }
          g->dpy = d;
          const char *what = r == 3   ? "NVIDIA, EGL_NV_device_cuda"
                             : r == 2 ? "DRM device"
                             : has_ext(dext, "EGL_MESA_device_software") ? "software, EGL_MESA_device_software"
                                                                          : "no DRM device";
          snprintf(g->platform, sizeof g->platform, "device %d of %d (%s)", i, n, what);
          goto opened;
        }
      }
    } else {
      snprintf(last, sizeof last, "eglQueryDevicesEXT found no EGL device");
    }
  }

  if (get_display && has_ext(client, "EGL_MESA_platform_surfaceless")) {
    EGLDisplay d = get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
    if (d != EGL_NO_DISPLAY && eglInitialize(d, &major, &minor)) {
      g->dpy = d;
      snprintf(g->platform, sizeof g->platform, "surfaceless (EGL_MESA_platform_surfaceless)");
      goto opened;
    }
    snprintf(last, sizeof last, "surfaceless display: %s", egl_error_name(eglGetError()));
  }
  return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "EGL: no display could be opened (%s)",
                    last[0] ? last : "neither a render node, EGL_EXT_platform_device nor a surfaceless platform");

opened:
  snprintf(g->version, sizeof g->version, "%d.%d", major, minor);
  g->vendor = eglQueryString(g->dpy, EGL_VENDOR);
  g->client_apis = eglQueryString(g->dpy, EGL_CLIENT_APIS);
  g->extensions = eglQueryString(g->dpy, EGL_EXTENSIONS);
  g->create_image = (PFNEGLCREATEIMAGEKHRPROC)eglGetProcAddress("eglCreateImageKHR");
  g->destroy_image = (PFNEGLDESTROYIMAGEKHRPROC)eglGetProcAddress("eglDestroyImageKHR");
  g->image_target = (image_target_fn)eglGetProcAddress("glEGLImageTargetTexture2DOES");
  return 0;
}

/* A GL 4.5 / 3.3 core context (else GLES 3.0), current without a surface. no_error asks for a
 * context without error checking (EGL_KHR_create_context_no_error) where the display has it. */
static int32_t gl_make_context(gpu_gl *g, bool no_error, char *err, int32_t err_len) {
  if (!has_ext(g->extensions, "EGL_KHR_surfaceless_context"))
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "GL: the EGL display lacks EGL_KHR_surfaceless_context, needed for a context without a window");
  char last[160] = "";
  for (int attempt = 0; attempt < 3; attempt++) {
    bool gles = attempt == 2;
    int minor_core = attempt == 0 ? 5 : 3, major_core = attempt == 0 ? 4 : 3;
    if (!eglBindAPI(gles ? EGL_OPENGL_ES_API : EGL_OPENGL_API)) continue;
    EGLConfig cfg = EGL_NO_CONFIG_KHR;
    EGLint n = 0;
    EGLint want[] = {EGL_RENDERABLE_TYPE, gles ? EGL_OPENGL_ES3_BIT : EGL_OPENGL_BIT, EGL_SURFACE_TYPE, 0, EGL_NONE};
    if (!eglChooseConfig(g->dpy, want, &cfg, 1, &n) || n < 1) {
      if (!has_ext(g->extensions, "EGL_KHR_no_config_context")) {
        snprintf(last, sizeof last, "no EGL config renders %s", gles ? "GLES 3" : "OpenGL");
        continue;
      }
      cfg = EGL_NO_CONFIG_KHR;
    }
    bool ne = no_error && !gles && has_ext(g->extensions, "EGL_KHR_create_context_no_error");
    EGLint gl_attrs[] = {EGL_CONTEXT_MAJOR_VERSION, major_core, EGL_CONTEXT_MINOR_VERSION, minor_core, EGL_CONTEXT_OPENGL_PROFILE_MASK,
                         EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, ne ? EGL_CONTEXT_OPENGL_NO_ERROR_KHR : EGL_NONE, EGL_TRUE, EGL_NONE};
    EGLint es_attrs[] = {EGL_CONTEXT_MAJOR_VERSION, 3, EGL_NONE};
    g->ctx = eglCreateContext(g->dpy, cfg, EGL_NO_CONTEXT, gles ? es_attrs : gl_attrs);
    if (g->ctx == EGL_NO_CONTEXT) {
      snprintf(last, sizeof last, "eglCreateContext (%s): %s", gles ? "GLES 3.0" : attempt == 0 ? "OpenGL 4.5 core" : "OpenGL 3.3 core",
               egl_error_name(eglGetError()));
      continue;
    }
    if (!eglMakeCurrent(g->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, g->ctx)) {
      snprintf(last, sizeof last, "eglMakeCurrent: %s", egl_error_name(eglGetError()));
      eglDestroyContext(g->dpy, g->ctx);
      g->ctx = EGL_NO_CONTEXT;
      continue;
    }
    g->gles = gles;
    g->no_error = ne;
    return 0;
  }
  return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "GL: no context on this EGL display (%s)", last);
}

/* A GL extension of the current context (core profiles list them only through glGetStringi). */
static bool gl_has_ext(const char *name) {
  GLint n = 0;
  glGetIntegerv(GL_NUM_EXTENSIONS, &n);
  for (GLint i = 0; i < n; i++) {
    const char *e = (const char *)glGetStringi(GL_EXTENSIONS, (GLuint)i);
    if (e && strcmp(e, name) == 0) return true;
  }
  if (n == 0) return has_ext((const char *)glGetString(GL_EXTENSIONS), name); /* GLES 3.0 without the list */
  return false;
}

static bool gl_current(gpu_gl *g) {
  if (eglGetCurrentContext() == g->ctx) return true;
  return eglMakeCurrent(g->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, g->ctx) == EGL_TRUE;
}

static const char *VS_BODY =
    "out vec2 uv;\n"
    "void main() {\n"
    "  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));\n"
    "  uv = p;\n"
    "  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);\n"
    "}\n";
/* texelFetch: pixel-exact (no filtering), row y of the source is row y of the output. The
 * source samples as RGB (XRGB8888 / a BGRA upload); .bgr writes it back in BGRx byte order. */
static const char *FS_BODY =
    "uniform sampler2D src;\n"
    "out vec4 color;\n"
    "void main() {\n"
    "  vec4 c = texelFetch(src, ivec2(gl_FragCoord.xy), 0);\n"
    "  color = vec4(c.bgr, 1.0);\n"
    "}\n";

/* The same de-tile + swizzle as a compute pass (desktop GL 4.3+): on GPUs whose graphics
 * pipeline has few units (the H100 has graphics in only a couple of TPCs) a fragment pass is
 * far slower than a compute dispatch over every SM. */
static const char *CS_BODY =
    "layout(local_size_x = 16, local_size_y = 16) in;\n"
    "uniform sampler2D src;\n"
    "layout(rgba8) writeonly uniform image2D dst;\n"
    "void main() {\n"
    "  ivec2 p = ivec2(gl_GlobalInvocationID.xy);\n"
    "  ivec2 size = imageSize(dst);\n"
    "  if (p.x >= size.x || p.y >= size.y) return;\n"
    "  vec4 c = texelFetch(src, p, 0);\n"
    "  imageStore(dst, p, vec4(c.bgr, 1.0));\n"
    "}\n";

static GLuint gl_compile(bool gles, GLenum type, const char *body, char *log, size_t log_len) {
  const char *src[2] = {type == GL_COMPUTE_SHADER ? "#version 430 core\n"
                        : gles                    ? "#version 300 es\nprecision highp float;\n"
                                                  : "#version 330 core\n",
                        body};
  GLuint s = glCreateShader(type);
  glShaderSource(s, 2, src, NULL);
  glCompileShader(s);
  GLint ok = 0;
  glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
  if (!ok) {
    glGetShaderInfoLog(s, (GLsizei)log_len, NULL, log);
    glDeleteShader(s);
    return 0;
  }
  return s;
}

/* Waits for the GL work submitted so far by polling a fence (50 ms, then glFinish): glFinish (and
 * the implicit wait inside cuGraphicsMapResources) sleeps until the driver wakes it, which costs
 * far more than the pass itself on a mostly idle GPU. Without a fence, glFinish when `finish`. */
static void gl_wait_polled(bool finish) {
  GLsync fence = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
  glFlush();
  if (fence) {
    int64_t until = now_ns() + 50 * 1000000LL;
    GLenum w;
    while ((w = glClientWaitSync(fence, 0, 0)) == GL_TIMEOUT_EXPIRED && now_ns() < until) {
    }
    if (w == GL_TIMEOUT_EXPIRED) glFinish();
    glDeleteSync(fence);
  } else if (finish) {
    glFinish();
  }
}

/* Links compiled shaders into a program and deletes the shaders; 0 with the log on failure. */
static GLuint gl_link(const GLuint *shaders, int n, char *log, size_t log_len) {
  GLuint p = glCreateProgram();
  for (int i = 0; i < n; i++) glAttachShader(p, shaders[i]);
  glLinkProgram(p);
  for (int i = 0; i < n; i++) glDeleteShader(shaders[i]);
  GLint ok = 0;
  glGetProgramiv(p, GL_LINK_STATUS, &ok);
  if (!ok) {
    glGetProgramInfoLog(p, (GLsizei)log_len, NULL, log);
    glDeleteProgram(p);
    return 0;
  }
  return p;
}

static GLuint gl_program(bool gles, char *err, int32_t err_len) {
  char log[512] = "";
  GLuint vs = gl_compile(gles, GL_VERTEX_SHADER, VS_BODY, log, sizeof log);
  GLuint fs = vs ? gl_compile(gles, GL_FRAGMENT_SHADER, FS_BODY, log, sizeof log) : 0;
  if (!vs || !fs) {
    if (vs) glDeleteShader(vs);
    lumen_fail(err, err_len, LUMEN_E_FAILED, "GL: the swizzle shader does not compile: %s", log);
    return 0;
  }
  GLuint shaders[2] = {vs, fs};
  GLuint p = gl_link(shaders, 2, log, sizeof log);
  if (!p) {
    lumen_fail(err, err_len, LUMEN_E_FAILED, "GL: the swizzle shader does not link: %s", log);
    return 0;
  }
  glUseProgram(p);
  glUniform1i(glGetUniformLocation(p, "src"), 0);
  return p;
}

static GLuint gl_compute_program(void) {
  char log[512] = "";
  GLuint cs = gl_compile(false, GL_COMPUTE_SHADER, CS_BODY, log, sizeof log);
  if (!cs) return 0;
  GLuint p = glCreateProgram();
  glAttachShader(p, cs);
  glLinkProgram(p);
  glDeleteShader(cs);
  GLint ok = 0;
  glGetProgramiv(p, GL_LINK_STATUS, &ok);
  if (!ok) {
    glDeleteProgram(p);
    return 0;
  }
  glUseProgram(p);
  glUniform1i(glGetUniformLocation(p, "src"), 0);
  glUniform1i(glGetUniformLocation(p, "dst"), 0);
  return p;
}

static GLuint gl_texture(int w, int h) {
  GLuint t = 0;
  glGenTextures(1, &t);
  glBindTexture(GL_TEXTURE_2D, t);
  glTexStorage2D(GL_TEXTURE_2D, 1, GL_RGBA8, w, h);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  return t;
}

/* Fills a texture from a BGRx picture (desktop GL: GL_BGRA; GLES: swapped to RGBA first). */
static void gl_upload_bgrx(bool gles, GLuint tex, int w, int h, const uint8_t *bgrx, int stride) {
  glBindTexture(GL_TEXTURE_2D, tex);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  if (!gles) {
    glPixelStorei(GL_UNPACK_ROW_LENGTH, stride / 4);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, w, h, GL_BGRA, GL_UNSIGNED_BYTE, bgrx);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    return;
  }
  uint8_t *rgba = malloc((size_t)w * h * 4);
  if (!rgba) return;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *s = bgrx + (size_t)y * stride + x * 4;
      uint8_t *d = rgba + ((size_t)y * w + x) * 4;
      d[0] = s[2], d[1] = s[1], d[2] = s[0], d[3] = s[3];
    }
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
  free(rgba);
}

/* Reads the texture attached to fbo as BGRx, width*4 per row. */
static void gl_read_bgrx(bool gles, GLuint fbo, int w, int h, uint8_t *out) {
  glBindFramebuffer(GL_READ_FRAMEBUFFER, fbo);
  glPixelStorei(GL_PACK_ALIGNMENT, 4);
  if (!gles) {
    glReadPixels(0, 0, w, h, GL_BGRA, GL_UNSIGNED_BYTE, out);
    return;
  }
  glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, out);
  for (size_t i = 0; i < (size_t)w * h; i++) {
    uint8_t t = out[i * 4];
    out[i * 4] = out[i * 4 + 2];
    out[i * 4 + 2] = t;
  }
}

static GLuint gl_fbo(GLuint tex, char *err, int32_t err_len) {
  GLuint f = 0;
  glGenFramebuffers(1, &f);
  glBindFramebuffer(GL_FRAMEBUFFER, f);
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex, 0);
  GLenum s = glCheckFramebufferStatus(GL_FRAMEBUFFER);
  if (s != GL_FRAMEBUFFER_COMPLETE) {
    glDeleteFramebuffers(1, &f);
    lumen_fail(err, err_len, LUMEN_E_FAILED, "GL: an RGBA8 render target is incomplete (status 0x%x)", s);
    return 0;
  }
  return f;
}

/* The probe's test pattern, BGRx. */
static void pattern_bgrx(uint8_t *p, int w, int h, int seed) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *d = p + ((size_t)y * w + x) * 4;
      d[0] = (uint8_t)(x * 4 + y + seed);
      d[1] = (uint8_t)((y * 3) ^ x);
      d[2] = (uint8_t)(x + y * 7 + seed * 3);
      d[3] = 255;
    }
}

static int count_bgr_mismatch(const uint8_t *a, const uint8_t *b, int w, int h, int *first_x, int *first_y) {
  int bad = 0;
  *first_x = *first_y = -1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *p = a + ((size_t)y * w + x) * 4, *q = b + ((size_t)y * w + x) * 4;
      if (p[0] != q[0] || p[1] != q[1] || p[2] != q[2]) {
        if (bad++ == 0) *first_x = x, *first_y = y;
      }
    }
  return bad;
}

/* ------------------------------------------------------------------------------------------ */
/* probe: EGL, GL, dma-buf round trip, GL → CUDA                                               */

#define PW 64
#define PH 64

/* Renders the pattern into a texture, exports it as a dma-buf, imports it again, draws it
 * through the swizzle shader and compares. Returns 0 or a status, with the reason in why. */
static int32_t probe_dmabuf(gpu_gl *g, GLuint prog, GLuint pattern_tex, const uint8_t *pattern, char *why,
                            size_t why_len) {
  const char *x = g->extensions;
  const char *no_node = g->has_render_node ? ""
                                           : ": this box has no DRM render node (/dev/dri/renderD* is missing), so "
                                             "the driver cannot share GPU buffers as dma-bufs";
  if (!has_ext(x, "EGL_MESA_image_dma_buf_export"))
    return lumen_fail(why, (int32_t)why_len, LUMEN_E_UNAVAILABLE,
                      "the EGL display lacks EGL_MESA_image_dma_buf_export, so no dma-buf can be made to test with%s", no_node);
  if (!has_ext(x, "EGL_EXT_image_dma_buf_import"))
    return lumen_fail(why, (int32_t)why_len, LUMEN_E_UNAVAILABLE,
                      "the EGL display lacks EGL_EXT_image_dma_buf_import: dma-bufs cannot be imported%s", no_node);
  if (!has_ext(x, "EGL_KHR_gl_texture_2D_image") || !g->create_image || !g->image_target)
    return lumen_fail(why, (int32_t)why_len, LUMEN_E_UNAVAILABLE,
                      "the EGL display lacks EGL_KHR_gl_texture_2D_image / GL_OES_EGL_image");
  export_query_fn export_query = (export_query_fn)eglGetProcAddress("eglExportDMABUFImageQueryMESA");
  export_fn export_image = (export_fn)eglGetProcAddress("eglExportDMABUFImageMESA");
  EGLint img_attrs[] = {EGL_GL_TEXTURE_LEVEL_KHR, 0, EGL_NONE};
  EGLImageKHR img = g->create_image(g->dpy, g->ctx, EGL_GL_TEXTURE_2D_KHR, (EGLClientBuffer)(uintptr_t)pattern_tex,
                                    img_attrs);
  if (img == EGL_NO_IMAGE_KHR)
    return lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED, "an EGLImage of a GL texture cannot be made (%s)",
                      egl_error_name(eglGetError()));
  int fourcc = 0, planes = 0;
  EGLuint64KHR modifier = DRM_FORMAT_MOD_INVALID;
  int fds[4] = {-1, -1, -1, -1};
  EGLint strides[4] = {0}, offsets[4] = {0};
  int32_t status = 0;
  if (!export_query || !export_query(g->dpy, img, &fourcc, &planes, &modifier)) {
    status = lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED, "dma-buf export query failed (%s)%s",
                        egl_error_name(eglGetError()), no_node);
  } else if (!export_image(g->dpy, img, fds, strides, offsets)) {
    status = lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED, "dma-buf export failed (%s)%s",
                        egl_error_name(eglGetError()), no_node);
  }
  g->destroy_image(g->dpy, img);
  if (status < 0) return status;
  if (planes != 1) {
    for (int i = 0; i < 4; i++)
      if (fds[i] >= 0) close(fds[i]);
    return lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED, "the exported dma-buf has %d planes; expected 1", planes);
  }
  EGLint attrs[32];
  int n = 0;
  attrs[n++] = EGL_WIDTH, attrs[n++] = PW, attrs[n++] = EGL_HEIGHT, attrs[n++] = PH;
  attrs[n++] = EGL_LINUX_DRM_FOURCC_EXT, attrs[n++] = fourcc;
  attrs[n++] = EGL_DMA_BUF_PLANE0_FD_EXT, attrs[n++] = fds[0];
  attrs[n++] = EGL_DMA_BUF_PLANE0_OFFSET_EXT, attrs[n++] = offsets[0];
  attrs[n++] = EGL_DMA_BUF_PLANE0_PITCH_EXT, attrs[n++] = strides[0];
  if (modifier != DRM_FORMAT_MOD_INVALID && has_ext(x, "EGL_EXT_image_dma_buf_import_modifiers")) {
    attrs[n++] = EGL_DMA_BUF_PLANE0_MODIFIER_LO_EXT, attrs[n++] = (EGLint)(modifier & 0xffffffffu);
    attrs[n++] = EGL_DMA_BUF_PLANE0_MODIFIER_HI_EXT, attrs[n++] = (EGLint)(modifier >> 32);
  }
  attrs[n++] = EGL_NONE;
  EGLImageKHR imported = g->create_image(g->dpy, EGL_NO_CONTEXT, EGL_LINUX_DMA_BUF_EXT, NULL, attrs);
  close(fds[0]);
  if (imported == EGL_NO_IMAGE_KHR)
    return lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED,
                      "dma-buf import failed (%s) for fourcc 0x%08x modifier 0x%016llx", egl_error_name(eglGetError()),
                      fourcc, (unsigned long long)modifier);
  GLuint tex = 0, out = gl_texture(PW, PH);
  glGenTextures(1, &tex);
  glBindTexture(GL_TEXTURE_2D, tex);
  g->image_target(GL_TEXTURE_2D, imported);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  char e[200];
  GLuint fbo = gl_fbo(out, e, sizeof e);
  if (!fbo) {
    status = lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED, "%s", e);
  } else {
    glViewport(0, 0, PW, PH);
    glUseProgram(prog);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, tex);
    glDrawArrays(GL_TRIANGLES, 0, 3);
    uint8_t got[PW * PH * 4];
    /* the output holds the swizzled pixels (BGRx bytes) in RGBA8: read it as RGBA */
    glBindFramebuffer(GL_READ_FRAMEBUFFER, fbo);
    glReadPixels(0, 0, PW, PH, GL_RGBA, GL_UNSIGNED_BYTE, got);
    int fx, fy, bad = count_bgr_mismatch(got, pattern, PW, PH, &fx, &fy);
    if (glGetError() != GL_NO_ERROR || bad)
      status = lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED,
                          "the imported dma-buf samples wrong: %d of %d pixels differ (first at %d,%d)", bad, PW * PH,
                          fx, fy);
    glDeleteFramebuffers(1, &fbo);
  }
  glDeleteTextures(1, &tex);
  glDeleteTextures(1, &out);
  g->destroy_image(g->dpy, imported);
  return status;
}

static int32_t probe_gl_cuda(GLuint pattern_tex, const uint8_t *pattern, const char *renderer, char *why,
                             size_t why_len) {
  int32_t st = cuda_ready(why, (int32_t)why_len);
  if (st < 0) return st;
  char e[160];
  unsigned int n = 0;
  CUdevice devs[4];
  CUresult r = cu->cuGLGetDevices(&n, devs, 4, CU_GL_DEVICE_LIST_ALL);
  if (r != CUDA_SUCCESS || n == 0)
    return lumen_fail(why, (int32_t)why_len, LUMEN_E_UNAVAILABLE,
                      "the GL context (%s) is not on a CUDA device%s%s", renderer,
                      r != CUDA_SUCCESS ? ": cuGLGetDevices: " : "", r != CUDA_SUCCESS ? cu_err(r, e, sizeof e) : "");
  CUcontext ctx = NULL, dummy;
  if ((r = primary_retain(&ctx, devs[0])) != CUDA_SUCCESS)
    return lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED, "cuDevicePrimaryCtxRetain: %s", cu_err(r, e, sizeof e));
  cu->cuCtxPushCurrent(ctx);
  CUgraphicsResource res = NULL;
  CUdeviceptr dst = 0;
  size_t pitch = 0;
  bool mapped = false;
  const char *step = "cuGraphicsGLRegisterImage";
  r = cu->cuGraphicsGLRegisterImage(&res, pattern_tex, GL_TEXTURE_2D, CU_GRAPHICS_REGISTER_FLAGS_READ_ONLY);
  CUarray arr = NULL;
  if (r == CUDA_SUCCESS) step = "cuGraphicsMapResources", r = cu->cuGraphicsMapResources(1, &res, 0);
  if (r == CUDA_SUCCESS) {
    mapped = true;
    step = "cuGraphicsSubResourceGetMappedArray";
    r = cu->cuGraphicsSubResourceGetMappedArray(&arr, res, 0, 0);
  }
  if (r == CUDA_SUCCESS) step = "cuMemAllocPitch", r = cu->cuMemAllocPitch(&dst, &pitch, PW * 4, PH, 16);
  if (r == CUDA_SUCCESS) {
    CUDA_MEMCPY2D c = {0};
    c.srcMemoryType = CU_MEMORYTYPE_ARRAY, c.srcArray = arr;
    c.dstMemoryType = CU_MEMORYTYPE_DEVICE, c.dstDevice = dst, c.dstPitch = pitch;
    c.WidthInBytes = PW * 4, c.Height = PH;
    step = "cuMemcpy2D (array to device)";
    r = cu->cuMemcpy2D(&c);
  }
  uint8_t got[PW * PH * 4];
  if (r == CUDA_SUCCESS) {
    CUDA_MEMCPY2D c = {0};
    c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = dst, c.srcPitch = pitch;
    c.dstMemoryType = CU_MEMORYTYPE_HOST, c.dstHost = got, c.dstPitch = PW * 4;
    c.WidthInBytes = PW * 4, c.Height = PH;
    step = "cuMemcpy2D (device to host)";
    r = cu->cuMemcpy2D(&c);
  }
  if (r != CUDA_SUCCESS) {
    st = lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED, "%s: %s", step, cu_err(r, e, sizeof e));
  } else {
    /* the pattern texture holds RGBA = (R,G,B,X) of the BGRx pattern: compare swapped */
    uint8_t want[PW * PH * 4];
    for (int i = 0; i < PW * PH; i++)
      want[i * 4] = pattern[i * 4 + 2], want[i * 4 + 1] = pattern[i * 4 + 1], want[i * 4 + 2] = pattern[i * 4];
    int fx, fy, bad = count_bgr_mismatch(got, want, PW, PH, &fx, &fy);
    if (bad)
      st = lumen_fail(why, (int32_t)why_len, LUMEN_E_FAILED,
                      "the texture read through CUDA differs: %d of %d pixels (first at %d,%d)", bad, PW * PH, fx, fy);
  }
  if (dst) cu->cuMemFree(dst);
  if (mapped) cu->cuGraphicsUnmapResources(1, &res, 0);
  if (res) cu->cuGraphicsUnregisterResource(res);
  cu->cuCtxPopCurrent(&dummy);
  cu->cuDevicePrimaryCtxRelease(devs[0]);
  return st;
}

static void j_modifiers(jbuf *b, gpu_gl *g, uint32_t fourcc) {
  query_modifiers_fn q = (query_modifiers_fn)eglGetProcAddress("eglQueryDmaBufModifiersEXT");
  EGLint n = 0;
  jraw(b, "[", 1);
  if (q && has_ext(g->extensions, "EGL_EXT_image_dma_buf_import_modifiers") &&
      q(g->dpy, (EGLint)fourcc, 0, NULL, NULL, &n) && n > 0) {
    EGLuint64KHR mods[128];
    EGLBoolean ext_only[128];
    if (n > 128) n = 128;
    if (q(g->dpy, (EGLint)fourcc, n, mods, ext_only, &n)) {
      for (int i = 0; i < n; i++)
        jf(b, "%s{\"modifier\":\"0x%016llx\",\"externalOnly\":%s}", i ? "," : "", (unsigned long long)mods[i],
           ext_only[i] ? "true" : "false");
    }
  }
  jraw(b, "]", 1);
}

int32_t lumen_probe_egl(uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  jbuf b = {0};
  gpu_gl g;
  char why[400] = "";
  static const char *needed[] = {"EGL_EXT_image_dma_buf_import", "EGL_EXT_image_dma_buf_import_modifiers",
                                 "EGL_MESA_image_dma_buf_export", "EGL_KHR_surfaceless_context"};
  EGLContext prev_ctx = eglGetCurrentContext();
  EGLDisplay prev_dpy = eglGetCurrentDisplay();
  if (gl_open_display(&g, why, sizeof why) < 0) {
    jf(&b, "{\"egl\":{\"ok\":false,\"error\":");
    jstr(&b, why);
    jf(&b, ",\"platform\":null,\"version\":null,\"vendor\":null,\"clientApis\":null,\"extensions\":{");
    for (int i = 0; i < 4; i++) jf(&b, "%s\"%s\":false", i ? "," : "", needed[i]);
    jf(&b, "},\"modifiers\":{\"XRGB8888\":[],\"ARGB8888\":[]}},");
    jf(&b, "\"gl\":{\"ok\":false,\"error\":\"no EGL display\"},\"dmabuf\":{\"ok\":false,\"error\":\"no EGL display\"},");
    char cw[300];
    if (cuda_ready(cw, sizeof cw) < 0) {
      jf(&b, "\"glCuda\":{\"ok\":false,\"error\":");
      jstr(&b, cw);
      jf(&b, "}}");
    } else {
      jf(&b, "\"glCuda\":{\"ok\":false,\"error\":\"no EGL display, so no GL context to register\"}}");
    }
    return jfinish(&b, out, out_len, err, err_len);
  }
  jf(&b, "{\"egl\":{\"ok\":true,\"platform\":");
  jstr(&b, g.platform);
  jf(&b, ",\"version\":");
  jstr(&b, g.version);
  jf(&b, ",\"vendor\":");
  jstr(&b, g.vendor);
  jf(&b, ",\"clientApis\":");
  jstr(&b, g.client_apis);
  jf(&b, ",\"renderNode\":%s,\"extensions\":{", g.has_render_node ? "true" : "false");
  for (int i = 0; i < 4; i++) jf(&b, "%s\"%s\":%s", i ? "," : "", needed[i], has_ext(g.extensions, needed[i]) ? "true" : "false");
  jf(&b, "},\"modifiers\":{\"XRGB8888\":");
  j_modifiers(&b, &g, FOURCC_XRGB8888);
  jf(&b, ",\"ARGB8888\":");
  j_modifiers(&b, &g, FOURCC_ARGB8888);
  jf(&b, "}},");

  if (gl_make_context(&g, false, why, sizeof why) < 0) {
    jf(&b, "\"gl\":{\"ok\":false,\"error\":");
    jstr(&b, why);
    jf(&b, "},\"dmabuf\":{\"ok\":false,\"error\":\"no GL context\"},\"glCuda\":{\"ok\":false,\"error\":\"no GL context\"}}");
    gl_close(&g);
    if (prev_ctx != EGL_NO_CONTEXT) eglMakeCurrent(prev_dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, prev_ctx);
    return jfinish(&b, out, out_len, err, err_len);
  }
  char renderer[200];
  snprintf(renderer, sizeof renderer, "%s", (const char *)glGetString(GL_RENDERER));
  jf(&b, "\"gl\":{\"ok\":true,\"renderer\":");
  jstr(&b, renderer);
  jf(&b, ",\"version\":");
  jstr(&b, (const char *)glGetString(GL_VERSION));
  jf(&b, ",\"api\":\"%s\",\"extensions\":{", g.gles ? "GLES" : "OpenGL core");
  static const char *gl_wanted[] = {"GL_EXT_memory_object", "GL_EXT_memory_object_fd", "GL_EXT_semaphore", "GL_EXT_semaphore_fd",
                                    "GL_KHR_no_error", "GL_ARB_compute_shader"};
  for (int i = 0; i < 6; i++) jf(&b, "%s\"%s\":%s", i ? "," : "", gl_wanted[i], gl_has_ext(gl_wanted[i]) ? "true" : "false");
  jf(&b, ",\"EGL_KHR_create_context_no_error\":%s}},", has_ext(g.extensions, "EGL_KHR_create_context_no_error") ? "true" : "false");

  uint8_t pattern[PW * PH * 4];
  pattern_bgrx(pattern, PW, PH, 0);
  GLuint vao = 0, tex = gl_texture(PW, PH);
  gl_upload_bgrx(g.gles, tex, PW, PH, pattern, PW * 4);
  glGenVertexArrays(1, &vao);
  glBindVertexArray(vao);
  GLuint prog = gl_program(g.gles, why, sizeof why);
  if (!prog) {
    jf(&b, "\"dmabuf\":{\"ok\":false,\"error\":");
    jstr(&b, why);
    jf(&b, "},");
  } else if (probe_dmabuf(&g, prog, tex, pattern, why, sizeof why) < 0) {
    jf(&b, "\"dmabuf\":{\"ok\":false,\"error\":");
    jstr(&b, why);
    jf(&b, "},");
  } else {
    jf(&b, "\"dmabuf\":{\"ok\":true},");
  }
  if (probe_gl_cuda(tex, pattern, renderer, why, sizeof why) < 0) {
    jf(&b, "\"glCuda\":{\"ok\":false,\"error\":");
    jstr(&b, why);
    jf(&b, "}}");
  } else {
    jf(&b, "\"glCuda\":{\"ok\":true}}");
  }
  if (prog) glDeleteProgram(prog);
  glDeleteVertexArrays(1, &vao);
  glDeleteTextures(1, &tex);
  gl_close(&g);
  if (prev_ctx != EGL_NO_CONTEXT) eglMakeCurrent(prev_dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, prev_ctx);
  return jfinish(&b, out, out_len, err, err_len);
}

/* ------------------------------------------------------------------------------------------ */
/* probe: NVENC through libavcodec                                                             */

static char nv_log[1024];
static void nv_log_cb(void *avcl, int level, const char *fmt, va_list vl) {
  if (level > AV_LOG_ERROR) return;
  char line[512];
  vsnprintf(line, sizeof line, fmt, vl);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = 0;
  if (!n) return;
  size_t used = strlen(nv_log);
  snprintf(nv_log + used, sizeof nv_log - used, "%s%s", used ? "; " : "", line);
}

int32_t lumen_probe_nvenc(uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  jbuf b = {0};
  char why[600] = "";
  const AVCodec *codec = avcodec_find_encoder_by_name("hevc_nvenc");
  if (!codec) {
    snprintf(why, sizeof why, "libavcodec was built without hevc_nvenc");
  } else if (cuda_ready(why, sizeof why) >= 0) {
    AVBufferRef *dev = NULL, *frames = NULL;
    AVCodecContext *c = NULL;
    int ret = av_hwdevice_ctx_create(&dev, AV_HWDEVICE_TYPE_CUDA, NULL, NULL, 0);
    char e[128];
    if (ret < 0) {
      snprintf(why, sizeof why, "no CUDA device context: %s", lumen_av_error(ret, e, sizeof e));
    } else {
      frames = av_hwframe_ctx_alloc(dev);
      AVHWFramesContext *fc = (AVHWFramesContext *)frames->data;
      fc->format = AV_PIX_FMT_CUDA;
      fc->sw_format = AV_PIX_FMT_BGR0;
      fc->width = 640;
      fc->height = 480;
      fc->initial_pool_size = 0;
      ret = av_hwframe_ctx_init(frames);
      if (ret < 0) snprintf(why, sizeof why, "no CUDA frames context: %s", lumen_av_error(ret, e, sizeof e));
    }
    if (ret >= 0) {
      c = avcodec_alloc_context3(codec);
      c->width = 640;
      c->height = 480;
      c->time_base = (AVRational){1, 60};
      c->framerate = (AVRational){60, 1};
      c->pix_fmt = AV_PIX_FMT_CUDA;
      c->hw_frames_ctx = av_buffer_ref(frames);
      nv_log[0] = 0;
      int level = av_log_get_level();
      av_log_set_callback(nv_log_cb);
      av_log_set_level(AV_LOG_ERROR);
      ret = avcodec_open2(c, codec, NULL);
      av_log_set_level(level);
      av_log_set_callback(av_log_default_callback);
      if (ret < 0) {
        if (strstr(nv_log, "no encode device") || strstr(nv_log, "NO_ENCODE_DEVICE"))
          snprintf(why, sizeof why, "this GPU has no NVENC engine (NV_ENC_ERR_NO_ENCODE_DEVICE)");
        else if (strstr(nv_log, "unsupported device"))
          snprintf(why, sizeof why,
                   "the driver refused an NVENC session on this GPU (OpenEncodeSessionEx: NV_ENC_ERR_UNSUPPORTED_DEVICE); "
                   "an H100 answers this way: it has no NVENC engine");
        else if (strstr(nv_log, "libnvidia-encode"))
          snprintf(why, sizeof why, "the NVENC library (libnvidia-encode.so.1) is missing: %s", nv_log);
        else
          snprintf(why, sizeof why, "hevc_nvenc did not open: %s%s%s", lumen_av_error(ret, e, sizeof e),
                   nv_log[0] ? ": " : "", nv_log);
      }
    }
    avcodec_free_context(&c);
    av_buffer_unref(&frames);
    av_buffer_unref(&dev);
    if (ret >= 0) {
      jf(&b, "{\"ok\":true,\"encoder\":\"hevc_nvenc\"}");
      return jfinish(&b, out, out_len, err, err_len);
    }
  }
  jf(&b, "{\"ok\":false,\"error\":");
  jstr(&b, why);
  jf(&b, ",\"encoder\":\"hevc_nvenc\"}");
  return jfinish(&b, out, out_len, err, err_len);
}

/* ------------------------------------------------------------------------------------------ */
/* the chain                                                                                   */

#define MAX_CHAINS 8
#define MAX_SOURCES 16

typedef struct {
  bool used;
  bool dmabuf;
  GLuint tex; /* texture source: the picture, GPU layout */
  GLuint fbo; /* texture source: for the CPU path's read back */
  int fd;
  uint32_t fourcc;
  int offset, pitch;
  uint64_t modifier;
  EGLImageKHR image; /* the source's EGLImage, imported once and kept (PipeWire cycles a few buffers) */
  GLuint image_tex;  /* a texture bound to that image */
  bool raw;          /* texture source holding BGRx bytes as an XRGB8888 dma-buf does (samples through a swizzle) */
  CUgraphicsResource res; /* LUMEN_ZC_CUDA_COPY: image_tex registered with CUDA, once */
  bool cuda_failed;  /* the registration was refused: this source takes the GL pass */
  bool dirty;        /* texture source refilled since the last capture (GL upload not yet waited for) */
  bool mapped;       /* res mapped into CUDA, kept mapped between captures (GL does not touch the image meanwhile) */
  CUarray arr;       /* its array while mapped */
} zc_source;

typedef struct {
  bool used;
  int w, h;
  gpu_gl g;
  GLuint prog, cprog, vao, import_tex, out_tex, out_fbo, read_fbo;
  CUdevice dev;
  CUcontext cuctx;
  CUstream stream;
  CUevent copied; /* recorded after the pool copy (LUMEN_ZC_FRAME_EVENT) */
  CUgraphicsResource res;
  CUdeviceptr owned;
  size_t owned_pitch;
  int64_t frames, registrations, live_images;
  zc_source src[MAX_SOURCES];
  char describe[600];
  /* the owned buffer shared with GL (LUMEN_ZC_SHARED): CUDA memory (cuMemCreate) exported as an
   * opaque fd and imported into GL (GL_EXT_memory_object_fd) as a shader storage buffer the
   * compute pass writes BGRx into; after the pixels, at flag_off, one uint32 the flag pass
   * writes the frame number into (LUMEN_ZC_STREAM_WAIT) */
  bool shared_ok;
  char shared_why[320];
  unsigned long long vmm;
  size_t vmm_size, shared_pitch, flag_off;
  CUdeviceptr shared;
  GLuint mem_obj, ssbo, sprog, sprog4, fprog;
  GLint fprog_value, sprog_geo, sprog4_geo;
  uint32_t flag_value;
  CUdeviceptr last_owned; /* the owned buffer the last capture filled, and its pitch */
  size_t last_pitch;
  /* LUMEN_ZC_GPU_TIMES: GL timestamp queries, CUDA timing events */
  GLuint queries[2];
  CUevent t_ev[3];
  /* LUMEN_ZC_KERNEL_COPY: the pool copy as a kernel (PTX, JIT-compiled by the driver) */
  CUmodule copy_mod;
  CUfunction copy_fn;
  char cuda_why[300]; /* why LUMEN_ZC_CUDA_COPY fell back to the GL pass (empty: it did not) */
} zc_chain;

static zc_chain chains[MAX_CHAINS];

static bool display_in_use(EGLDisplay dpy, const gpu_gl *self) {
  for (int i = 0; i < MAX_CHAINS; i++)
    if (chains[i].used && &chains[i].g != self && chains[i].g.dpy == dpy && chains[i].g.ctx != EGL_NO_CONTEXT) return true;
  return false;
}

/* Hands a source's image back to GL (before GL reads or refills it, or before it goes). */
static void source_unmap(zc_chain *c, zc_source *s) {
  if (!s->mapped || !cu) return;
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  cu->cuStreamSynchronize(c->stream);
  cu->cuGraphicsUnmapResources(1, &s->res, c->stream);
  cu->cuStreamSynchronize(c->stream);
  cu->cuCtxPopCurrent(&d);
  s->mapped = false, s->arr = NULL;
}

static void source_free(zc_chain *c, zc_source *s) {
  source_unmap(c, s);
  if (s->res && cu) {
    CUcontext d;
    cu->cuCtxPushCurrent(c->cuctx);
    cu->cuStreamSynchronize(c->stream);
    cu->cuGraphicsUnregisterResource(s->res);
    cu->cuCtxPopCurrent(&d);
    s->res = NULL;
  }
  if (s->image_tex) glDeleteTextures(1, &s->image_tex);
  if (s->image != EGL_NO_IMAGE_KHR && s->image) c->g.destroy_image(c->g.dpy, s->image), c->live_images--;
  if (s->tex) glDeleteTextures(1, &s->tex);
  if (s->fbo) glDeleteFramebuffers(1, &s->fbo);
  if (s->fd >= 0) close(s->fd);
  memset(s, 0, sizeof *s);
  s->fd = -1;
}
static pthread_mutex_t chains_lock = PTHREAD_MUTEX_INITIALIZER;

static zc_chain *chain_get(int32_t h) {
  if (h < 0 || h >= MAX_CHAINS || !chains[h].used) return NULL;
  return &chains[h];
}

static void shared_open(zc_chain *c);
static void shared_free(zc_chain *c);
static bool vmm_load(void);

static void chain_free(zc_chain *c) {
  if (c->g.dpy != EGL_NO_DISPLAY && c->g.ctx != EGL_NO_CONTEXT) gl_current(&c->g);
  if (c->cuctx) {
    CUcontext d;
    cu->cuCtxPushCurrent(c->cuctx);
    if (c->stream) cu->cuStreamSynchronize(c->stream);
    if (c->res) cu->cuGraphicsUnregisterResource(c->res);
    for (int i = 0; i < MAX_SOURCES; i++) {
      if (c->src[i].mapped) cu->cuGraphicsUnmapResources(1, &c->src[i].res, c->stream), cu->cuStreamSynchronize(c->stream);
      if (c->src[i].res) cu->cuGraphicsUnregisterResource(c->src[i].res), c->src[i].res = NULL;
      c->src[i].mapped = false;
    }
    if (c->owned) cu->cuMemFree(c->owned);
    shared_free(c);
    if (c->copy_mod && c->copy_mod != (CUmodule)(uintptr_t)1) cu->cuModuleUnload(c->copy_mod);
    if (c->stream) cu->cuStreamDestroy(c->stream);
    if (c->copied) cu->cuEventDestroy(c->copied);
    for (int i = 0; i < 3; i++)
      if (c->t_ev[i]) cu->cuEventDestroy(c->t_ev[i]);
    cu->cuCtxPopCurrent(&d);
    cu->cuDevicePrimaryCtxRelease(c->dev);
  }
  for (int i = 0; i < MAX_SOURCES; i++) {
    if (c->src[i].used) source_free(c, &c->src[i]);
  }
  if (c->g.ctx != EGL_NO_CONTEXT) {
    if (c->prog) glDeleteProgram(c->prog);
    if (c->cprog) glDeleteProgram(c->cprog);
    if (c->vao) glDeleteVertexArrays(1, &c->vao);
    if (c->out_fbo) glDeleteFramebuffers(1, &c->out_fbo);
    if (c->read_fbo) glDeleteFramebuffers(1, &c->read_fbo);
    if (c->import_tex) glDeleteTextures(1, &c->import_tex);
    if (c->out_tex) glDeleteTextures(1, &c->out_tex);
  }
  gl_close(&c->g);
  memset(c, 0, sizeof *c);
}

int32_t lumen_zc_open(int32_t width, int32_t height, char *err, int32_t err_len) {
  return lumen_zc_open_ex(width, height, 0, err, err_len);
}

int32_t lumen_zc_open_ex(int32_t width, int32_t height, int32_t flags, char *err, int32_t err_len) {
  if (width < 16 || height < 16 || width > 8192 || height > 8192)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: frame size %dx%d is outside 16..8192", width, height);
  int32_t st = cuda_ready(err, err_len);
  if (st < 0) return st;
  pthread_mutex_lock(&chains_lock);
  int h = LUMEN_FREE_SLOT(chains, MAX_CHAINS);
  if (h >= 0) chains[h].used = true;
  pthread_mutex_unlock(&chains_lock);
  if (h < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "zero-copy: all %d chains are open", MAX_CHAINS);
  zc_chain *c = &chains[h];
  c->w = width, c->h = height;
  for (int i = 0; i < MAX_SOURCES; i++) c->src[i].fd = -1;
  char e[200];
  if ((st = gl_open_display(&c->g, err, err_len)) < 0) goto fail;
  if ((st = gl_make_context(&c->g, flags & LUMEN_ZC_OPEN_GL_NO_ERROR, err, err_len)) < 0) goto fail;
  if (!c->g.create_image || !c->g.image_target || !has_ext(c->g.extensions, "EGL_KHR_image_base")) {
    st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "zero-copy: the EGL display has no EGLImage support (EGL_KHR_image_base / GL_OES_EGL_image)");
    goto fail;
  }
  unsigned int n = 0;
  CUresult r = cu->cuGLGetDevices(&n, &c->dev, 1, CU_GL_DEVICE_LIST_ALL);
  if (r != CUDA_SUCCESS || n == 0) {
    st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "zero-copy: the GL context (%s) is not on a CUDA device",
                    (const char *)glGetString(GL_RENDERER));
    goto fail;
  }
  if ((r = primary_retain(&c->cuctx, c->dev)) != CUDA_SUCCESS) {
    c->cuctx = NULL;
    st = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: cuDevicePrimaryCtxRetain: %s", cu_err(r, e, sizeof e));
    goto fail;
  }
  glGenVertexArrays(1, &c->vao);
  glBindVertexArray(c->vao);
  if (!(c->prog = gl_program(c->g.gles, err, err_len))) {
    st = LUMEN_E_FAILED;
    goto fail;
  }
  {
    GLint major = 0, minor = 0;
    glGetIntegerv(GL_MAJOR_VERSION, &major);
    glGetIntegerv(GL_MINOR_VERSION, &minor);
    if (!c->g.gles && (major > 4 || (major == 4 && minor >= 3))) c->cprog = gl_compute_program();
    glGetError();
  }
  glGenTextures(1, &c->import_tex);
  glBindTexture(GL_TEXTURE_2D, c->import_tex);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST); /* one level: complete without mipmaps */
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  c->out_tex = gl_texture(width, height);
  if (!(c->out_fbo = gl_fbo(c->out_tex, err, err_len))) {
    st = LUMEN_E_FAILED;
    goto fail;
  }
  glGenFramebuffers(1, &c->read_fbo);
  GLenum ge = glGetError();
  if (ge != GL_NO_ERROR) {
    st = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: GL error 0x%x while setting up", ge);
    goto fail;
  }
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  const char *step = "cuStreamCreate";
  r = cu->cuStreamCreate(&c->stream, 1 /* CU_STREAM_NON_BLOCKING */);
  if (r == CUDA_SUCCESS) step = "cuEventCreate", r = cu->cuEventCreate(&c->copied, 2 /* CU_EVENT_DISABLE_TIMING */);
  if (r == CUDA_SUCCESS) {
    step = "cuGraphicsGLRegisterImage";
    r = cu->cuGraphicsGLRegisterImage(&c->res, c->out_tex, GL_TEXTURE_2D, CU_GRAPHICS_REGISTER_FLAGS_READ_ONLY);
    if (r == CUDA_SUCCESS) c->registrations++;
  }
  for (int i = 0; i < 3 && r == CUDA_SUCCESS; i++) step = "cuEventCreate", r = cu->cuEventCreate(&c->t_ev[i], 0);
  if (r == CUDA_SUCCESS) step = "cuMemAllocPitch", r = cu->cuMemAllocPitch(&c->owned, &c->owned_pitch, (size_t)width * 4, height, 16);
  vmm_load();
  if (r == CUDA_SUCCESS) {
    if (flags & LUMEN_ZC_OPEN_NO_SHARED) snprintf(c->shared_why, sizeof c->shared_why, "not asked for (LUMEN_ZC_OPEN_NO_SHARED)");
    else shared_open(c);
  }
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS) {
    if (step[2] == 'M') c->owned = 0;
    st = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
    goto fail;
  }
  char name[128] = "";
  cu->cuDeviceGetName(name, sizeof name, c->dev);
  char renderer[128], platform[160];
  snprintf(renderer, sizeof renderer, "%s", (const char *)glGetString(GL_RENDERER));
  memcpy(platform, c->g.platform, sizeof platform);
  snprintf(c->describe, sizeof c->describe, "%s | EGL %s | CUDA device %d (%s)%s | owned buffer %s%s", renderer, platform, (int)c->dev, name,
           c->g.no_error ? " | GL without error checking" : "", c->shared_ok ? "shared with GL (no per-frame map)" : "CUDA-only, texture mapped per frame: ",
           c->shared_ok ? "" : c->shared_why);
  return h;
fail:
  chain_free(c);
  return st;
}

static int32_t source_slot(zc_chain *c, char *err, int32_t err_len) {
  int i = LUMEN_FREE_SLOT(c->src, MAX_SOURCES);
  if (i >= 0) {
    memset(&c->src[i], 0, sizeof c->src[i]);
    c->src[i].fd = -1;
    c->src[i].used = true;
    return i;
  }
  return lumen_fail(err, err_len, LUMEN_E_NOMEM, "zero-copy: all %d sources of this chain are open", MAX_SOURCES);
}

int32_t lumen_zc_source_dmabuf(int32_t chain, int32_t fd, uint32_t fourcc, int32_t offset, int32_t pitch,
                               uint32_t modifier_hi, uint32_t modifier_lo, char *err, int32_t err_len) {
  uint64_t modifier = ((uint64_t)modifier_hi << 32) | modifier_lo;
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (fd < 0 || pitch < c->w * 4 || offset < 0)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: bad dma-buf plane (fd %d, offset %d, pitch %d for width %d)",
                      fd, offset, pitch, c->w);
  if (!has_ext(c->g.extensions, "EGL_EXT_image_dma_buf_import"))
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "zero-copy: this EGL display (%s) cannot import dma-bufs (no EGL_EXT_image_dma_buf_import)", c->g.platform);
  if (modifier != DRM_FORMAT_MOD_INVALID && !has_ext(c->g.extensions, "EGL_EXT_image_dma_buf_import_modifiers"))
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "zero-copy: the dma-buf has modifier 0x%016llx but the EGL display lacks EGL_EXT_image_dma_buf_import_modifiers",
                      (unsigned long long)modifier);
  int s = source_slot(c, err, err_len);
  if (s < 0) return s;
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) {
    c->src[s].used = false;
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: cannot dup dma-buf fd %d: %s", fd, strerror(errno));
  }
  zc_source *src = &c->src[s];
  src->dmabuf = true, src->fd = dup_fd, src->fourcc = fourcc, src->offset = offset, src->pitch = pitch;
  src->modifier = modifier;
  return s;
}

static int32_t source_texture(int32_t chain, const uint8_t *bgrx, int32_t stride, bool raw, char *err, int32_t err_len);

int32_t lumen_zc_source_texture(int32_t chain, const uint8_t *bgrx, int32_t stride, char *err, int32_t err_len) {
  return source_texture(chain, bgrx, stride, false, err, err_len);
}

int32_t lumen_zc_source_texture_raw(int32_t chain, const uint8_t *bgrx, int32_t stride, char *err, int32_t err_len) {
  return source_texture(chain, bgrx, stride, true, err, err_len);
}

/* Fills a source texture: a raw one keeps the BGRx bytes as they are (RGBA8 holding B,G,R,X, as
 * an XRGB8888 dma-buf's memory does), else GL_BGRA so it holds R,G,B,X. */
static void source_upload(zc_chain *c, zc_source *src, const uint8_t *bgrx, int stride) {
  if (!src->raw) {
    gl_upload_bgrx(c->g.gles, src->tex, c->w, c->h, bgrx, stride);
    return;
  }
  glBindTexture(GL_TEXTURE_2D, src->tex);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, stride / 4);
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, c->w, c->h, GL_RGBA, GL_UNSIGNED_BYTE, bgrx);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
}

/* A raw source's bytes are B,G,R,X in an RGBA8 texture: textures sampling it swap r and b back,
 * so the GL passes see RGB as they do with an XRGB8888 dma-buf. */
static void source_swizzle(zc_source *src) {
  static const GLint raw[4] = {GL_BLUE, GL_GREEN, GL_RED, GL_ALPHA}, plain[4] = {GL_RED, GL_GREEN, GL_BLUE, GL_ALPHA};
  glTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_RGBA, src->raw ? raw : plain);
}

static int32_t source_texture(int32_t chain, const uint8_t *bgrx, int32_t stride, bool raw, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (!bgrx || stride < c->w * 4 || stride % 4)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: stride %d is not a multiple of 4 >= %d", stride, c->w * 4);
  if (!has_ext(c->g.extensions, "EGL_KHR_gl_texture_2D_image"))
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "zero-copy: the EGL display lacks EGL_KHR_gl_texture_2D_image");
  if (!gl_current(&c->g)) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  int s = source_slot(c, err, err_len);
  if (s < 0) return s;
  zc_source *src = &c->src[s];
  src->tex = gl_texture(c->w, c->h);
  src->raw = raw;
  source_upload(c, src, bgrx, stride);
  char e[200];
  src->fbo = gl_fbo(src->tex, e, sizeof e);
  GLenum ge = glGetError();
  if (!src->fbo || ge != GL_NO_ERROR) {
    if (src->fbo) glDeleteFramebuffers(1, &src->fbo);
    glDeleteTextures(1, &src->tex);
    src->used = false;
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: the texture source cannot be made (%s, GL error 0x%x)",
                      src->fbo ? "" : e, ge);
  }
  return s;
}

int32_t lumen_zc_source_update(int32_t chain, int32_t source, const uint8_t *bgrx, int32_t stride, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c || source < 0 || source >= MAX_SOURCES || !c->src[source].used || c->src[source].dmabuf)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown texture source %d of chain %d", source, chain);
  if (!bgrx || stride < c->w * 4 || stride % 4)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: stride %d is not a multiple of 4 >= %d", stride, c->w * 4);
  if (!gl_current(&c->g)) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  source_unmap(c, &c->src[source]); /* GL refills it: hand it back first */
  source_upload(c, &c->src[source], bgrx, stride);
  c->src[source].dirty = true;
  return 0;
}

int32_t lumen_zc_source_close(int32_t chain, int32_t source) {
  zc_chain *c = chain_get(chain);
  if (!c || source < 0 || source >= MAX_SOURCES || !c->src[source].used) return LUMEN_E_INVALID;
  gl_current(&c->g);
  source_free(c, &c->src[source]);
  return 0;
}

/* The import step: an EGLImage of the source (the dma-buf, or the GL texture). */
static EGLImageKHR import_image(zc_chain *c, zc_source *s, char *err, int32_t err_len) {
  EGLImageKHR img;
  if (s->dmabuf) {
    EGLint a[24];
    int n = 0;
    a[n++] = EGL_WIDTH, a[n++] = c->w, a[n++] = EGL_HEIGHT, a[n++] = c->h;
    a[n++] = EGL_LINUX_DRM_FOURCC_EXT, a[n++] = (EGLint)s->fourcc;
    a[n++] = EGL_DMA_BUF_PLANE0_FD_EXT, a[n++] = s->fd;
    a[n++] = EGL_DMA_BUF_PLANE0_OFFSET_EXT, a[n++] = s->offset;
    a[n++] = EGL_DMA_BUF_PLANE0_PITCH_EXT, a[n++] = s->pitch;
    if (s->modifier != DRM_FORMAT_MOD_INVALID) {
      a[n++] = EGL_DMA_BUF_PLANE0_MODIFIER_LO_EXT, a[n++] = (EGLint)(s->modifier & 0xffffffffu);
      a[n++] = EGL_DMA_BUF_PLANE0_MODIFIER_HI_EXT, a[n++] = (EGLint)(s->modifier >> 32);
    }
    a[n++] = EGL_NONE;
    img = c->g.create_image(c->g.dpy, EGL_NO_CONTEXT, EGL_LINUX_DMA_BUF_EXT, NULL, a);
    if (img == EGL_NO_IMAGE_KHR) {
      lumen_fail(err, err_len, LUMEN_E_FAILED,
                 "zero-copy: dma-buf import failed (%s; fourcc 0x%08x, pitch %d, modifier 0x%016llx)%s",
                 egl_error_name(eglGetError()), s->fourcc, s->pitch, (unsigned long long)s->modifier,
                 c->g.has_render_node ? "" : ": this box has no DRM render node (/dev/dri/renderD* is missing)");
      return EGL_NO_IMAGE_KHR;
    }
  } else {
    EGLint a[] = {EGL_GL_TEXTURE_LEVEL_KHR, 0, EGL_NONE};
    img = c->g.create_image(c->g.dpy, c->g.ctx, EGL_GL_TEXTURE_2D_KHR, (EGLClientBuffer)(uintptr_t)s->tex, a);
    if (img == EGL_NO_IMAGE_KHR) {
      lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: an EGLImage of the source texture cannot be made (%s)",
                 egl_error_name(eglGetError()));
      return EGL_NO_IMAGE_KHR;
    }
  }
  c->live_images++;
  return img;
}

static int32_t pool_frame(int32_t pool, CUdeviceptr *ptr, size_t *pitch, int w, int h, char *err, int32_t err_len) {
  if (!lumen_cuda_frame_get || !lumen_cuda_frame_info || !lumen_cuda_frame_release)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                      "zero-copy: pooled CUDA frames need the encoder module (lumen_cuda_frame_get), which this shim was built without");
  int32_t f = lumen_cuda_frame_get(pool, err, err_len);
  if (f < 0) return f;
  uint8_t info[LUMEN_CUDA_FRAME_INFO_LEN];
  int32_t st = lumen_cuda_frame_info(f, info, sizeof info, err, err_len);
  if (st < 0) {
    lumen_cuda_frame_release(f);
    return st;
  }
  uint64_t p;
  int32_t fp, fw, fh;
  memcpy(&p, info, 8), memcpy(&fp, info + 8, 4), memcpy(&fw, info + 12, 4), memcpy(&fh, info + 16, 4);
  if (fw != w || fh != h) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: the pool's frames are %dx%d, the chain's %dx%d", fw, fh, w, h);
  }
  *ptr = (CUdeviceptr)p, *pitch = (size_t)fp;
  return f;
}

/* v holds LUMEN_ZC_TIMINGS_LEN / 8 values; a shorter buffer (the 64-byte layout) gets the first 8 */
static void put_timings(uint8_t *t, int32_t len, const int64_t *v) {
  if (t && len >= LUMEN_ZC_TIMINGS_LEN) memcpy(t, v, LUMEN_ZC_TIMINGS_LEN);
  else if (t && len >= 64) memcpy(t, v, 64);
}

/* ------------------------------------------------------------------------------------------ */
/* the owned buffer shared with GL: no per-frame map                                           */

/* CUDA's virtual memory management API (cuMemCreate & co.), which ffnvcodec's loader does not
 * load: looked up in libcuda.so.1 here. The structures mirror cuda.h (CUDA 10.2+). */
typedef struct {
  int type; /* CU_MEM_LOCATION_TYPE_DEVICE = 1 */
  int id;
} lumen_cu_mem_location;
typedef struct {
  int type;                 /* CU_MEM_ALLOCATION_TYPE_PINNED = 1 */
  int requested_handle_types; /* CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR = 1 */
  lumen_cu_mem_location location;
  void *win32_metadata;
  struct {
    unsigned char compression_type, gpu_direct_rdma_capable;
    unsigned short usage;
    unsigned char reserved[4];
  } alloc_flags;
} lumen_cu_mem_prop;
typedef struct {
  lumen_cu_mem_location location;
  int flags; /* CU_MEM_ACCESS_FLAGS_PROT_READWRITE = 3 */
} lumen_cu_mem_access;
typedef CUresult CUDAAPI tcuMemGetAllocationGranularity(size_t *g, const lumen_cu_mem_prop *prop, int option);
typedef CUresult CUDAAPI tcuMemCreate(unsigned long long *handle, size_t size, const lumen_cu_mem_prop *prop, unsigned long long flags);
typedef CUresult CUDAAPI tcuMemRelease(unsigned long long handle);
typedef CUresult CUDAAPI tcuMemAddressReserve(CUdeviceptr *ptr, size_t size, size_t alignment, CUdeviceptr addr, unsigned long long flags);
typedef CUresult CUDAAPI tcuMemAddressFree(CUdeviceptr ptr, size_t size);
typedef CUresult CUDAAPI tcuMemMap(CUdeviceptr ptr, size_t size, size_t offset, unsigned long long handle, unsigned long long flags);
typedef CUresult CUDAAPI tcuMemUnmap(CUdeviceptr ptr, size_t size);
typedef CUresult CUDAAPI tcuMemSetAccess(CUdeviceptr ptr, size_t size, const lumen_cu_mem_access *desc, size_t count);
typedef CUresult CUDAAPI tcuMemExportToShareableHandle(void *handle, unsigned long long h, int type, unsigned long long flags);
typedef CUresult CUDAAPI tcuStreamWaitValue32(CUstream s, CUdeviceptr addr, uint32_t value, unsigned int flags);
typedef CUresult CUDAAPI tcuEventElapsedTime(float *ms, CUevent start, CUevent end);

static struct {
  bool tried, ok;
  tcuMemGetAllocationGranularity *granularity;
  tcuMemCreate *create;
  tcuMemRelease *release;
  tcuMemAddressReserve *reserve;
  tcuMemAddressFree *address_free;
  tcuMemMap *map;
  tcuMemUnmap *unmap;
  tcuMemSetAccess *set_access;
  tcuMemExportToShareableHandle *export_handle;
  tcuStreamWaitValue32 *wait_value;
  tcuEventElapsedTime *elapsed;
} vmm;

static bool vmm_load(void) {
  pthread_mutex_lock(&cu_lock);
  if (!vmm.tried) {
    vmm.tried = true;
    void *l = cu->lib;
    vmm.granularity = (tcuMemGetAllocationGranularity *)dlsym(l, "cuMemGetAllocationGranularity");
    vmm.create = (tcuMemCreate *)dlsym(l, "cuMemCreate");
    vmm.release = (tcuMemRelease *)dlsym(l, "cuMemRelease");
    vmm.reserve = (tcuMemAddressReserve *)dlsym(l, "cuMemAddressReserve");
    vmm.address_free = (tcuMemAddressFree *)dlsym(l, "cuMemAddressFree");
    vmm.map = (tcuMemMap *)dlsym(l, "cuMemMap");
    vmm.unmap = (tcuMemUnmap *)dlsym(l, "cuMemUnmap");
    vmm.set_access = (tcuMemSetAccess *)dlsym(l, "cuMemSetAccess");
    vmm.export_handle = (tcuMemExportToShareableHandle *)dlsym(l, "cuMemExportToShareableHandle");
    vmm.wait_value = (tcuStreamWaitValue32 *)dlsym(l, "cuStreamWaitValue32_v2");
    if (!vmm.wait_value) vmm.wait_value = (tcuStreamWaitValue32 *)dlsym(l, "cuStreamWaitValue32");
    vmm.elapsed = (tcuEventElapsedTime *)dlsym(l, "cuEventElapsedTime_v2");
    if (!vmm.elapsed) vmm.elapsed = (tcuEventElapsedTime *)dlsym(l, "cuEventElapsedTime");
    vmm.ok = vmm.granularity && vmm.create && vmm.release && vmm.reserve && vmm.address_free && vmm.map && vmm.unmap &&
             vmm.set_access && vmm.export_handle;
  }
  pthread_mutex_unlock(&cu_lock);
  return vmm.ok;
}

/* GL_EXT_memory_object(_fd): through eglGetProcAddress (libOpenGL exports only core GL) */
typedef void (*gl_create_memory_objects_fn)(GLsizei, GLuint *);
typedef void (*gl_delete_memory_objects_fn)(GLsizei, const GLuint *);
typedef void (*gl_import_memory_fd_fn)(GLuint, GLuint64, GLenum, GLint);
typedef void (*gl_buffer_storage_mem_fn)(GLenum, GLsizeiptr, GLuint, GLuint64);
typedef void (*gl_memory_object_parameteriv_fn)(GLuint, GLenum, const GLint *);

/* The compute pass into the shared buffer: texelFetch (pixel-exact), .bgr swizzle, packed as
 * BGRx bytes (packUnorm4x8 puts x in the lowest byte). geo = width, height, row length in
 * uints. Variant 1: one pixel per invocation, 16x16 groups. Variant 4: four pixels per
 * invocation written as one uvec4 (width a multiple of 4), 32x8 groups. */
static const char *SCS1_BODY =
    "layout(local_size_x = 16, local_size_y = 16) in;\n"
    "uniform sampler2D src;\n"
    "uniform ivec3 geo;\n"
    "layout(std430, binding = 0) writeonly buffer Dst { uint px[]; };\n"
    "void main() {\n"
    "  ivec2 p = ivec2(gl_GlobalInvocationID.xy);\n"
    "  if (p.x >= geo.x || p.y >= geo.y) return;\n"
    "  px[p.y * geo.z + p.x] = packUnorm4x8(vec4(texelFetch(src, p, 0).bgr, 1.0));\n"
    "}\n";
static const char *SCS4_BODY =
    "layout(local_size_x = 32, local_size_y = 8) in;\n"
    "uniform sampler2D src;\n"
    "uniform ivec3 geo;\n"
    "layout(std430, binding = 0) writeonly buffer Dst { uvec4 px[]; };\n"
    "void main() {\n"
    "  ivec2 q = ivec2(gl_GlobalInvocationID.xy);\n"
    "  if (q.x * 4 >= geo.x || q.y >= geo.y) return;\n"
    "  ivec2 p = ivec2(q.x * 4, q.y);\n"
    "  uvec4 o;\n"
    "  o.x = packUnorm4x8(vec4(texelFetch(src, p, 0).bgr, 1.0));\n"
    "  o.y = packUnorm4x8(vec4(texelFetch(src, p + ivec2(1, 0), 0).bgr, 1.0));\n"
    "  o.z = packUnorm4x8(vec4(texelFetch(src, p + ivec2(2, 0), 0).bgr, 1.0));\n"
    "  o.w = packUnorm4x8(vec4(texelFetch(src, p + ivec2(3, 0), 0).bgr, 1.0));\n"
    "  px[q.y * (geo.z / 4) + q.x] = o;\n"
    "}\n";
/* The flag pass: one invocation, after a shader-storage barrier, writes the frame number. */
static const char *FLAG_BODY =
    "layout(local_size_x = 1) in;\n"
    "uniform uint value;\n"
    "layout(std430, binding = 1) writeonly buffer Flag { uint flag; };\n"
    "void main() { flag = value; }\n";

static GLuint gl_compute_from(const char *body, char *log, size_t log_len) {
  GLuint cs = gl_compile(false, GL_COMPUTE_SHADER, body, log, log_len);
  if (!cs) return 0;
  return gl_link(&cs, 1, log, log_len);
}

static void shared_free(zc_chain *c) {
  if (c->g.ctx != EGL_NO_CONTEXT) {
    if (c->ssbo) glDeleteBuffers(1, &c->ssbo);
    if (c->mem_obj) {
      gl_delete_memory_objects_fn del = (gl_delete_memory_objects_fn)eglGetProcAddress("glDeleteMemoryObjectsEXT");
      if (del) del(1, &c->mem_obj);
    }
    if (c->sprog) glDeleteProgram(c->sprog);
    if (c->sprog4) glDeleteProgram(c->sprog4);
    if (c->fprog) glDeleteProgram(c->fprog);
    if (c->queries[0]) glDeleteQueries(2, c->queries);
  }
  if (c->shared) vmm.unmap(c->shared, c->vmm_size), vmm.address_free(c->shared, c->vmm_size);
  if (c->vmm) vmm.release(c->vmm);
  c->ssbo = c->mem_obj = c->sprog = c->sprog4 = c->fprog = 0;
  c->queries[0] = c->queries[1] = 0;
  c->shared = 0, c->vmm = 0;
  c->shared_ok = false;
}

/* Sets up the shared owned buffer; on failure shared_why says why and the chain keeps the
 * registered-texture path. Called with the GL context current and the CUDA context pushed. */
static void shared_open(zc_chain *c) {
  char log[512] = "", e[160];
  CUresult r;
  GLenum ge;
  int fd = -1;
  const char *why = NULL;
#define SHARED_FAIL(...) \
  do { \
    snprintf(c->shared_why, sizeof c->shared_why, __VA_ARGS__); \
    goto fail; \
  } while (0)
  if (c->g.gles || !c->cprog) SHARED_FAIL("the GL context has no compute shaders (OpenGL 4.3+ core)");
  if (!gl_has_ext("GL_EXT_memory_object_fd") || !gl_has_ext("GL_EXT_memory_object"))
    SHARED_FAIL("the GL driver lacks GL_EXT_memory_object_fd (it cannot import CUDA memory)");
  gl_create_memory_objects_fn create_mem = (gl_create_memory_objects_fn)eglGetProcAddress("glCreateMemoryObjectsEXT");
  gl_import_memory_fd_fn import_fd = (gl_import_memory_fd_fn)eglGetProcAddress("glImportMemoryFdEXT");
  gl_buffer_storage_mem_fn storage = (gl_buffer_storage_mem_fn)eglGetProcAddress("glBufferStorageMemEXT");
  if (!create_mem || !import_fd || !storage) SHARED_FAIL("GL_EXT_memory_object_fd is listed but its functions are missing");
  if (!vmm_load()) SHARED_FAIL("this CUDA driver lacks cuMemCreate / cuMemExportToShareableHandle (CUDA 10.2+)");
  lumen_cu_mem_prop prop = {0};
  prop.type = 1, prop.requested_handle_types = 1 /* POSIX fd */, prop.location.type = 1, prop.location.id = (int)c->dev;
  size_t gran = 0;
  if ((r = vmm.granularity(&gran, &prop, 0)) != CUDA_SUCCESS || !gran)
    SHARED_FAIL("cuMemGetAllocationGranularity: %s", cu_err(r, e, sizeof e));
  c->shared_pitch = ((size_t)c->w * 4 + 255) & ~(size_t)255;
  c->flag_off = (c->shared_pitch * (size_t)c->h + 255) & ~(size_t)255;
  c->vmm_size = (c->flag_off + 256 + gran - 1) / gran * gran;
  if ((r = vmm.create(&c->vmm, c->vmm_size, &prop, 0)) != CUDA_SUCCESS) {
    c->vmm = 0;
    SHARED_FAIL("cuMemCreate (exportable as a file descriptor): %s", cu_err(r, e, sizeof e));
  }
  if ((r = vmm.reserve(&c->shared, c->vmm_size, 0, 0, 0)) != CUDA_SUCCESS) {
    c->shared = 0;
    SHARED_FAIL("cuMemAddressReserve: %s", cu_err(r, e, sizeof e));
  }
  if ((r = vmm.map(c->shared, c->vmm_size, 0, c->vmm, 0)) != CUDA_SUCCESS) {
    vmm.address_free(c->shared, c->vmm_size);
    c->shared = 0;
    SHARED_FAIL("cuMemMap: %s", cu_err(r, e, sizeof e));
  }
  lumen_cu_mem_access acc = {{1, (int)c->dev}, 3};
  if ((r = vmm.set_access(c->shared, c->vmm_size, &acc, 1)) != CUDA_SUCCESS) SHARED_FAIL("cuMemSetAccess: %s", cu_err(r, e, sizeof e));
  if ((r = cu->cuMemsetD8Async(c->shared, 0, c->vmm_size, c->stream)) != CUDA_SUCCESS || (r = cu->cuStreamSynchronize(c->stream)) != CUDA_SUCCESS)
    SHARED_FAIL("clearing the shared buffer: %s", cu_err(r, e, sizeof e));
  if ((r = vmm.export_handle(&fd, c->vmm, 1, 0)) != CUDA_SUCCESS) {
    fd = -1;
    SHARED_FAIL("cuMemExportToShareableHandle (POSIX fd): %s", cu_err(r, e, sizeof e));
  }
  glGetError();
  create_mem(1, &c->mem_obj);
  import_fd(c->mem_obj, c->vmm_size, GL_HANDLE_TYPE_OPAQUE_FD_EXT, fd); /* GL owns fd once this succeeds */
  if ((ge = glGetError()) != GL_NO_ERROR) {
    /* a dedicated allocation is the other form drivers accept */
    gl_delete_memory_objects_fn del = (gl_delete_memory_objects_fn)eglGetProcAddress("glDeleteMemoryObjectsEXT");
    gl_memory_object_parameteriv_fn param = (gl_memory_object_parameteriv_fn)eglGetProcAddress("glMemoryObjectParameterivEXT");
    if (del) del(1, &c->mem_obj);
    c->mem_obj = 0;
    GLenum first = ge;
    if (param) {
      create_mem(1, &c->mem_obj);
      GLint dedicated = GL_TRUE;
      param(c->mem_obj, GL_DEDICATED_MEMORY_OBJECT_EXT, &dedicated);
      import_fd(c->mem_obj, c->vmm_size, GL_HANDLE_TYPE_OPAQUE_FD_EXT, fd);
      ge = glGetError();
    }
    if (ge != GL_NO_ERROR) {
      if (c->mem_obj && del) del(1, &c->mem_obj);
      c->mem_obj = 0;
      SHARED_FAIL("glImportMemoryFdEXT refused the CUDA allocation's fd (GL error 0x%x, dedicated: 0x%x)", first, ge);
    }
  }
  fd = -1;
  glGenBuffers(1, &c->ssbo);
  glBindBuffer(GL_SHADER_STORAGE_BUFFER, c->ssbo);
  storage(GL_SHADER_STORAGE_BUFFER, (GLsizeiptr)c->vmm_size, c->mem_obj, 0);
  if ((ge = glGetError()) != GL_NO_ERROR) SHARED_FAIL("glBufferStorageMemEXT on the imported memory: GL error 0x%x", ge);
  GLint align = 0;
  glGetIntegerv(GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT, &align);
  if (align > 256) SHARED_FAIL("the GL's storage-buffer offset alignment (%d) exceeds 256", align);
  if (!(c->sprog = gl_compute_from(SCS1_BODY, log, sizeof log))) SHARED_FAIL("the storage-buffer compute pass does not compile: %s", log);
  glUseProgram(c->sprog);
  glUniform1i(glGetUniformLocation(c->sprog, "src"), 0);
  c->sprog_geo = glGetUniformLocation(c->sprog, "geo");
  glUniform3i(c->sprog_geo, c->w, c->h, (GLint)(c->shared_pitch / 4));
  if (c->w % 4 == 0 && (c->sprog4 = gl_compute_from(SCS4_BODY, log, sizeof log))) {
    glUseProgram(c->sprog4);
    glUniform1i(glGetUniformLocation(c->sprog4, "src"), 0);
    c->sprog4_geo = glGetUniformLocation(c->sprog4, "geo");
    glUniform3i(c->sprog4_geo, c->w, c->h, (GLint)(c->shared_pitch / 4));
  }
  if ((c->fprog = gl_compute_from(FLAG_BODY, log, sizeof log))) c->fprog_value = glGetUniformLocation(c->fprog, "value");
  glBindBufferRange(GL_SHADER_STORAGE_BUFFER, 0, c->ssbo, 0, (GLsizeiptr)(c->shared_pitch * (size_t)c->h));
  glBindBufferRange(GL_SHADER_STORAGE_BUFFER, 1, c->ssbo, (GLintptr)c->flag_off, 4);
  if ((ge = glGetError()) != GL_NO_ERROR) SHARED_FAIL("setting up the storage-buffer pass: GL error 0x%x", ge);
  c->shared_ok = true;
  c->shared_why[0] = 0;
  (void)why;
  return;
fail:
  if (fd >= 0) close(fd);
  shared_free(c);
#undef SHARED_FAIL
}

/* PTX of a 2D copy, 16 bytes per thread (rows a multiple of 16 bytes, 16-byte aligned pitches):
 * grid (ceil(row16 / 256), height), 256 threads. The driver JIT-compiles it for the device. */
static const char COPY_PTX[] =
    ".version 7.0\n"
    ".target sm_70\n"
    ".address_size 64\n"
    ".visible .entry lumen_copy2d(.param .u64 p_src, .param .u64 p_dst, .param .u64 p_sp, .param .u64 p_dp,"
    " .param .u32 p_row16, .param .u32 p_h)\n"
    "{\n"
    "  .reg .pred %p<3>;\n"
    "  .reg .b32 %r<12>;\n"
    "  .reg .b64 %rd<10>;\n"
    "  ld.param.u64 %rd1, [p_src];\n"
    "  ld.param.u64 %rd2, [p_dst];\n"
    "  ld.param.u64 %rd3, [p_sp];\n"
    "  ld.param.u64 %rd4, [p_dp];\n"
    "  ld.param.u32 %r1, [p_row16];\n"
    "  ld.param.u32 %r2, [p_h];\n"
    "  mov.u32 %r3, %ctaid.x;\n"
    "  mov.u32 %r4, %ntid.x;\n"
    "  mov.u32 %r5, %tid.x;\n"
    "  mad.lo.u32 %r6, %r3, %r4, %r5;\n"
    "  mov.u32 %r7, %ctaid.y;\n"
    "  setp.ge.u32 %p1, %r6, %r1;\n"
    "  setp.ge.u32 %p2, %r7, %r2;\n"
    "  or.pred %p1, %p1, %p2;\n"
    "  @%p1 bra DONE;\n"
    "  cvta.to.global.u64 %rd1, %rd1;\n"
    "  cvta.to.global.u64 %rd2, %rd2;\n"
    "  cvt.u64.u32 %rd5, %r7;\n"
    "  cvt.u64.u32 %rd6, %r6;\n"
    "  shl.b64 %rd6, %rd6, 4;\n"
    "  mad.lo.u64 %rd7, %rd5, %rd3, %rd6;\n"
    "  add.u64 %rd7, %rd1, %rd7;\n"
    "  mad.lo.u64 %rd8, %rd5, %rd4, %rd6;\n"
    "  add.u64 %rd8, %rd2, %rd8;\n"
    "  ld.global.nc.v4.u32 {%r8, %r9, %r10, %r11}, [%rd7];\n"
    "  st.global.v4.u32 [%rd8], {%r8, %r9, %r10, %r11};\n"
    "DONE:\n"
    "  ret;\n"
    "}\n";

/* Queues the copy owned → pooled frame on the chain's stream: the PTX kernel when asked for and
 * loadable (rows and pitches 16-byte multiples), else cuMemcpy2DAsync. */
static CUresult queue_pool_copy(zc_chain *c, CUdeviceptr src, size_t spitch, CUdeviceptr dst, size_t dpitch, bool kernel,
                                const char **step) {
  size_t row = (size_t)c->w * 4;
  if (kernel && row % 16 == 0 && spitch % 16 == 0 && dpitch % 16 == 0 && src % 16 == 0 && dst % 16 == 0) {
    if (!c->copy_fn && !c->copy_mod) {
      if (cu->cuModuleLoadData(&c->copy_mod, COPY_PTX) != CUDA_SUCCESS) c->copy_mod = (CUmodule)(uintptr_t)1; /* failed: don't retry */
      else if (cu->cuModuleGetFunction(&c->copy_fn, c->copy_mod, "lumen_copy2d") != CUDA_SUCCESS) c->copy_fn = NULL;
    }
    if (c->copy_fn) {
      unsigned long long sp = spitch, dp = dpitch;
      unsigned int row16 = (unsigned int)(row / 16), h = (unsigned int)c->h;
      void *args[] = {&src, &dst, &sp, &dp, &row16, &h};
      *step = "cuLaunchKernel (pool copy)";
      return cu->cuLaunchKernel(c->copy_fn, (row16 + 255) / 256, h, 1, 256, 1, 1, 0, c->stream, args, NULL);
    }
  }
  CUDA_MEMCPY2D m = {0};
  m.srcMemoryType = CU_MEMORYTYPE_DEVICE, m.srcDevice = src, m.srcPitch = spitch;
  m.dstMemoryType = CU_MEMORYTYPE_DEVICE, m.dstDevice = dst, m.dstPitch = dpitch;
  m.WidthInBytes = row, m.Height = (size_t)c->h;
  *step = "cuMemcpy2DAsync (owned buffer to pooled frame)";
  return cu->cuMemcpy2DAsync(&m, c->stream);
}

/* Polls a CUDA event (the frame's copy) up to limit_ns, then blocks. */
static CUresult event_wait(CUevent ev, int64_t limit_ns) {
  int64_t until = now_ns() + limit_ns;
  CUresult r;
  while ((r = cu->cuEventQuery(ev)) == CUDA_ERROR_NOT_READY && now_ns() < until) {
  }
  return r == CUDA_ERROR_NOT_READY ? cu->cuEventSynchronize(ev) : r;
}

/* GL timestamps of the pass (LUMEN_ZC_GPU_TIMES): out[0] submit → start, out[1] execution,
 * out[2] end → the CPU saw it (seen_ns; 0 = not measured). g0/c0: the GPU clock and the CPU
 * clock read together just before the dispatch. */
static void gl_times(zc_chain *c, GLint64 g0, int64_t c0, int64_t seen_ns, int64_t *out) {
  GLuint64 q0 = 0, q1 = 0;
  glGetQueryObjectui64v(c->queries[0], GL_QUERY_RESULT, &q0);
  glGetQueryObjectui64v(c->queries[1], GL_QUERY_RESULT, &q1);
  out[0] = (int64_t)q0 - (int64_t)g0;
  out[1] = (int64_t)(q1 - q0);
  out[2] = seen_ns ? seen_ns - (c0 + ((int64_t)q1 - (int64_t)g0)) : 0;
}

/* The shared-buffer path: the compute pass writes BGRx straight into the CUDA-owned buffer; then
 * GL → CUDA by a CPU-polled fence, or (LUMEN_ZC_STREAM_WAIT) by the flag pass and
 * cuStreamWaitValue32 so the CUDA copy is queued before GL has run; one copy into the pooled frame. */
static int32_t capture_shared(zc_chain *c, int32_t pool, int32_t flags, int64_t t0, int64_t t1, EGLImageKHR img, uint8_t *timings,
                              int32_t timings_len, char *err, int32_t err_len) {
  bool sync = flags & LUMEN_ZC_STAGE_SYNC, gpu_times = flags & LUMEN_ZC_GPU_TIMES;
  bool stream_wait = (flags & LUMEN_ZC_STREAM_WAIT) && c->fprog && vmm.wait_value && !sync;
  bool wide = (flags & LUMEN_ZC_WIDE) && c->sprog4;
  int64_t t[16] = {0};
  GLint64 g0 = 0;
  int64_t c0 = 0;
  if (gpu_times) {
    if (!c->queries[0]) glGenQueries(2, c->queries);
    glGetInteger64v(GL_TIMESTAMP, &g0);
    c0 = now_ns();
    glQueryCounter(c->queries[0], GL_TIMESTAMP);
  }
  if (wide) {
    glUseProgram(c->sprog4);
    glDispatchCompute((GLuint)(c->w / 4 + 31) / 32, (GLuint)(c->h + 7) / 8, 1);
  } else {
    glUseProgram(c->sprog);
    glDispatchCompute((GLuint)(c->w + 15) / 16, (GLuint)(c->h + 15) / 16, 1);
  }
  if (gpu_times) glQueryCounter(c->queries[1], GL_TIMESTAMP);
  char e[160];
  CUcontext d;
  CUresult r = CUDA_SUCCESS;
  const char *step = "";
  int64_t seen = 0, t2, t3, t_get;
  int32_t f = -1;
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  if (stream_wait) {
    c->flag_value++;
    glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT | GL_BUFFER_UPDATE_BARRIER_BIT);
    glUseProgram(c->fprog);
    glUniform1ui(c->fprog_value, c->flag_value);
    glDispatchCompute(1, 1, 1);
    glFlush();
    t2 = now_ns();
    if (img != EGL_NO_IMAGE_KHR) {
      /* a per-frame image may go once GL has it in its queue */
      c->g.destroy_image(c->g.dpy, img), c->live_images--;
      img = EGL_NO_IMAGE_KHR;
    }
    f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
    t_get = now_ns();
    if (f < 0) {
      /* GL still writes the flag; nothing on the CUDA side waits for it */
      glFinish();
      return f;
    }
    cu->cuCtxPushCurrent(c->cuctx);
    if (gpu_times) cu->cuEventRecord(c->t_ev[0], c->stream);
    step = "cuStreamWaitValue32";
    r = vmm.wait_value(c->stream, c->shared + c->flag_off, c->flag_value, 0 /* GEQ */);
    if (r != CUDA_SUCCESS) {
      /* without stream memory operations: wait on the CPU instead */
      glFinish();
      r = CUDA_SUCCESS;
    }
    if (gpu_times) cu->cuEventRecord(c->t_ev[1], c->stream);
    r = queue_pool_copy(c, c->shared, c->shared_pitch, fptr, fpitch, flags & LUMEN_ZC_KERNEL_COPY, &step);
    if (r == CUDA_SUCCESS && gpu_times) cu->cuEventRecord(c->t_ev[2], c->stream);
    if (r == CUDA_SUCCESS) step = "cuEventRecord", r = cu->cuEventRecord(c->copied, c->stream);
    if (r == CUDA_SUCCESS) {
      step = "waiting for the frame (GL pass + copy)";
      int64_t until = now_ns() + 1000 * 1000000LL;
      while ((r = cu->cuEventQuery(c->copied)) == CUDA_ERROR_NOT_READY && now_ns() < until) {
      }
      if (r == CUDA_ERROR_NOT_READY) {
        /* GL never wrote the flag: release the stream by writing it from the CPU side */
        glFinish();
        uint32_t v = c->flag_value;
        cu->cuMemcpyHtoD(c->shared + c->flag_off, &v, 4);
        cu->cuStreamSynchronize(c->stream);
        r = CUDA_ERROR_NOT_READY;
        step = "the GL pass never signalled the CUDA stream (1 s)";
      }
    }
    t3 = t2;
  } else {
    gl_wait_polled(true);
    seen = now_ns();
    if (!c->g.no_error) {
      GLenum ge = glGetError();
      if (ge != GL_NO_ERROR) {
        if (img != EGL_NO_IMAGE_KHR) c->g.destroy_image(c->g.dpy, img), c->live_images--;
        return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: GL error 0x%x in the storage-buffer pass", ge);
      }
    }
    t2 = now_ns();
    if (img != EGL_NO_IMAGE_KHR) c->g.destroy_image(c->g.dpy, img), c->live_images--;
    img = EGL_NO_IMAGE_KHR;
    t3 = now_ns();
    f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
    t_get = now_ns();
    if (f < 0) return f;
    cu->cuCtxPushCurrent(c->cuctx);
    if (gpu_times) cu->cuEventRecord(c->t_ev[1], c->stream);
    r = queue_pool_copy(c, c->shared, c->shared_pitch, fptr, fpitch, flags & LUMEN_ZC_KERNEL_COPY, &step);
    if (r == CUDA_SUCCESS && gpu_times) cu->cuEventRecord(c->t_ev[2], c->stream);
    if (r == CUDA_SUCCESS) step = "cuEventRecord", r = cu->cuEventRecord(c->copied, c->stream);
    if (r == CUDA_SUCCESS) step = "waiting for the pool copy", r = event_wait(c->copied, 50 * 1000000LL);
  }
  int64_t t4 = now_ns();
  if (r == CUDA_SUCCESS && gpu_times && vmm.elapsed) {
    float ms = 0;
    if (vmm.elapsed(&ms, c->t_ev[1], c->t_ev[2]) == CUDA_SUCCESS) t[11] = (int64_t)(ms * 1e6f);
    if (stream_wait && vmm.elapsed(&ms, c->t_ev[0], c->t_ev[1]) == CUDA_SUCCESS) t[12] = (int64_t)(ms * 1e6f);
  }
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
  }
  if (gpu_times) gl_times(c, g0, c0, seen, t + 8);
  c->last_owned = c->shared, c->last_pitch = c->shared_pitch;
  c->frames++;
  t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2, t[3] = t4 - t3, t[4] = t4 - t0, t[5] = 0, t[6] = t_get - t3;
  t[7] = stream_wait ? 2 : 1;
  put_timings(timings, timings_len, t);
  return f;
}

/* The map path without the owned buffer: once the pass is done the source is no longer read
 * (the pass wrote the chain's own RGBA8 texture), so the mapped texture is copied straight into
 * the pooled frame: one copy instead of two. The texture goes back to GL (unmap) behind the copy;
 * the call returns once the frame's copy is done. */
static int32_t capture_direct(zc_chain *c, int32_t pool, int32_t flags, int64_t t0, int64_t t1, int64_t t2, EGLImageKHR img, bool gpu_times,
                              GLint64 g0, int64_t c0, int64_t seen, uint8_t *timings, int32_t timings_len, char *err, int32_t err_len) {
  if (img != EGL_NO_IMAGE_KHR) c->g.destroy_image(c->g.dpy, img), c->live_images--;
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int64_t tg0 = now_ns();
  int32_t f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  int64_t t_get = now_ns();
  if (f < 0) return f;
  char e[160];
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  CUarray arr = NULL;
  const char *step = "cuGraphicsMapResources";
  CUresult r = cu->cuGraphicsMapResources(1, &c->res, c->stream);
  int64_t t_map = now_ns();
  bool mapped = r == CUDA_SUCCESS;
  if (r == CUDA_SUCCESS) step = "cuGraphicsSubResourceGetMappedArray", r = cu->cuGraphicsSubResourceGetMappedArray(&arr, c->res, 0, 0);
  if (r == CUDA_SUCCESS) {
    if (gpu_times) cu->cuEventRecord(c->t_ev[1], c->stream);
    CUDA_MEMCPY2D m = {0};
    m.srcMemoryType = CU_MEMORYTYPE_ARRAY, m.srcArray = arr;
    m.dstMemoryType = CU_MEMORYTYPE_DEVICE, m.dstDevice = fptr, m.dstPitch = fpitch;
    m.WidthInBytes = (size_t)c->w * 4, m.Height = (size_t)c->h;
    step = "cuMemcpy2DAsync (texture to pooled frame)";
    r = cu->cuMemcpy2DAsync(&m, c->stream);
    if (r == CUDA_SUCCESS && gpu_times) cu->cuEventRecord(c->t_ev[2], c->stream);
  }
  if (r == CUDA_SUCCESS) step = "cuEventRecord", r = cu->cuEventRecord(c->copied, c->stream);
  if (mapped) {
    CUresult u = cu->cuGraphicsUnmapResources(1, &c->res, c->stream);
    if (r == CUDA_SUCCESS && u != CUDA_SUCCESS) step = "cuGraphicsUnmapResources", r = u;
  }
  int64_t t3 = now_ns();
  if (r == CUDA_SUCCESS) step = "waiting for the pooled frame's copy", r = event_wait(c->copied, 50 * 1000000LL);
  int64_t t4 = now_ns();
  int64_t t[16] = {t1 - t0, t2 - t1, t3 - tg0, t4 - t3, t4 - t0, t_map - t_get, t_get - tg0, 0};
  if (r == CUDA_SUCCESS && gpu_times) {
    float ms = 0;
    if (vmm.elapsed && vmm.elapsed(&ms, c->t_ev[1], c->t_ev[2]) == CUDA_SUCCESS) t[11] = (int64_t)(ms * 1e6f);
  }
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS) {
    cu->cuCtxPushCurrent(c->cuctx);
    cu->cuStreamSynchronize(c->stream);
    cu->cuCtxPopCurrent(&d);
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
  }
  if (gpu_times) gl_times(c, g0, c0, seen, t + 8);
  c->frames++;
  t[7] = 3;
  put_timings(timings, timings_len, t);
  return f;
}

/* LUMEN_ZC_CUDA_COPY: no GL pass. The source's EGLImage texture is registered with CUDA once (per
 * source: a producer's few buffers) and its bytes copied straight into the pooled frame: an
 * XRGB8888 / ARGB8888 buffer holds B,G,R,X already, and the copy from the CUDA array de-tiles.
 * No GL work per frame, so the GPU does not switch between the GL and CUDA contexts. When CUDA
 * refuses the registration, *fell_back is set (cuda_why says why) and the caller takes the GL pass. */
static int32_t capture_cuda(zc_chain *c, zc_source *src, int32_t pool, int32_t flags, int64_t t0, int64_t t1, uint8_t *timings,
                            int32_t timings_len, bool *fell_back, char *err, int32_t err_len) {
  bool gpu_times = flags & LUMEN_ZC_GPU_TIMES;
  char e[160];
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  if (src->dirty) {
    /* the texture source was refilled through GL (the compositor's part): CUDA maps the image's
     * other sibling, so wait for the upload here rather than rely on the map's GL sync */
    GLsync fence = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
    glFlush();
    if (!fence || glClientWaitSync(fence, GL_SYNC_FLUSH_COMMANDS_BIT, 1000000000ULL) == GL_TIMEOUT_EXPIRED) glFinish();
    if (fence) glDeleteSync(fence);
    src->dirty = false;
  }
  if (!src->res) {
    glFlush();
    CUresult r = cu->cuGraphicsGLRegisterImage(&src->res, src->image_tex, GL_TEXTURE_2D, CU_GRAPHICS_REGISTER_FLAGS_READ_ONLY);
    if (r != CUDA_SUCCESS) {
      src->res = NULL;
      src->cuda_failed = true;
      snprintf(c->cuda_why, sizeof c->cuda_why, "CUDA cannot register the source's EGLImage texture: cuGraphicsGLRegisterImage: %s",
               cu_err(r, e, sizeof e));
      cu->cuCtxPopCurrent(&d);
      *fell_back = true;
      return 0;
    }
    c->registrations++;
  }
  int64_t tg0 = now_ns();
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  int64_t t_get = now_ns();
  if (f < 0) {
    cu->cuCtxPopCurrent(&d);
    return f;
  }
  /* mapped once and kept: mapping and unmapping every frame synchronises with the GL context,
   * which costs the context switches this path exists to avoid (LUMEN_ZC_REMAP measures that) */
  const char *step = "cuGraphicsMapResources (source)";
  CUresult r = CUDA_SUCCESS;
  if (!src->mapped) {
    r = cu->cuGraphicsMapResources(1, &src->res, c->stream);
    if (r == CUDA_SUCCESS) {
      src->mapped = true;
      step = "cuGraphicsSubResourceGetMappedArray", r = cu->cuGraphicsSubResourceGetMappedArray(&src->arr, src->res, 0, 0);
    }
  }
  int64_t t_map = now_ns();
  bool remap = flags & LUMEN_ZC_REMAP;
  if (r == CUDA_SUCCESS) {
    if (gpu_times) cu->cuEventRecord(c->t_ev[1], c->stream);
    CUDA_MEMCPY2D m = {0};
    m.srcMemoryType = CU_MEMORYTYPE_ARRAY, m.srcArray = src->arr;
    m.dstMemoryType = CU_MEMORYTYPE_DEVICE, m.dstDevice = fptr, m.dstPitch = fpitch;
    m.WidthInBytes = (size_t)c->w * 4, m.Height = (size_t)c->h;
    step = "cuMemcpy2DAsync (source image to pooled frame)";
    r = cu->cuMemcpy2DAsync(&m, c->stream);
    if (r == CUDA_SUCCESS && gpu_times) cu->cuEventRecord(c->t_ev[2], c->stream);
  }
  if (r == CUDA_SUCCESS) step = "cuEventRecord", r = cu->cuEventRecord(c->copied, c->stream);
  if (src->mapped && (remap || r != CUDA_SUCCESS)) {
    CUresult u = cu->cuGraphicsUnmapResources(1, &src->res, c->stream);
    src->mapped = false, src->arr = NULL;
    if (r == CUDA_SUCCESS && u != CUDA_SUCCESS) step = "cuGraphicsUnmapResources", r = u;
  }
  int64_t t3 = now_ns();
  if (r == CUDA_SUCCESS) step = "waiting for the pooled frame's copy", r = event_wait(c->copied, 50 * 1000000LL);
  int64_t t4 = now_ns();
  int64_t t[16] = {t1 - t0, 0, t3 - tg0, t4 - t3, t4 - t0, t_map - t_get, t_get - tg0, 4};
  if (r == CUDA_SUCCESS && gpu_times && vmm.elapsed) {
    float ms = 0;
    if (vmm.elapsed(&ms, c->t_ev[1], c->t_ev[2]) == CUDA_SUCCESS) t[11] = (int64_t)(ms * 1e6f);
  }
  if (r != CUDA_SUCCESS) {
    cu->cuStreamSynchronize(c->stream);
    cu->cuCtxPopCurrent(&d);
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
  }
  cu->cuCtxPopCurrent(&d);
  c->frames++;
  put_timings(timings, timings_len, t);
  return f;
}

static int cmp_i64(const void *a, const void *b);

/* The latency experiment (lumen_gpu.h): GL alone, CUDA alone, or GL then CUDA with no interop
 * object between them. */
int32_t lumen_zc_latency(int32_t chain, int32_t source, int32_t pool, int32_t mode, int32_t iterations, int32_t gap_us, uint8_t *out,
                         int32_t out_len, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (source < 0 || source >= MAX_SOURCES || !c->src[source].used || c->src[source].dmabuf)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: the latency experiment needs a texture source");
  if (mode < 1 || mode > 3 || iterations < 1 || iterations > 100000 || gap_us < 0 || gap_us > 1000000)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: latency mode 1..3, iterations 1..100000, gap 0..1000000 µs");
  if (!out || out_len < 48) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the latency figures need 48 bytes");
  if (!c->cprog) return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "zero-copy: no compute pass on this GL");
  if (!gl_current(&c->g)) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  if (f < 0) return f;
  int64_t *a = calloc((size_t)iterations * 6, sizeof(int64_t));
  if (!a) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "zero-copy: out of memory");
  }
  if (!c->queries[0]) glGenQueries(2, c->queries);
  glActiveTexture(GL_TEXTURE0);
  glBindTexture(GL_TEXTURE_2D, c->src[source].tex);
  CUcontext d;
  CUresult r = CUDA_SUCCESS;
  for (int i = 0; i < iterations && r == CUDA_SUCCESS; i++) {
    if (gap_us) {
      struct timespec ts = {gap_us / 1000000, (long)(gap_us % 1000000) * 1000};
      nanosleep(&ts, NULL);
    }
    int64_t *v = a + (size_t)i * 6;
    int64_t t0 = now_ns(), t1 = t0;
    if (mode & 1) {
      GLint64 g0 = 0;
      glGetInteger64v(GL_TIMESTAMP, &g0);
      int64_t c0 = now_ns();
      glQueryCounter(c->queries[0], GL_TIMESTAMP);
      glUseProgram(c->cprog);
      glBindImageTexture(0, c->out_tex, 0, GL_FALSE, 0, GL_WRITE_ONLY, GL_RGBA8);
      glDispatchCompute((GLuint)(c->w + 15) / 16, (GLuint)(c->h + 15) / 16, 1);
      glQueryCounter(c->queries[1], GL_TIMESTAMP);
      GLsync fence = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
      glFlush();
      while (glClientWaitSync(fence, 0, 0) == GL_TIMEOUT_EXPIRED) {
      }
      glDeleteSync(fence);
      t1 = now_ns();
      int64_t g[3];
      gl_times(c, g0, c0, 0, g);
      v[0] = t1 - t0, v[1] = g[0], v[2] = g[1];
      (void)c0;
    }
    if (mode & 2) {
      cu->cuCtxPushCurrent(c->cuctx);
      cu->cuEventRecord(c->t_ev[1], c->stream);
      const char *step;
      r = queue_pool_copy(c, c->owned, c->owned_pitch, fptr, fpitch, false, &step);
      cu->cuEventRecord(c->t_ev[2], c->stream);
      if (r == CUDA_SUCCESS) r = cu->cuEventRecord(c->copied, c->stream);
      if (r == CUDA_SUCCESS) r = event_wait(c->copied, 50 * 1000000LL);
      float ms = 0;
      if (r == CUDA_SUCCESS && vmm.elapsed) vmm.elapsed(&ms, c->t_ev[1], c->t_ev[2]);
      cu->cuCtxPopCurrent(&d);
      v[3] = now_ns() - t1, v[4] = (int64_t)(ms * 1e6f);
    }
    v[5] = now_ns() - t0;
  }
  lumen_cuda_frame_release(f);
  if (r != CUDA_SUCCESS) {
    char e[160];
    free(a);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: latency experiment: %s", cu_err(r, e, sizeof e));
  }
  int64_t med[6], *col = malloc(sizeof(int64_t) * (size_t)iterations);
  for (int k = 0; k < 6; k++) {
    for (int i = 0; i < iterations; i++) col[i] = a[(size_t)i * 6 + k];
    qsort(col, (size_t)iterations, sizeof(int64_t), cmp_i64);
    med[k] = col[iterations / 2];
  }
  free(col);
  free(a);
  memcpy(out, med, sizeof med);
  return 48;
}

int32_t lumen_zc_capture(int32_t chain, int32_t source, int32_t pool, int32_t flags, uint8_t *timings, int32_t timings_len,
                         char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (source < 0 || source >= MAX_SOURCES || !c->src[source].used)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown source %d", source);
  bool sync = flags & LUMEN_ZC_STAGE_SYNC;
  int64_t t0 = now_ns();
  if (!gl_current(&c->g)) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent: %s", egl_error_name(eglGetError()));
  /* import: source → EGLImage → texture; kept per source unless LUMEN_ZC_REIMPORT asks for a
   * fresh import every frame (as with a producer that never repeats a buffer) */
  zc_source *src = &c->src[source];
  EGLImageKHR img = EGL_NO_IMAGE_KHR; /* a per-frame image, destroyed after the copy */
  glActiveTexture(GL_TEXTURE0);
  if (flags & LUMEN_ZC_REIMPORT) {
    if (src->image) { /* a texture may be the sibling of one EGLImage only: drop the kept one */
      glDeleteTextures(1, &src->image_tex);
      c->g.destroy_image(c->g.dpy, src->image), c->live_images--;
      src->image = EGL_NO_IMAGE_KHR, src->image_tex = 0;
    }
    img = import_image(c, src, err, err_len);
    if (img == EGL_NO_IMAGE_KHR) return LUMEN_E_FAILED;
    glBindTexture(GL_TEXTURE_2D, c->import_tex);
    c->g.image_target(GL_TEXTURE_2D, img);
    source_swizzle(src);
  } else {
    if (!src->image) {
      EGLImageKHR kept = import_image(c, src, err, err_len);
      if (kept == EGL_NO_IMAGE_KHR) return LUMEN_E_FAILED;
      src->image = kept;
      glGenTextures(1, &src->image_tex);
      glBindTexture(GL_TEXTURE_2D, src->image_tex);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
      c->g.image_target(GL_TEXTURE_2D, kept);
      source_swizzle(src);
    }
    glBindTexture(GL_TEXTURE_2D, src->image_tex);
  }
  int64_t t1 = now_ns();
  if ((flags & LUMEN_ZC_CUDA_COPY) && img == EGL_NO_IMAGE_KHR && !src->cuda_failed &&
      (src->raw || (src->dmabuf && (src->fourcc == FOURCC_XRGB8888 || src->fourcc == FOURCC_ARGB8888)))) {
    bool fell_back = false;
    int32_t st = capture_cuda(c, src, pool, flags, t0, t1, timings, timings_len, &fell_back, err, err_len);
    if (!fell_back) return st;
  }
  source_unmap(c, src); /* the GL pass reads the image: CUDA hands it back first */
  if ((flags & LUMEN_ZC_SHARED) && (flags & LUMEN_ZC_COMPUTE) && c->shared_ok)
    return capture_shared(c, pool, flags, t0, t1, img, timings, timings_len, err, err_len);
  bool gpu_times = flags & LUMEN_ZC_GPU_TIMES;
  GLint64 g0 = 0;
  int64_t c0 = 0, seen = 0;
  if (gpu_times) {
    if (!c->queries[0]) glGenQueries(2, c->queries);
    glGetInteger64v(GL_TIMESTAMP, &g0);
    c0 = now_ns();
    glQueryCounter(c->queries[0], GL_TIMESTAMP);
  }
  /* draw: de-tile + swizzle into the RGBA8 texture (full-screen triangle, or the compute pass) */
  if ((flags & LUMEN_ZC_COMPUTE) && c->cprog) {
    glUseProgram(c->cprog);
    glBindImageTexture(0, c->out_tex, 0, GL_FALSE, 0, GL_WRITE_ONLY, GL_RGBA8);
    glDispatchCompute((GLuint)(c->w + 15) / 16, (GLuint)(c->h + 15) / 16, 1);
  } else {
    glBindFramebuffer(GL_FRAMEBUFFER, c->out_fbo);
    glViewport(0, 0, c->w, c->h);
    glUseProgram(c->prog);
    glBindVertexArray(c->vao);
    glDrawArrays(GL_TRIANGLES, 0, 3);
  }
  if (gpu_times) glQueryCounter(c->queries[1], GL_TIMESTAMP);
  gl_wait_polled(sync);
  seen = now_ns();
  GLenum ge = c->g.no_error ? GL_NO_ERROR : glGetError();
  int64_t t2 = now_ns();
  if (ge != GL_NO_ERROR) {
    if (img != EGL_NO_IMAGE_KHR) c->g.destroy_image(c->g.dpy, img), c->live_images--;
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: GL error 0x%x while drawing the imported image", ge);
  }
  if (flags & LUMEN_ZC_DIRECT)
    return capture_direct(c, pool, flags, t0, t1, t2, img, gpu_times, g0, c0, seen, timings, timings_len, err, err_len);
  /* map + copy into the owned buffer; the source image goes back right after */
  char e[160];
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  CUstream stream = c->stream;
  bool frame_event = flags & LUMEN_ZC_FRAME_EVENT;
  bool late_unmap = (flags & LUMEN_ZC_LATE_UNMAP) || frame_event, mapped = false;
  CUarray arr = NULL;
  const char *step = "cuGraphicsMapResources";
  CUresult r = cu->cuGraphicsMapResources(1, &c->res, stream);
  int64_t t_map = now_ns();
  if (r == CUDA_SUCCESS) {
    step = "cuGraphicsSubResourceGetMappedArray";
    r = cu->cuGraphicsSubResourceGetMappedArray(&arr, c->res, 0, 0);
    if (r == CUDA_SUCCESS) {
      if (gpu_times) cu->cuEventRecord(c->t_ev[0], stream);
      CUDA_MEMCPY2D m = {0};
      m.srcMemoryType = CU_MEMORYTYPE_ARRAY, m.srcArray = arr;
      m.dstMemoryType = CU_MEMORYTYPE_DEVICE, m.dstDevice = c->owned, m.dstPitch = c->owned_pitch;
      m.WidthInBytes = (size_t)c->w * 4, m.Height = (size_t)c->h;
      step = "cuMemcpy2DAsync (texture to owned buffer)";
      r = cu->cuMemcpy2DAsync(&m, stream);
      if (gpu_times) cu->cuEventRecord(c->t_ev[1], stream);
    }
    mapped = true;
    if (!late_unmap || r != CUDA_SUCCESS) {
      CUresult u = cu->cuGraphicsUnmapResources(1, &c->res, stream);
      mapped = false;
      if (r == CUDA_SUCCESS && u != CUDA_SUCCESS) step = "cuGraphicsUnmapResources", r = u;
    }
  }
  if (r == CUDA_SUCCESS && sync) step = "cuStreamSynchronize", r = stream_wait(stream);
  if (img != EGL_NO_IMAGE_KHR) c->g.destroy_image(c->g.dpy, img), c->live_images--;
  int64_t t3 = now_ns();
  if (r != CUDA_SUCCESS) {
    cu->cuCtxPopCurrent(&d);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
  }
  /* pool copy: owned buffer → pooled CUDA frame */
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  int64_t t_get = now_ns();
  if (f < 0) {
    if (mapped) cu->cuGraphicsUnmapResources(1, &c->res, stream);
    cu->cuStreamSynchronize(stream);
    cu->cuCtxPopCurrent(&d);
    return f;
  }
  r = queue_pool_copy(c, c->owned, c->owned_pitch, fptr, fpitch, flags & LUMEN_ZC_KERNEL_COPY, &step);
  if (r == CUDA_SUCCESS && gpu_times) cu->cuEventRecord(c->t_ev[2], stream);
  if (r == CUDA_SUCCESS && frame_event) step = "cuEventRecord", r = cu->cuEventRecord(c->copied, stream);
  if (mapped) {
    CUresult u = cu->cuGraphicsUnmapResources(1, &c->res, stream);
    if (r == CUDA_SUCCESS && u != CUDA_SUCCESS) step = "cuGraphicsUnmapResources", r = u;
  }
  /* the frame is ready when its copy is done; with FRAME_EVENT the texture's hand-back to GL
   * (the unmap, queued behind it) finishes on its own, and GL waits for it before the next pass */
  if (r == CUDA_SUCCESS && frame_event) {
    step = "cuEventQuery";
    int64_t until = now_ns() + 50 * 1000000LL;
    while ((r = cu->cuEventQuery(c->copied)) == CUDA_ERROR_NOT_READY && now_ns() < until) {
    }
    if (r == CUDA_ERROR_NOT_READY) step = "cuEventSynchronize", r = cu->cuEventSynchronize(c->copied);
  } else if (r == CUDA_SUCCESS) {
    step = "cuStreamSynchronize", r = stream_wait(stream);
  }
  cu->cuCtxPopCurrent(&d);
  int64_t t4 = now_ns();
  if (r != CUDA_SUCCESS) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
  }
  c->frames++;
  int64_t t[16] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0, t_map - t2, t_get - t3, 0};
  if (gpu_times) {
    gl_times(c, g0, c0, seen, t + 8);
    float ms = 0;
    cu->cuCtxPushCurrent(c->cuctx);
    if (vmm.elapsed && vmm.elapsed(&ms, c->t_ev[1], c->t_ev[2]) == CUDA_SUCCESS) t[11] = (int64_t)(ms * 1e6f);
    if (vmm.elapsed && vmm.elapsed(&ms, c->t_ev[0], c->t_ev[1]) == CUDA_SUCCESS) t[12] = (int64_t)(ms * 1e6f);
    cu->cuCtxPopCurrent(&d);
  }
  c->last_owned = c->owned, c->last_pitch = c->owned_pitch;
  put_timings(timings, timings_len, t);
  return f;
}

int32_t lumen_zc_cpu_path(int32_t chain, int32_t source, int32_t pool, uint8_t *host, int32_t host_len, uint8_t *timings,
                          int32_t timings_len, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (source < 0 || source >= MAX_SOURCES || !c->src[source].used)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown source %d", source);
  if (!host || host_len < c->w * c->h * 4)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the host buffer needs %d bytes", c->w * c->h * 4);
  int64_t t0 = now_ns();
  if (!gl_current(&c->g)) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  zc_source *s = &c->src[source];
  source_unmap(c, s);
  EGLImageKHR img = EGL_NO_IMAGE_KHR;
  GLuint fbo = s->fbo;
  if (s->dmabuf) {
    if ((img = import_image(c, s, err, err_len)) == EGL_NO_IMAGE_KHR) return LUMEN_E_FAILED;
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
  int64_t t1 = now_ns();
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
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
  int64_t t2 = now_ns();
  if (r != CUDA_SUCCESS) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: upload (cuMemcpy2D host to device): %s", cu_err(r, e, sizeof e));
  }
  int64_t t[16] = {0, t1 - t0, 0, t2 - t1, t2 - t0, 0, 0, 0};
  put_timings(timings, timings_len, t);
  return f;
}

typedef CUresult CUDAAPI tcuEventElapsedTime(float *ms, CUevent start, CUevent end);

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int32_t lumen_zc_baseline(int32_t chain, int32_t pool, int32_t iterations, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (iterations < 1 || iterations > 100000) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: iterations %d outside 1..100000", iterations);
  if (!out || out_len < 24) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the baseline needs 24 bytes");
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  if (f < 0) return f;
  tcuEventElapsedTime *elapsed = (tcuEventElapsedTime *)dlsym(cu->lib, "cuEventElapsedTime_v2");
  if (!elapsed) elapsed = (tcuEventElapsedTime *)dlsym(cu->lib, "cuEventElapsedTime");
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
  m.srcMemoryType = CU_MEMORYTYPE_DEVICE, m.srcDevice = c->owned, m.srcPitch = c->owned_pitch;
  m.dstMemoryType = CU_MEMORYTYPE_DEVICE, m.dstDevice = fptr, m.dstPitch = fpitch;
  m.WidthInBytes = (size_t)c->w * 4, m.Height = (size_t)c->h;
  CUresult r = CUDA_SUCCESS;
  for (int i = 0; i < iterations && r == CUDA_SUCCESS; i++) {
    int64_t t0 = now_ns();
    r = stream_wait(c->stream); /* nothing queued: the cost of asking */
    int64_t t1 = now_ns();
    cu->cuEventRecord(e0, c->stream);
    if (r == CUDA_SUCCESS) r = cu->cuMemcpy2DAsync(&m, c->stream);
    cu->cuEventRecord(e1, c->stream);
    if (r == CUDA_SUCCESS) r = stream_wait(c->stream);
    int64_t t2 = now_ns();
    float ms = 0;
    if (elapsed) elapsed(&ms, e0, e1);
    wait[i] = t1 - t0, copy[i] = t2 - t1, gpu[i] = (int64_t)(ms * 1e6f);
  }
  cu->cuEventDestroy(e0);
  cu->cuEventDestroy(e1);
  cu->cuCtxPopCurrent(&d);
  lumen_cuda_frame_release(f);
  if (r != CUDA_SUCCESS) {
    char e[160];
    free(a);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: baseline copy: %s", cu_err(r, e, sizeof e));
  }
  int64_t med[3];
  for (int k = 0; k < 3; k++) {
    qsort(a + (size_t)k * iterations, (size_t)iterations, sizeof(int64_t), cmp_i64);
    med[k] = a[(size_t)k * iterations + iterations / 2];
  }
  free(a);
  memcpy(out, med, sizeof med);
  return 24;
}

typedef CUresult CUDAAPI tcuMemGetHandleForAddressRange(void *handle, CUdeviceptr dptr, size_t size, int type,
                                                         unsigned long long flags);

int32_t lumen_zc_cuda_dmabuf(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (!out || out_len < 16) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the dma-buf info needs 16 bytes");
  tcuMemGetHandleForAddressRange *get =
      (tcuMemGetHandleForAddressRange *)dlsym(cu->lib, "cuMemGetHandleForAddressRange");
  if (!get)
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "zero-copy: this CUDA driver cannot export dma-bufs (no cuMemGetHandleForAddressRange)");
  size_t size = (c->owned_pitch * (size_t)c->h + 4095) & ~(size_t)4095;
  int fd = -1;
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  CUresult r = get(&fd, c->owned, size, 1 /* CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD */, 0);
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS) {
    char e[160];
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: CUDA could not export its buffer as a dma-buf: %s", cu_err(r, e, sizeof e));
  }
  int32_t pitch = (int32_t)c->owned_pitch;
  int64_t sz = (int64_t)size;
  memcpy(out, &pitch, 4);
  memset(out + 4, 0, 4);
  memcpy(out + 8, &sz, 8);
  return fd;
}

int32_t lumen_zc_read_owned(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (!out || out_len < c->w * c->h * 4)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the buffer needs %d bytes", c->w * c->h * 4);
  CUcontext d;
  char e[160];
  cu->cuCtxPushCurrent(c->cuctx);
  CUDA_MEMCPY2D m = {0};
  m.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  m.srcDevice = c->last_owned ? c->last_owned : c->owned, m.srcPitch = c->last_owned ? c->last_pitch : c->owned_pitch;
  m.dstMemoryType = CU_MEMORYTYPE_HOST, m.dstHost = out, m.dstPitch = (size_t)c->w * 4;
  m.WidthInBytes = (size_t)c->w * 4, m.Height = (size_t)c->h;
  CUresult r = cu->cuMemcpy2D(&m);
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: read back: %s", cu_err(r, e, sizeof e));
  return c->w * c->h * 4;
}

int32_t lumen_zc_stats(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (!out || out_len < LUMEN_ZC_STATS_LEN) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: stats need %d bytes", LUMEN_ZC_STATS_LEN);
  size_t fr = 0, tot = 0;
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  if (cu_mem_get_info) cu_mem_get_info(&fr, &tot);
  cu->cuCtxPopCurrent(&d);
  int64_t sources = 0;
  for (int i = 0; i < MAX_SOURCES; i++) sources += c->src[i].used;
  int64_t registered = c->res ? 1 : 0;
  for (int i = 0; i < MAX_SOURCES; i++) registered += c->src[i].res != NULL;
  int64_t v[8] = {c->frames, c->registrations, registered, c->live_images, (int64_t)fr, (int64_t)tot, sources, c->shared_ok ? 1 : 0};
  memcpy(out, v, sizeof v);
  return LUMEN_ZC_STATS_LEN;
}

int32_t lumen_zc_describe(int32_t chain, uint8_t *out, int32_t out_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return LUMEN_E_INVALID;
  int n = snprintf((char *)out, (size_t)(out_len > 0 ? out_len : 0), "%s", c->describe);
  return n >= out_len ? LUMEN_E_BUFFER : n;
}

typedef CUresult CUDAAPI tcuMemRetainAllocationHandle(unsigned long long *handle, void *addr);

int32_t lumen_zc_pool_shareable(int32_t chain, int32_t pool, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  if (!out || out_len < 2) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: no room for the answer");
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  if (f < 0) return f;
  if (!gl_current(&c->g)) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  }
  char a[200] = "", b[260] = "", e[160];
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  /* (1) is the frame's memory a cuMemCreate allocation (exportable as an opaque fd)? */
  tcuMemRetainAllocationHandle *retain = (tcuMemRetainAllocationHandle *)dlsym(cu->lib, "cuMemRetainAllocationHandle");
  unsigned long long h = 0;
  CUresult r = retain ? retain(&h, (void *)(uintptr_t)fptr) : (CUresult)801 /* CUDA_ERROR_NOT_SUPPORTED */;
  if (r == CUDA_SUCCESS) {
    snprintf(a, sizeof a, "cuMemRetainAllocationHandle: the frame is a cuMemCreate allocation");
    vmm.release(h);
  } else {
    snprintf(a, sizeof a, "cuMemRetainAllocationHandle: %s (not a cuMemCreate allocation: no opaque fd to export)", cu_err(r, e, sizeof e));
  }
  /* (2) its dma-buf (cuMemGetHandleForAddressRange) offered to GL as a memory object */
  tcuMemGetHandleForAddressRange *get = (tcuMemGetHandleForAddressRange *)dlsym(cu->lib, "cuMemGetHandleForAddressRange");
  int fd = -1;
  size_t size = (fpitch * (size_t)c->h + 4095) & ~(size_t)4095;
  r = get ? get(&fd, fptr & ~(CUdeviceptr)4095, size, 1, 0) : (CUresult)801 /* CUDA_ERROR_NOT_SUPPORTED */;
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS) {
    snprintf(b, sizeof b, "dma-buf export of the frame: %s", cu_err(r, e, sizeof e));
  } else {
    gl_create_memory_objects_fn create_mem = (gl_create_memory_objects_fn)eglGetProcAddress("glCreateMemoryObjectsEXT");
    gl_import_memory_fd_fn import_fd = (gl_import_memory_fd_fn)eglGetProcAddress("glImportMemoryFdEXT");
    gl_delete_memory_objects_fn del = (gl_delete_memory_objects_fn)eglGetProcAddress("glDeleteMemoryObjectsEXT");
    if (!create_mem || !import_fd || !del) {
      snprintf(b, sizeof b, "dma-buf exported; GL has no glImportMemoryFdEXT");
      close(fd);
    } else {
      GLuint mem = 0;
      glGetError();
      create_mem(1, &mem);
      import_fd(mem, size, GL_HANDLE_TYPE_OPAQUE_FD_EXT, fd);
      GLenum ge = glGetError();
      if (ge != GL_NO_ERROR) close(fd);
      snprintf(b, sizeof b, "its dma-buf given to glImportMemoryFdEXT as an opaque fd: %s%x%s", ge == GL_NO_ERROR ? "accepted (0x" : "GL error 0x", ge,
               ge == GL_NO_ERROR ? "; untested beyond the import)" : "");
      del(1, &mem);
    }
  }
  lumen_cuda_frame_release(f);
  int n = snprintf((char *)out, (size_t)out_len, "%s; %s", a, b);
  return n >= out_len ? out_len - 1 : n;
}

int32_t lumen_zc_cuda_copy_reason(int32_t chain, uint8_t *out, int32_t out_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return LUMEN_E_INVALID;
  int n = snprintf((char *)out, (size_t)(out_len > 0 ? out_len : 0), "%s", c->cuda_why);
  return n >= out_len ? LUMEN_E_BUFFER : n;
}

int32_t lumen_zc_shared_reason(int32_t chain, uint8_t *out, int32_t out_len) {
  zc_chain *c = chain_get(chain);
  if (!c) return LUMEN_E_INVALID;
  if (c->shared_ok) {
    if (out && out_len > 0) out[0] = 0;
    return 0;
  }
  int n = snprintf((char *)out, (size_t)(out_len > 0 ? out_len : 0), "%s", c->shared_why[0] ? c->shared_why : "not set up");
  return n >= out_len ? LUMEN_E_BUFFER : n;
}

int32_t lumen_zc_close(int32_t chain) {
  zc_chain *c = chain_get(chain);
  if (!c) return LUMEN_E_INVALID;
  chain_free(c);
  return 0;
}
