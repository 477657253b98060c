/* The interface tables of wl_virtual_input.h. Signatures are wayland's: u uint, i int, f fixed,
 * h fd, o object, n new_id, a leading ? may be null, a leading digit the version it came in;
 * types[] names the interface of each argument (NULL for plain values). */
#include <wayland-client-protocol.h>

#include "wl_virtual_input.h"

static const struct wl_interface *const none[5] = {NULL, NULL, NULL, NULL, NULL};

static const struct wl_interface *const pointer_create_types[] = {&wl_seat_interface, &lumen_zwlr_virtual_pointer_v1_interface};
static const struct wl_interface *const pointer_create_on_output_types[] = {&wl_seat_interface, &wl_output_interface,
                                                                           &lumen_zwlr_virtual_pointer_v1_interface};

static const struct wl_message pointer_manager_requests[] = {
    {"create_virtual_pointer", "?on", (const struct wl_interface **)pointer_create_types},
    {"destroy", "2", (const struct wl_interface **)none},
    {"create_virtual_pointer_with_output", "2?o?on", (const struct wl_interface **)pointer_create_on_output_types},
};

static const struct wl_message pointer_requests[] = {
    {"motion", "uff", (const struct wl_interface **)none},
    {"motion_absolute", "uuuuu", (const struct wl_interface **)none},
    {"button", "uuu", (const struct wl_interface **)none},
    {"axis", "uuf", (const struct wl_interface **)none},
    {"frame", "", (const struct wl_interface **)none},
    {"axis_source", "u", (const struct wl_interface **)none},
    {"axis_stop", "uu", (const struct wl_interface **)none},
    {"axis_discrete", "uufi", (const struct wl_interface **)none},
    {"destroy", "", (const struct wl_interface **)none},
};

static const struct wl_interface *const keyboard_create_types[] = {&wl_seat_interface, &lumen_zwp_virtual_keyboard_v1_interface};

static const struct wl_message keyboard_manager_requests[] = {
    {"create_virtual_keyboard", "on", (const struct wl_interface **)keyboard_create_types},
};

static const struct wl_message keyboard_requests[] = {
    {"keymap", "uhu", (const struct wl_interface **)none},
    {"key", "uuu", (const struct wl_interface **)none},
    {"modifiers", "uuuu", (const struct wl_interface **)none},
    {"destroy", "", (const struct wl_interface **)none},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

const struct wl_interface lumen_zwlr_virtual_pointer_manager_v1_interface = {
    "zwlr_virtual_pointer_manager_v1", VPTR_VERSION, COUNT(pointer_manager_requests), pointer_manager_requests, 0, NULL,
};
const struct wl_interface lumen_zwlr_virtual_pointer_v1_interface = {
    "zwlr_virtual_pointer_v1", VPTR_VERSION, COUNT(pointer_requests), pointer_requests, 0, NULL,
};
const struct wl_interface lumen_zwp_virtual_keyboard_manager_v1_interface = {
    "zwp_virtual_keyboard_manager_v1", VKBD_VERSION, COUNT(keyboard_manager_requests), keyboard_manager_requests, 0, NULL,
};
const struct wl_interface lumen_zwp_virtual_keyboard_v1_interface = {
    "zwp_virtual_keyboard_v1", VKBD_VERSION, COUNT(keyboard_requests), keyboard_requests, 0, NULL,
};
