/* The zero-copy probe (lumen_gpu.h): CUDA, EGL + GL + the dma-buf round trip + GL → CUDA, and an
 * NVENC session. Each check writes one JSON object; a failing check is reported inside it. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/log.h>

#include "gpu.h"
#include "internal.h"
#include "json.h"
#include "lumen_gpu.h"

typedef EGLBoolean (*export_query_fn)(EGLDisplay, EGLImageKHR, int *, int *, EGLuint64KHR *);
typedef EGLBoolean (*export_fn)(EGLDisplay, EGLImageKHR, int *, EGLint *, EGLint *);
typedef EGLBoolean (*query_modifiers_fn)(EGLDisplay, EGLint, EGLint, EGLuint64KHR *, EGLBoolean *, EGLint *);

int32_t lumen_probe_cuda(uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  LumenJson b = {0};
  char why[300];
  if (cuda_ready(why, sizeof why) < 0) {
    json_printf(&b, "{\"ok\":false,\"error\":");
    json_string(&b, why);
    json_printf(&b, ",\"devices\":[]}");
    return json_finish(&b, "probe", out, out_len, err, err_len);
  }
  int version = 0, count = 0;
  char e[160];
  cu->cuDriverGetVersion(&version);
  CUresult r = cu->cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS || count == 0) {
    snprintf(why, sizeof why, "CUDA: the driver loads but reports no device%s%s", r != CUDA_SUCCESS ? ": " : "",
             r != CUDA_SUCCESS ? cu_err(r, e, sizeof e) : "");
    json_printf(&b, "{\"ok\":false,\"error\":");
    json_string(&b, why);
    json_printf(&b, ",\"driverVersion\":\"%d.%d\",\"devices\":[]}", version / 1000, (version % 1000) / 10);
    return json_finish(&b, "probe", out, out_len, err, err_len);
  }
  json_printf(&b, "{\"ok\":true,\"driverVersion\":\"%d.%d\",\"devices\":[", version / 1000, (version % 1000) / 10);
  for (int i = 0; i < count; i++) {
    CUdevice dev;
    char name[256] = "";
    int major = 0, minor = 0;
    size_t mem = 0;
    cu->cuDeviceGet(&dev, i);
    cu->cuDeviceGetName(name, sizeof name, dev);
    cu->cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    cu->cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    mem = cuda_device_total(dev);
    json_printf(&b, "%s{\"index\":%d,\"name\":", i ? "," : "", i);
    json_string(&b, name);
    json_printf(&b, ",\"computeCapability\":\"%d.%d\",\"memoryBytes\":%zu}", major, minor, mem);
  }
  json_printf(&b, "]}");
  return json_finish(&b, "probe", out, out_len, err, err_len);
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
  if ((r = cuda_primary_retain(&ctx, devs[0])) != CUDA_SUCCESS)
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

static void j_modifiers(LumenJson *b, gpu_gl *g, uint32_t fourcc) {
  query_modifiers_fn q = (query_modifiers_fn)eglGetProcAddress("eglQueryDmaBufModifiersEXT");
  EGLint n = 0;
  json_raw(b, "[", 1);
  if (q && has_ext(g->extensions, "EGL_EXT_image_dma_buf_import_modifiers") &&
      q(g->dpy, (EGLint)fourcc, 0, NULL, NULL, &n) && n > 0) {
    EGLuint64KHR mods[128];
    EGLBoolean ext_only[128];
    if (n > 128) n = 128;
    if (q(g->dpy, (EGLint)fourcc, n, mods, ext_only, &n)) {
      for (int i = 0; i < n; i++)
        json_printf(b, "%s{\"modifier\":\"0x%016llx\",\"externalOnly\":%s}", i ? "," : "", (unsigned long long)mods[i],
           ext_only[i] ? "true" : "false");
    }
  }
  json_raw(b, "]", 1);
}

int32_t lumen_probe_egl(uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  LumenJson b = {0};
  gpu_gl g;
  char why[400] = "";
  static const char *needed[] = {"EGL_EXT_image_dma_buf_import", "EGL_EXT_image_dma_buf_import_modifiers",
                                 "EGL_MESA_image_dma_buf_export", "EGL_KHR_surfaceless_context"};
  EGLContext prev_ctx = eglGetCurrentContext();
  EGLDisplay prev_dpy = eglGetCurrentDisplay();
  if (gl_open_display(&g, why, sizeof why) < 0) {
    json_printf(&b, "{\"egl\":{\"ok\":false,\"error\":");
    json_string(&b, why);
    json_printf(&b, ",\"platform\":null,\"version\":null,\"vendor\":null,\"clientApis\":null,\"extensions\":{");
    for (int i = 0; i < 4; i++) json_printf(&b, "%s\"%s\":false", i ? "," : "", needed[i]);
    json_printf(&b, "},\"modifiers\":{\"XRGB8888\":[],\"ARGB8888\":[]}},");
    json_printf(&b, "\"gl\":{\"ok\":false,\"error\":\"no EGL display\"},\"dmabuf\":{\"ok\":false,\"error\":\"no EGL display\"},");
    char cw[300];
    if (cuda_ready(cw, sizeof cw) < 0) {
      json_printf(&b, "\"glCuda\":{\"ok\":false,\"error\":");
      json_string(&b, cw);
      json_printf(&b, "}}");
    } else {
      json_printf(&b, "\"glCuda\":{\"ok\":false,\"error\":\"no EGL display, so no GL context to register\"}}");
    }
    return json_finish(&b, "probe", out, out_len, err, err_len);
  }
  json_printf(&b, "{\"egl\":{\"ok\":true,\"platform\":");
  json_string(&b, g.platform);
  json_printf(&b, ",\"version\":");
  json_string(&b, g.version);
  json_printf(&b, ",\"vendor\":");
  json_string(&b, g.vendor);
  json_printf(&b, ",\"clientApis\":");
  json_string(&b, g.client_apis);
  json_printf(&b, ",\"renderNode\":%s,\"extensions\":{", g.has_render_node ? "true" : "false");
  for (int i = 0; i < 4; i++) json_printf(&b, "%s\"%s\":%s", i ? "," : "", needed[i], has_ext(g.extensions, needed[i]) ? "true" : "false");
  json_printf(&b, "},\"modifiers\":{\"XRGB8888\":");
  j_modifiers(&b, &g, FOURCC_XRGB8888);
  json_printf(&b, ",\"ARGB8888\":");
  j_modifiers(&b, &g, FOURCC_ARGB8888);
  json_printf(&b, "}},");

  if (gl_make_context(&g, why, sizeof why) < 0) {
    json_printf(&b, "\"gl\":{\"ok\":false,\"error\":");
    json_string(&b, why);
    json_printf(&b, "},\"dmabuf\":{\"ok\":false,\"error\":\"no GL context\"},\"glCuda\":{\"ok\":false,\"error\":\"no GL context\"}}");
    gl_close(&g);
    if (prev_ctx != EGL_NO_CONTEXT) eglMakeCurrent(prev_dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, prev_ctx);
    return json_finish(&b, "probe", out, out_len, err, err_len);
  }
  char renderer[200];
  snprintf(renderer, sizeof renderer, "%s", (const char *)glGetString(GL_RENDERER));
  json_printf(&b, "\"gl\":{\"ok\":true,\"renderer\":");
  json_string(&b, renderer);
  json_printf(&b, ",\"version\":");
  json_string(&b, (const char *)glGetString(GL_VERSION));
  json_printf(&b, ",\"api\":\"%s\",\"extensions\":{", g.gles ? "GLES" : "OpenGL core");
  static const char *gl_wanted[] = {"GL_EXT_memory_object", "GL_EXT_memory_object_fd", "GL_EXT_semaphore", "GL_EXT_semaphore_fd",
                                    "GL_KHR_no_error", "GL_ARB_compute_shader"};
  for (int i = 0; i < 6; i++) json_printf(&b, "%s\"%s\":%s", i ? "," : "", gl_wanted[i], gl_has_ext(gl_wanted[i]) ? "true" : "false");
  json_printf(&b, ",\"EGL_KHR_create_context_no_error\":%s}},", has_ext(g.extensions, "EGL_KHR_create_context_no_error") ? "true" : "false");

  uint8_t pattern[PW * PH * 4];
  pattern_bgrx(pattern, PW, PH, 0);
  GLuint vao = 0, tex = gl_texture(PW, PH);
  gl_upload_bgrx(g.gles, tex, PW, PH, pattern, PW * 4);
  glGenVertexArrays(1, &vao);
  glBindVertexArray(vao);
  GLuint prog = gl_program(g.gles, why, sizeof why);
  if (!prog) {
    json_printf(&b, "\"dmabuf\":{\"ok\":false,\"error\":");
    json_string(&b, why);
    json_printf(&b, "},");
  } else if (probe_dmabuf(&g, prog, tex, pattern, why, sizeof why) < 0) {
    json_printf(&b, "\"dmabuf\":{\"ok\":false,\"error\":");
    json_string(&b, why);
    json_printf(&b, "},");
  } else {
    json_printf(&b, "\"dmabuf\":{\"ok\":true},");
  }
  if (probe_gl_cuda(tex, pattern, renderer, why, sizeof why) < 0) {
    json_printf(&b, "\"glCuda\":{\"ok\":false,\"error\":");
    json_string(&b, why);
    json_printf(&b, "}}");
  } else {
    json_printf(&b, "\"glCuda\":{\"ok\":true}}");
  }
  if (prog) glDeleteProgram(prog);
  glDeleteVertexArrays(1, &vao);
  glDeleteTextures(1, &tex);
  gl_close(&g);
  if (prev_ctx != EGL_NO_CONTEXT) eglMakeCurrent(prev_dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, prev_ctx);
  return json_finish(&b, "probe", out, out_len, err, err_len);
}

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
  LumenJson b = {0};
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
                   "the driver refused an NVENC session on this GPU (OpenEncodeSessionEx: NV_ENC_ERR_UNSUPPORTED_DEVICE): "
                   "the GPU has no NVENC engine, or the driver offers none to this process");
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
      json_printf(&b, "{\"ok\":true,\"encoder\":\"hevc_nvenc\"}");
      return json_finish(&b, "probe", out, out_len, err, err_len);
    }
  }
  json_printf(&b, "{\"ok\":false,\"error\":");
  json_string(&b, why);
  json_printf(&b, ",\"encoder\":\"hevc_nvenc\"}");
  return json_finish(&b, "probe", out, out_len, err, err_len);
}
