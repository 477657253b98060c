/* xdg-desktop-portal ScreenCast client (lumen_portal.h), over libdbus-1.
 *
 * libdbus rather than sd-bus: it is on every box that has a session bus (no libsystemd-dev, no
 * systemd needed), it passes UNIX fds, and its blocking calls take a timeout, which is all a
 * four-step request needs. One private connection per portal handle: the portal ties the
 * session to that connection, so it stays open while capture runs. */
#define _GNU_SOURCE
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lumen_portal.h"

#define MAX_PORTAL 8
#define MAX_STREAMS 16
#define MAX_PATH_LEN 255
#define MAX_SIDE 16384
#define PORTAL_BUS "org.freedesktop.portal.Desktop"
#define PORTAL_PATH "/org/freedesktop/portal/desktop"
#define SCREENCAST_IFACE "org.freedesktop.portal.ScreenCast"
#define REQUEST_IFACE "org.freedesktop.portal.Request"
#define SESSION_IFACE "org.freedesktop.portal.Session"
#define SOURCE_MONITOR 1u
#define CURSOR_HIDDEN 1u
#define CURSOR_EMBEDDED 2u

typedef struct {
  LumenSlot slot;
  DBusConnection *conn;
  char sender[128]; /* the unique name as a path element: ':1.42' -> '1_42' */
  char session[MAX_PATH_LEN + 1];
  int fd;
  int node_id, width, height, cursor_mode, source_type, streams, open, version;
} Portal;

/* One request in progress: where its answer goes, and what it is called in sentences. */
typedef struct {
  Portal *p;
  int timeout_ms;
  char *err;
  int32_t err_len;
} Ctx;

LUMEN_TABLE(portals, Portal, MAX_PORTAL, "portal session");
static unsigned token_counter;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The bus to use: the caller's address (TypeScript resolves the session bus's, src/native/portal.ts). */
static int32_t bus_address(const char *given, char *out, size_t len, char *err, int32_t err_len) {
  if (given && given[0]) {
    snprintf(out, len, "%s", given);
    return 0;
  }
  return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE,
                    "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and $XDG_RUNTIME_DIR/bus does not exist (the ScreenCast portal lives on a desktop session's bus)");
}

/* Turns a D-Bus error reply into a sentence. */
static int32_t bus_error(Ctx *c, const char *what, DBusError *e) {
  int32_t r;
  if (dbus_error_has_name(e, DBUS_ERROR_SERVICE_UNKNOWN) || dbus_error_has_name(e, DBUS_ERROR_NAME_HAS_NO_OWNER)) {
    r = lumen_fail(c->err, c->err_len, LUMEN_E_UNAVAILABLE,
                   "no xdg-desktop-portal on this session bus (nothing owns or can start " PORTAL_BUS "): start xdg-desktop-portal with the backend for this desktop "
                   "(xdg-desktop-portal-wlr for sway/wlroots, -gnome, -kde), or use --source x11 or pipewire");
  } else if (dbus_error_has_name(e, DBUS_ERROR_UNKNOWN_INTERFACE) || dbus_error_has_name(e, DBUS_ERROR_UNKNOWN_METHOD) ||
             dbus_error_has_name(e, DBUS_ERROR_UNKNOWN_OBJECT) || dbus_error_has_name(e, DBUS_ERROR_UNKNOWN_PROPERTY) ||
             (dbus_error_has_name(e, DBUS_ERROR_INVALID_ARGS) && strstr(what, "property") != NULL)) {
    r = lumen_fail(c->err, c->err_len, LUMEN_E_UNAVAILABLE,
                   "the ScreenCast portal is not available on this session bus (" PORTAL_BUS " has no ScreenCast interface): install the portal backend for this "
                   "desktop (xdg-desktop-portal-wlr, -gnome, -kde) and restart xdg-desktop-portal (%s)",
                   e->message ? e->message : e->name);
  } else if (dbus_error_has_name(e, DBUS_ERROR_NO_REPLY) || dbus_error_has_name(e, DBUS_ERROR_TIMEOUT) || dbus_error_has_name(e, DBUS_ERROR_TIMED_OUT)) {
    r = lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal did not answer %s within %d ms (LUMEN_PORTAL_TIMEOUT sets the limit)", what, c->timeout_ms);
  } else if (dbus_error_has_name(e, DBUS_ERROR_DISCONNECTED) || dbus_error_has_name(e, DBUS_ERROR_NO_SERVER) ||
             dbus_error_has_name(e, DBUS_ERROR_FILE_NOT_FOUND) || dbus_error_has_name(e, DBUS_ERROR_NO_NETWORK)) {
    r = lumen_fail(c->err, c->err_len, LUMEN_E_UNAVAILABLE, "cannot reach the D-Bus session bus for the ScreenCast portal (%s): %s", what, e->message ? e->message : e->name);
  } else if (dbus_error_has_name(e, DBUS_ERROR_ACCESS_DENIED)) {
    r = lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal refused %s: %s", what, e->message ? e->message : e->name);
  } else {
    r = lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's %s failed: %s (%s)", what, e->message ? e->message : "no message", e->name);
  }
  dbus_error_free(e);
  return r;
}

