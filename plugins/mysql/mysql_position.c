/*
 * mysql_position.c - encoding and strict decoding of the source's resume
 * positions (layout in mysql_position.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mysql_position.h"

#define POS_MAGIC "NBMYSQL1"
#define POS_MAGIC_LEN 8
#define POS_HEADER (POS_MAGIC_LEN + 12)

int my_key_value_set(MyKeyValue *kv, const char *value, unsigned long n) {
  if (value == NULL) {
    kv->data = NULL;
    kv->len = 0;
    return NB_OK;
  }
  if ((size_t)n + 1 > kv->cap) {
    size_t cap = kv->cap ? kv->cap : 32;
    char *p;
    while (cap < (size_t)n + 1) cap *= 2;
    if ((p = realloc(kv->buf, cap)) == NULL) return NB_NOMEM;
    kv->buf = p;
    kv->cap = cap;
  }
  memcpy(kv->buf, value, n);
  kv->buf[n] = '\0';
  kv->data = kv->buf;
  kv->len = n;
  return NB_OK;
}

static void put_u(unsigned char *p, uint64_t v, int bytes) {
  int i;
  for (i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  int i;
  for (i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

int my_position_encode(uint64_t rows, const MyKeyValue *keys, size_t n, unsigned char **buf,
                       size_t *cap, size_t *len) {
  size_t need = POS_HEADER, i, at;
  for (i = 0; i < n; i++) need += 5 + keys[i].len;
  if (need > *cap) {
    unsigned char *p = realloc(*buf, need);
    if (p == NULL) return NB_NOMEM;
    *buf = p;
    *cap = need;
  }
  memcpy(*buf, POS_MAGIC, POS_MAGIC_LEN);
  put_u(*buf + POS_MAGIC_LEN, rows, 8);
  put_u(*buf + POS_MAGIC_LEN + 8, n, 4);
  at = POS_HEADER;
  for (i = 0; i < n; i++) {
    (*buf)[at] = keys[i].data == NULL;
    put_u(*buf + at + 1, keys[i].len, 4);
    if (keys[i].len > 0) memcpy(*buf + at + 5, keys[i].data, keys[i].len);
    at += 5 + keys[i].len;
  }
  *len = at;
  return NB_OK;
}

static int bad_position(const char *stream, const char *why, NbError *err) {
  nb_error_set(err, NB_INVALID, "stream \"%s\": the saved position is not a mysql position (%s)",
               stream, why);
  nb_error_hint(err, "Delete the state file to read the stream from the start.");
  return NB_INVALID;
}

int my_position_decode(const char *stream, const unsigned char *p, size_t len, size_t n_keys,
                       uint64_t *rows, MyKeyValue *keys, size_t *count, NbError *err) {
  uint64_t n;
  size_t at, i;
  if (len < POS_HEADER || memcmp(p, POS_MAGIC, POS_MAGIC_LEN) != 0)
    return bad_position(stream, "no mysql header", err);
  n = get_u(p + POS_MAGIC_LEN + 8, 4);
  if (n != 0 && n != n_keys)
    return bad_position(stream, "its key has another number of columns than the table's", err);
  /* First pass: check every value, store nothing. */
  for (at = POS_HEADER, i = 0; i < n; i++) {
    uint64_t vlen;
    if (len - at < 5) return bad_position(stream, "truncated", err);
    vlen = get_u(p + at + 1, 4);
    if (vlen > len - at - 5) return bad_position(stream, "a value runs past its end", err);
    if (p[at] > 1 || (p[at] == 1 && vlen != 0)) return bad_position(stream, "a bad null flag", err);
    at += 5 + (size_t)vlen;
  }
  if (at != len) return bad_position(stream, "trailing bytes", err);
  for (at = POS_HEADER, i = 0; i < n; i++) {
    size_t vlen = (size_t)get_u(p + at + 1, 4);
    if (my_key_value_set(&keys[i], p[at] == 1 ? NULL : (const char *)p + at + 5,
                         (unsigned long)vlen) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory (position)");
    at += 5 + vlen;
  }
  *rows = get_u(p + POS_MAGIC_LEN, 8);
  *count = (size_t)n;
  return NB_OK;
}
