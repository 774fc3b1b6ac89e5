/*
 * json_writer.h - JSON text output: string escaping with UTF-8 validation,
 * and a growable output buffer.  Pure functions on memory, no I/O.
 */
#ifndef JSON_WRITER_H
#define JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes json_escape_string may write for len input bytes: every byte may
 * become a six-byte \u00XX escape, plus the two quotes. */
#define JSON_ESCAPED_MAX(len) (6 * (len) + 2)

/* Write s[0..len) as a JSON string, with its quotes, to dst (capacity >=
 * JSON_ESCAPED_MAX(len)).  Escaped: '"', '\\', control characters (as \b
 * \f \n \r \t or \u00XX), and U+2028 / U+2029 when escape_separators.
 * Everything else is copied.  Returns the bytes written, or (size_t)-1 if
 * s is not valid UTF-8, with *bad = offset of the first invalid byte. */
size_t json_escape_string(char *dst, const char *s, size_t len,
                          bool escape_separators, size_t *bad);

/* An output buffer that grows as needed. */
typedef struct JsonBuf {
  char *data;
  size_t len;
  size_t cap;
} JsonBuf;

/* Make room for `more` bytes after len.  Returns false when out of
 * memory. */
bool json_buf_reserve(JsonBuf *b, size_t more);
void json_buf_free(JsonBuf *b);

/* Append without a capacity check (reserve first). */
static inline void json_buf_put(JsonBuf *b, const void *p, size_t n) {
  __builtin_memcpy(b->data + b->len, p, n);
  b->len += n;
}

#endif /* JSON_WRITER_H */
