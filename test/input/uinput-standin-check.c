/* Drives the stand-in (uinput-standin.c, preloaded) through sequences the kernel's uinput refuses,
 * printing "case errno" a line (0: accepted), so test/input/uinput-standin.test.ts can hold the
 * stand-in to the kernel's answers (drivers/input/misc/uinput.c). argv[1]: the fake node. */
#include <errno.h>
#include <fcntl.h>
#include <linux/uinput.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *node;

static int fresh(int flags) { return open(node, O_RDWR | O_CLOEXEC | flags); }
static void say(const char *name, int r) { printf("%s %d\n", name, r < 0 ? errno : 0); }

static int setup(int fd, const char *name, unsigned ff) {
  struct uinput_setup s;
  memset(&s, 0, sizeof s);
  snprintf(s.name, sizeof s.name, "%s", name);
  s.ff_effects_max = ff;
  return ioctl(fd, UI_DEV_SETUP, &s);
}

static int abs_setup(int fd, unsigned long req, int code, int min, int max) {
  struct {
    struct uinput_abs_setup a;
    char pad[64];
  } big;
  memset(&big, 0, sizeof big);
  big.a.code = (unsigned short)code;
  big.a.absinfo.minimum = min;
  big.a.absinfo.maximum = max;
  return ioctl(fd, req, &big);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  node = argv[1];
  int fd;

  fd = fresh(O_NONBLOCK);
  say("create-before-setup", ioctl(fd, UI_DEV_CREATE));
  say("setup-empty-name", setup(fd, "", 0));
  say("evbit-past-max", ioctl(fd, UI_SET_EVBIT, EV_MAX + 1));
  say("keybit-past-max", ioctl(fd, UI_SET_KEYBIT, KEY_MAX + 1));
  say("abs-past-max", abs_setup(fd, UI_ABS_SETUP, ABS_MAX + 1, 0, 1));
  say("abs-min-above-max", abs_setup(fd, UI_ABS_SETUP, ABS_X, 10, 0));
  say("abs-struct-too-big", abs_setup(fd, _IOW(UINPUT_IOCTL_BASE, 4, char[sizeof(struct uinput_abs_setup) + 8]), ABS_X, 0, 1));
  say("setup-wrong-size", ioctl(fd, _IOW(UINPUT_IOCTL_BASE, 3, char[10]), "x"));
  say("unknown-request", ioctl(fd, _IO(UINPUT_IOCTL_BASE, 99)));
  struct input_event one;
  memset(&one, 0, sizeof one);
  say("write-before-create", (int)write(fd, &one, sizeof one));
  unsigned version = 0;
  say("get-version", ioctl(fd, UI_GET_VERSION, &version));
  printf("version %u\n", version);
  close(fd);

  fd = fresh(O_NONBLOCK);
  ioctl(fd, UI_SET_EVBIT, EV_FF);
  ioctl(fd, UI_SET_FFBIT, FF_RUMBLE);
  setup(fd, "no effects", 0);
  say("ff-without-effects", ioctl(fd, UI_DEV_CREATE));
  close(fd);

  fd = fresh(O_NONBLOCK);
  ioctl(fd, UI_SET_EVBIT, EV_ABS);
  ioctl(fd, UI_SET_ABSBIT, ABS_MT_SLOT);
  abs_setup(fd, UI_ABS_SETUP, ABS_MT_SLOT, 0, 5000);
  setup(fd, "too many slots", 0);
  say("too-many-slots", ioctl(fd, UI_DEV_CREATE));
  close(fd);

  fd = fresh(0); /* blocking */
  say("evbit", ioctl(fd, UI_SET_EVBIT, EV_KEY));
  say("keybit", ioctl(fd, UI_SET_KEYBIT, KEY_A));
  say("abs-setup", abs_setup(fd, UI_ABS_SETUP, ABS_X, 0, 100));
  say("setup", setup(fd, "good", 0));
  say("create", ioctl(fd, UI_DEV_CREATE));
  say("create-twice", ioctl(fd, UI_DEV_CREATE));
  say("keybit-after-create", ioctl(fd, UI_SET_KEYBIT, KEY_B));
  say("abs-after-create", abs_setup(fd, UI_ABS_SETUP, ABS_Y, 0, 100));
  say("setup-after-create", setup(fd, "again", 0));
  struct input_event ev[2];
  memset(ev, 0, sizeof ev);
  ev[0].type = EV_KEY;
  ev[0].code = KEY_A;
  ev[0].value = 1;
  say("write-event", write(fd, ev, 2 * sizeof ev[0]) == 2 * (ssize_t)sizeof ev[0] ? 0 : -1);
  say("write-short", (int)write(fd, ev, 10));
  struct uinput_ff_upload up;
  memset(&up, 0, sizeof up);
  up.request_id = 12345;
  say("begin-upload-unknown-request", ioctl(fd, UI_BEGIN_FF_UPLOAD, &up));
  say("blocking-read-empty", (int)read(fd, ev, sizeof ev));
  say("destroy", ioctl(fd, UI_DEV_DESTROY));
  close(fd);
  return 0;
}
