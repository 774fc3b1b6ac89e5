/*
 * codec_gzip.c - gzip with zlib: a decoder that reads every member of a
 * multi-member file (as `gzip -d` does) and an encoder that ends a member
 * at each frame end, so a file appended to after a commit stays valid.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec.h"

/* zlib counts in uInt. */
#define ZCHUNK(n) ((n) > UINT_MAX ? UINT_MAX : (uInt)(n))

typedef struct GzipDecoder {
  z_stream zs;
  bool between_members; /* nothing of the next member consumed yet */
} GzipDecoder;

static void *gzip_decoder_create(void) {
  GzipDecoder *d = calloc(1, sizeof *d);
  if (d == NULL) return NULL;
  /* 15 + 16: a gzip wrapper only; the magic already said gzip. */
  if (inflateInit2(&d->zs, 15 + 16) != Z_OK) {
    free(d);
    return NULL;
  }
  d->between_members = true;
  return d;
}

static int gzip_decode(void *state, const uint8_t *in, size_t in_len, size_t *in_used,
                       uint8_t *out, size_t out_cap, size_t *out_made, char *msg) {
  GzipDecoder *d = state;
  size_t used = 0, made = 0;
  int rc = NBH_CODEC_OK;
  while (made < out_cap) {
    d->zs.next_in = (Bytef *)nbh_at(in, used);
    d->zs.avail_in = ZCHUNK(in_len - used);
    d->zs.next_out = nbh_at_mut(out, made);
    d->zs.avail_out = ZCHUNK(out_cap - made);
    uInt in_before = d->zs.avail_in, out_before = d->zs.avail_out;
    int zrc = inflate(&d->zs, Z_NO_FLUSH);
    bool progress = in_before != d->zs.avail_in || out_before != d->zs.avail_out;
    used += in_before - d->zs.avail_in;
    made += out_before - d->zs.avail_out;
    if (in_before != d->zs.avail_in) d->between_members = false;
    if (zrc == Z_STREAM_END) {
      /* A member ended; another may follow. */
      inflateReset(&d->zs);
      d->between_members = true;
      if (used == in_len) break;
      continue;
    }
    if (zrc == Z_OK || zrc == Z_BUF_ERROR) {
      if (!progress) break;
      continue;
    }
    if (zrc == Z_MEM_ERROR) {
      snprintf(msg, NBH_CODEC_MSG_SIZE, "out of memory");
      rc = NBH_CODEC_NOMEM;
    } else {
      snprintf(msg, NBH_CODEC_MSG_SIZE, "%s",
               d->zs.msg ? d->zs.msg : "invalid deflate data");
      rc = NBH_CODEC_CORRUPT;
    }
    break;
  }
  *in_used = used;
  *out_made = made;
  return rc;
}

static bool gzip_at_frame_end(const void *state) {
  const GzipDecoder *d = state;
  return d->between_members;
}

static void gzip_decoder_destroy(void *state) {
  GzipDecoder *d = state;
  if (d == NULL) return;
  inflateEnd(&d->zs);
  free(d);
}

const NbhDecoderOps nbh_gzip_decoder = {
    .name = "gzip",
    .create = gzip_decoder_create,
    .decode = gzip_decode,
    .at_frame_end = gzip_at_frame_end,
    .destroy = gzip_decoder_destroy,
};

typedef struct GzipEncoder {
  z_stream zs;
  bool dirty; /* bytes given since the member began */
} GzipEncoder;

static void *gzip_encoder_create(int level, int threads, char *msg) {
  (void)threads;
  GzipEncoder *e = calloc(1, sizeof *e);
  if (e == NULL) {
    snprintf(msg, NBH_CODEC_MSG_SIZE, "out of memory");
    return NULL;
  }
  int zlevel = level == 0 ? Z_DEFAULT_COMPRESSION : level;
  if (deflateInit2(&e->zs, zlevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    snprintf(msg, NBH_CODEC_MSG_SIZE, "%s", e->zs.msg ? e->zs.msg : "deflateInit2 failed");
    free(e);
    return NULL;
  }
  return e;
}

/* Run deflate with `flush` until the input is consumed (and, for Z_FINISH,
 * the member is complete), emptying the sink whenever it fills. */
static int deflate_into(GzipEncoder *e, const uint8_t *in, size_t len, int flush, NbhSink *sink,
                        char *msg) {
  for (;;) {
    if (sink->len == sink->cap && sink->flush(sink) != 0) return NBH_CODEC_SINK;
    uInt chunk = ZCHUNK(len);
    e->zs.next_in = (Bytef *)in;
    e->zs.avail_in = chunk;
    e->zs.next_out = nbh_at_mut(sink->buf, sink->len);
    e->zs.avail_out = ZCHUNK(sink->cap - sink->len);
    uInt out_before = e->zs.avail_out;
    int zrc = deflate(&e->zs, flush);
    sink->len += out_before - e->zs.avail_out;
    /* in is NULL when a member is finished (Z_FINISH with no input). */
    in = nbh_at(in, chunk - e->zs.avail_in);
    len -= chunk - e->zs.avail_in;
    if (zrc == Z_STREAM_END) return NBH_CODEC_OK;
    if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
      snprintf(msg, NBH_CODEC_MSG_SIZE, "%s", e->zs.msg ? e->zs.msg : "deflate failed");
      return NBH_CODEC_FAILED;
    }
    /* Done when the input is gone and deflate had output room to spare. */
    if (flush != Z_FINISH && len == 0 && e->zs.avail_out > 0) return NBH_CODEC_OK;
  }
}

static int gzip_write(void *state, const uint8_t *in, size_t len, NbhSink *sink, char *msg) {
  GzipEncoder *e = state;
  if (len == 0) return NBH_CODEC_OK;
  e->dirty = true;
  return deflate_into(e, in, len, Z_NO_FLUSH, sink, msg);
}

static int gzip_end_frame(void *state, bool always, NbhSink *sink, char *msg) {
  GzipEncoder *e = state;
  if (!e->dirty && !always) return NBH_CODEC_OK;
  int rc = deflate_into(e, NULL, 0, Z_FINISH, sink, msg);
  if (rc != NBH_CODEC_OK) return rc;
  deflateReset(&e->zs);
  e->dirty = false;
  return NBH_CODEC_OK;
}

static void gzip_encoder_destroy(void *state) {
  GzipEncoder *e = state;
  if (e == NULL) return;
  deflateEnd(&e->zs);
  free(e);
}

const NbhEncoderOps nbh_gzip_encoder = {
    .name = "gzip",
    .min_level = 1,
    .max_level = 9,
    .create = gzip_encoder_create,
    .write = gzip_write,
    .end_frame = gzip_end_frame,
    .destroy = gzip_encoder_destroy,
};
