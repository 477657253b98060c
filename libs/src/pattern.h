/* What the synthetic pattern's two drawers share: the CPU one (pattern.c) and the GPU one
 * (gpu_pattern.c), which must draw the same pixels. Not part of the ABI. */
#ifndef LUMEN_PATTERN_H
#define LUMEN_PATTERN_H

#include <stdint.h>

#define PATTERN_GLYPHS 15
#define PATTERN_LINE 32

/* 5x7 glyphs, one byte per row (bit 4 = leftmost): 0-9, ':', '.', ' ', '#', 'f' */
extern const uint8_t pattern_glyphs[PATTERN_GLYPHS][7];
int pattern_glyph_index(char c);
/* The panel's two lines: the frame number and the clock (HH:MM:SS.mmm). */
void pattern_lines(uint32_t frame, int64_t clock_ms, char line1[PATTERN_LINE], char line2[PATTERN_LINE]);

#endif
