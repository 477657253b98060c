/* The zero-copy capture chain (libs/include/lumen_gpu.h): a source's EGLImage → a pooled CUDA
 * frame, by a CUDA copy of the image (XRGB8888/ARGB8888 sources) or through the GL swizzle pass
 * (other formats). Chains and sources are generation-tagged handles (internal.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumen_codec.h"
#include "lumen_gpu.h"
#include "zerocopy.h"

#define MAX_CHAINS 8
#define MAX_SOURCES_PER_CHAIN 16

LUMEN_TABLE(chains, zc_chain, MAX_CHAINS, "zero-copy chain");
LUMEN_TABLE(sources, zc_source, MAX_CHAINS * MAX_SOURCES_PER_CHAIN, "zero-copy source");

zc_chain *zc_chain_acquire(int32_t h) {
  return lumen_handle_acquire(&chains, h);
}

void zc_chain_release(zc_chain *c) {
  lumen_handle_release(&chains, c);
}

zc_source *zc_source_acquire(zc_chain *c, int32_t h) {
  zc_source *s = lumen_handle_acquire(&sources, h);
  if (s && s->chain != c->handle) {
    lumen_handle_release(&sources, s);
    return NULL;
  }
  return s;
}

void zc_source_release(zc_source *s) {
  lumen_handle_release(&sources, s);
}

int32_t zc_check_timings(const uint8_t *t, int32_t len, char *err, int32_t err_len) {
  if (len == 0) return 0;
  if (!t || len < LUMEN_ZC_TIMINGS_LEN)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the timings buffer has %d bytes; it needs %d (or 0 for none)", len,
                      LUMEN_ZC_TIMINGS_LEN);
  return 0;
}

void zc_put_timings(uint8_t *t, int32_t len, const int64_t *v) {
  if (t && len >= LUMEN_ZC_TIMINGS_LEN) memcpy(t, v, LUMEN_ZC_TIMINGS_LEN);
}

void zc_source_unmap(zc_chain *c, zc_source *s) {
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
  zc_source_unmap(c, s);
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
  c->sources--;
  lumen_handle_free(&sources, s);
}

/* Retires and frees the source h if it belongs to the chain in ctx (lumen_handle_each). */
static void close_if_owned(int32_t h, void *ctx) {
  zc_chain *c = ctx;
  zc_source *s = zc_source_acquire(c, h);
  if (!s) return;
  zc_source_release(s);
  if ((s = lumen_handle_retire(&sources, h))) source_free(c, s);
}

static void chain_free(zc_chain *c) {
  if (c->g.dpy != EGL_NO_DISPLAY && c->g.ctx != EGL_NO_CONTEXT) gl_current(&c->g);
  lumen_handle_each(&sources, close_if_owned, c);
  if (c->cuctx) {
    CUcontext d;
    cu->cuCtxPushCurrent(c->cuctx);
    if (c->stream) cu->cuStreamSynchronize(c->stream);
    if (c->res) cu->cuGraphicsUnregisterResource(c->res);
    if (c->scratch) cu->cuMemFree(c->scratch);
    if (c->stream) cu->cuStreamDestroy(c->stream);
    if (c->copied) cu->cuEventDestroy(c->copied);
    cu->cuCtxPopCurrent(&d);
    cu->cuDevicePrimaryCtxRelease(c->dev);
  }
  if (c->g.ctx != EGL_NO_CONTEXT) {
    if (c->prog) glDeleteProgram(c->prog);
    if (c->cprog) glDeleteProgram(c->cprog);
    if (c->pattern_prog) glDeleteProgram(c->pattern_prog);
    if (c->vao) glDeleteVertexArrays(1, &c->vao);
    if (c->out_fbo) glDeleteFramebuffers(1, &c->out_fbo);
    if (c->read_fbo) glDeleteFramebuffers(1, &c->read_fbo);
    if (c->import_tex) glDeleteTextures(1, &c->import_tex);
    if (c->out_tex) glDeleteTextures(1, &c->out_tex);
  }
  gl_close(&c->g);
}

