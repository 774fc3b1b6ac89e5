/*
 * codec_snappy.c - the snappy framing format (framing_format.txt of the
 * snappy project): a stream identifier chunk, then chunks of at most 64 KiB
 * of data, each compressed (type 0x00) or stored (0x01) with the masked
 * CRC-32C of its uncompressed bytes.  Padding (0xfe) and skippable chunks
 * (0x80-0xfd) are skipped, reserved unskippable ones (0x02-0x7f) are an
 * error.  Block compression itself is libsnappy's (snappy-c.h).
 */
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crc32c.h"

#define BLOCK_MAX ((size_t)65536)          /* uncompressed bytes per chunk */
#define CHUNK_COMPRESSED 0x00
#define CHUNK_STORED 0x01
#define CHUNK_PADDING 0xfe
#define CHUNK_STREAM_ID 0xff

static uint32_t masked_crc(const uint8_t *data, size_t len) {
  uint32_t crc = nbh_crc32c(0, data, len);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static uint32_t get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* ------------------------------------------------------------------------
 * Decoder
 * ------------------------------------------------------------------------ */

typedef struct SnappyDecoder {
  uint8_t header[4];
  size_t header_len;   /* bytes of the chunk header gathered */
  bool in_chunk;       /* header complete, payload being gathered/skipped */
  uint8_t type;
  size_t chunk_len;    /* payload length */
  size_t chunk_got;    /* payload bytes gathered or skipped */
  size_t payload_max;  /* largest payload a data chunk may have */
  uint8_t *payload;    /* the payload of a data chunk */
  uint8_t *plain;      /* decoded bytes not yet handed out */
  size_t plain_len;
  size_t plain_pos;
} SnappyDecoder;

static void snappy_decoder_destroy(void *state) {
  SnappyDecoder *d = state;
  if (d == NULL) return;
  free(d->payload);
  free(d->plain);
  free(d);
}

static void *snappy_decoder_create(void) {
  SnappyDecoder *d = calloc(1, sizeof *d);
  if (d == NULL) return NULL;
  d->payload_max = 4 + snappy_max_compressed_length(BLOCK_MAX);
  d->payload = malloc(d->payload_max);
  d->plain = malloc(BLOCK_MAX);
  if (d->payload == NULL || d->plain == NULL) {
    snappy_decoder_destroy(d);
    return NULL;
  }
  return d;
}

static int bad(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(char *msg, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, NBH_CODEC_MSG_SIZE, fmt, ap);
  va_end(ap);
  return NBH_CODEC_CORRUPT;
}

/* A chunk header is complete: check type and length. */
static int start_chunk(SnappyDecoder *d, char *msg) {
  d->type = d->header[0];
  d->chunk_len = (size_t)d->header[1] | (size_t)d->header[2] << 8 | (size_t)d->header[3] << 16;
  d->chunk_got = 0;
  d->header_len = 0;
  d->in_chunk = true;
  switch (d->type) {
    case CHUNK_STREAM_ID:
      if (d->chunk_len != 6)
        return bad(msg, "stream identifier chunk of length %u", (unsigned)d->chunk_len);
      return NBH_CODEC_OK;
    case CHUNK_COMPRESSED:
    case CHUNK_STORED:
      if (d->chunk_len < 4) return bad(msg, "data chunk of length %u has no checksum",
                                     (unsigned)d->chunk_len);
      if (d->chunk_len > d->payload_max ||
          (d->type == CHUNK_STORED && d->chunk_len > 4 + BLOCK_MAX))
        return bad(msg, "data chunk of length %u exceeds the format's limit",
                   (unsigned)d->chunk_len);
      return NBH_CODEC_OK;
    default:
      if (d->type < 0x80) return bad(msg, "reserved unskippable chunk type 0x%02x", d->type);
      return NBH_CODEC_OK; /* padding or skippable: skipped */
  }
}

static bool is_data_chunk(uint8_t type) {
  return type == CHUNK_COMPRESSED || type == CHUNK_STORED || type == CHUNK_STREAM_ID;
}

/* The payload of a data chunk is complete: check and decode it, straight
 * into out when it fits, else into d->plain. */
static int finish_chunk(SnappyDecoder *d, uint8_t *out, size_t out_room, size_t *made,
                        char *msg) {
  d->in_chunk = false;
  *made = 0;
  if (d->type == CHUNK_STREAM_ID) {
    if (memcmp(d->payload, "sNaPpY", 6) != 0) return bad(msg, "bad stream identifier");
    return NBH_CODEC_OK;
  }
  const uint8_t *data = d->payload + 4;
  size_t len = d->chunk_len - 4;
  uint8_t *dest = d->plain;
  size_t dest_len = len;
  if (d->type == CHUNK_COMPRESSED) {
    if (snappy_uncompressed_length((const char *)data, len, &dest_len) != SNAPPY_OK ||
        dest_len > BLOCK_MAX)
      return bad(msg, "invalid compressed chunk header");
    if (dest_len <= out_room) dest = out;
    size_t n = dest_len;
    if (snappy_uncompress((const char *)data, len, (char *)dest, &n) != SNAPPY_OK || n != dest_len)
      return bad(msg, "invalid compressed chunk");
  } else {
    if (dest_len <= out_room) dest = out;
    memcpy(dest, data, len);
  }
  if (masked_crc(dest, dest_len) != get_le32(d->payload))
    return bad(msg, "checksum mismatch in data chunk");
  if (dest == out) {
    *made = dest_len;
  } else {
    d->plain_len = dest_len;
    d->plain_pos = 0;
  }
  return NBH_CODEC_OK;
}

static int snappy_decode(void *state, const uint8_t *in, size_t in_len, size_t *in_used,
                         uint8_t *out, size_t out_cap, size_t *out_made, char *msg) {
  SnappyDecoder *d = state;
  size_t used = 0, made = 0;
  int rc = NBH_CODEC_OK;
  for (;;) {
    if (d->plain_pos < d->plain_len) {
      size_t n = d->plain_len - d->plain_pos;
      if (n > out_cap - made) n = out_cap - made;
      memcpy(out + made, d->plain + d->plain_pos, n);
      d->plain_pos += n;
      made += n;
      if (d->plain_pos < d->plain_len) break; /* out is full */
    }
    if (used == in_len) break;
    if (!d->in_chunk) {
      size_t n = 4 - d->header_len;
      if (n > in_len - used) n = in_len - used;
      memcpy(d->header + d->header_len, in + used, n);
      d->header_len += n;
      used += n;
      if (d->header_len == 4 && (rc = start_chunk(d, msg)) != NBH_CODEC_OK) break;
      if (!d->in_chunk || d->chunk_len > 0) continue;
    }
    size_t n = d->chunk_len - d->chunk_got;
    if (n > in_len - used) n = in_len - used;
    if (is_data_chunk(d->type)) memcpy(d->payload + d->chunk_got, in + used, n);
    d->chunk_got += n;
    used += n;
    if (d->chunk_got < d->chunk_len) continue;
    if (!is_data_chunk(d->type)) {
      d->in_chunk = false;
      continue;
    }
    size_t direct = 0;
    rc = finish_chunk(d, out + made, out_cap - made, &direct, msg);
    made += direct;
    if (rc != NBH_CODEC_OK || made == out_cap) break;
  }
  *in_used = used;
  *out_made = made;
  return rc;
}

static bool snappy_at_frame_end(const void *state) {
  const SnappyDecoder *d = state;
  return !d->in_chunk && d->header_len == 0 && d->plain_pos == d->plain_len;
}

const NbhDecoderOps nbh_snappy_decoder = {
    .name = "snappy",
    .create = snappy_decoder_create,
    .decode = snappy_decode,
    .at_frame_end = snappy_at_frame_end,
    .destroy = snappy_decoder_destroy,
};

/* ------------------------------------------------------------------------
 * Encoder
 * ------------------------------------------------------------------------ */

typedef struct SnappyEncoder {
  uint8_t *block; /* input gathered for the next chunk */
  size_t block_len;
} SnappyEncoder;

static void *snappy_encoder_create(int level, int threads, char *msg) {
  (void)level;
  (void)threads;
  SnappyEncoder *e = calloc(1, sizeof *e);
  if (e != NULL) e->block = malloc(BLOCK_MAX);
  if (e == NULL || e->block == NULL) {
    free(e);
    snprintf(msg, NBH_CODEC_MSG_SIZE, "out of memory");
    return NULL;
  }
  return e;
}

/* Write one chunk of len (<= BLOCK_MAX) bytes: compressed, unless that
 * saves less than an eighth, then stored. */
static int emit_chunk(const uint8_t *data, size_t len, NbhSink *sink, char *msg) {
  size_t bound = snappy_max_compressed_length(len);
  if (nbh_sink_reserve(sink, 8 + (bound > len ? bound : len)) != 0) return NBH_CODEC_SINK;
  uint8_t *chunk = sink->buf + sink->len;
  size_t clen = bound;
  if (snappy_compress((const char *)data, len, (char *)chunk + 8, &clen) != SNAPPY_OK) {
    snprintf(msg, NBH_CODEC_MSG_SIZE, "snappy_compress failed");
    return NBH_CODEC_FAILED;
  }
  uint8_t type = CHUNK_COMPRESSED;
  if (clen >= len - len / 8) {
    type = CHUNK_STORED;
    clen = len;
    memcpy(chunk + 8, data, len);
  }
  uint32_t payload = (uint32_t)(clen + 4);
  chunk[0] = type;
  chunk[1] = (uint8_t)payload;
  chunk[2] = (uint8_t)(payload >> 8);
  chunk[3] = (uint8_t)(payload >> 16);
  put_le32(chunk + 4, masked_crc(data, len));
  sink->len += 8 + clen;
  return NBH_CODEC_OK;
}

static int snappy_write(void *state, const uint8_t *in, size_t len, NbhSink *sink, char *msg) {
  SnappyEncoder *e = state;
  while (len > 0) {
    if (e->block_len == 0 && len >= BLOCK_MAX) {
      /* Whole blocks straight from the caller's bytes. */
      int rc = emit_chunk(in, BLOCK_MAX, sink, msg);
      if (rc != NBH_CODEC_OK) return rc;
      in += BLOCK_MAX;
      len -= BLOCK_MAX;
      continue;
    }
    size_t n = BLOCK_MAX - e->block_len;
    if (n > len) n = len;
    memcpy(e->block + e->block_len, in, n);
    e->block_len += n;
    in += n;
    len -= n;
    if (e->block_len == BLOCK_MAX) {
      int rc = emit_chunk(e->block, BLOCK_MAX, sink, msg);
      if (rc != NBH_CODEC_OK) return rc;
      e->block_len = 0;
    }
  }
  return NBH_CODEC_OK;
}

/* Chunks are self-contained: ending a frame only writes the partial block.
 * The stream identifier written at the start of the file (file_header)
 * already makes an empty stream valid. */
static int snappy_end_frame(void *state, bool always, NbhSink *sink, char *msg) {
  SnappyEncoder *e = state;
  (void)always;
  if (e->block_len == 0) return NBH_CODEC_OK;
  int rc = emit_chunk(e->block, e->block_len, sink, msg);
  if (rc == NBH_CODEC_OK) e->block_len = 0;
  return rc;
}

static void snappy_encoder_destroy(void *state) {
  SnappyEncoder *e = state;
  if (e == NULL) return;
  free(e->block);
  free(e);
}

const NbhEncoderOps nbh_snappy_encoder = {
    .name = "snappy",
    .min_level = 1,
    .max_level = 0, /* no levels */
    .create = snappy_encoder_create,
    .write = snappy_write,
    .end_frame = snappy_end_frame,
    .file_header = (const uint8_t *)NBH_SNAPPY_STREAM_ID,
    .file_header_len = NBH_SNAPPY_STREAM_ID_LEN,
    .destroy = snappy_encoder_destroy,
};