/* Sends msg (consumed) and waits up to the step's timeout for the reply. */
static int32_t call(Ctx *c, DBusMessage *msg, const char *what, DBusMessage **reply) {
  *reply = NULL;
  if (!msg) return lumen_fail(c->err, c->err_len, LUMEN_E_NOMEM, "out of memory building the portal's %s call", what);
  DBusError e;
  dbus_error_init(&e);
  *reply = dbus_connection_send_with_reply_and_block(c->p->conn, msg, c->timeout_ms, &e);
  dbus_message_unref(msg);
  if (!*reply) return bus_error(c, what, &e);
  return 0;
}

static DBusMessage *portal_call(const char *iface, const char *method) { return dbus_message_new_method_call(PORTAL_BUS, PORTAL_PATH, iface, method); }

static DBusMessage *bus_call(const char *method) { return dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, method); }

/* a{sv} helpers */
static dbus_bool_t dict_add(DBusMessageIter *dict, const char *key, int type, const char *sig, const void *value) {
  DBusMessageIter entry, var;
  return dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) && dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key) &&
         dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, sig, &var) && dbus_message_iter_append_basic(&var, type, value) &&
         dbus_message_iter_close_container(&entry, &var) && dbus_message_iter_close_container(dict, &entry);
}

static dbus_bool_t dict_str(DBusMessageIter *d, const char *key, const char *v) { return dict_add(d, key, DBUS_TYPE_STRING, "s", &v); }
static dbus_bool_t dict_u32(DBusMessageIter *d, const char *key, uint32_t v) { return dict_add(d, key, DBUS_TYPE_UINT32, "u", &v); }
static dbus_bool_t dict_bool(DBusMessageIter *d, const char *key, dbus_bool_t v) { return dict_add(d, key, DBUS_TYPE_BOOLEAN, "b", &v); }

static int32_t add_match(Ctx *c, const char *rule) {
  DBusMessage *m = bus_call("AddMatch"), *reply;
  if (m && !dbus_message_append_args(m, DBUS_TYPE_STRING, &rule, DBUS_TYPE_INVALID)) {
    dbus_message_unref(m);
    m = NULL;
  }
  int32_t r = call(c, m, "subscription to its answer (AddMatch)", &reply);
  if (reply) dbus_message_unref(reply);
  return r;
}

static int32_t subscribe_response(Ctx *c, const char *path) {
  char rule[512];
  snprintf(rule, sizeof rule, "type='signal',interface='" REQUEST_IFACE "',member='Response',path='%s'", path);
  return add_match(c, rule);
}

/* A fresh token: a valid object path element, unique in this process. */
static void new_token(char *out, size_t len) { snprintf(out, len, "lumen_%d_%u", (int)getpid(), __atomic_add_fetch(&token_counter, 1, __ATOMIC_RELAXED)); }

static int is_session_closed(Portal *p, DBusMessage *m) {
  return p->session[0] && dbus_message_is_signal(m, SESSION_IFACE, "Closed") && dbus_message_has_path(m, p->session);
}

