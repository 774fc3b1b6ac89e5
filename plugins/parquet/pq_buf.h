/*
 * pq_buf.h - a growable byte buffer for the parquet connector's encoders.
 * A failed allocation sets `failed` and later writes do nothing, so an
 * encoder checks once at the end instead of after every byte.
 */
#ifndef PQ_BUF_H
#define PQ_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct PqBuf {
  uint8_t *data;
  size_t len;
  size_t cap;
  bool failed;
} PqBuf;

/* Room for n more bytes; false (and failed set) when it cannot grow. */
static inline bool pq_buf_reserve(PqBuf *b, size_t n) {
  if (b->failed) return false;
  if (n <= b->cap - b->len) return true;
  if (n > SIZE_MAX / 2 - b->len) { b->failed = true; return false; }
  size_t cap = b->cap < 256 ? 256 : b->cap;
  while (cap - b->len < n) cap *= 2;
  uint8_t *d = realloc(b->data, cap);
  if (d == NULL) { b->failed = true; return false; }
  b->data = d;
  b->cap = cap;
  return true;
}

static inline void pq_buf_put(PqBuf *b, const void *p, size_t n) {
  if (n == 0 || !pq_buf_reserve(b, n)) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static inline void pq_buf_byte(PqBuf *b, uint8_t v) { pq_buf_put(b, &v, 1); }

static inline void pq_buf_le32(PqBuf *b, uint32_t v) {
  uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  pq_buf_put(b, t, 4);
}

static inline void pq_buf_le64(PqBuf *b, uint64_t v) {
  pq_buf_le32(b, (uint32_t)v);
  pq_buf_le32(b, (uint32_t)(v >> 32));
}

static inline void pq_buf_free(PqBuf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

static inline uint32_t pq_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t pq_le64(const uint8_t *p) {
  return (uint64_t)pq_le32(p) | (uint64_t)pq_le32(p + 4) << 32;
}

#endif /* PQ_BUF_H */
