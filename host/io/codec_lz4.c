/*
 * codec_lz4.c - the lz4 frame format with liblz4's LZ4F API.  The decoder
 * reads concatenated and skippable frames; the encoder writes frames with a
 * content checksum, in 256 KiB linked blocks.
 */
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Input handed to LZ4F_compressUpdate at once: keeps the output bound well
 * under the sink's size. */
#define LZ4_FEED ((size_t)64 << 10)

/* The longest lz4 frame header: magic, FLG, BD, content size, dictionary
 * id, header checksum. */
#define LZ4_HEADER_MAX 19

typedef struct Lz4Decoder {
  LZ4F_dctx *dctx;
  bool frame_done;
  uint64_t total;       /* input bytes consumed so far */
  uint64_t frame_start; /* where the current frame began */
  /* The first bytes of the current frame: LZ4F keeps a header split
   * across calls inside, and reports a bad header before consuming it, so
   * the header's bytes are kept here to say which one is wrong. */
  uint8_t head[LZ4_HEADER_MAX];
  size_t head_len;
  uint64_t error_at;    /* offset of the last error */
  const char *why;      /* readable reason of the last header error */
} Lz4Decoder;

static void *lz4_decoder_create(void) {
  Lz4Decoder *d = calloc(1, sizeof *d);
  if (d == NULL) return NULL;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&d->dctx, LZ4F_VERSION))) {
    free(d);
    return NULL;
  }
  d->frame_done = true;
  return d;
}

/* Keep the first bytes of the frame consumed by one call. */
static void keep_header_bytes(Lz4Decoder *d, const uint8_t *in, size_t n) {
  size_t room = LZ4_HEADER_MAX - d->head_len;
  if (n > room) n = room;
  if (n > 0) memcpy(d->head + d->head_len, in, n);
  d->head_len += n;
}

/* Offset inside the frame header of the field an LZ4F header error is
 * about, with a readable reason; false for an error that is not about the
 * header (it is then where decoding stopped).  rest is the input LZ4F was
 * given and did not consume: the header's bytes not yet kept. */
static bool header_error(Lz4Decoder *d, const char *name, const uint8_t *rest, size_t rest_len,
                         uint64_t *offset) {
  uint8_t h[LZ4_HEADER_MAX];
  size_t n = d->head_len;
  memcpy(h, d->head, n);
  size_t more = LZ4_HEADER_MAX - n < rest_len ? LZ4_HEADER_MAX - n : rest_len;
  if (more > 0) memcpy(h + n, rest, more);
  n += more;
  uint8_t flg = n > 4 ? h[4] : 0;
  if (strcmp(name, "ERROR_frameType_unknown") == 0) {
    d->why = "not an lz4 frame (unknown magic number)";
    *offset = 0;
  } else if (strcmp(name, "ERROR_headerVersion_wrong") == 0) {
    d->why = "frame header: unsupported version in the FLG byte";
    *offset = 4;
  } else if (strcmp(name, "ERROR_reservedFlag_set") == 0) {
    d->why = "frame header: a reserved bit is set";
    *offset = (flg & 0x02) ? 4 : 5;
  } else if (strcmp(name, "ERROR_maxBlockSize_invalid") == 0) {
    d->why = "frame header: invalid block maximum size in the BD byte";
    *offset = 5;
  } else if (strcmp(name, "ERROR_headerChecksum_invalid") == 0) {
    d->why = "frame header: header checksum mismatch";
    *offset = 6 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
  } else {
    if (strcmp(name, "ERROR_decompressionFailed") == 0) d->why = "corrupt block";
    else if (strcmp(name, "ERROR_blockChecksum_invalid") == 0) d->why = "block checksum mismatch";
    else if (strcmp(name, "ERROR_contentChecksum_invalid") == 0)
      d->why = "content checksum mismatch";
    else if (strcmp(name, "ERROR_frameSize_wrong") == 0)
      d->why = "content size differs from the frame header";
    return false;
  }
  return true;
}

static int lz4_decode(void *state, const uint8_t *in, size_t in_len, size_t *in_used,
                      uint8_t *out, size_t out_cap, size_t *out_made, char *msg) {
  Lz4Decoder *d = state;
  size_t used = 0, made = 0;
  int rc = NBH_CODEC_OK;
  while (made < out_cap) {
    if (d->frame_done && used < in_len) {
      /* The next byte begins a new frame. */
      d->frame_start = d->total + used;
      d->head_len = 0;
    }
    const uint8_t *src_at = nbh_at(in, used);
    size_t src = in_len - used, dst = out_cap - made;
    size_t hint = LZ4F_decompress(d->dctx, nbh_at_mut(out, made), &dst, src_at, &src, NULL);
    if (LZ4F_isError(hint)) {
      const char *name = LZ4F_getErrorName(hint);
      uint64_t in_header;
      d->why = NULL;
      if (header_error(d, name, nbh_at(src_at, src), in_len - used - src, &in_header))
        d->error_at = d->frame_start + in_header;
      else
        d->error_at = d->total + used + src;
      used += src;
      made += dst;
      snprintf(msg, NBH_CODEC_MSG_SIZE, "%s (%s)", d->why ? d->why : "invalid data", name);
      rc = NBH_CODEC_CORRUPT;
      break;
    }
    keep_header_bytes(d, src_at, src);
    used += src;
    made += dst;
    if (src != 0 || dst != 0 || hint == 0) d->frame_done = hint == 0;
    if (src == 0 && dst == 0) break;
  }
  d->total += used;
  *in_used = used;
  *out_made = made;
  return rc;
}