/* Asks the portal to dismiss a request nobody waits for any more (a dialog left open). */
static void close_request(Portal *p, const char *path) {
  DBusMessage *m = dbus_message_new_method_call(PORTAL_BUS, path, REQUEST_IFACE, "Close");
  if (!m) return;
  dbus_message_set_no_reply(m, TRUE);
  dbus_connection_send(p->conn, m, NULL);
  dbus_connection_flush(p->conn);
  dbus_message_unref(m);
}

/* Waits for the Response signal on one of the request paths; returns the signal (caller unrefs). */
static int32_t wait_response(Ctx *c, const char *what, const char *path1, const char *path2, DBusMessage **out) {
  *out = NULL;
  int64_t deadline = now_ms() + c->timeout_ms;
  for (;;) {
    DBusMessage *m;
    while ((m = dbus_connection_pop_message(c->p->conn)) != NULL) {
      if (dbus_message_is_signal(m, REQUEST_IFACE, "Response") && (dbus_message_has_path(m, path1) || (path2 && dbus_message_has_path(m, path2)))) {
        *out = m;
        return 0;
      }
      if (is_session_closed(c->p, m)) c->p->open = 0;
      dbus_message_unref(m);
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      close_request(c->p, path2 ? path2 : path1);
      return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED,
                        "the ScreenCast portal did not answer the %s request within %d ms: a screen-share dialog may be waiting for someone to answer it, or the portal "
                        "backend hangs (LUMEN_PORTAL_TIMEOUT sets the limit)",
                        what, c->timeout_ms);
    }
    if (!dbus_connection_read_write(c->p->conn, (int)left))
      return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the session bus connection closed while waiting for the ScreenCast portal's %s answer", what);
  }
}

/* Reads the Response's (u response, a{sv} results); leaves *results at the dict's first entry. */
static int32_t response_code(Ctx *c, const char *what, DBusMessage *m, DBusMessageIter *results) {
  DBusMessageIter it;
  if (!dbus_message_iter_init(m, &it) || dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_UINT32)
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's %s answer is malformed (signature '%s', expected 'ua{sv}')", what, dbus_message_get_signature(m));
  uint32_t code;
  dbus_message_iter_get_basic(&it, &code);
  if (code == 1) return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the user cancelled the screen-share request (response 1 to %s)", what);
  if (code == 2)
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED,
                      "the ScreenCast portal ended the %s request without success (response 2): its backend failed, and its log says why (xdg-desktop-portal-wlr, "
                      "for one, needs a compositor with wlr-screencopy, a PipeWire daemon, and an output it can pick without a chooser)",
                      what);
  if (code != 0) return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal answered %s with the unknown response %u", what, code);
  if (!dbus_message_iter_next(&it) || dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY)
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's %s answer has no results (signature '%s')", what, dbus_message_get_signature(m));
  dbus_message_iter_recurse(&it, results);
  return 0;
}

/* Finds key in an a{sv} iterator; *value is the variant's content. */
static int dict_find(DBusMessageIter dict, const char *key, DBusMessageIter *value) {
  for (int n = 0; n < 256 && dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY; n++, dbus_message_iter_next(&dict)) {
    DBusMessageIter entry, var;
    dbus_message_iter_recurse(&dict, &entry);
    if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_STRING) continue;
    const char *k;
    dbus_message_iter_get_basic(&entry, &k);
    if (strcmp(k, key) != 0 || !dbus_message_iter_next(&entry) || dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_VARIANT) continue;
    dbus_message_iter_recurse(&entry, &var);
    *value = var;
    return 1;
  }
  return 0;
}

/* Runs one asynchronous portal method: subscribe on the predicted request path, call, wait for the
 * Response (also on the returned path when it differs). msg has its arguments up to the options
 * dict open in *opts; this closes the dict, sends, and returns the Response signal. */