int32_t lumen_zc_open(int32_t width, int32_t height, char *err, int32_t err_len) {
  if (width < 16 || height < 16 || width > 8192 || height > 8192)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: frame size %dx%d is outside 16..8192", width, height);
  int32_t st = cuda_ready(err, err_len);
  if (st < 0) return st;
  zc_chain *c;
  int32_t h = lumen_handle_claim(&chains, (void **)&c);
  if (h < 0) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "zero-copy: all %d chains are open", MAX_CHAINS);
  c->handle = h;
  c->w = width, c->h = height;
  c->g.dpy = EGL_NO_DISPLAY, c->g.ctx = EGL_NO_CONTEXT, c->g.drm_fd = -1;
  char e[200];
  if ((st = gl_open_display(&c->g, err, err_len)) < 0) goto fail;
  if ((st = gl_make_context(&c->g, err, err_len)) < 0) goto fail;
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
  if ((r = cuda_primary_retain(&c->cuctx, c->dev)) != CUDA_SUCCESS) {
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
    /* the compute pass where the context has one: on GPUs whose graphics pipeline has few units
     * (the H100's) the full-screen triangle is several times slower */
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
    else c->res = NULL;
  }
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS) {
    st = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
    goto fail;
  }
  char name[128] = "";
  cu->cuDeviceGetName(name, sizeof name, c->dev);
  snprintf(c->describe, sizeof c->describe, "%.120s | EGL %s | CUDA device %d (%s)", (const char *)glGetString(GL_RENDERER),
           c->g.platform, (int)c->dev, name);
  return h;
fail:
  chain_free(c);
  lumen_handle_free(&chains, c);
  return st;
}

/* A new source of c, or NULL with the reason (the chain's source count is capped). */
static zc_source *source_new(zc_chain *c, int32_t *handle, char *err, int32_t err_len) {
  zc_source *s = NULL;
  if (c->sources >= MAX_SOURCES_PER_CHAIN) {
    *handle = lumen_fail(err, err_len, LUMEN_E_NOMEM, "zero-copy: all %d sources of this chain are open", MAX_SOURCES_PER_CHAIN);
    return NULL;
  }
  *handle = lumen_handle_claim(&sources, (void **)&s);
  if (*handle < 0) {
    *handle = lumen_fail(err, err_len, LUMEN_E_NOMEM, "zero-copy: all %d sources are open", MAX_CHAINS * MAX_SOURCES_PER_CHAIN);
    return NULL;
  }
  s->chain = c->handle;
  s->fd = -1;
  c->sources++;
  return s;
}

int32_t lumen_zc_source_dmabuf(int32_t chain, int32_t fd, uint32_t fourcc, int32_t offset, int32_t pitch,
                               uint32_t modifier_hi, uint32_t modifier_lo, char *err, int32_t err_len) {
  uint64_t modifier = ((uint64_t)modifier_hi << 32) | modifier_lo;
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  int32_t h = 0;
  if (fd < 0 || pitch < c->w * 4 || offset < 0) {
    h = lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: bad dma-buf plane (fd %d, offset %d, pitch %d for width %d)", fd,
                   offset, pitch, c->w);
  } else if (!has_ext(c->g.extensions, "EGL_EXT_image_dma_buf_import")) {
    h = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                   "zero-copy: this EGL display (%s) cannot import dma-bufs (no EGL_EXT_image_dma_buf_import)", c->g.platform);
  } else if (modifier != DRM_FORMAT_MOD_INVALID && !has_ext(c->g.extensions, "EGL_EXT_image_dma_buf_import_modifiers")) {
    h = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                   "zero-copy: the dma-buf has modifier 0x%016llx but the EGL display lacks EGL_EXT_image_dma_buf_import_modifiers",
                   (unsigned long long)modifier);
  } else {
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    zc_source *s = dup_fd < 0 ? NULL : source_new(c, &h, err, err_len);
    if (dup_fd < 0) {
      h = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: cannot dup dma-buf fd %d: %s", fd, strerror(errno));
    } else if (!s) {
      close(dup_fd);
    } else {
      s->dmabuf = true, s->fd = dup_fd, s->fourcc = fourcc, s->offset = offset, s->pitch = pitch;
      s->modifier = modifier;
    }
  }
  zc_chain_release(c);
  return h;
}

