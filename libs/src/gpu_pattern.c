/* The synthetic source's picture drawn by a compute shader: the same pixels as pattern.c's
 * lumen_pattern_draw followed by src/media/capture/stamp.ts's writeStamp, so `--source gltest`
 * fills its GPU image the way a compositor does, without a CPU draw and upload per frame. The
 * integer arithmetic below is pattern.c's, step for step (GLSL's uint wraps as uint32_t does);
 * bench/gpupath.ts checks the two drawers against each other pixel for pixel. */
#include <stdio.h>
#include <string.h>

#include "gpu.h"
#include "lumen_gpu.h"
#include "internal.h"
#include "pattern.h"

/* the shader's uniform locations (explicit, so a frame sets them without looking any up) */
enum { U_SIZE, U_FRAME, U_RAW, U_LEN1, U_LEN2, U_STAMPED, U_STAMP_VALUE, U_STAMP_CHECK, U_LINE1 = 8, U_LINE2 = 40, U_GLYPHS = 72 };
_Static_assert(U_LINE2 == U_LINE1 + PATTERN_LINE && U_GLYPHS == U_LINE2 + PATTERN_LINE, "the shader's arrays hold PATTERN_LINE glyphs");

static const char *const PATTERN_CS =
    "layout(local_size_x = 16, local_size_y = 16) in;\n"
    "layout(rgba8, binding = 0) writeonly uniform highp image2D dst;\n"
    "layout(location = 0) uniform ivec2 size;\n"
    "layout(location = 1) uniform uint frame;\n"
    "layout(location = 2) uniform bool raw;\n"
    "layout(location = 3) uniform int len1;\n"
    "layout(location = 4) uniform int len2;\n"
    "layout(location = 5) uniform bool stamped;\n"
    "layout(location = 6) uniform uint stampValue;\n"
    "layout(location = 7) uniform uint stampCheck;\n"
    "layout(location = 8) uniform int line1[32];\n"
    "layout(location = 40) uniform int line2[32];\n"
    "layout(location = 72) uniform uint glyphs[105];\n"
    "uint hash32(uint x) {\n"
    "  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;\n"
    "  return x;\n"
    "}\n"
    "uvec3 px(uint r, uint g, uint b) { return uvec3(r & 255u, g & 255u, b & 255u); }\n"
    "bool inRect(ivec2 p, int x0, int y0, int w, int h) { return p.x >= x0 && p.x < x0 + w && p.y >= y0 && p.y < y0 + h; }\n"
    "bool textAt(ivec2 p, int x0, int y0, int scale, bool first) {\n"
    "  int rx = p.x - x0, ry = p.y - y0;\n"
    "  if (rx < 0 || ry < 0) return false;\n"
    "  int gy = ry / scale, col = rx / scale, i = col / 6, gx = col % 6;\n"
    "  if (gy >= 7 || gx >= 5 || i >= (first ? len1 : len2)) return false;\n"
    "  int g = first ? line1[i] : line2[i];\n"
    "  return (glyphs[g * 7 + gy] & (0x10u >> uint(gx))) != 0u;\n"
    "}\n"
    "void main() {\n"
    "  ivec2 p = ivec2(gl_GlobalInvocationID.xy);\n"
    "  int width = size.x, height = size.y, x = p.x, y = p.y;\n"
    "  if (x >= width || y >= height) return;\n"
    "  uint n = frame;\n"
    "  int band1 = height / 3, band2 = (2 * height) / 3;\n"
    "  int block = height >= 720 ? 16 : 8;\n"
    "  uvec3 c;\n"
    "  float x8 = 0.0;\n"
    "  if (y < band1) {\n"
    "    uint by = uint(y / block);\n"
    "    uint shade = uint(y % block) * 4u + 32u;\n"
    "    int sx = int(n * 4u % 65536u) + x;\n"
    "    if (y % block == 0 || sx % block == 0) c = uvec3(0xe0u);\n"
    "    else {\n"
    "      uint h = hash32(uint(sx / block) * 2654435761u ^ by * 40503u);\n"
    "      c = px(((h >> 16) & 0xc0u) + shade, ((h >> 8) & 0xc0u) + shade, (h & 0xc0u) + shade);\n"
    "    }\n"
    "  } else if (y < band2) {\n"
    "    uint gy = uint(y) - 2u * n, gx = uint(x) - 2u * n;\n"
    "    c = px(gx / 2u, gy, (gx + gy) / 4u);\n"
    "  } else {\n"
    "    uint base = uint(y - band2) * 96u / uint(height - band2 > 0 ? height - band2 : 1);\n"
    "    uint bx = uint(x) - n, shift = 3u + ((bx >> 7) & 3u);\n"
    "    c = ((bx >> (shift - 1u)) & 1u) != 0u ? px(base, base / 2u, 40u) : px(230u, 230u, 230u - base);\n"
    "  }\n"
    "  int side = height / 8 > 8 ? height / 8 : 8;\n"
    "  int spanX = width - side, spanY = height - side;\n"
    "  int tx = int((n * 5u) % uint(2 * spanX)), ty = int((n * 3u) % uint(2 * spanY));\n"
    "  if (tx > spanX) tx = 2 * spanX - tx;\n"
    "  if (ty > spanY) ty = 2 * spanY - ty;\n"
    "  if (inRect(p, tx, ty, side, side)) c = px(250u, 200u, 20u);\n"
    "  if (inRect(p, tx + side / 4, ty + side / 4, side / 2, side / 2)) c = px(20u, 40u, 200u);\n"
    "  int scale = height / 90 > 1 ? height / 90 : 1;\n"
    "  if (inRect(p, 0, 0, len2 * 6 * scale + 4 * scale, 20 * scale)) c = uvec3(0u);\n"
    "  if (textAt(p, 2 * scale, 2 * scale, scale, true)) c = uvec3(255u);\n"
    "  if (textAt(p, 2 * scale, 10 * scale, scale, false)) c = px(120u, 255u, 120u);\n"
    "  int sb = (width / 2 / 20) & ~1, sx0 = width - 20 * sb;\n"
    "  if (stamped && sb >= 4 && 4 * sb <= height && x >= sx0 && y < 4 * sb) {\n"
    "    int bit = (y / sb) * 10 + (x - sx0) / (2 * sb);\n"
    "    uint on = bit < 32 ? (stampValue >> uint(31 - bit)) & 1u : (stampCheck >> uint(39 - bit)) & 1u;\n"
    "    bool white = ((((x - sx0) / sb) & 1) == 0) == (on == 1u);\n"
    "    c = uvec3(white ? 255u : 0u);\n"
    "    x8 = white ? 1.0 : 0.0;\n"
    "  }\n"
    "  vec3 f = vec3(c) / 255.0;\n"
    "  imageStore(dst, p, raw ? vec4(f.b, f.g, f.r, x8) : vec4(f, x8));\n"
    "}\n";