static int32_t request(Ctx *c, const char *what, DBusMessage *msg, DBusMessageIter *args, DBusMessageIter *opts, const char *token, DBusMessage **response) {
  *response = NULL;
  char predicted[MAX_PATH_LEN + 1];
  snprintf(predicted, sizeof predicted, "/org/freedesktop/portal/desktop/request/%s/%s", c->p->sender, token);
  if (!dbus_message_iter_close_container(args, opts)) {
    dbus_message_unref(msg);
    return lumen_fail(c->err, c->err_len, LUMEN_E_NOMEM, "out of memory building the portal's %s call", what);
  }
  int32_t r = subscribe_response(c, predicted);
  if (r < 0) {
    dbus_message_unref(msg);
    return r;
  }
  DBusMessage *reply;
  if ((r = call(c, msg, what, &reply)) < 0) return r;
  const char *handle = NULL;
  if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_OBJECT_PATH, &handle, DBUS_TYPE_INVALID) || strlen(handle) > MAX_PATH_LEN) {
    dbus_message_unref(reply);
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's %s reply carries no request handle", what);
  }
  char actual[MAX_PATH_LEN + 1];
  snprintf(actual, sizeof actual, "%s", handle);
  dbus_message_unref(reply);
  const char *other = NULL;
  if (strcmp(actual, predicted) != 0) {
    /* an older portal picks its own path: the answer may come there */
    if ((r = subscribe_response(c, actual)) < 0) return r;
    other = actual;
  }
  return wait_response(c, what, predicted, other, response);
}

/* Starts a method call whose last argument is the options dict; returns with *opts open. */
static DBusMessage *begin(const char *method, const char *session, const char *parent, DBusMessageIter *args, DBusMessageIter *opts, const char *token) {
  DBusMessage *m = portal_call(SCREENCAST_IFACE, method);
  if (!m) return NULL;
  dbus_message_iter_init_append(m, args);
  if ((session && !dbus_message_iter_append_basic(args, DBUS_TYPE_OBJECT_PATH, &session)) || (parent && !dbus_message_iter_append_basic(args, DBUS_TYPE_STRING, &parent)) ||
      !dbus_message_iter_open_container(args, DBUS_TYPE_ARRAY, "{sv}", opts) || (token && !dict_str(opts, "handle_token", token))) {
    dbus_message_unref(m);
    return NULL;
  }
  return m;
}

/* Reads a u property of the ScreenCast interface. */
static int32_t get_u32_property(Ctx *c, const char *name, uint32_t *out) {
  const char *iface = SCREENCAST_IFACE;
  DBusMessage *m = dbus_message_new_method_call(PORTAL_BUS, PORTAL_PATH, DBUS_INTERFACE_PROPERTIES, "Get"), *reply;
  if (m && !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID)) {
    dbus_message_unref(m);
    m = NULL;
  }
  char what[96];
  snprintf(what, sizeof what, "the %s property", name);
  int32_t r = call(c, m, what, &reply);
  if (r < 0) return r;
  DBusMessageIter it, var;
  if (!dbus_message_iter_init(reply, &it) || dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_VARIANT) {
    dbus_message_unref(reply);
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's %s reply is malformed", what);
  }
  dbus_message_iter_recurse(&it, &var);
  if (dbus_message_iter_get_arg_type(&var) != DBUS_TYPE_UINT32) {
    dbus_message_unref(reply);
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's %s is not a uint32", what);
  }
  dbus_message_iter_get_basic(&var, out);
  dbus_message_unref(reply);
  return 0;
}

/* Opens a private connection and says Hello within the timeout (dbus_bus_register would wait
 * libdbus's default 25 s). */
static int32_t connect_bus(Ctx *c, const char *given) {
  char address[1024];
  int32_t r = bus_address(given, address, sizeof address, c->err, c->err_len);
  if (r < 0) return r;
  DBusError e;
  dbus_error_init(&e);
  c->p->conn = dbus_connection_open_private(address, &e);
  if (!c->p->conn) {
    r = lumen_fail(c->err, c->err_len, LUMEN_E_UNAVAILABLE, "cannot connect to the D-Bus session bus at %s for the ScreenCast portal: %s", address, e.message ? e.message : e.name);
    dbus_error_free(&e);
    return r;
  }
  dbus_connection_set_exit_on_disconnect(c->p->conn, FALSE);
  DBusMessage *reply;
  if ((r = call(c, bus_call("Hello"), "the bus's Hello", &reply)) < 0) return r;
  const char *name = NULL;
  if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID) || name[0] != ':' || strlen(name) >= sizeof c->p->sender) {
    dbus_message_unref(reply);
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the D-Bus daemon's Hello reply carries no unique name");
  }
  dbus_bus_set_unique_name(c->p->conn, name);
  /* the request path names the caller by its unique name, ':' dropped and '.' as '_' */
  size_t j = 0;
  for (const char *s = name + 1; *s && j + 1 < sizeof c->p->sender; s++) c->p->sender[j++] = *s == '.' ? '_' : *s;
  c->p->sender[j] = 0;
  dbus_message_unref(reply);
  return 0;
}

