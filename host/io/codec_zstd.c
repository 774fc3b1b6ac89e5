/*
 * codec_zstd.c - zstd with libzstd's streaming API.  The decoder reads
 * concatenated frames and skippable frames; the encoder writes frames with
 * a content checksum (so corruption is always detected) and may use zstd's
 * worker threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"

typedef struct ZstdDecoder {
  ZSTD_DStream *ds;
  bool frame_done; /* the last call ended a frame with all output flushed */
} ZstdDecoder;

static void *zstd_decoder_create(void) {
  ZstdDecoder *d = calloc(1, sizeof *d);
  if (d == NULL) return NULL;
  d->ds = ZSTD_createDStream();
  if (d->ds == NULL) {
    free(d);
    return NULL;
  }
  d->frame_done = true;
  return d;
}

static int zstd_decode(void *state, const uint8_t *in, size_t in_len, size_t *in_used,
                       uint8_t *out, size_t out_cap, size_t *out_made, char *msg) {
  ZstdDecoder *d = state;
  ZSTD_inBuffer input = {in, in_len, 0};
  ZSTD_outBuffer output = {out, out_cap, 0};
  int rc = NBH_CODEC_OK;
  /* Loop while progress is possible: one call stops at a frame's end. */
  while (output.pos < output.size) {
    size_t in_before = input.pos, out_before = output.pos;
    size_t hint = ZSTD_decompressStream(d->ds, &output, &input);
    if (ZSTD_isError(hint)) {
      snprintf(msg, NBH_CODEC_MSG_SIZE, "%s", ZSTD_getErrorName(hint));
      rc = ZSTD_getErrorCode(hint) == ZSTD_error_memory_allocation ? NBH_CODEC_NOMEM
                                                                   : NBH_CODEC_CORRUPT;
      break;
    }
    if (input.pos != in_before || output.pos != out_before || hint == 0)
      d->frame_done = hint == 0;
    if (input.pos == in_before && output.pos == out_before) break;
  }
  *in_used = input.pos;
  *out_made = output.pos;
  return rc;
}

static bool zstd_at_frame_end(const void *state) {
  const ZstdDecoder *d = state;
  return d->frame_done;
}

static void zstd_decoder_destroy(void *state) {
  ZstdDecoder *d = state;
  if (d == NULL) return;
  ZSTD_freeDStream(d->ds);
  free(d);
}

const NbhDecoderOps nbh_zstd_decoder = {
    .name = "zstd",
    .create = zstd_decoder_create,
    .decode = zstd_decode,
    .at_frame_end = zstd_at_frame_end,
    .destroy = zstd_decoder_destroy,
};

typedef struct ZstdEncoder {
  ZSTD_CCtx *cctx;
  bool dirty;
} ZstdEncoder;

static void zstd_encoder_destroy(void *state) {
  ZstdEncoder *e = state;
  if (e == NULL) return;
  ZSTD_freeCCtx(e->cctx);
  free(e);
}

static bool set_param(ZstdEncoder *e, ZSTD_cParameter param, int value, const char *what,
                      char *msg) {
  size_t r = ZSTD_CCtx_setParameter(e->cctx, param, value);
  if (!ZSTD_isError(r)) return true;
  snprintf(msg, NBH_CODEC_MSG_SIZE, "%s %d: %s", what, value, ZSTD_getErrorName(r));
  return false;
}

static void *zstd_encoder_create(int level, int threads, char *msg) {
  ZstdEncoder *e = calloc(1, sizeof *e);
  if (e == NULL || (e->cctx = ZSTD_createCCtx()) == NULL) {
    snprintf(msg, NBH_CODEC_MSG_SIZE, "out of memory");
    free(e);
    return NULL;
  }
  bool ok = set_param(e, ZSTD_c_checksumFlag, 1, "checksum", msg);
  if (ok && level != 0) ok = set_param(e, ZSTD_c_compressionLevel, level, "level", msg);
  if (ok && threads > 0) ok = set_param(e, ZSTD_c_nbWorkers, threads, "worker threads", msg);
  if (!ok) {
    zstd_encoder_destroy(e);
    return NULL;
  }
  return e;
}

/* Feed input with `op` until consumed (ZSTD_e_end: until the frame is
 * complete), emptying the sink whenever it fills. */
static int compress_into(ZstdEncoder *e, const uint8_t *in, size_t len, ZSTD_EndDirective op,
                         NbhSink *sink, char *msg) {
  ZSTD_inBuffer input = {in, len, 0};
  for (;;) {
    if (sink->len == sink->cap && sink->flush(sink) != 0) return NBH_CODEC_SINK;
    ZSTD_outBuffer output = {sink->buf, sink->cap, sink->len};
    size_t remaining = ZSTD_compressStream2(e->cctx, &output, &input, op);
    sink->len = output.pos;
    if (ZSTD_isError(remaining)) {
      snprintf(msg, NBH_CODEC_MSG_SIZE, "%s", ZSTD_getErrorName(remaining));
      return NBH_CODEC_FAILED;
    }
    if (op == ZSTD_e_end ? remaining == 0 : input.pos == input.size) return NBH_CODEC_OK;
  }
}

static int zstd_write(void *state, const uint8_t *in, size_t len, NbhSink *sink, char *msg) {
  ZstdEncoder *e = state;
  if (len == 0) return NBH_CODEC_OK;
  e->dirty = true;
  return compress_into(e, in, len, ZSTD_e_continue, sink, msg);
}

static int zstd_end_frame(void *state, bool always, NbhSink *sink, char *msg) {
  ZstdEncoder *e = state;
  if (!e->dirty && !always) return NBH_CODEC_OK;
  int rc = compress_into(e, NULL, 0, ZSTD_e_end, sink, msg);
  if (rc == NBH_CODEC_OK) e->dirty = false;
  return rc;
}

const NbhEncoderOps nbh_zstd_encoder = {
    .name = "zstd",
    /* ZSTD_minCLevel() of libzstd 1.4+ (-ZSTD_TARGETLENGTH_MAX). */
    .min_level = -131072,
    .max_level = 22,
    .create = zstd_encoder_create,
    .write = zstd_write,
    .end_frame = zstd_end_frame,
    .destroy = zstd_encoder_destroy,
};
