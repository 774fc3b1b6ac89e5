/*
 * avro_buf.c - Avro's binary primitives (see avro_buf.h).
 */
#include "avro_buf.h"

#include <stdio.h>
#include <stdlib.h>

bool avro_buf_reserve(AvroBuf *b, size_t extra) {
  if (extra <= b->cap - b->len) return true;
  if (extra > SIZE_MAX / 2 - b->len) return false;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->len < extra) cap *= 2;
  uint8_t *d = realloc(b->data, cap);
  if (d == NULL) return false;
  b->data = d;
  b->cap = cap;
  return true;
}

void avro_buf_free(AvroBuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

bool avro_buf_long(AvroBuf *b, int64_t v) {
  if (!avro_buf_reserve(b, AVRO_LONG_MAX_BYTES)) return false;
  avro_put_long(b, v);
  return true;
}

bool avro_buf_bytes(AvroBuf *b, const void *p, size_t n) {
  if (!avro_buf_reserve(b, n)) return false;
  avro_put_bytes(b, p, n);
  return true;
}

bool avro_buf_string(AvroBuf *b, const void *p, size_t n) {
  if (n > INT64_MAX || !avro_buf_reserve(b, n + AVRO_LONG_MAX_BYTES)) return false;
  avro_put_long(b, (int64_t)n);
  avro_put_bytes(b, p, n);
  return true;
}

bool avro_buf_json_string(AvroBuf *b, const void *s, size_t len) {
  const uint8_t *in = s;
  if (len > (SIZE_MAX - 2) / 6 || !avro_buf_reserve(b, len * 6 + 2)) return false;
  b->data[b->len++] = '"';
  for (size_t i = 0; i < len; i++) {
    uint8_t c = in[i];
    if (c == '"' || c == '\\') {
      b->data[b->len++] = '\\';
      b->data[b->len++] = c;
    } else if (c < 0x20) {
      b->len += (size_t)snprintf((char *)b->data + b->len, 7, "\\u%04x", c);
    } else {
      b->data[b->len++] = c;
    }
  }
  b->data[b->len++] = '"';
  return true;
}

bool avro_read_long(AvroCursor *c, int64_t *out) {
  uint64_t z = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (c->p >= c->end) return false;
    uint8_t byte = *c->p++;
    /* The tenth byte may carry only the top bit of 64. */
    if (shift == 63 && (byte & 0xfe) != 0) return false;
    z |= (uint64_t)(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *out = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
      return true;
    }
  }
  return false;
}

bool avro_read_int(AvroCursor *c, int32_t *out) {
  int64_t v;
  if (!avro_read_long(c, &v) || v < INT32_MIN || v > INT32_MAX) return false;
  *out = (int32_t)v;
  return true;
}

bool avro_read_float(AvroCursor *c, float *out) {
  if (avro_cursor_left(c) < 4) return false;
  uint32_t u = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 |
               (uint32_t)c->p[3] << 24;
  memcpy(out, &u, sizeof u);
  c->p += 4;
  return true;
}

bool avro_read_double(AvroCursor *c, double *out) {
  if (avro_cursor_left(c) < 8) return false;
  uint64_t u = 0;
  for (int i = 7; i >= 0; i--) u = u << 8 | c->p[i];
  memcpy(out, &u, sizeof u);
  c->p += 8;
  return true;
}

bool avro_read_bytes(AvroCursor *c, const uint8_t **p, size_t *n) {
  int64_t len;
  if (!avro_read_long(c, &len) || len < 0 || (uint64_t)len > avro_cursor_left(c)) return false;
  *p = c->p;
  *n = (size_t)len;
  c->p += len;
  return true;
}

bool avro_read_fixed(AvroCursor *c, size_t n, const uint8_t **p) {
  if (n > avro_cursor_left(c)) return false;
  *p = c->p;
  c->p += n;
  return true;
}