/* A texture source's picture: checks what can be checked without the chain (a buffer, a stride
 * of whole pixels, at least one row in the buffer), then against the chain's size. */
static int32_t picture_checks(const zc_chain *c, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len) {
  if (!bgrx || bgrx_len <= 0) return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: no picture (%d bytes)", bgrx_len);
  if (stride <= 0 || stride % 4)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: stride %d is not a positive multiple of 4", stride);
  if (bgrx_len < stride)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the picture has %d bytes, less than one row of %d", bgrx_len, stride);
  if (!c) return 0;
  if (stride < c->w * 4)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: stride %d is less than width*4 (%d)", stride, c->w * 4);
  int64_t need = (int64_t)stride * (c->h - 1) + (int64_t)c->w * 4;
  if (bgrx_len < need)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the picture has %d bytes; %dx%d at stride %d needs %lld", bgrx_len,
                      c->w, c->h, stride, (long long)need);
  return 0;
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
 * so the GL pass sees RGB as it does with an XRGB8888 dma-buf. */
static void source_swizzle(zc_source *src) {
  static const GLint raw[4] = {GL_BLUE, GL_GREEN, GL_RED, GL_ALPHA}, plain[4] = {GL_RED, GL_GREEN, GL_BLUE, GL_ALPHA};
  glTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_RGBA, src->raw ? raw : plain);
}

static int32_t source_texture(int32_t chain, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, bool raw, char *err,
                              int32_t err_len) {
  int32_t st = picture_checks(NULL, bgrx, bgrx_len, stride, err, err_len);
  if (st < 0) return st;
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  int32_t h = picture_checks(c, bgrx, bgrx_len, stride, err, err_len);
  zc_source *s = NULL;
  if (h < 0) {
  } else if (!has_ext(c->g.extensions, "EGL_KHR_gl_texture_2D_image")) {
    h = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "zero-copy: the EGL display lacks EGL_KHR_gl_texture_2D_image");
  } else if (!gl_current(&c->g)) {
    h = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  } else if ((s = source_new(c, &h, err, err_len))) {
    s->tex = gl_texture(c->w, c->h);
    s->raw = raw;
    source_upload(c, s, bgrx, stride);
    char e[200];
    s->fbo = gl_fbo(s->tex, e, sizeof e);
    GLenum ge = glGetError();
    if (!s->fbo || ge != GL_NO_ERROR) {
      h = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: the texture source cannot be made (%s, GL error 0x%x)", s->fbo ? "" : e,
                     ge);
      source_free(c, s);
    }
  }
  zc_chain_release(c);
  return h;
}

int32_t lumen_zc_source_texture(int32_t chain, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len) {
  return source_texture(chain, bgrx, bgrx_len, stride, false, err, err_len);
}

int32_t lumen_zc_source_texture_raw(int32_t chain, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err, int32_t err_len) {
  return source_texture(chain, bgrx, bgrx_len, stride, true, err, err_len);
}

