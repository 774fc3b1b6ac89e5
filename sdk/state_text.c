/*
 * state_text.c - reading the text state blobs of file destinations.  A
 * destination's state names, per output file, a few numbers and the
 * file's path ("<length> ... <path length> <path>\n"); json, avro and
 * arrow each parsed that by hand.  The blob comes back from disk: every
 * read is bounded by end and refuses what the writer would not produce.
 */
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

bool nb_text_expect(const char **s, const char *end, const char *literal) {
  size_t n = strlen(literal);
  if (*s > end || (size_t)(end - *s) < n || memcmp(*s, literal, n) != 0) return false;
  *s += n;
  return true;
}

bool nb_text_u64(const char **s, const char *end, char sep, uint64_t *out) {
  uint64_t v = 0;
  const char *p = *s;
  if (p >= end || *p < '0' || *p > '9') return false;
  while (p < end && *p >= '0' && *p <= '9') {
    unsigned digit = (unsigned)(*p++ - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (p >= end || *p != sep) return false;
  *s = p + 1;
  *out = v;
  return true;
}

int nb_text_path(const char **s, const char *end, char **path) {
  uint64_t len;
  const char *p = *s;
  *path = NULL;
  if (!nb_text_u64(&p, end, ' ', &len)) return NB_INVALID;
  /* Not empty, no NUL inside, and its newline within the blob. */
  if (len == 0 || len >= (uint64_t)(end - p) || p[len] != '\n' || memchr(p, '\0', (size_t)len) != NULL)
    return NB_INVALID;
  *path = malloc((size_t)len + 1);
  if (*path == NULL) return NB_NOMEM;
  memcpy(*path, p, (size_t)len);
  (*path)[len] = '\0';
  *s = p + len + 1;
  return NB_OK;
}
