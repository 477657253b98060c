/* H.264/HEVC decoders over libavcodec 62 and the PSNR check (libs/include/lumen_codec.h).
 * Used by encode-test's decode-back and by the in-repo test client. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "internal.h"
#include "lumen_codec.h"

/* encoder.c: the BGRx → I420 conversion every software encoder uses */
void lumen_bgrx_to_i420(const uint8_t *bgrx, int stride, int width, int height, uint8_t *y_plane, int y_stride, uint8_t *u_plane,
                        int u_stride, uint8_t *v_plane, int v_stride);
void lumen_bgrx_to_yuv444(const uint8_t *bgrx, int stride, int width, int height, uint8_t *y_plane, int y_stride, uint8_t *u_plane,
                          int u_stride, uint8_t *v_plane, int v_stride);
/* encoder.c: the input format of a LUMEN_FMT_* combination and its BGRx conversion */
enum AVPixelFormat lumen_fmt_pix(int32_t format);
struct SwsContext *lumen_bgrx_sws(int src_w, int src_h, int dst_w, int dst_h, enum AVPixelFormat dst);

/* The planes of a planar YUV picture as LUMEN_DEC_PLANAR packs them. 0, or -1 for a format
 * that is not 3-plane YUV. */
typedef struct PlanarShape {
  int depth, bytes, chroma;     /* bit depth, bytes a sample, 420/422/444 */
  int w[3], h[3];
  int64_t size[3], total;
} PlanarShape;

static int planar_shape(enum AVPixelFormat fmt, int w, int h, PlanarShape *s) {
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
  if (!d || d->nb_components != 3 || !(d->flags & AV_PIX_FMT_FLAG_PLANAR) || (d->flags & AV_PIX_FMT_FLAG_RGB) ||
      (d->comp[0].depth > 8 && (d->flags & AV_PIX_FMT_FLAG_BE)))
    return -1;
  s->depth = d->comp[0].depth;
  s->bytes = s->depth > 8 ? 2 : 1;
  s->chroma = d->log2_chroma_w == 0 ? 444 : d->log2_chroma_h == 0 ? 422 : 420;
  s->total = 0;
  for (int i = 0; i < 3; i++) {
    s->w[i] = i == 0 ? w : AV_CEIL_RSHIFT(w, d->log2_chroma_w);
    s->h[i] = i == 0 ? h : AV_CEIL_RSHIFT(h, d->log2_chroma_h);
    s->size[i] = (int64_t)s->w[i] * s->h[i] * s->bytes;
    s->total += s->size[i];
  }
  return 0;
}

#define MAX_DECODERS 64

LUMEN_TABLE(decoders, LumenBox, MAX_DECODERS, "video decoder");

typedef struct Decoder {
  AVCodecContext *ctx;
  AVPacket *pkt;
  AVFrame *frame;
  struct SwsContext *sws;
  int sws_w, sws_h, sws_in, sws_out;
  int32_t frames;
  int draining;
} Decoder;


static void dec_free(Decoder *d) {
  if (!d) return;
  avcodec_free_context(&d->ctx);
  av_packet_free(&d->pkt);
  av_frame_free(&d->frame);
  sws_freeContext(d->sws);
  free(d);
}