int32_t lumen_zc_source_update(int32_t chain, int32_t source, const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, char *err,
                               int32_t err_len) {
  int32_t st = picture_checks(NULL, bgrx, bgrx_len, stride, err, err_len);
  if (st < 0) return st;
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  zc_source *s = zc_source_acquire(c, source);
  if (!s || s->dmabuf) {
    st = lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown texture source %d of chain %d", source, chain);
  } else if ((st = picture_checks(c, bgrx, bgrx_len, stride, err, err_len)) < 0) {
  } else if (!gl_current(&c->g)) {
    st = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  } else {
    zc_source_unmap(c, s); /* GL refills it: hand it back first */
    source_upload(c, s, bgrx, stride);
    s->dirty = true;
  }
  zc_source_release(s);
  zc_chain_release(c);
  return st;
}

int32_t lumen_zc_source_pattern(int32_t chain, int32_t source, int64_t frame, int64_t clock_ms, int64_t stamp, int32_t stamp_check,
                                char *err, int32_t err_len) {
  if (frame < 0 || frame > UINT32_MAX)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: pattern frame %lld is outside 0..2^32-1", (long long)frame);
  if (stamp > UINT32_MAX || stamp_check < 0 || stamp_check > 255)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: stamp %lld / check %d is outside 32 / 8 bits", (long long)stamp, stamp_check);
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  zc_source *s = zc_source_acquire(c, source);
  int32_t st = 0;
  if (!s || s->dmabuf) {
    st = lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown texture source %d of chain %d", source, chain);
  } else if (c->g.gles) {
    st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "zero-copy: the pattern is drawn by a compute shader, which GLES 3.0 lacks");
  } else if (!gl_current(&c->g)) {
    st = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent failed");
  } else if (!c->pattern_prog && !(c->pattern_prog = gl_pattern_program(err, err_len))) {
    st = LUMEN_E_FAILED;
  } else {
    zc_source_unmap(c, s); /* GL refills it: hand it back first */
    gl_pattern_draw(c->pattern_prog, s->tex, c->w, c->h, s->raw, (uint32_t)frame, clock_ms, stamp >= 0, stamp >= 0 ? (uint32_t)stamp : 0,
                    (uint32_t)stamp_check);
    GLenum ge = glGetError();
    if (ge != GL_NO_ERROR) st = lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: GL error 0x%x while drawing the pattern", ge);
    s->dirty = true;
  }
  zc_source_release(s);
  zc_chain_release(c);
  return st;
}

int32_t lumen_zc_source_close(int32_t chain, int32_t source) {
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return LUMEN_E_INVALID;
  zc_source *s = zc_source_acquire(c, source);
  int32_t st = LUMEN_E_INVALID;
  if (s) {
    zc_source_release(s);
    if ((s = lumen_handle_retire(&sources, source))) {
      gl_current(&c->g);
      source_free(c, s);
      st = 0;
    }
  }
  zc_chain_release(c);
  return st;
}

