/* Lumen shim: consume a PipeWire video node (a compositor's screencast, a ScreenCast portal
 * stream, or any Video/Source such as GStreamer's pipewiresink) through libpipewire.
 *
 * The stream connects to the node given by id or name (PW_KEY_TARGET_OBJECT; "" lets the session
 * manager pick a Video/Source), on a PipeWire remote: the default daemon, or a remote fd handed
 * out by the ScreenCast portal (OpenPipeWireRemote). Formats offered: BGRx, BGRA, RGBx, RGBA at
 * any size and rate. Buffers: shared memory (MemFd, MemPtr) and dma-buf; a dma-buf is read
 * through mmap with DMA_BUF_IOCTL_SYNC, which works for linear buffers (the modifier must be
 * LINEAR or absent; tiled buffers need the zero-copy EGL path, and are reported, not read).
 *
 * The newest frame is kept; lumen_pw_video_grab() copies it out as BGRx (width*4 bytes per row)
 * and says whether it is new since the previous grab. */
#ifndef LUMEN_PIPEWIRE_H
#define LUMEN_PIPEWIRE_H

#include <stdint.h>

#include "lumen_core.h"

/* lumen_pw_video_info: LUMEN_PW_INFO_LEN bytes, int32 little-endian:
 *   0 state (0 connecting, 1 streaming, 2 failed)   1 width   2 height   3 source stride
 *   4 SPA video format   5 buffer type of the last frame (1 MemFd, 2 MemPtr, 3 DmaBuf)
 *   6 frames received   7 frames dropped (unreadable buffers)   8 node id (or -1) */
#define LUMEN_PW_INFO_LEN 36
/* lumen_pw_video_grab info: int64 LE monotonic ns when the frame arrived, int64 frame sequence */
#define LUMEN_PW_GRAB_INFO_LEN 16

/* Connects to a video node: target is a node id or name ("" = let the session manager choose);
 * remote_fd: a PipeWire remote fd from the ScreenCast portal, or -1 for the default daemon.
 * Returns the capture handle; the stream negotiates in the background (lumen_pw_video_wait). */
LUMEN_API int32_t lumen_pw_video_open(const char *target, int32_t remote_fd, char *err, int32_t err_len);
/* Waits up to timeout_ms for the first frame. 0 when one arrived, LUMEN_E_AGAIN on timeout,
 * LUMEN_E_FAILED (with the reason) when the stream failed. */
LUMEN_API int32_t lumen_pw_video_wait(int32_t capture, int32_t timeout_ms, char *err, int32_t err_len);
/* Copies LUMEN_PW_INFO_LEN bytes of state into out. */
LUMEN_API int32_t lumen_pw_video_info(int32_t capture, uint8_t *out, int32_t out_len);
/* Copies the newest frame into out (BGRx, width*4 bytes per row; at least width*height*4 bytes).
 * Returns 1 when the frame is new since the last grab, 0 when it repeats it; LUMEN_E_AGAIN when
 * no frame arrived yet. info (LUMEN_PW_GRAB_INFO_LEN bytes) gets its arrival time and sequence. */
LUMEN_API int32_t lumen_pw_video_grab(int32_t capture, uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len, char *err, int32_t err_len);
/* Disconnects and frees the capture. */
LUMEN_API int32_t lumen_pw_video_close(int32_t capture);

#endif