int32_t lumen_decoder_open(const char *codec, char *err, int32_t err_len) {
  const AVCodec *c;
  if (codec && strcmp(codec, "h264") == 0) c = avcodec_find_decoder(AV_CODEC_ID_H264);
  else if (codec && (strcmp(codec, "hevc") == 0 || strcmp(codec, "h265") == 0)) c = avcodec_find_decoder(AV_CODEC_ID_HEVC);
  /* libavcodec's own AV1 decoder needs a hardware decoder under it; dav1d decodes in software */
  else if (codec && strcmp(codec, "av1") == 0) c = avcodec_find_decoder_by_name("libdav1d");
  else return lumen_fail(err, err_len, LUMEN_E_INVALID, "no decoder for codec '%s' (known: h264, hevc, av1)", codec ? codec : "");
  if (!c) return lumen_fail(err, err_len, LUMEN_E_UNAVAILABLE, "this libavcodec was built without the %s decoder", strcmp(codec, "av1") == 0 ? "libdav1d (AV1)" : codec);
  Decoder *d = calloc(1, sizeof *d);
  if (!d) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  d->ctx = avcodec_alloc_context3(c);
  d->pkt = av_packet_alloc();
  d->frame = av_frame_alloc();
  if (!d->ctx || !d->pkt || !d->frame) {
    dec_free(d);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  }
  d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
  d->ctx->thread_count = 1; /* frame threads would hold pictures back */
  int r = avcodec_open2(d->ctx, c, NULL);
  if (r < 0) {
    char msg[128];
    dec_free(d);
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "%s decoder failed to open (%s)", codec, lumen_av_error(r, msg, sizeof msg));
  }
  int32_t h = lumen_box_put(&decoders, d);
  if (h < 0) {
    dec_free(d);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "too many decoders open (%d)", MAX_DECODERS);
  }
  return h;
}

static int32_t write_planar(AVFrame *f, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  PlanarShape s;
  if (planar_shape(f->format, f->width, f->height, &s) < 0)
    return lumen_fail(err, err_len, LUMEN_E_FAILED, "the decoded picture format %s is not planar YUV", av_get_pix_fmt_name(f->format));
  if (!out || s.total > out_len)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "the decoded %dx%d picture needs %lld bytes, the buffer has %d", f->width, f->height,
                      (long long)s.total, out_len);
  uint8_t *p = out;
  for (int i = 0; i < 3; i++) {
    av_image_copy_plane(p, s.w[i] * s.bytes, f->data[i], f->linesize[i], s.w[i] * s.bytes, s.h[i]);
    p += s.size[i];
  }
  return (int32_t)s.total;
}

static int32_t write_picture(Decoder *d, int32_t format, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  AVFrame *f = d->frame;
  if (format == LUMEN_DEC_PLANAR) return write_planar(f, out, out_len, err, err_len);
  int w = f->width, h = f->height;
  int64_t need = format == LUMEN_DEC_BGRX ? (int64_t)w * h * 4 : (int64_t)w * h + 2 * (int64_t)((w + 1) / 2) * ((h + 1) / 2);
  if (!out || need > out_len)
    return lumen_fail(err, err_len, LUMEN_E_BUFFER, "the decoded %dx%d picture needs %lld bytes, the buffer has %d", w, h,
                      (long long)need, out_len);
  int cw = (w + 1) / 2, ch = (h + 1) / 2;
  uint8_t *dst[4];
  int dst_stride[4] = {0};
  if (format == LUMEN_DEC_BGRX) {
    dst[0] = out;
    dst_stride[0] = w * 4;
  } else {
    dst[0] = out;
    dst[1] = out + (size_t)w * h;
    dst[2] = dst[1] + (size_t)cw * ch;
    dst_stride[0] = w;
    dst_stride[1] = dst_stride[2] = cw;
  }
  if (format == LUMEN_DEC_I420 && (f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUVJ420P)) {
    av_image_copy_plane(dst[0], dst_stride[0], f->data[0], f->linesize[0], w, h);
    av_image_copy_plane(dst[1], dst_stride[1], f->data[1], f->linesize[1], cw, ch);
    av_image_copy_plane(dst[2], dst_stride[2], f->data[2], f->linesize[2], cw, ch);
    return (int32_t)need;
  }
  int out_fmt = format == LUMEN_DEC_BGRX ? AV_PIX_FMT_BGR0 : AV_PIX_FMT_YUV420P;
  if (!d->sws || d->sws_w != w || d->sws_h != h || d->sws_in != f->format || d->sws_out != out_fmt) {
    sws_freeContext(d->sws);
    d->sws = sws_getContext(w, h, f->format, w, h, out_fmt, SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!d->sws) return lumen_fail(err, err_len, LUMEN_E_FAILED, "cannot convert the decoded picture format %d", f->format);
    const int *coef = sws_getCoefficients(SWS_CS_ITU709);
    int full = f->color_range == AVCOL_RANGE_JPEG;
    sws_setColorspaceDetails(d->sws, coef, full, coef, out_fmt == AV_PIX_FMT_BGR0 ? 1 : 0, 0, 1 << 16, 1 << 16);
    d->sws_w = w;
    d->sws_h = h;
    d->sws_in = f->format;
    d->sws_out = out_fmt;
  }
  sws_scale(d->sws, (const uint8_t *const *)f->data, f->linesize, 0, h, dst, dst_stride);
  return (int32_t)need;
}

