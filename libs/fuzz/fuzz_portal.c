/* libFuzzer target: the ScreenCast portal's answers as portal.c reads them (response_code,
 * dict_find, read_streams and the session_handle check of open_steps; lumen_portal.h).
 *
 * The input is a marshalled D-Bus message (libdbus demarshals it exactly as a message off the
 * bus; what it refuses never reaches the shim). The message is read as a Request::Response to
 * CreateSession (the session handle) and to Start (the streams: node id, size, source type),
 * into a Portal like lumen_portal_open's. Seeds: `fuzz_portal_seeds DIR` (this file built with
 * -DLUMEN_FUZZ_SEEDS) writes well-formed answers to start from. */
#include "../src/portal.c"

static void read_answer(DBusMessage *m) {
  Portal p;
  memset(&p, 0, sizeof p);
  p.fd = -1;
  p.node_id = -1;
  p.width = p.height = -1;
  char err[512];
  Ctx c = {&p, 1000, err, sizeof err};
  DBusMessageIter results, v;
  if (response_code(&c, "CreateSession", m, &results) == 0) {
    const char *session = NULL;
    if (dict_find(results, "session_handle", &v) && (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_STRING || dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_OBJECT_PATH))
      dbus_message_iter_get_basic(&v, &session);
    if (session && strlen(session) <= MAX_PATH_LEN && dbus_validate_path(session, NULL)) snprintf(p.session, sizeof p.session, "%s", session);
    if (is_session_closed(&p, m)) p.open = 0;
  }
  if (response_code(&c, "Start", m, &results) == 0 && read_streams(&c, results) == 0) {
    if (p.node_id < 0 || p.streams < 1 || p.streams > MAX_STREAMS) abort();
    if (p.width != -1 && (p.width <= 0 || p.width > MAX_SIDE || p.height <= 0 || p.height > MAX_SIDE)) abort();
  }
}

#ifndef LUMEN_FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1 << 20)) return 0;
  DBusError e;
  dbus_error_init(&e);
  DBusMessage *m = dbus_message_demarshal((const char *)data, (int)size, &e);
  if (m) {
    read_answer(m);
    dbus_message_unref(m);
  }
  dbus_error_free(&e);
  return 0;
}
#else
#include <stdio.h>

static DBusMessage *response(uint32_t code) {
  DBusMessage *m = dbus_message_new_signal("/org/freedesktop/portal/desktop/request/1_2/lumen_1_1", REQUEST_IFACE, "Response");
  dbus_message_set_serial(m, 1);
  DBusMessageIter it;
  dbus_message_iter_init_append(m, &it);
  dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &code);
  return m;
}

static void save(const char *dir, const char *name, DBusMessage *m) {
  char *bytes;
  int len;
  if (!dbus_message_marshal(m, &bytes, &len)) abort();
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  fwrite(bytes, 1, (size_t)len, f);
  fclose(f);
  dbus_free(bytes);
  dbus_message_unref(m);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  DBusMessageIter it, dict, entry, var, arr, st, props, pe, pv, wh;
  /* CreateSession: results {session_handle: o} */
  DBusMessage *m = response(0);
  dbus_message_iter_init_append(m, &it);
  dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &dict);
  dict_str(&dict, "session_handle", "/org/freedesktop/portal/desktop/session/1_2/lumen_1_2");
  dbus_message_iter_close_container(&it, &dict);
  save(argv[1], "create-session", m);
  /* Start: results {streams: a(ua{sv}) [(42, {size: (ii), source_type: u})]} */
  m = response(0);
  dbus_message_iter_init_append(m, &it);
  dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &dict);
  dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
  const char *key = "streams";
  dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key);
  dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "a(ua{sv})", &var);
  dbus_message_iter_open_container(&var, DBUS_TYPE_ARRAY, "(ua{sv})", &arr);
  dbus_message_iter_open_container(&arr, DBUS_TYPE_STRUCT, NULL, &st);
  uint32_t node = 42;
  dbus_message_iter_append_basic(&st, DBUS_TYPE_UINT32, &node);
  dbus_message_iter_open_container(&st, DBUS_TYPE_ARRAY, "{sv}", &props);
  dbus_message_iter_open_container(&props, DBUS_TYPE_DICT_ENTRY, NULL, &pe);
  key = "size";
  dbus_message_iter_append_basic(&pe, DBUS_TYPE_STRING, &key);
  dbus_message_iter_open_container(&pe, DBUS_TYPE_VARIANT, "(ii)", &pv);
  dbus_message_iter_open_container(&pv, DBUS_TYPE_STRUCT, NULL, &wh);
  int32_t w = 1920, h = 1080;
  dbus_message_iter_append_basic(&wh, DBUS_TYPE_INT32, &w);
  dbus_message_iter_append_basic(&wh, DBUS_TYPE_INT32, &h);
  dbus_message_iter_close_container(&pv, &wh);
  dbus_message_iter_close_container(&pe, &pv);
  dbus_message_iter_close_container(&props, &pe);
  dict_u32(&props, "source_type", 1);
  dbus_message_iter_close_container(&st, &props);
  dbus_message_iter_close_container(&arr, &st);
  dbus_message_iter_close_container(&var, &arr);
  dbus_message_iter_close_container(&entry, &var);
  dbus_message_iter_close_container(&dict, &entry);
  dbus_message_iter_close_container(&it, &dict);
  save(argv[1], "start", m);
  save(argv[1], "cancelled", response(1));
  return 0;
}
#endif
