/* The two Wayland protocols the wlroots input backend speaks, as the data tables wayland-scanner
 * would make of wlr-virtual-pointer-unstable-v1.xml (wlr-protocols) and
 * virtual-keyboard-unstable-v1.xml (wlroots): Debian ships neither XML, and the tables are small.
 * A request's opcode is its place in its interface's table. Not part of the ABI. */
#ifndef LUMEN_WL_VIRTUAL_INPUT_H
#define LUMEN_WL_VIRTUAL_INPUT_H

#include <wayland-client-core.h>

extern const struct wl_interface lumen_zwlr_virtual_pointer_manager_v1_interface;
extern const struct wl_interface lumen_zwlr_virtual_pointer_v1_interface;
extern const struct wl_interface lumen_zwp_virtual_keyboard_manager_v1_interface;
extern const struct wl_interface lumen_zwp_virtual_keyboard_v1_interface;

/* zwlr_virtual_pointer_manager_v1 (destroy since version 2) */
enum { VPTR_MGR_CREATE = 0, VPTR_MGR_DESTROY = 1 };
/* zwlr_virtual_pointer_v1 */
enum {
  VPTR_MOTION = 0,
  VPTR_MOTION_ABSOLUTE = 1,
  VPTR_BUTTON = 2,
  VPTR_AXIS = 3,
  VPTR_FRAME = 4,
  VPTR_AXIS_SOURCE = 5,
  VPTR_AXIS_STOP = 6,
  VPTR_AXIS_DISCRETE = 7,
  VPTR_DESTROY = 8,
};
/* zwp_virtual_keyboard_manager_v1 */
enum { VKBD_MGR_CREATE = 0 };
/* zwp_virtual_keyboard_v1 */
enum { VKBD_KEYMAP = 0, VKBD_KEY = 1, VKBD_MODIFIERS = 2, VKBD_DESTROY = 3 };

/* the newest versions these tables describe */
#define VPTR_VERSION 2
#define VKBD_VERSION 1

#endif