static int32_t decode(Decoder *d, const uint8_t *data, int32_t len, int32_t format, uint8_t *out, int32_t out_len, uint8_t *info, int32_t info_len,
                      char *err, int32_t err_len) {
  if (format != LUMEN_DEC_BGRX && format != LUMEN_DEC_I420 && format != LUMEN_DEC_PLANAR)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "unknown picture format %d (0 = BGRx, 1 = I420, 2 = planar)", format);
  if (len < 0) return lumen_fail(err, err_len, LUMEN_E_INVALID, "negative length %d", len);
  int32_t st = lumen_need(err, err_len, "access unit", data, len, len);
  if (!st && info) st = lumen_need(err, err_len, "decode info", info, info_len, LUMEN_DEC_INFO_LEN);
  if (st) return st;
  char msg[128];
  int r;
  if (len == 0) {
    if (!d->draining) {
      d->draining = 1;
      avcodec_send_packet(d->ctx, NULL);
    }
  } else {
    if (d->draining) return lumen_fail(err, err_len, LUMEN_E_INVALID, "the decoder was drained; open a new one");
    d->pkt->data = (uint8_t *)data;
    d->pkt->size = len;
    r = avcodec_send_packet(d->ctx, d->pkt);
    d->pkt->data = NULL;
    d->pkt->size = 0;
    if (r == AVERROR(EAGAIN))
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "the decoder holds pictures it has not returned (it is not in low-delay mode)");
    if (r < 0)
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "the decoder rejected the access unit (%s)", lumen_av_error(r, msg, sizeof msg));
  }
  r = avcodec_receive_frame(d->ctx, d->frame);
  if (r == AVERROR(EAGAIN)) return LUMEN_E_AGAIN;
  if (r == AVERROR_EOF) return LUMEN_E_EOF;
  if (r < 0) return lumen_fail(err, err_len, LUMEN_E_FAILED, "decoding failed (%s)", lumen_av_error(r, msg, sizeof msg));
  d->frames++;
  st = write_picture(d, format, out, out_len, err, err_len);
  if (info) {
    PlanarShape s = {0};
    planar_shape(d->frame->format, d->frame->width, d->frame->height, &s);
    AVFrame *f = d->frame;
    int32_t colour = (int32_t)((f->color_primaries & 0xff) | ((f->color_trc & 0xff) << 8) | ((f->colorspace & 0xff) << 16) | ((uint32_t)(f->color_range & 0xff) << 24));
    int32_t v[8] = {f->width, f->height, (f->flags & AV_FRAME_FLAG_KEY) ? 1 : 0, (int32_t)f->pict_type, d->frames, s.depth, s.chroma, colour};
    memset(info, 0, LUMEN_DEC_INFO_LEN);
    memcpy(info, v, sizeof v);
  }
  av_frame_unref(d->frame);
  return st;
}

