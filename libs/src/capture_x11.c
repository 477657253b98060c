/* X11 capture (libs/include/lumen_capture.h): MIT-SHM grabs of the root window into a
 * caller buffer, XGetImage where the server lacks MIT-SHM. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>

#include "internal.h"
#include "lumen_capture.h"

#define MAX_CAPTURES 32

typedef struct X11Capture {
  Display *dpy;
  Window root;
  int x, y, width, height;
  XImage *img;
  XShmSegmentInfo shm;
  int use_shm;
  volatile int lost; /* the connection to the X server broke (the server went away) */
} X11Capture;

LUMEN_TABLE(captures, LumenBox, MAX_CAPTURES, "X11 capture");

/* Xlib's default error handler exits the process; this one records the error instead. */
static __thread int x_error;
static int on_x_error(Display *d, XErrorEvent *e) {
  x_error = e->error_code ? e->error_code : 1;
  return 0;
}

/* A broken connection (the X server was killed) goes to Xlib's IO error handler and then to its
 * exit handler, whose default exits the whole process. These mark the capture lost and return:
 * Xlib then fails the call in progress, and every later call on that display does nothing. */
static int on_x_io_error(Display *d) { return 0; }
static void on_x_io_exit(Display *d, void *data) { ((X11Capture *)data)->lost = 1; }


static void cap_free(X11Capture *c) {
  if (!c) return;
  if (c->use_shm) {
    if (!c->lost) {
      XShmDetach(c->dpy, &c->shm);
      XSync(c->dpy, False);
    }
    shmdt(c->shm.shmaddr);
    if (c->img) c->img->data = NULL; /* the segment is not Xlib's to free */
  }
  if (c->img) XDestroyImage(c->img);
  if (c->dpy) XCloseDisplay(c->dpy);
  free(c);
}

int32_t lumen_x11_open(const char *display, int32_t x, int32_t y, int32_t width, int32_t height, char *err, int32_t err_len) {
  const char *name = display && *display ? display : NULL;
  XSetErrorHandler(on_x_error);
  XSetIOErrorHandler(on_x_io_error);
  Display *dpy = XOpenDisplay(name);
  if (!dpy) {
    if (!name) return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "X11: cannot open the default display ($DISPLAY unset or unreachable; pass --display)");
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "X11: cannot open display '%s' (is the X server running and reachable?)", name);
  }
  X11Capture *c = calloc(1, sizeof *c);
  if (!c) {
    XCloseDisplay(dpy);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  }
  c->dpy = dpy;
  XSetIOErrorExitHandler(dpy, on_x_io_exit, c);
  int screen = DefaultScreen(dpy);
  c->root = RootWindow(dpy, screen);
  int sw = DisplayWidth(dpy, screen), sh = DisplayHeight(dpy, screen);
  Visual *vis = DefaultVisual(dpy, screen);
  int depth = DefaultDepth(dpy, screen);
  if ((depth != 24 && depth != 32) || vis->red_mask != 0xff0000 || vis->green_mask != 0xff00 || vis->blue_mask != 0xff) {
    cap_free(c);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "X11: the screen is %d-bit, not 24-bit TrueColor xRGB: Lumen cannot grab it",
                      depth);
  }
  if (width == 0 || height == 0) {
    width = sw - x;
    height = sh - y;
  }
  if (x < 0 || y < 0 || width < 16 || height < 16 || x + width > sw || y + height > sh) {
    cap_free(c);
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "X11: the rectangle %dx%d+%d+%d is not inside the %dx%d screen", width, height, x, y,
                      sw, sh);
  }
  c->x = x;
  c->y = y;
  c->width = width;
  c->height = height;
  if (XShmQueryExtension(dpy)) {
    c->img = XShmCreateImage(dpy, vis, (unsigned)depth, ZPixmap, NULL, &c->shm, (unsigned)width, (unsigned)height);
    if (c->img) {
      c->shm.shmid = shmget(IPC_PRIVATE, (size_t)c->img->bytes_per_line * (size_t)height, IPC_CREAT | 0600);
      if (c->shm.shmid >= 0) {
        c->shm.shmaddr = c->img->data = shmat(c->shm.shmid, NULL, 0);
        c->shm.readOnly = False;
        x_error = 0;
        if (c->shm.shmaddr != (char *)-1 && XShmAttach(dpy, &c->shm)) {
          XSync(dpy, False);
          if (!x_error) c->use_shm = 1;
        }
        shmctl(c->shm.shmid, IPC_RMID, NULL); /* freed once both sides detach */
      }
      if (!c->use_shm) {
        if (c->shm.shmaddr && c->shm.shmaddr != (char *)-1) shmdt(c->shm.shmaddr);
        c->shm.shmaddr = NULL;
        c->img->data = NULL;
        XDestroyImage(c->img);
        c->img = NULL;
      }
    }
  }
  if (c->use_shm && c->img->bits_per_pixel != 32) {
    cap_free(c);
    return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "X11: the server's images have %d bits per pixel, not 32",
                      c->img ? c->img->bits_per_pixel : 0);
  }
  int32_t h = lumen_box_put(&captures, c);
  if (h < 0) {
    cap_free(c);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "too many X11 captures open (%d)", MAX_CAPTURES);
  }
  return h;
}