static void portal_free(Portal *p) {
  if (p->conn) {
    if (p->session[0] && p->open) {
      DBusMessage *m = dbus_message_new_method_call(PORTAL_BUS, p->session, SESSION_IFACE, "Close");
      if (m) {
        DBusMessage *reply = dbus_connection_send_with_reply_and_block(p->conn, m, 2000, NULL);
        if (reply) dbus_message_unref(reply);
        dbus_message_unref(m);
      }
    }
    dbus_connection_close(p->conn);
    dbus_connection_unref(p->conn);
  }
  if (p->fd >= 0) close(p->fd);
  p->conn = NULL;
  p->fd = -1;
  lumen_handle_free(&portals, p);
}

static Portal *take_slot(int32_t *handle) {
  Portal *p;
  *handle = lumen_handle_claim(&portals, (void **)&p);
  if (p) {
    p->fd = -1;
    p->node_id = -1;
    p->width = p->height = p->source_type = -1;
  }
  return p;
}

static void release_slot(Portal *p) { portal_free(p); }

/* Reads the first stream of Start's results: node id, size, source type. */
static int32_t read_streams(Ctx *c, DBusMessageIter results) {
  Portal *p = c->p;
  DBusMessageIter v, arr;
  if (!dict_find(results, "streams", &v) || dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_ARRAY || dbus_message_iter_get_element_type(&v) != DBUS_TYPE_STRUCT)
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal started the session but sent no streams (a(ua{sv}))");
  dbus_message_iter_recurse(&v, &arr);
  int n = 0;
  for (; n < MAX_STREAMS && dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT; n++, dbus_message_iter_next(&arr)) {
    if (n > 0) continue; /* one monitor was asked for: the first stream is it */
    DBusMessageIter st;
    dbus_message_iter_recurse(&arr, &st);
    if (dbus_message_iter_get_arg_type(&st) != DBUS_TYPE_UINT32) return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's stream has no PipeWire node id");
    uint32_t node;
    dbus_message_iter_get_basic(&st, &node);
    if (node > INT32_MAX) return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's PipeWire node id %u is out of range", node);
    p->node_id = (int)node;
    if (!dbus_message_iter_next(&st) || dbus_message_iter_get_arg_type(&st) != DBUS_TYPE_ARRAY) continue;
    DBusMessageIter props, pv;
    dbus_message_iter_recurse(&st, &props);
    if (dict_find(props, "size", &pv) && dbus_message_iter_get_arg_type(&pv) == DBUS_TYPE_STRUCT) {
      DBusMessageIter wh;
      int32_t w = -1, h = -1;
      dbus_message_iter_recurse(&pv, &wh);
      if (dbus_message_iter_get_arg_type(&wh) == DBUS_TYPE_INT32) {
        dbus_message_iter_get_basic(&wh, &w);
        if (dbus_message_iter_next(&wh) && dbus_message_iter_get_arg_type(&wh) == DBUS_TYPE_INT32) dbus_message_iter_get_basic(&wh, &h);
      }
      if (w > 0 && h > 0 && w <= MAX_SIDE && h <= MAX_SIDE) {
        p->width = w;
        p->height = h;
      }
    }
    if (dict_find(props, "source_type", &pv) && dbus_message_iter_get_arg_type(&pv) == DBUS_TYPE_UINT32) {
      uint32_t t;
      dbus_message_iter_get_basic(&pv, &t);
      p->source_type = t <= 7 ? (int)t : -1;
    }
  }
  p->streams = n;
  if (n == 0 || p->node_id < 0) return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal started the session with no stream in it");
  return 0;
}

