/* The synthetic capture source's picture (libs/include/lumen_capture.h): a deterministic,
 * moving, detailed test pattern with the frame number and a clock drawn on it. Three bands
 * move differently (scrolling coloured blocks with a fine grid, a diagonal gradient, moving
 * thin bars), a square bounces over them, and the text sits on a black panel at top left.
 * The same (frame, clock) always gives the same picture, so a decoder can compare against it. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "lumen_capture.h"
#include "pattern.h"

const uint8_t pattern_glyphs[PATTERN_GLYPHS][7] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, /* 0 */
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 1 */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, /* 2 */
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, /* 3 */
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, /* 4 */
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, /* 5 */
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, /* 6 */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, /* 8 */
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, /* 9 */
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}, /* : */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}, /* . */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* space */
    {0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a}, /* # */
    {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08}, /* f */
};

int pattern_glyph_index(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  switch (c) {
    case ':': return 10;
    case '.': return 11;
    case '#': return 13;
    case 'f': return 14;
    default: return 12;
  }
}

static inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

static inline uint32_t px(uint32_t r, uint32_t g, uint32_t b) { return (b & 255) | (g & 255) << 8 | (r & 255) << 16; }

static void fill_rect(uint8_t *buf, int stride, int width, int height, int x0, int y0, int w, int h, uint32_t color) {
  if (x0 < 0) { w += x0; x0 = 0; }
  if (y0 < 0) { h += y0; y0 = 0; }
  if (x0 + w > width) w = width - x0;
  if (y0 + h > height) h = height - y0;
  for (int y = y0; y < y0 + h; y++) {
    uint32_t *row = (uint32_t *)(buf + (size_t)y * stride) + x0;
    for (int x = 0; x < w; x++) row[x] = color;
  }
}

static void draw_text(uint8_t *buf, int stride, int width, int height, int x0, int y0, int scale, const char *text, uint32_t color) {
  for (int i = 0; text[i]; i++) {
    const uint8_t *g = pattern_glyphs[pattern_glyph_index(text[i])];
    for (int gy = 0; gy < 7; gy++)
      for (int gx = 0; gx < 5; gx++)
        if (g[gy] & (0x10 >> gx)) fill_rect(buf, stride, width, height, x0 + (i * 6 + gx) * scale, y0 + gy * scale, scale, scale, color);
  }
}

void pattern_lines(uint32_t frame, int64_t clock_ms, char line1[PATTERN_LINE], char line2[PATTERN_LINE]) {
  snprintf(line1, PATTERN_LINE, "#%07u", frame);
  int64_t ms = clock_ms < 0 ? 0 : clock_ms;
  snprintf(line2, PATTERN_LINE, "%02d:%02d:%02d.%03d", (int)(ms / 3600000 % 100), (int)(ms / 60000 % 60), (int)(ms / 1000 % 60),
           (int)(ms % 1000));
}

int32_t lumen_pattern_draw(uint8_t *bgrx, int32_t bgrx_len, int32_t width, int32_t height, int32_t stride, int64_t frame,
                           int64_t clock_ms) {
  if (!bgrx || width < 16 || height < 16 || width > 16384 || height > 16384 || stride < width * 4 || frame < 0) return LUMEN_E_INVALID;
  if ((int64_t)stride * height > bgrx_len) return LUMEN_E_BUFFER;
  const uint32_t n = (uint32_t)frame;
  const int band1 = height / 3, band2 = (2 * height) / 3;
  const int block = height >= 720 ? 16 : 8;
  const int scroll = (int)(n * 4u % 65536u);       /* top band: 4 px/frame to the left */
  for (int y = 0; y < height; y++) {
    uint32_t *row = (uint32_t *)(bgrx + (size_t)y * stride);
    if (y < band1) {
      /* coloured blocks from a hash of the block coordinates, a 1 px grid, a soft vertical shade */
      uint32_t by = (uint32_t)(y / block);
      uint32_t shade = (uint32_t)(y % block) * 4 + 32;
      if ((y % block) == 0) {
        for (int x = 0; x < width; x++) row[x] = 0xe0e0e0;
        continue;
      }
      int x = 0;
      int sx = scroll;
      while (x < width) {
        int in_block = sx % block;
        int run = block - in_block;
        if (run > width - x) run = width - x;
        uint32_t h = hash32((uint32_t)(sx / block) * 2654435761u ^ by * 40503u);
        uint32_t c = px(((h >> 16) & 0xc0) + shade, ((h >> 8) & 0xc0) + shade, (h & 0xc0) + shade);
        int k = 0;
        if (in_block == 0) row[x + k++] = 0xe0e0e0; /* the grid column */
        for (; k < run; k++) row[x + k] = c;
        x += run;
        sx += run;
      }
    } else if (y < band2) {
      /* diagonal gradient moving 2 px/frame down and right */
      uint32_t gy = (uint32_t)y - 2 * n;
      for (int x = 0; x < width; x++) {
        uint32_t gx = (uint32_t)x - 2 * n;
        row[x] = px(gx / 2, gy, (gx + gy) / 4);
      }
    } else {
      /* thin bars of four widths moving right 1 px/frame, over a dark ramp */
      uint32_t base = (uint32_t)(y - band2) * 96 / (uint32_t)(height - band2 > 0 ? height - band2 : 1);
      uint32_t on_c = px(230, 230, 230 - base), off_c = px(base, base / 2, 40);
      for (int x = 0; x < width; x++) {
        uint32_t bx = (uint32_t)x - n;
        uint32_t shift = 3 + ((bx >> 7) & 3); /* period 8, 16, 32 or 64 */
        row[x] = ((bx >> (shift - 1)) & 1) ? off_c : on_c;
      }
    }
  }
  /* a square bouncing over the bands */
  int side = height / 8 > 8 ? height / 8 : 8;
  int span_x = width - side, span_y = height - side;
  int tx = (int)((n * 5u) % (uint32_t)(2 * span_x)), ty = (int)((n * 3u) % (uint32_t)(2 * span_y));
  if (tx > span_x) tx = 2 * span_x - tx;
  if (ty > span_y) ty = 2 * span_y - ty;
  fill_rect(bgrx, stride, width, height, tx, ty, side, side, px(250, 200, 20));
  fill_rect(bgrx, stride, width, height, tx + side / 4, ty + side / 4, side / 2, side / 2, px(20, 40, 200));

  /* the frame number and the clock on a black panel */
  char line1[PATTERN_LINE], line2[PATTERN_LINE];
  pattern_lines(n, clock_ms, line1, line2);
  int scale = height / 90 > 1 ? height / 90 : 1;
  int panel_w = (int)strlen(line2) * 6 * scale + 4 * scale, panel_h = 2 * 8 * scale + 4 * scale;
  fill_rect(bgrx, stride, width, height, 0, 0, panel_w, panel_h, 0);
  draw_text(bgrx, stride, width, height, 2 * scale, 2 * scale, scale, line1, 0xffffff);
  draw_text(bgrx, stride, width, height, 2 * scale, 2 * scale + 8 * scale, scale, line2, px(120, 255, 120));
  return 0;
}