GLuint gl_pattern_program(char *err, int32_t err_len) {
  char log[512] = "";
  GLuint p = gl_compute_from(PATTERN_CS, log, sizeof log);
  if (!p) {
    lumen_fail(err, err_len, LUMEN_E_FAILED, "GL: the pattern shader does not build: %s", log);
    return 0;
  }
  glUseProgram(p);
  GLuint g[PATTERN_GLYPHS * 7];
  for (int i = 0; i < PATTERN_GLYPHS * 7; i++) g[i] = pattern_glyphs[i / 7][i % 7];
  glUniform1uiv(U_GLYPHS, PATTERN_GLYPHS * 7, g);
  return p;
}

static int line_glyphs(const char *text, GLint out[PATTERN_LINE]) {
  int n = 0;
  for (; text[n] && n < PATTERN_LINE; n++) out[n] = pattern_glyph_index(text[n]);
  return n;
}

void gl_pattern_draw(GLuint prog, GLuint tex, int w, int h, bool raw, uint32_t frame, int64_t clock_ms, bool stamped, uint32_t stamp,
                     uint32_t check) {
  char text1[PATTERN_LINE], text2[PATTERN_LINE];
  pattern_lines(frame, clock_ms, text1, text2);
  GLint l1[PATTERN_LINE] = {0}, l2[PATTERN_LINE] = {0};
  int n1 = line_glyphs(text1, l1), n2 = line_glyphs(text2, l2);
  glUseProgram(prog);
  glUniform2i(U_SIZE, w, h);
  glUniform1ui(U_FRAME, frame);
  glUniform1i(U_RAW, raw);
  glUniform1iv(U_LINE1, PATTERN_LINE, l1);
  glUniform1iv(U_LINE2, PATTERN_LINE, l2);
  glUniform1i(U_LEN1, n1);
  glUniform1i(U_LEN2, n2);
  glUniform1i(U_STAMPED, stamped);
  glUniform1ui(U_STAMP_VALUE, stamp);
  glUniform1ui(U_STAMP_CHECK, check);
  glBindImageTexture(0, tex, 0, GL_FALSE, 0, GL_WRITE_ONLY, GL_RGBA8);
  glDispatchCompute((GLuint)(w + 15) / 16, (GLuint)(h + 15) / 16, 1);
  /* the next reader samples it (the GL pass) or CUDA maps it (the copy): both after the writes */
  glMemoryBarrier(GL_ALL_BARRIER_BITS);
}

