/* Virtual input devices: one handle per seat (a stream's input), fed batches of fixed-size
 * records that TypeScript has already validated and mapped (src/input/records.ts mirrors this
 * layout). A writer thread per device applies them to the backend, so a submit never blocks the
 * caller (the control stream's service loop). */
#ifndef LUMEN_INPUT_H
#define LUMEN_INPUT_H

#include "lumen_core.h"

/* Backends (lumen_input_open's `backend`). */
#define LUMEN_INPUT_UINPUT 1
#define LUMEN_INPUT_XTEST 2
#define LUMEN_INPUT_WLROOTS 3

/* One record: little-endian u16 kind, u16 code, nine int32 values; 40 bytes. */
#define LUMEN_INPUT_RECORD_LEN 40
#define LUMEN_INPUT_RECORD_VALUES 9
/* Records one device queues before a submit is refused with LUMEN_E_AGAIN. */
#define LUMEN_INPUT_QUEUE 4096

/* Record kinds, host → device. Q16: a fraction of the surface, 0..65535.
 *   KEY          code Linux KEY_*; v0 down (0/1); v1 X keysym; v2 the protocol's modifier bits
 *   MOVE_REL     v0 dx; v1 dy
 *   MOVE_ABS     v0 x; v1 y within the client's reference area v2 × v3 (the backend scales it)
 *   BUTTON       code 1 left, 2 middle, 3 right, 4 side (X1), 5 extra (X2); v0 down
 *   SCROLL       v0 vertical amount, 120 a notch, positive = away from the user
 *   HSCROLL      v0 horizontal amount, 120 a notch, positive = right
 *   TEXT         v0 one Unicode scalar value
 *   TOUCH        v0 event type (control-stream.md §5); v1 pointer id; v2 x Q16; v3 y Q16;
 *                v4 pressure Q16; v5 contact major Q16; v6 contact minor Q16; v7 rotation degrees
 *                (-1 unknown)
 *   PEN          v0 event type; v1 tool type; v2 pen buttons; v3 x Q16; v4 y Q16; v5 pressure Q16;
 *                v6 rotation degrees (-1 unknown); v7 tilt degrees (-1 unknown); v8 contact major Q16
 *   PAD_ARRIVE   code controller 0..15; v0 controller type; v1 capabilities; v2 supported buttons
 *   PAD_STATE    code controller; v0 button bits (the protocol's, extended included); v1 left
 *                trigger 0..255; v2 right trigger; v3 left stick x -32768..32767; v4 left y;
 *                v5 right x; v6 right y
 *   PAD_REMOVE   code controller
 *   PAD_MOTION   code controller; v0 sensor (1 accel, 2 gyro); v1..v3 x, y, z as float32 bits
 *   PAD_BATTERY  code controller; v0 state; v1 percentage (0..100, 255 unknown)
 *   PAD_TOUCHPAD code controller; v0 event type; v1 pointer id; v2 x Q16; v3 y Q16; v4 pressure Q16 */
#define LUMEN_IN_KEY 1
#define LUMEN_IN_MOVE_REL 2
#define LUMEN_IN_MOVE_ABS 3
#define LUMEN_IN_BUTTON 4
#define LUMEN_IN_SCROLL 5
#define LUMEN_IN_HSCROLL 6
#define LUMEN_IN_TEXT 7
#define LUMEN_IN_TOUCH 8
#define LUMEN_IN_PEN 9
#define LUMEN_IN_PAD_ARRIVE 10
#define LUMEN_IN_PAD_STATE 11
#define LUMEN_IN_PAD_REMOVE 12
#define LUMEN_IN_PAD_MOTION 13
#define LUMEN_IN_PAD_BATTERY 14
#define LUMEN_IN_PAD_TOUCHPAD 15

/* Feedback kinds, device → client (lumen_input_feedback), same record layout:
 *   RUMBLE          code controller; v0 low-frequency motor 0..65535; v1 high-frequency motor
 *   TRIGGER_RUMBLE  code controller; v0 left trigger motor 0..65535; v1 right
 *   MOTION_ENABLE   code controller; v0 sensor (1 accel, 2 gyro); v1 report rate Hz (0 = off)
 *   LED             code controller; v0 red 0..255; v1 green; v2 blue */
#define LUMEN_FB_RUMBLE 101
#define LUMEN_FB_TRIGGER_RUMBLE 102
#define LUMEN_FB_MOTION_ENABLE 103
#define LUMEN_FB_LED 104

/* Stats (lumen_input_stats): int64 values in this order. */
#define LUMEN_INPUT_STAT_APPLIED 0  /* records the backend applied */
#define LUMEN_INPUT_STAT_REFUSED 1  /* records the backend could not apply (no such device, kind unsupported) */
#define LUMEN_INPUT_STAT_QUEUE_FULL 2 /* records refused because the queue was full */
#define LUMEN_INPUT_STAT_BATCHES 3  /* submit calls */
#define LUMEN_INPUT_STAT_FEEDBACK 4 /* feedback records produced */
#define LUMEN_INPUT_STATS 5

/* Opens a device on `backend`. params: a NUL-free UTF-8 string of the backend's settings
 * (uinput: the device node path; xtest: the X display; wlroots: the Wayland display socket path),
 * params_len bytes. Returns the handle. */
LUMEN_API int32_t lumen_input_open(int32_t backend, const uint8_t *params, int32_t params_len, char *err, int32_t err_len);
/* Queues `count` records (records holds at least count * LUMEN_INPUT_RECORD_LEN bytes). Returns
 * count, or LUMEN_E_AGAIN when they do not all fit (none is queued). */
LUMEN_API int32_t lumen_input_submit(int32_t dev, const uint8_t *records, int32_t records_len, int32_t count, char *err, int32_t err_len);
/* Queues the release of every key, button, touch contact and pad input the device holds. */
LUMEN_API int32_t lumen_input_release_all(int32_t dev);
/* Waits until the queue is applied or timeout_ms passes; returns the records still queued. */
LUMEN_API int32_t lumen_input_drain(int32_t dev, int32_t timeout_ms);
/* Copies pending feedback records (whole records) into out. Returns the count. */
LUMEN_API int32_t lumen_input_feedback(int32_t dev, uint8_t *out, int32_t out_len);
/* Writes LUMEN_INPUT_STATS int64 values into out (at least 8 * LUMEN_INPUT_STATS bytes). */
LUMEN_API int32_t lumen_input_stats(int32_t dev, uint8_t *out, int32_t out_len);
/* Releases everything held, destroys the backend's devices and frees the handle. */
LUMEN_API int32_t lumen_input_close(int32_t dev);

/* What lumen_input_wlroots_probe finds missing (bits of its result). */
#define LUMEN_WLR_MISSING_SEAT 1     /* wl_seat */
#define LUMEN_WLR_MISSING_POINTER 2  /* zwlr_virtual_pointer_manager_v1 */
#define LUMEN_WLR_MISSING_KEYBOARD 4 /* zwp_virtual_keyboard_manager_v1 */

/* Connects to the Wayland compositor at `socket` (a socket path, socket_len bytes, no NUL), lists
 * its globals and disconnects. Returns the LUMEN_WLR_MISSING_* bits of what the wlroots backend
 * needs and it does not offer (0: all there), or a negative status with the sentence in err when
 * nothing answers as a compositor there (within 1 s). */
LUMEN_API int32_t lumen_input_wlroots_probe(const uint8_t *socket, int32_t socket_len, char *err, int32_t err_len);

#endif