static int32_t open_steps(Ctx *c, const char *given) {
  Portal *p = c->p;
  int32_t r = connect_bus(c, given);
  if (r < 0) return r;

  uint32_t types = 0, cursors = 0, version = 0;
  if ((r = get_u32_property(c, "version", &version)) < 0) return r;
  p->version = version > INT32_MAX ? INT32_MAX : (int)version;
  if ((r = get_u32_property(c, "AvailableSourceTypes", &types)) < 0) return r;
  if (!(types & SOURCE_MONITOR))
    return lumen_fail(c->err, c->err_len, LUMEN_E_UNAVAILABLE,
                      "the ScreenCast portal offers no monitor to share (AvailableSourceTypes=%u): its backend is missing or was not running when xdg-desktop-portal "
                      "started (start xdg-desktop-portal-wlr/-gnome/-kde, then restart xdg-desktop-portal)",
                      types);
  if (version >= 2 && (r = get_u32_property(c, "AvailableCursorModes", &cursors)) < 0) return r;
  p->cursor_mode = (cursors & CURSOR_EMBEDDED) ? (int)CURSOR_EMBEDDED : (int)CURSOR_HIDDEN;

  /* CreateSession */
  char token[64], session_token[64];
  new_token(token, sizeof token);
  new_token(session_token, sizeof session_token);
  DBusMessageIter args, opts, results, v;
  DBusMessage *m = begin("CreateSession", NULL, NULL, &args, &opts, token), *resp;
  if (!m || !dict_str(&opts, "session_handle_token", session_token)) {
    if (m) dbus_message_unref(m);
    return lumen_fail(c->err, c->err_len, LUMEN_E_NOMEM, "out of memory building CreateSession");
  }
  if ((r = request(c, "CreateSession", m, &args, &opts, token, &resp)) < 0) return r;
  if ((r = response_code(c, "CreateSession", resp, &results)) < 0) {
    dbus_message_unref(resp);
    return r;
  }
  /* session_handle is a string in older portals, an object path in newer documentation */
  const char *session = NULL;
  if (dict_find(results, "session_handle", &v) && (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_STRING || dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_OBJECT_PATH))
    dbus_message_iter_get_basic(&v, &session);
  if (!session || strlen(session) > MAX_PATH_LEN || !dbus_validate_path(session, NULL)) {
    dbus_message_unref(resp);
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal created a session but sent no valid session_handle");
  }
  snprintf(p->session, sizeof p->session, "%s", session);
  p->open = 1;
  dbus_message_unref(resp);
  char rule[512];
  snprintf(rule, sizeof rule, "type='signal',interface='" SESSION_IFACE "',member='Closed',path='%s'", p->session);
  if ((r = add_match(c, rule)) < 0) return r;

  /* SelectSources: one monitor */
  new_token(token, sizeof token);
  m = begin("SelectSources", p->session, NULL, &args, &opts, token);
  if (!m || !dict_u32(&opts, "types", SOURCE_MONITOR) || !dict_bool(&opts, "multiple", FALSE) || (version >= 2 && !dict_u32(&opts, "cursor_mode", (uint32_t)p->cursor_mode))) {
    if (m) dbus_message_unref(m);
    return lumen_fail(c->err, c->err_len, LUMEN_E_NOMEM, "out of memory building SelectSources");
  }
  if ((r = request(c, "SelectSources", m, &args, &opts, token, &resp)) < 0) return r;
  r = response_code(c, "SelectSources", resp, &results);
  dbus_message_unref(resp);
  if (r < 0) return r;

  /* Start: no parent window */
  new_token(token, sizeof token);
  m = begin("Start", p->session, "", &args, &opts, token);
  if (!m) return lumen_fail(c->err, c->err_len, LUMEN_E_NOMEM, "out of memory building Start");
  if ((r = request(c, "Start", m, &args, &opts, token, &resp)) < 0) return r;
  if ((r = response_code(c, "Start", resp, &results)) == 0) r = read_streams(c, results);
  dbus_message_unref(resp);
  if (r < 0) return r;

  /* OpenPipeWireRemote */
  m = begin("OpenPipeWireRemote", p->session, NULL, &args, &opts, NULL);
  if (!m || !dbus_message_iter_close_container(&args, &opts)) {
    if (m) dbus_message_unref(m);
    return lumen_fail(c->err, c->err_len, LUMEN_E_NOMEM, "out of memory building OpenPipeWireRemote");
  }
  DBusMessage *reply;
  if ((r = call(c, m, "OpenPipeWireRemote", &reply)) < 0) return r;
  int fd = -1;
  DBusMessageIter it;
  if (dbus_message_iter_init(reply, &it) && dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_UNIX_FD) dbus_message_iter_get_basic(&it, &fd); /* a dup we own */
  dbus_message_unref(reply);
  if (fd < 0)
    return lumen_fail(c->err, c->err_len, LUMEN_E_FAILED, "the ScreenCast portal's OpenPipeWireRemote reply carries no file descriptor (the bus connection may not pass fds)");
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  p->fd = fd;
  return 0;
}