EGLImageKHR zc_import_image(zc_chain *c, zc_source *s, char *err, int32_t err_len) {
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

int32_t zc_pool_frame(int32_t pool, CUdeviceptr *ptr, size_t *pitch, int w, int h, char *err, int32_t err_len) {
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

/* Queues a copy of a mapped CUDA array (the image, de-tiled by the copy) into the pooled frame,
 * and the event the caller waits on. */
static CUresult queue_array_copy(zc_chain *c, CUarray arr, CUdeviceptr fptr, size_t fpitch, const char **step) {
  CUDA_MEMCPY2D m = {0};
  m.srcMemoryType = CU_MEMORYTYPE_ARRAY, m.srcArray = arr;
  m.dstMemoryType = CU_MEMORYTYPE_DEVICE, m.dstDevice = fptr, m.dstPitch = fpitch;
  m.WidthInBytes = (size_t)c->w * 4, m.Height = (size_t)c->h;
  *step = "cuMemcpy2DAsync (image to pooled frame)";
  CUresult r = cu->cuMemcpy2DAsync(&m, c->stream);
  if (r == CUDA_SUCCESS) *step = "cuEventRecord", r = cu->cuEventRecord(c->copied, c->stream);
  return r;
}

/* The CUDA copy, no GL pass: the source's EGLImage texture is registered with CUDA once (per
 * source: a producer's few buffers), mapped once and kept mapped, and its bytes copied straight
 * into the pooled frame: an XRGB8888 / ARGB8888 buffer holds B,G,R,X already. No GL work per
 * frame, so the GPU does not switch between the GL and CUDA contexts (~150-170 µs each way on the
 * H100). When CUDA refuses the registration, *fell_back is set (cuda_why says why) and the caller
 * takes the GL pass. t: import already in t[0]. */
static int32_t capture_cuda(zc_chain *c, zc_source *src, int32_t pool, int64_t t0, int64_t *t, bool *fell_back, char *err,
                            int32_t err_len) {
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
  int64_t tg0 = lumen_mono_ns();
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = zc_pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  int64_t t_get = lumen_mono_ns();
  if (f < 0) {
    cu->cuCtxPopCurrent(&d);
    return f;
  }
  /* mapped once and kept: mapping and unmapping every frame synchronises with the GL context,
   * which costs the context switches this path exists to avoid */
  const char *step = "cuGraphicsMapResources (source)";
  CUresult r = CUDA_SUCCESS;
  if (!src->mapped) {
    r = cu->cuGraphicsMapResources(1, &src->res, c->stream);
    if (r == CUDA_SUCCESS) {
      src->mapped = true;
      step = "cuGraphicsSubResourceGetMappedArray", r = cu->cuGraphicsSubResourceGetMappedArray(&src->arr, src->res, 0, 0);
    }
  }
  int64_t t_map = lumen_mono_ns();
  if (r == CUDA_SUCCESS) r = queue_array_copy(c, src->arr, fptr, fpitch, &step);
  if (src->mapped && r != CUDA_SUCCESS) {
    cu->cuGraphicsUnmapResources(1, &src->res, c->stream);
    src->mapped = false, src->arr = NULL;
  }
  int64_t t3 = lumen_mono_ns();
  if (r == CUDA_SUCCESS) step = "waiting for the pooled frame's copy", r = cuda_wait_event(c->copied, 50 * 1000000LL);
  int64_t t4 = lumen_mono_ns();
  if (r != CUDA_SUCCESS) {
    cu->cuStreamSynchronize(c->stream);
    cu->cuCtxPopCurrent(&d);
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
  }
  cu->cuCtxPopCurrent(&d);
  t[1] = 0, t[2] = t3 - tg0, t[3] = t4 - t3, t[4] = t4 - t0, t[5] = t_map - t_get, t[6] = t_get - tg0, t[7] = 1;
  return f;
}

/* The GL pass: de-tile + swizzle the bound source texture into the chain's RGBA8 texture (the
 * compute pass, or the full-screen triangle where GL has no compute shaders), then the texture,
 * registered with CUDA at open, is mapped and copied straight into the pooled frame and handed
 * back to GL behind the copy. img: a per-frame image, destroyed once the pass has run. */
static int32_t capture_gl(zc_chain *c, int32_t pool, int64_t t0, EGLImageKHR img, int64_t *t, char *err, int32_t err_len) {
  int64_t t1 = lumen_mono_ns();
  if (c->cprog) {
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
  gl_wait_polled();
  GLenum ge = glGetError();
  if (img != EGL_NO_IMAGE_KHR) c->g.destroy_image(c->g.dpy, img), c->live_images--;
  if (ge != GL_NO_ERROR) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: GL error 0x%x while drawing the imported image", ge);
  int64_t tg0 = lumen_mono_ns();
  CUdeviceptr fptr = 0;
  size_t fpitch = 0;
  int32_t f = zc_pool_frame(pool, &fptr, &fpitch, c->w, c->h, err, err_len);
  int64_t t_get = lumen_mono_ns();
  if (f < 0) return f;
  char e[160];
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  CUarray arr = NULL;
  const char *step = "cuGraphicsMapResources";
  CUresult r = cu->cuGraphicsMapResources(1, &c->res, c->stream);
  int64_t t_map = lumen_mono_ns();
  bool mapped = r == CUDA_SUCCESS;
  if (r == CUDA_SUCCESS) step = "cuGraphicsSubResourceGetMappedArray", r = cu->cuGraphicsSubResourceGetMappedArray(&arr, c->res, 0, 0);
  if (r == CUDA_SUCCESS) r = queue_array_copy(c, arr, fptr, fpitch, &step);
  if (mapped) {
    CUresult u = cu->cuGraphicsUnmapResources(1, &c->res, c->stream);
    if (r == CUDA_SUCCESS && u != CUDA_SUCCESS) step = "cuGraphicsUnmapResources", r = u;
  }
  int64_t t3 = lumen_mono_ns();
  if (r == CUDA_SUCCESS) step = "waiting for the pooled frame's copy", r = cuda_wait_event(c->copied, 50 * 1000000LL);
  int64_t t4 = lumen_mono_ns();
  if (r != CUDA_SUCCESS) cu->cuStreamSynchronize(c->stream);
  cu->cuCtxPopCurrent(&d);
  if (r != CUDA_SUCCESS) {
    lumen_cuda_frame_release(f);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: %s: %s", step, cu_err(r, e, sizeof e));
  }
  t[1] = tg0 - t1, t[2] = t3 - tg0, t[3] = t4 - t3, t[4] = t4 - t0, t[5] = t_map - t_get, t[6] = t_get - tg0, t[7] = 0;
  return f;
}

/* Binds the source's image to GL_TEXTURE_2D: the kept one (made on the first capture), or with
 * per_frame a fresh one, returned in *img for the caller to destroy. */
static int32_t bind_image(zc_chain *c, zc_source *src, bool per_frame, EGLImageKHR *img, char *err, int32_t err_len) {
  glActiveTexture(GL_TEXTURE0);
  if (per_frame) {
    if (src->image) { /* a texture may be the sibling of one EGLImage only: drop the kept one */
      zc_source_unmap(c, src);
      if (src->res) {
        CUcontext d;
        cu->cuCtxPushCurrent(c->cuctx);
        cu->cuGraphicsUnregisterResource(src->res);
        cu->cuCtxPopCurrent(&d);
        src->res = NULL;
      }
      glDeleteTextures(1, &src->image_tex);
      c->g.destroy_image(c->g.dpy, src->image), c->live_images--;
      src->image = EGL_NO_IMAGE_KHR, src->image_tex = 0;
    }
    if ((*img = zc_import_image(c, src, err, err_len)) == EGL_NO_IMAGE_KHR) return LUMEN_E_FAILED;
    glBindTexture(GL_TEXTURE_2D, c->import_tex);
    c->g.image_target(GL_TEXTURE_2D, *img);
    source_swizzle(src);
    return 0;
  }
  if (!src->image) {
    EGLImageKHR kept = zc_import_image(c, src, err, err_len);
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
  return 0;
}

static int32_t capture(zc_chain *c, zc_source *src, int32_t pool, int32_t flags, uint8_t *timings, int32_t timings_len, char *err,
                       int32_t err_len) {
  int64_t t0 = lumen_mono_ns();
  if (!gl_current(&c->g)) return lumen_fail(err, err_len, LUMEN_E_FAILED, "zero-copy: eglMakeCurrent: %s", egl_error_name(eglGetError()));
  EGLImageKHR img = EGL_NO_IMAGE_KHR;
  int32_t st = bind_image(c, src, flags & LUMEN_ZC_REIMPORT, &img, err, err_len);
  if (st < 0) return st;
  int64_t t[LUMEN_ZC_TIMINGS_LEN / 8] = {lumen_mono_ns() - t0};
  bool copyable = src->raw || (src->dmabuf && (src->fourcc == FOURCC_XRGB8888 || src->fourcc == FOURCC_ARGB8888));
  int32_t f = -1;
  bool fell_back = true;
  if (!(flags & LUMEN_ZC_GL_PASS) && img == EGL_NO_IMAGE_KHR && !src->cuda_failed && copyable) {
    fell_back = false;
    f = capture_cuda(c, src, pool, t0, t, &fell_back, err, err_len);
  }
  if (fell_back) {
    zc_source_unmap(c, src); /* the GL pass reads the image: CUDA hands it back first */
    f = capture_gl(c, pool, t0, img, t, err, err_len);
  }
  if (f < 0) return f;
  c->frames++;
  zc_put_timings(timings, timings_len, t);
  return f;
}

int32_t lumen_zc_capture(int32_t chain, int32_t source, int32_t pool, int32_t flags, uint8_t *timings, int32_t timings_len,
                         char *err, int32_t err_len) {
  int32_t st = zc_check_timings(timings, timings_len, err, err_len);
  if (st < 0) return st;
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  zc_source *s = zc_source_acquire(c, source);
  st = s ? capture(c, s, pool, flags, timings, timings_len, err, err_len)
         : lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown source %d", source);
  zc_source_release(s);
  zc_chain_release(c);
  return st;
}

typedef struct {
  zc_chain *chain;
  int64_t registered;
} registered_count;

/* Counts the live sources of a chain that have a registered image (lumen_handle_each). */
static void count_registered(int32_t h, void *ctx) {
  registered_count *rc = ctx;
  zc_source *s = zc_source_acquire(rc->chain, h);
  if (!s) return;
  rc->registered += s->res != NULL;
  zc_source_release(s);
}

int32_t lumen_zc_stats(int32_t chain, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (!out || out_len < LUMEN_ZC_STATS_LEN)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "zero-copy: the stats buffer has %d bytes; it needs %d", out_len, LUMEN_ZC_STATS_LEN);
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return lumen_fail(err, err_len, LUMEN_E_INVALID, "zero-copy: unknown chain %d", chain);
  size_t fr = 0, tot = 0;
  CUcontext d;
  cu->cuCtxPushCurrent(c->cuctx);
  cuda_mem_info(&fr, &tot);
  cu->cuCtxPopCurrent(&d);
  registered_count ctx = {c, c->res ? 1 : 0};
  lumen_handle_each(&sources, count_registered, &ctx);
  int64_t v[LUMEN_ZC_STATS_LEN / 8] = {c->frames, c->registrations, ctx.registered, c->live_images, (int64_t)fr, (int64_t)tot, c->sources};
  zc_chain_release(c);
  memcpy(out, v, sizeof v);
  return LUMEN_ZC_STATS_LEN;
}

/* Copies a chain's sentence (NUL-terminated) into out: its length, or LUMEN_E_BUFFER. */
static int32_t chain_text(int32_t chain, bool reason, uint8_t *out, int32_t out_len) {
  if (!out || out_len <= 0) return LUMEN_E_BUFFER;
  zc_chain *c = zc_chain_acquire(chain);
  if (!c) return LUMEN_E_INVALID;
  int n = snprintf((char *)out, (size_t)out_len, "%s", reason ? c->cuda_why : c->describe);
  zc_chain_release(c);
  return n >= out_len ? LUMEN_E_BUFFER : n;
}

int32_t lumen_zc_describe(int32_t chain, uint8_t *out, int32_t out_len) {
  return chain_text(chain, false, out, out_len);
}

int32_t lumen_zc_cuda_copy_reason(int32_t chain, uint8_t *out, int32_t out_len) {
  return chain_text(chain, true, out, out_len);
}

int32_t lumen_zc_close(int32_t chain) {
  zc_chain *c = lumen_handle_retire(&chains, chain);
  if (!c) return LUMEN_E_INVALID;
  chain_free(c);
  lumen_handle_free(&chains, c);
  return 0;
}
