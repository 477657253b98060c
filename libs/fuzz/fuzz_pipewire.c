/* libFuzzer target: what capture_pipewire.c reads from a PipeWire video producer: the
 * negotiated Format param (take_format: spa_format_video_raw_parse, the modifier, the frame
 * buffer's size) and a shared-memory buffer's chunk (frame_span, read_mem_chunk: offset, stride,
 * maxsize against the negotiated size; lumen_pipewire.h).
 *
 * Input: u32 chunk offset, i32 chunk stride, u32 maxsize (at most 1 MiB, the harness maps exactly
 * that many bytes), u8 data type, then a SPA pod. libpipewire checks a pod's size against the
 * message it came in before any callback sees it; the harness does the same (the pod's own size
 * within the bytes given) and hands the rest to take_format as the param. */
#include "../src/capture_pipewire.c"

#include <spa/pod/pod.h>

static uint32_t rd(const uint8_t **p, size_t *n) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    v |= (uint32_t)(*n > 0 ? **p : 0) << (8 * i);
    if (*n > 0) (*p)++, (*n)--;
  }
  return v;
}

#ifndef LUMEN_FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p = data;
  size_t n = size;
  uint32_t offset = rd(&p, &n);
  int32_t stride = (int32_t)rd(&p, &n);
  uint32_t maxsize = rd(&p, &n) % (1u << 20);
  uint32_t type = (n > 0 ? *p : 0) & 1 ? SPA_DATA_MemFd : SPA_DATA_MemPtr;
  if (n > 0) p++, n--;
  if (n < sizeof(struct spa_pod) || n > 65536) return 0;
  /* the pod, 8-byte aligned as libpipewire delivers it */
  uint64_t *pod_mem = malloc((n + 7) & ~(size_t)7);
  if (!pod_mem) abort();
  memcpy(pod_mem, p, n);
  const struct spa_pod *pod = (const struct spa_pod *)pod_mem;
  if (SPA_POD_SIZE(pod) > n) {
    free(pod_mem);
    return 0;
  }
  PwCapture c;
  memset(&c, 0, sizeof c);
  pthread_mutex_init(&c.lock, NULL);
  if (take_format(&c, pod) == 0) {
    if (c.latest == NULL || c.latest_size < (size_t)c.width * c.height * 4) abort();
    uint8_t *mem = malloc(maxsize ? maxsize : 1);
    if (!mem) abort();
    memset(mem, 0x5A, maxsize);
    struct spa_chunk chunk = {.offset = offset, .size = maxsize, .stride = stride, .flags = 0};
    struct spa_data d = {.type = type, .maxsize = maxsize, .data = mem, .chunk = &chunk};
    int st;
    size_t need = frame_span(&c, chunk.stride, &st);
    pthread_mutex_lock(&c.lock);
    read_mem_chunk(&c, &d, st, need);
    pthread_mutex_unlock(&c.lock);
    free(mem);
  }
  free(c.latest);
  pthread_mutex_destroy(&c.lock);
  free(pod_mem);
  return 0;
}
#else
#include <stdio.h>
#include <spa/param/video/format-utils.h>

/* Seeds: a 64x32 BGRx format with a tight chunk, one with a modifier and a padded stride. */
static void save(const char *dir, const char *name, uint32_t offset, int32_t stride, uint32_t maxsize, const struct spa_pod *pod) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  uint8_t head[13];
  memcpy(head, &offset, 4);
  memcpy(head + 4, &stride, 4);
  memcpy(head + 8, &maxsize, 4);
  head[12] = 1;
  fwrite(head, 1, sizeof head, f);
  fwrite(pod, 1, SPA_POD_SIZE(pod), f);
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  uint8_t buffer[1024];
  struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buffer, sizeof buffer);
  struct spa_video_info_raw info = {.format = SPA_VIDEO_FORMAT_BGRx, .size = {64, 32}, .framerate = {60, 1}};
  save(argv[1], "bgrx-64x32", 0, 256, 64 * 32 * 4, spa_format_video_raw_build(&b, SPA_PARAM_Format, &info));
  struct spa_pod_builder b2 = SPA_POD_BUILDER_INIT(buffer, sizeof buffer);
  struct spa_video_info_raw info2 = {.format = SPA_VIDEO_FORMAT_RGBA, .size = {30, 20}, .framerate = {30, 1}, .modifier = 0, .flags = SPA_VIDEO_FLAG_MODIFIER};
  save(argv[1], "rgba-30x20-modifier", 64, 128, 64 + 128 * 20, spa_format_video_raw_build(&b2, SPA_PARAM_Format, &info2));
  return 0;
}
#endif