LUMEN_API int32_t lumen_portal_open(const char *bus_address, int32_t timeout_ms, char *err, int32_t err_len) {
  if (timeout_ms <= 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the portal timeout must be positive, got %d ms", timeout_ms);
  int32_t h;
  Portal *p = take_slot(&h);
  if (!p) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d portal slots are in use", MAX_PORTAL);
  Ctx c = {p, timeout_ms, err, err_len};
  int32_t r = open_steps(&c, bus_address);
  if (r < 0) {
    release_slot(p);
    return r;
  }
  return h;
}

/* A portal session is driven by one thread (lumen_portal.h's calls are not for concurrent use on
 * one handle): a lookup checks the generation under the table's lock. */
static Portal *portal_of(int32_t h) {
  Portal *p = lumen_handle_acquire(&portals, h);
  lumen_handle_release(&portals, p);
  return p;
}

LUMEN_API int32_t lumen_portal_info(int32_t portal, uint8_t *out, int32_t out_len) {
  Portal *p = portal_of(portal);
  if (!p) return LUMEN_E_INVALID;
  if (!out || out_len < LUMEN_PORTAL_INFO_LEN) return LUMEN_E_BUFFER;
  /* notice a Session::Closed without waiting */
  if (p->conn && p->open) {
    dbus_connection_read_write(p->conn, 0);
    DBusMessage *m;
    while ((m = dbus_connection_pop_message(p->conn)) != NULL) {
      if (is_session_closed(p, m)) p->open = 0;
      dbus_message_unref(m);
    }
    if (!dbus_connection_get_is_connected(p->conn)) p->open = 0;
  }
  int32_t v[9] = {p->node_id, p->fd, p->width, p->height, p->cursor_mode, p->source_type, p->streams, p->open, p->version};
  memcpy(out, v, sizeof v);
  return LUMEN_PORTAL_INFO_LEN;
}

LUMEN_API int32_t lumen_portal_session_path(int32_t portal, char *out, int32_t out_len) {
  Portal *p = portal_of(portal);
  if (!p) return LUMEN_E_INVALID;
  int32_t n = (int32_t)strlen(p->session);
  if (!out || out_len <= n) return LUMEN_E_BUFFER;
  memcpy(out, p->session, (size_t)n + 1);
  return n;
}

LUMEN_API int32_t lumen_portal_probe(const char *bus_address, int32_t timeout_ms, char *err, int32_t err_len) {
  if (timeout_ms <= 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the portal probe timeout must be positive, got %d ms", timeout_ms);
  int32_t h;
  Portal *p = take_slot(&h);
  if (!p) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "all %d portal slots are in use", MAX_PORTAL);
  /* the whole probe within timeout_ms: each call gets what is left */
  int64_t deadline = now_ms() + timeout_ms;
  Ctx c = {p, timeout_ms, err, err_len};
  int32_t r = connect_bus(&c, bus_address);
  uint32_t types = 0;
  if (r >= 0) {
    int64_t left = deadline - now_ms();
    c.timeout_ms = left > 0 ? (int)left : 1;
    r = get_u32_property(&c, "AvailableSourceTypes", &types);
  }
  release_slot(p);
  return r < 0 ? r : (int32_t)(types & 0x7fffffff);
}

LUMEN_API int32_t lumen_portal_close(int32_t portal) {
  Portal *p = lumen_handle_retire(&portals, portal);
  if (!p) return LUMEN_E_INVALID;
  portal_free(p);
  return 0;
}
