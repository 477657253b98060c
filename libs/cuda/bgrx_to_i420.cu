// BGRx (full range) -> I420, BT.709 limited range: the integer arithmetic of lumen_bgrx_to_i420
// (libs/src/encoder.c) per 2x2 block, so the GPU conversion is byte-exact with the CPU one.
// Compiled to PTX by libs/cuda/gen-ptx.sh into libs/src/gpu_yuv_ptx.h (committed: the build
// needs no CUDA toolkit; the driver compiles the PTX at run time).
extern "C" __global__ void bgrx_to_i420(const unsigned char *src, unsigned long long src_pitch, unsigned char *y_plane,
                                        unsigned char *u_plane, unsigned char *v_plane, int width, int height) {
  int bx = blockIdx.x * blockDim.x + threadIdx.x;
  int by = blockIdx.y * blockDim.y + threadIdx.y;
  int half_w = width / 2, half_h = height / 2;
  if (bx >= half_w || by >= half_h) return;
  const unsigned int *r0 = (const unsigned int *)(src + (unsigned long long)(2 * by) * src_pitch);
  const unsigned int *r1 = (const unsigned int *)(src + (unsigned long long)(2 * by + 1) * src_pitch);
  unsigned int p[4] = {r0[2 * bx], r0[2 * bx + 1], r1[2 * bx], r1[2 * bx + 1]};
  int bs = 0, gs = 0, rs = 0;
  for (int i = 0; i < 4; i++) {
    int b = p[i] & 255, g = (p[i] >> 8) & 255, r = (p[i] >> 16) & 255;
    bs += b, gs += g, rs += r;
    int row = 2 * by + (i >> 1), col = 2 * bx + (i & 1);
    y_plane[(long long)row * width + col] = (unsigned char)(((47 * r + 157 * g + 16 * b + 128) >> 8) + 16);
  }
  u_plane[(long long)by * half_w + bx] = (unsigned char)(128 + ((-26 * rs - 86 * gs + 112 * bs + 512) >> 10));
  v_plane[(long long)by * half_w + bx] = (unsigned char)(128 + ((112 * rs - 102 * gs - 10 * bs + 512) >> 10));
}