static uint64_t lz4_error_offset(const void *state) {
  const Lz4Decoder *d = state;
  return d->error_at;
}

static bool lz4_at_frame_end(const void *state) {
  const Lz4Decoder *d = state;
  return d->frame_done;
}

static void lz4_decoder_destroy(void *state) {
  Lz4Decoder *d = state;
  if (d == NULL) return;
  LZ4F_freeDecompressionContext(d->dctx);
  free(d);
}

const NbhDecoderOps nbh_lz4_decoder = {
    .name = "lz4",
    .create = lz4_decoder_create,
    .decode = lz4_decode,
    .at_frame_end = lz4_at_frame_end,
    .error_offset = lz4_error_offset,
    .destroy = lz4_decoder_destroy,
};

typedef struct Lz4Encoder {
  LZ4F_cctx *cctx;
  LZ4F_preferences_t prefs;
  bool in_frame; /* LZ4F_compressBegin was called for the current frame */
} Lz4Encoder;

static void *lz4_encoder_create(int level, int threads, char *msg) {
  (void)threads;
  Lz4Encoder *e = calloc(1, sizeof *e);
  if (e == NULL) {
    snprintf(msg, NBH_CODEC_MSG_SIZE, "out of memory");
    return NULL;
  }
  size_t r = LZ4F_createCompressionContext(&e->cctx, LZ4F_VERSION);
  if (LZ4F_isError(r)) {
    snprintf(msg, NBH_CODEC_MSG_SIZE, "%s", LZ4F_getErrorName(r));
    free(e);
    return NULL;
  }
  e->prefs.frameInfo.blockSizeID = LZ4F_max256KB;
  e->prefs.frameInfo.blockMode = LZ4F_blockLinked;
  e->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  e->prefs.compressionLevel = level;
  return e;
}

static int lz4_fail(size_t r, char *msg) {
  snprintf(msg, NBH_CODEC_MSG_SIZE, "%s", LZ4F_getErrorName(r));
  return NBH_CODEC_FAILED;
}

static int begin_frame(Lz4Encoder *e, NbhSink *sink, char *msg) {
  if (nbh_sink_reserve(sink, LZ4F_HEADER_SIZE_MAX) != 0) return NBH_CODEC_SINK;
  size_t r = LZ4F_compressBegin(e->cctx, sink->buf + sink->len, sink->cap - sink->len, &e->prefs);
  if (LZ4F_isError(r)) return lz4_fail(r, msg);
  sink->len += r;
  e->in_frame = true;
  return NBH_CODEC_OK;
}

static int lz4_write(void *state, const uint8_t *in, size_t len, NbhSink *sink, char *msg) {
  Lz4Encoder *e = state;
  if (len == 0) return NBH_CODEC_OK;
  if (!e->in_frame) {
    int rc = begin_frame(e, sink, msg);
    if (rc != NBH_CODEC_OK) return rc;
  }
  while (len > 0) {
    size_t n = len < LZ4_FEED ? len : LZ4_FEED;
    if (nbh_sink_reserve(sink, LZ4F_compressBound(n, &e->prefs)) != 0) return NBH_CODEC_SINK;
    size_t r = LZ4F_compressUpdate(e->cctx, sink->buf + sink->len, sink->cap - sink->len, in, n,
                                   NULL);
    if (LZ4F_isError(r)) return lz4_fail(r, msg);
    sink->len += r;
    in += n;
    len -= n;
  }
  return NBH_CODEC_OK;
}

static int lz4_end_frame(void *state, bool always, NbhSink *sink, char *msg) {
  Lz4Encoder *e = state;
  if (!e->in_frame) {
    if (!always) return NBH_CODEC_OK;
    int rc = begin_frame(e, sink, msg);
    if (rc != NBH_CODEC_OK) return rc;
  }
  if (nbh_sink_reserve(sink, LZ4F_compressBound(0, &e->prefs)) != 0) return NBH_CODEC_SINK;
  size_t r = LZ4F_compressEnd(e->cctx, sink->buf + sink->len, sink->cap - sink->len, NULL);
  if (LZ4F_isError(r)) return lz4_fail(r, msg);
  sink->len += r;
  e->in_frame = false;
  return NBH_CODEC_OK;
}

static void lz4_encoder_destroy(void *state) {
  Lz4Encoder *e = state;
  if (e == NULL) return;
  LZ4F_freeCompressionContext(e->cctx);
  free(e);
}

const NbhEncoderOps nbh_lz4_encoder = {
    .name = "lz4",
    .min_level = 1,
    .max_level = 12,
    .create = lz4_encoder_create,
    .write = lz4_write,
    .end_frame = lz4_end_frame,
    .destroy = lz4_encoder_destroy,
};
