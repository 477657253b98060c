/* EGL displays, GL contexts and the GL helpers of the zero-copy probe and chain (gpu.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gbm.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu.h"
#include "internal.h"

bool has_ext(const char *list, const char *name) {
  if (!list) return false;
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return true;
  return false;
}

const char *egl_error_name(EGLint e) {
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

/* Users of each initialised EGLDisplay: eglGetPlatformDisplay hands every caller on one device
 * the same display, so terminating it while another chain (or the probe) uses it would end
 * that one's context too. */
#define MAX_DISPLAYS 16
static struct {
  EGLDisplay dpy;
  int users;
} displays[MAX_DISPLAYS];
static pthread_mutex_t displays_lock = PTHREAD_MUTEX_INITIALIZER;

static void display_use(EGLDisplay dpy, int delta) {
  pthread_mutex_lock(&displays_lock);
  int i, free_i = -1;
  for (i = 0; i < MAX_DISPLAYS; i++) {
    if (displays[i].users > 0 && displays[i].dpy == dpy) break;
    if (displays[i].users == 0 && free_i < 0) free_i = i;
  }
  if (i == MAX_DISPLAYS && delta > 0 && free_i >= 0) i = free_i, displays[i].dpy = dpy;
  bool last = false;
  if (i < MAX_DISPLAYS) {
    displays[i].users += delta;
    last = displays[i].users <= 0;
    if (last) displays[i].users = 0;
  } else {
    last = delta < 0; /* never counted (the table was full): nobody else is known to use it */
  }
  if (delta < 0 && last) eglTerminate(dpy);
  pthread_mutex_unlock(&displays_lock);
}

void gl_close(gpu_gl *g) {
  if (g->dpy != EGL_NO_DISPLAY) {
    eglMakeCurrent(g->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    if (g->ctx != EGL_NO_CONTEXT) eglDestroyContext(g->dpy, g->ctx);
    display_use(g->dpy, -1);
  }
  if (g->gbm) gbm_device_destroy(g->gbm);
  if (g->drm_fd >= 0) close(g->drm_fd);
  g->dpy = EGL_NO_DISPLAY;
  g->ctx = EGL_NO_CONTEXT;
  g->gbm = NULL;
  g->drm_fd = -1;
}

int32_t gl_open_display(gpu_gl *g, char *err, int32_t err_len) {
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
  display_use(g->dpy, +1);
  snprintf(g->version, sizeof g->version, "%d.%d", major, minor);
  g->vendor = eglQueryString(g->dpy, EGL_VENDOR);
  g->client_apis = eglQueryString(g->dpy, EGL_CLIENT_APIS);
  g->extensions = eglQueryString(g->dpy, EGL_EXTENSIONS);
  g->create_image = (PFNEGLCREATEIMAGEKHRPROC)eglGetProcAddress("eglCreateImageKHR");
  g->destroy_image = (PFNEGLDESTROYIMAGEKHRPROC)eglGetProcAddress("eglDestroyImageKHR");
  g->image_target = (image_target_fn)eglGetProcAddress("glEGLImageTargetTexture2DOES");
  return 0;
}


int32_t gl_make_context(gpu_gl *g, char *err, int32_t err_len) {
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
    EGLint gl_attrs[] = {EGL_CONTEXT_MAJOR_VERSION, major_core, EGL_CONTEXT_MINOR_VERSION, minor_core, EGL_CONTEXT_OPENGL_PROFILE_MASK,
                         EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE};
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
    return 0;
  }
  return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "GL: no context on this EGL display (%s)", last);
}

bool gl_has_ext(const char *name) {
  GLint n = 0;
  glGetIntegerv(GL_NUM_EXTENSIONS, &n);
  for (GLint i = 0; i < n; i++) {
    const char *e = (const char *)glGetStringi(GL_EXTENSIONS, (GLuint)i);
    if (e && strcmp(e, name) == 0) return true;
  }
  if (n == 0) return has_ext((const char *)glGetString(GL_EXTENSIONS), name); /* GLES 3.0 without the list */
  return false;
}

bool gl_current(gpu_gl *g) {
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

/* Whether a shader compiled (or a program linked); else its log, and it is deleted. */
static bool gl_built(GLuint obj, bool program, char *log, size_t log_len) {
  GLint ok = 0;
  if (program)
    glGetProgramiv(obj, GL_LINK_STATUS, &ok);
  else
    glGetShaderiv(obj, GL_COMPILE_STATUS, &ok);
  if (ok) return true;
  if (program)
    glGetProgramInfoLog(obj, (GLsizei)log_len, NULL, log), glDeleteProgram(obj);
  else
    glGetShaderInfoLog(obj, (GLsizei)log_len, NULL, log), glDeleteShader(obj);
  return false;
}

static GLuint gl_compile(bool gles, GLenum type, const char *body, char *log, size_t log_len) {
  const char *src[2] = {type == GL_COMPUTE_SHADER ? "#version 430 core\n"
                        : gles                    ? "#version 300 es\nprecision highp float;\n"
                                                  : "#version 330 core\n",
                        body};
  GLuint s = glCreateShader(type);
  glShaderSource(s, 2, src, NULL);
  glCompileShader(s);
  return gl_built(s, false, log, log_len) ? s : 0;
}

void gl_wait_polled(void) {
  GLsync fence = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
  glFlush();
  if (!fence) {
    glFinish();
    return;
  }
  int64_t until = lumen_mono_ns() + 50 * 1000000LL;
  GLenum w;
  while ((w = glClientWaitSync(fence, 0, 0)) == GL_TIMEOUT_EXPIRED && lumen_mono_ns() < until) {
  }
  if (w == GL_TIMEOUT_EXPIRED) glFinish();
  glDeleteSync(fence);
}

/* Links compiled shaders into a program and deletes the shaders; 0 with the log on failure. */
static GLuint gl_link(const GLuint *shaders, int n, char *log, size_t log_len) {
  GLuint p = glCreateProgram();
  for (int i = 0; i < n; i++) glAttachShader(p, shaders[i]);
  glLinkProgram(p);
  for (int i = 0; i < n; i++) glDeleteShader(shaders[i]);
  return gl_built(p, true, log, log_len) ? p : 0;
}

GLuint gl_program(bool gles, char *err, int32_t err_len) {
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

GLuint gl_compute_from(const char *body, char *log, size_t log_len) {
  GLuint cs = gl_compile(false, GL_COMPUTE_SHADER, body, log, log_len);
  return cs ? gl_link(&cs, 1, log, log_len) : 0;
}

GLuint gl_compute_program(void) {
  char log[512] = "";
  GLuint p = gl_compute_from(CS_BODY, log, sizeof log);
  if (!p) return 0;
  glUseProgram(p);
  glUniform1i(glGetUniformLocation(p, "src"), 0);
  glUniform1i(glGetUniformLocation(p, "dst"), 0);
  return p;
}

GLuint gl_texture(int w, int h) {
  GLuint t = 0;
  glGenTextures(1, &t);
  glBindTexture(GL_TEXTURE_2D, t);
  glTexStorage2D(GL_TEXTURE_2D, 1, GL_RGBA8, w, h);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  return t;
}

/* desktop GL: GL_BGRA; GLES: swapped to RGBA first */
void gl_upload_bgrx(bool gles, GLuint tex, int w, int h, const uint8_t *bgrx, int stride) {
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

void gl_read_bgrx(bool gles, GLuint fbo, int w, int h, uint8_t *out) {
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

GLuint gl_fbo(GLuint tex, char *err, int32_t err_len) {
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
