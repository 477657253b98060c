/* Lumen shim: the xdg-desktop-portal ScreenCast request, over libdbus-1.
 *
 * lumen_portal_open() talks to org.freedesktop.portal.Desktop on a session bus through its own
 * private connection: CreateSession → SelectSources (one monitor; cursor embedded when the
 * portal offers it, else hidden) → Start (no parent window) → OpenPipeWireRemote. Each of the
 * asynchronous steps answers through a org.freedesktop.portal.Request Response signal, which is
 * subscribed before the call on the predicted request path (and on the path the call returns,
 * when that differs). Every call and every wait is bounded by timeout_ms; a failure is a
 * sentence (portal missing, the user cancelled, the backend failed, no answer in time).
 *
 * The result is a PipeWire node id and a PipeWire remote fd: hand both to lumen_pw_video_open()
 * (lumen_pipewire.h), which duplicates the fd. The portal session stays open, on the private
 * connection, until lumen_portal_close(), which closes the session (Session.Close), the fd and
 * the connection. */
#ifndef LUMEN_PORTAL_H
#define LUMEN_PORTAL_H

#include <stdint.h>

#include "lumen_core.h"

/* lumen_portal_info: LUMEN_PORTAL_INFO_LEN bytes, int32 little-endian:
 *   0 PipeWire node id   1 PipeWire remote fd   2 width   3 height (-1 when the portal gave no size)
 *   4 cursor mode asked (1 hidden, 2 embedded)   5 source type (1 monitor, -1 not given)
 *   6 streams the portal offered   7 session open (1) or closed by the portal (0)
 *   8 the ScreenCast interface version */
#define LUMEN_PORTAL_INFO_LEN 36

/* Asks the ScreenCast portal for one monitor. bus_address: a D-Bus address (the caller resolves
 * the session bus's; "" fails with LUMEN_E_UNAVAILABLE and the reason). timeout_ms bounds each
 * step (a portal dialog waits for a person). Returns the portal handle. */
LUMEN_API int32_t lumen_portal_open(const char *bus_address, int32_t timeout_ms, char *err, int32_t err_len);
/* Copies LUMEN_PORTAL_INFO_LEN bytes of state into out; notices a Session::Closed signal. */
LUMEN_API int32_t lumen_portal_info(int32_t portal, uint8_t *out, int32_t out_len);
/* Writes the session's object path (NUL-terminated) into out; returns its length. */
LUMEN_API int32_t lumen_portal_session_path(int32_t portal, char *out, int32_t out_len);
/* Whether a ScreenCast portal answers on that bus within timeout_ms in all: returns its
 * AvailableSourceTypes bitmask (1 monitor, 2 window, 4 virtual), or a LUMEN_E_* status with the
 * reason. Opens no session and never waits longer than timeout_ms. */
LUMEN_API int32_t lumen_portal_probe(const char *bus_address, int32_t timeout_ms, char *err, int32_t err_len);
/* Closes the portal session (Session.Close), the PipeWire remote fd and the bus connection. */
LUMEN_API int32_t lumen_portal_close(int32_t portal);

#endif
