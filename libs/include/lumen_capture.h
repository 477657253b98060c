/* Lumen shim: capture sources that draw or grab BGRx frames into caller buffers.
 *
 *  - pattern: the synthetic source's picture (moving, detailed, with frame number and clock);
 *  - x11: an XShm grab of an X display's root window (works under Xvfb).
 *
 * Frames are BGRx (B, G, R, unused; 4 bytes per pixel, little-endian 0x00RRGGBB). */
#ifndef LUMEN_CAPTURE_H
#define LUMEN_CAPTURE_H

#include <stdint.h>

#include "lumen_core.h"

/* Draws test-pattern frame number `frame` (>= 0) with the clock `clock_ms` (milliseconds shown
 * as HH:MM:SS.mmm) into bgrx (bgrx_len bytes: width x height, stride bytes per row).
 * Deterministic: the same arguments always draw the same picture. 0, LUMEN_E_INVALID for bad
 * geometry, LUMEN_E_BUFFER when bgrx_len < stride * height. */
LUMEN_API int32_t lumen_pattern_draw(uint8_t *bgrx, int32_t bgrx_len, int32_t width, int32_t height, int32_t stride, int64_t frame, int64_t clock_ms);

/* Opens an X display (NULL or "" = Xlib's default, $DISPLAY) for grabbing the rectangle x, y, width, height of
 * its root window (width or height 0 = the whole screen from x, y). Uses MIT-SHM when the
 * server has it, else XGetImage. Needs a 24/32-bit TrueColor screen. Returns the handle. */
LUMEN_API int32_t lumen_x11_open(const char *display, int32_t x, int32_t y, int32_t width, int32_t height, char *err, int32_t err_len);
/* Writes int32 width, height, stride (bytes per row of grabbed frames) and 1 if MIT-SHM is used
 * into out (16 bytes). */
LUMEN_API int32_t lumen_x11_info(int32_t capture, uint8_t *out, int32_t out_len);
/* Grabs one frame into out (stride from lumen_x11_info); returns the bytes written. */
LUMEN_API int32_t lumen_x11_grab(int32_t capture, uint8_t *out, int32_t out_len, char *err, int32_t err_len);
/* Closes the display connection and frees the shared memory. */
LUMEN_API int32_t lumen_x11_close(int32_t capture);

#endif
