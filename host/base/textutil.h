/*
 * textutil.h - small text helpers shared by the logger, the configuration
 * and the CLI: a growable string buffer, JSON string escaping, and the edit
 * distance behind "did you mean" hints.
 */
#ifndef NBH_TEXTUTIL_H
#define NBH_TEXTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A NUL-terminated string that grows.  After an allocation failure every
 * append is a no-op and `failed` stays set: callers check once at the end.
 * Zero-initialise it (NBH_BUF_INIT); free data with nbh_buf_free. */
typedef struct NbhBuf {
  char *data;
  size_t len;
  size_t cap;
  bool failed;
} NbhBuf;

#define NBH_BUF_INIT {NULL, 0, 0, false}

void nbh_buf_append(NbhBuf *buf, const char *bytes, size_t len);
void nbh_buf_puts(NbhBuf *buf, const char *text);
void nbh_buf_printf(NbhBuf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void nbh_buf_vprintf(NbhBuf *buf, const char *fmt, va_list ap);
/* printf into a new string (free() it); NULL when out of memory. */
char *nbh_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The text so far ("" when empty); NULL only after a failure. */
const char *nbh_buf_text(NbhBuf *buf);
/* Hand the string over to the caller (free() it); the buffer is reset.
 * NULL after an allocation failure. */
char *nbh_buf_take(NbhBuf *buf);
void nbh_buf_free(NbhBuf *buf);

/* Append text (len bytes) as the body of a JSON string, without the quotes:
 * control characters (C0 and C1) escaped, invalid UTF-8 bytes replaced by
 * U+FFFD so the output is always valid JSON and harmless to print. */
void nbh_buf_json_escape(NbhBuf *buf, const char *text, size_t len);
/* Write "text" as a quoted JSON string to out. */
void nbh_json_write_string(FILE *out, const char *text);

/* Optimal string alignment distance between a and b (insertions,
 * deletions, substitutions, transpositions of neighbours), capped: any
 * distance above `limit` is returned as limit + 1. */
size_t nbh_edit_distance(const char *a, const char *b, size_t limit);

/* The candidate closest to name when it is close enough to be a likely
 * typo (distance <= 2, and less than a third of the name for short names),
 * or NULL. */
const char *nbh_did_you_mean(const char *name, const char *const *candidates,
                             size_t n_candidates);

#endif /* NBH_TEXTUTIL_H */
