/*
 * pg_copytext.c - COPY text format, as PostgreSQL's documentation of COPY
 * ("Text Format") defines it.  The server writes rows in the client
 * encoding (UTF8, set at connect), one per PQgetCopyData message.
 */
#include "pg_copytext.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decode one escape at s[*i] (just after the backslash); returns the byte. */
static int decode_escape(const char *s, size_t end, size_t *i) {
  char c = s[*i];
  int v, k;
  (*i)++;
  switch (c) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    case 'x':
      if (*i >= end || hexval(s[*i]) < 0) return 'x';
      v = hexval(s[(*i)++]);
      if (*i < end && hexval(s[*i]) >= 0) v = v * 16 + hexval(s[(*i)++]);
      return v;
    default:
      if (c >= '0' && c <= '7') {
        v = c - '0';
        for (k = 0; k < 2 && *i < end && s[*i] >= '0' && s[*i] <= '7'; k++)
          v = v * 8 + (s[(*i)++] - '0');
        return v & 0xff;
      }
      return (unsigned char)c; /* \\ and any other character stand for themselves */
  }
}

int pg_copy_decode_row(char *line, size_t len, NbStringRef *fields, size_t n,
                       NbError *err) {
  size_t i = 0, f = 0;
  if (len > 0 && line[len - 1] == '\n') len--;
  for (;;) {
    size_t start = i, w = i;
    int escaped = 0;
    if (f >= n)
      return nb_error_set(err, NB_DATA, "COPY row has more than the %zu columns expected", n);
    while (i < len && line[i] != '\t') {
      if (line[i] == '\\' && i + 1 < len) {
        i++;
        escaped = 1;
        line[w++] = (char)decode_escape(line, len, &i);
      } else {
        line[w++] = line[i++];
      }
    }
    /* NULL is exactly the two bytes \N (an escape decoding to 'N'). */
    if (escaped && w - start == 1 && i - start == 2 && line[start] == 'N' &&
        line[start + 1] == 'N')
      fields[f].data = NULL;
    else
      fields[f].data = line + start;
    fields[f].len = w - start;
    f++;
    if (i >= len) break;
    i++; /* the tab */
  }
  if (f != n)
    return nb_error_set(err, NB_DATA, "COPY row has %zu columns, %zu expected", f, n);
  return NB_OK;
}

int pg_buf_reserve(PgBuf *b, size_t extra) {
  size_t want, cap;
  char *p;
  if (extra <= b->cap - b->len) return NB_OK;
  if (extra > SIZE_MAX / 2 - b->len) return NB_NOMEM;
  want = b->len + extra;
  cap = b->cap < 256 ? 256 : b->cap;
  while (cap < want) cap *= 2;
  p = realloc(b->data, cap);
  if (p == NULL) return NB_NOMEM;
  b->data = p;
  b->cap = cap;
  return NB_OK;
}

int pg_buf_add(PgBuf *b, const char *data, size_t len) {
  if (len == 0) return NB_OK; /* b->data may still be NULL */
  if (pg_buf_reserve(b, len) != NB_OK) return NB_NOMEM;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return NB_OK;
}

void pg_buf_free(PgBuf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

int pg_copy_escape(PgBuf *b, const char *data, size_t len) {
  size_t i;
  char *o;
  if (len == 0) return NB_OK; /* b->data may still be NULL */
  if (len > SIZE_MAX / 2 || pg_buf_reserve(b, 2 * len) != NB_OK) return NB_NOMEM;
  o = b->data + b->len;
  for (i = 0; i < len; i++) {
    char c = data[i];
    switch (c) {
      case '\\': *o++ = '\\'; *o++ = '\\'; break;
      case '\t': *o++ = '\\'; *o++ = 't'; break;
      case '\n': *o++ = '\\'; *o++ = 'n'; break;
      case '\r': *o++ = '\\'; *o++ = 'r'; break;
      default: *o++ = c;
    }
  }
  b->len = (size_t)(o - b->data);
  return NB_OK;
}