int32_t lumen_decoder_decode(int32_t decoder, const uint8_t *data, int32_t len, int32_t format, uint8_t *out, int32_t out_len,
                             uint8_t *info, int32_t info_len, char *err, int32_t err_len) {
  LumenBox *b = lumen_handle_acquire(&decoders, decoder);
  if (!b) return lumen_no_handle(&decoders, decoder, err, err_len);
  int32_t r = decode(b->obj, data, len, format, out, out_len, info, info_len, err, err_len);
  lumen_handle_release(&decoders, b);
  return r;
}

int32_t lumen_decoder_close(int32_t decoder) {
  LumenBox *b = lumen_handle_retire(&decoders, decoder);
  if (!b) return LUMEN_E_INVALID;
  Decoder *d = b->obj;
  lumen_handle_free(&decoders, b);
  dec_free(d);
  return 0;
}

static double plane_mse(const uint8_t *a, int as, const uint8_t *b, int bs, int w, int h, double *sum_out) {
  uint64_t sum = 0;
  for (int y = 0; y < h; y++) {
    const uint8_t *pa = a + (size_t)y * as, *pb = b + (size_t)y * bs;
    uint32_t row = 0;
    for (int x = 0; x < w; x++) {
      int dd = (int)pa[x] - (int)pb[x];
      row += (uint32_t)(dd * dd);
    }
    sum += row;
  }
  *sum_out = (double)sum;
  return (double)sum / ((double)w * h);
}

static double psnr_of(double mse) { return mse <= 0 ? 100.0 : 10.0 * log10(255.0 * 255.0 / mse); }

int32_t lumen_psnr_bgrx_i420(const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, const uint8_t *i420, int32_t i420_len, int32_t width,
                             int32_t height, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (width < 2 || height < 2 || width > 16384 || height > 16384 || (width & 1) || (height & 1) || stride < width * 4)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "PSNR: bad geometry %dx%d stride %d", width, height, stride);
  int cw = width / 2, ch = height / 2;
  int32_t st = lumen_need(err, err_len, "PSNR BGRx", bgrx, bgrx_len, (int64_t)stride * (height - 1) + (int64_t)width * 4);
  if (!st) st = lumen_need(err, err_len, "PSNR I420", i420, i420_len, (int64_t)width * height + 2 * (int64_t)cw * ch);
  if (!st) st = lumen_need(err, err_len, "PSNR result", out, out_len, 32);
  if (st) return st;
  AVFrame *ref = av_frame_alloc();
  if (!ref) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  ref->format = AV_PIX_FMT_YUV420P;
  ref->width = width;
  ref->height = height;
  if (av_frame_get_buffer(ref, 0) < 0) {
    av_frame_free(&ref);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  }
  lumen_bgrx_to_i420(bgrx, stride, width, height, ref->data[0], ref->linesize[0], ref->data[1], ref->linesize[1], ref->data[2],
                     ref->linesize[2]);
  const uint8_t *py = i420, *pu = i420 + (size_t)width * height, *pv = pu + (size_t)cw * ch;
  double sy, su, sv;
  double p[4];
  p[0] = psnr_of(plane_mse(ref->data[0], ref->linesize[0], py, width, width, height, &sy));
  p[1] = psnr_of(plane_mse(ref->data[1], ref->linesize[1], pu, cw, cw, ch, &su));
  p[2] = psnr_of(plane_mse(ref->data[2], ref->linesize[2], pv, cw, cw, ch, &sv));
  p[3] = psnr_of((sy + su + sv) / ((double)width * height + 2.0 * cw * ch));
  av_frame_free(&ref);
  memcpy(out, p, sizeof p);
  return 0;
}

static double plane_sse16(const uint8_t *a, int as, const uint8_t *b, int bs, int w, int h) {
  double sum = 0;
  for (int y = 0; y < h; y++) {
    const uint16_t *pa = (const uint16_t *)(a + (size_t)y * as), *pb = (const uint16_t *)(b + (size_t)y * bs);
    uint64_t row = 0;
    for (int x = 0; x < w; x++) {
      int64_t dd = (int64_t)pa[x] - (int64_t)pb[x];
      row += (uint64_t)(dd * dd);
    }
    sum += (double)row;
  }
  return sum;
}

