/*
 * json_writer.h - JSON text output: string escaping with UTF-8 validation
 * and a growable output buffer.  Pure functions on memory, no I/O.
 */
#ifndef JSON_WRITER_H
#define JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

#if defined(__SSE2__)
/* Bit i set when byte i of x needs json_escape_string: '"', '\\', a
 * control character, or a byte >= 0x80 (negative as a signed byte). */
static inline unsigned json_plain_mask(__m128i x) {
  __m128i special = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                   _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
      _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
  return (unsigned)_mm_movemask_epi8(special);
}
#endif

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
