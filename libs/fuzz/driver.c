/* A plain main for a libFuzzer target, for builds without libFuzzer (the suite's replay of
 * libs/fuzz/regressions/ and the seed corpora with gcc): runs LLVMFuzzerTestOneInput once per
 * file named on the command line and prints how many ran. A crash is the sanitizer's report and
 * a non-zero exit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  int ran = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      fprintf(stderr, "cannot open %s\n", argv[i]);
      return 2;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
      if (len == cap) {
        cap = cap ? cap * 2 : 4096;
        uint8_t *nb = realloc(buf, cap);
        if (!nb) return 2;
        buf = nb;
      }
      got = fread(buf + len, 1, cap - len, f);
      len += got;
    } while (got > 0);
    fclose(f);
    /* a copy of exactly len bytes, so a read past the input is caught like libFuzzer does */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) return 2;
    for (size_t j = 0; j < len; j++) exact[j] = buf[j];
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    ran++;
  }
  printf("ran %d inputs\n", ran);
  return 0;
}
