/*
 * avro_buf.h - a growable byte buffer and Avro's binary primitives:
 * zigzag varints (int, long), little-endian floats and length-prefixed
 * bytes, written into a buffer and read from a bounded cursor.
 *
 * Reading never passes the cursor's end: every reader returns false on a
 * value that is truncated or malformed (a varint of more than 10 bytes,
 * a length beyond the remaining bytes), and the caller reports where.
 */
#ifndef AVRO_BUF_H
#define AVRO_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct AvroBuf {
  uint8_t *data;
  size_t len;
  size_t cap;
} AvroBuf;

/* Make room for extra more bytes; false when out of memory. */
bool avro_buf_reserve(AvroBuf *b, size_t extra);
void avro_buf_free(AvroBuf *b);

/* Append functions: the caller reserved room first (the bound of a long
 * is AVRO_LONG_MAX_BYTES). */
#define AVRO_LONG_MAX_BYTES 10

static inline void avro_put_bytes(AvroBuf *b, const void *p, size_t n) {
  if (n > 0) memcpy(b->data + b->len, p, n);
  b->len += n;
}

static inline void avro_put_long(AvroBuf *b, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  while (z >= 0x80) {
    b->data[b->len++] = (uint8_t)(z | 0x80);
    z >>= 7;
  }
  b->data[b->len++] = (uint8_t)z;
}

static inline void avro_put_double(AvroBuf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  for (int i = 0; i < 8; i++) b->data[b->len++] = (uint8_t)(u >> (8 * i));
}

/* Reserve and append; false when out of memory. */
bool avro_buf_long(AvroBuf *b, int64_t v);
bool avro_buf_bytes(AvroBuf *b, const void *p, size_t n);
/* A length-prefixed string or bytes value. */
bool avro_buf_string(AvroBuf *b, const void *p, size_t n);
/* A JSON string (schemas, nested values as text): quotes, escapes for '"',
 * backslash and control characters; other bytes (UTF-8) as they are. */
bool avro_buf_json_string(AvroBuf *b, const void *s, size_t len);

/* A bounded reader. */
typedef struct AvroCursor {
  const uint8_t *p;
  const uint8_t *end;
} AvroCursor;

bool avro_read_long(AvroCursor *c, int64_t *out);
/* An int: a long that must fit 32 bits. */
bool avro_read_int(AvroCursor *c, int32_t *out);
bool avro_read_float(AvroCursor *c, float *out);
bool avro_read_double(AvroCursor *c, double *out);
/* A length-prefixed value: *p points into the cursor's bytes. */
bool avro_read_bytes(AvroCursor *c, const uint8_t **p, size_t *n);
bool avro_read_fixed(AvroCursor *c, size_t n, const uint8_t **p);

static inline size_t avro_cursor_left(const AvroCursor *c) {
  return (size_t)(c->end - c->p);
}

#endif