int32_t lumen_x11_info(int32_t capture, uint8_t *out, int32_t out_len) {
  if (!out || out_len < 16) return LUMEN_E_BUFFER;
  LumenBox *b = lumen_handle_acquire(&captures, capture);
  if (!b) return LUMEN_E_INVALID;
  X11Capture *c = b->obj;
  int32_t v[4] = {c->width, c->height, c->width * 4, c->use_shm};
  lumen_handle_release(&captures, b);
  memcpy(out, v, sizeof v);
  return 16;
}

static void copy_rows(uint8_t *out, const XImage *img, int width, int height) {
  for (int y = 0; y < height; y++)
    memcpy(out + (size_t)y * width * 4, img->data + (size_t)y * img->bytes_per_line, (size_t)width * 4);
}

static int32_t x11_grab(X11Capture *c, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  int64_t need = (int64_t)c->width * c->height * 4;
  if (!out || out_len < need)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "X11: a %dx%d frame needs %lld bytes, the buffer has %d", c->width, c->height,
                      (long long)need, out_len);
  if (c->lost) return lumen_fail(err, err_len, LUMEN_E_FAILED, "X11: the connection to the X server was lost (the display went away)");
  x_error = 0;
  if (c->use_shm) {
    int ok = XShmGetImage(c->dpy, c->root, c->img, c->x, c->y, AllPlanes);
    if (c->lost) return lumen_fail(err, err_len, LUMEN_E_FAILED, "X11: the connection to the X server was lost (the display went away)");
    if (!ok || x_error)
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "X11: XShmGetImage failed (X error %d)", x_error);
    copy_rows(out, c->img, c->width, c->height);
  } else {
    XImage *img = XGetImage(c->dpy, c->root, c->x, c->y, (unsigned)c->width, (unsigned)c->height, AllPlanes, ZPixmap);
    if (c->lost) {
      if (img) XDestroyImage(img);
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "X11: the connection to the X server was lost (the display went away)");
    }
    if (!img || x_error) {
      if (img) XDestroyImage(img);
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "X11: XGetImage failed (X error %d)", x_error);
    }
    if (img->bits_per_pixel != 32) {
      int bpp = img->bits_per_pixel;
      XDestroyImage(img);
      return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "X11: the server's images have %d bits per pixel, not 32", bpp);
    }
    copy_rows(out, img, c->width, c->height);
    XDestroyImage(img);
  }
  return (int32_t)need;
}

int32_t lumen_x11_grab(int32_t capture, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  LumenBox *b = lumen_handle_acquire(&captures, capture);
  if (!b) return lumen_no_handle(&captures, capture, err, err_len);
  int32_t r = x11_grab(b->obj, out, out_len, err, err_len);
  lumen_handle_release(&captures, b);
  return r;
}

int32_t lumen_x11_close(int32_t capture) {
  LumenBox *b = lumen_handle_retire(&captures, capture);
  if (!b) return LUMEN_E_INVALID;
  X11Capture *c = b->obj;
  lumen_handle_free(&captures, b);
  cap_free(c);
  return 0;
}