int32_t lumen_psnr_bgrx_planar(const uint8_t *bgrx, int32_t bgrx_len, int32_t stride, const uint8_t *planar, int32_t planar_len, int32_t width,
                               int32_t height, int32_t format, uint8_t *out, int32_t out_len, char *err, int32_t err_len) {
  if (width < 2 || height < 2 || width > 16384 || height > 16384 || (width & 1) || (height & 1) || stride < width * 4)
    return lumen_fail(err, err_len, LUMEN_E_INVALID, "PSNR: bad geometry %dx%d stride %d", width, height, stride);
  if (format & ~(LUMEN_FMT_444 | LUMEN_FMT_10BIT)) return lumen_fail(err, err_len, LUMEN_E_INVALID, "PSNR: unknown format bits 0x%x", format);
  enum AVPixelFormat fmt = lumen_fmt_pix(format);
  PlanarShape s;
  planar_shape(fmt, width, height, &s);
  int32_t st = lumen_need(err, err_len, "PSNR BGRx", bgrx, bgrx_len, (int64_t)stride * (height - 1) + (int64_t)width * 4);
  if (!st) st = lumen_need(err, err_len, "PSNR planar picture", planar, planar_len, s.total);
  if (!st) st = lumen_need(err, err_len, "PSNR result", out, out_len, 32);
  if (st) return st;
  AVFrame *ref = av_frame_alloc();
  if (!ref) return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  ref->format = fmt;
  ref->width = width;
  ref->height = height;
  if (av_frame_get_buffer(ref, 0) < 0) {
    av_frame_free(&ref);
    return lumen_fail(err, err_len, LUMEN_E_NOMEM, "out of memory");
  }
  if (fmt == AV_PIX_FMT_YUV444P) {
    lumen_bgrx_to_yuv444(bgrx, stride, width, height, ref->data[0], ref->linesize[0], ref->data[1], ref->linesize[1], ref->data[2],
                         ref->linesize[2]);
  } else if (fmt == AV_PIX_FMT_YUV420P) {
    lumen_bgrx_to_i420(bgrx, stride, width, height, ref->data[0], ref->linesize[0], ref->data[1], ref->linesize[1], ref->data[2],
                       ref->linesize[2]);
  } else {
    struct SwsContext *sws = lumen_bgrx_sws(width, height, width, height, fmt);
    if (!sws) {
      av_frame_free(&ref);
      return lumen_fail(err, err_len, LUMEN_E_FAILED, "PSNR: swscale cannot convert BGRx to %s", av_get_pix_fmt_name(fmt));
    }
    const uint8_t *src[4] = {bgrx, NULL, NULL, NULL};
    const int src_stride[4] = {stride, 0, 0, 0};
    sws_scale(sws, src, src_stride, 0, height, ref->data, ref->linesize);
    sws_freeContext(sws);
  }
  double peak = (double)((1 << s.depth) - 1), sse[3], p[4], samples = 0, total = 0;
  const uint8_t *plane = planar;
  for (int i = 0; i < 3; i++) {
    if (s.bytes == 1) plane_mse(ref->data[i], ref->linesize[i], plane, s.w[i], s.w[i], s.h[i], &sse[i]);
    else sse[i] = plane_sse16(ref->data[i], ref->linesize[i], plane, s.w[i] * 2, s.w[i], s.h[i]);
    double n = (double)s.w[i] * s.h[i];
    p[i] = sse[i] <= 0 ? 100.0 : 10.0 * log10(peak * peak * n / sse[i]);
    samples += n;
    total += sse[i];
    plane += s.size[i];
  }
  p[3] = total <= 0 ? 100.0 : 10.0 * log10(peak * peak * samples / total);
  av_frame_free(&ref);
  memcpy(out, p, sizeof p);
  return 0;
}