int32_t lumen_pattern_draw_gl(uint8_t *bgrx, int32_t bgrx_len, int32_t width, int32_t height, int64_t frame, int64_t clock_ms,
                              int64_t stamp, int32_t stamp_check, int32_t raw, char *err, int32_t err_len) {
  if (width < 16 || height < 16 || width > 8192 || height > 8192)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "GPU pattern: size %dx%d is outside 16..8192", width, height);
  if (!bgrx || bgrx_len < width * 4 * height)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "GPU pattern: the picture has %d bytes; %dx%d needs %d", bgrx_len, width, height,
                      width * 4 * height);
  if (frame < 0 || frame > UINT32_MAX || stamp > UINT32_MAX || stamp_check < 0 || stamp_check > 255)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "GPU pattern: frame %lld, stamp %lld or check %d is out of range", (long long)frame,
                      (long long)stamp, stamp_check);
  gpu_gl g = {.dpy = EGL_NO_DISPLAY, .ctx = EGL_NO_CONTEXT, .drm_fd = -1};
  int32_t st = gl_open_display(&g, err, err_len);
  if (st == 0) st = gl_make_context(&g, err, err_len);
  if (st == 0 && g.gles) st = lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "GPU pattern: the context is GLES 3.0, which has no compute shaders");
  GLuint prog = 0, tex = 0, fbo = 0;
  if (st == 0 && !(prog = gl_pattern_program(err, err_len))) st = LUMEN_E_FAILED;
  if (st == 0) {
    tex = gl_texture(width, height);
    if (!(fbo = gl_fbo(tex, err, err_len))) st = LUMEN_E_FAILED;
  }
  if (st == 0) {
    gl_pattern_draw(prog, tex, width, height, raw != 0, (uint32_t)frame, clock_ms, stamp >= 0, stamp >= 0 ? (uint32_t)stamp : 0,
                    (uint32_t)stamp_check);
    /* a raw texture's channels hold the bytes themselves; a plain one's are R,G,B read back as BGRx */
    if (raw) {
      glBindFramebuffer(GL_READ_FRAMEBUFFER, fbo);
      glPixelStorei(GL_PACK_ALIGNMENT, 4);
      glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, bgrx);
    } else {
      gl_read_bgrx(false, fbo, width, height, bgrx);
    }
    GLenum ge = glGetError();
    if (ge != GL_NO_ERROR) st = lumen_fail(err, err_len, LUMEN_E_FAILED, "GPU pattern: GL error 0x%x", ge);
  }
  if (g.ctx != EGL_NO_CONTEXT) {
    if (fbo) glDeleteFramebuffers(1, &fbo);
    if (tex) glDeleteTextures(1, &tex);
    if (prog) glDeleteProgram(prog);
  }
  gl_close(&g);
  return st;
}
