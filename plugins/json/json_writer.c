/*
 * json_writer.c - JSON string escaping and the output buffer.
 *
 * Escaping is the hot path of every conversion to JSON.  Most values take
 * the formatter's put_plain (json_format.c): checked 16 bytes at a
 * time and copied without escaping.
 * The rest come here: clean runs are found 16 bytes at a time (8 near the
 * end; no quote, backslash, control or non-ASCII byte) and copied whole;
 * only the bytes that stop the scan are looked at one by one, and
 * non-ASCII ones are validated as UTF-8 on the way.
 */
#include "json_writer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_utf8.h"

/* Escape of each control character: short form when JSON has one. */
static const char control_escape[32][7] = {
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
    "\\u0006", "\\u0007", "\\b",     "\\t",     "\\n",     "\\u000b",
    "\\f",     "\\r",     "\\u000e", "\\u000f", "\\u0010", "\\u0011",
    "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
    "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d",
    "\\u001e", "\\u001f"};

size_t json_escape_string(char *dst, const char *str, size_t len,
                          bool escape_separators, size_t *bad) {
  const unsigned char *s = (const unsigned char *)str;
  char *d = dst;
  size_t i = 0;

  *d++ = '"';
  while (i < len) {
#if defined(__SSE2__)
    /* Clean blocks are copied as they are; a block with a byte to look at
     * is stored whole too (dst has room: at least 16 input bytes remain,
     * each worth 6 output bytes) and the output kept up to that byte. */
    while (i + 16 <= len) {
      __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
      unsigned m = json_plain_mask(x);
      _mm_storeu_si128((__m128i *)(void *)d, x);
      if (m != 0) {
        unsigned k = (unsigned)__builtin_ctz(m);
        d += k;
        i += k;
        break;
      }
      d += 16;
      i += 16;
    }
#endif
    /* Clean words are copied as they are. */
    while (i + 8 <= len) {
      uint64_t w = json_load64(s + i);
      if (json_word_special(w)) break;
      memcpy(d, &w, 8);
      d += 8;
      i += 8;
    }
    if (i >= len) break;
    unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      *d++ = (char)c;
      i++;
      continue;
    }
    if (c == '"' || c == '\\') {
      *d++ = '\\';
      *d++ = (char)c;
      i++;
      continue;
    }
    if (c < 0x20) {
      const char *e = control_escape[c];
      size_t n = e[1] == 'u' ? 6 : 2;
      memcpy(d, e, n);
      d += n;
      i++;
      continue;
    }
    size_t bad_index;
    size_t n = json_utf8_sequence(s + i, len - i, &bad_index);
    if (n == 0) {
      *bad = i;
      return (size_t)-1;
    }
    if (escape_separators && n == 3 && c == 0xE2 && s[i + 1] == 0x80 &&
        (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
      memcpy(d, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
      d += 6;
    } else {
      memcpy(d, s + i, n);
      d += n;
    }
    i += n;
  }
  *d++ = '"';
  return (size_t)(d - dst);
}

bool json_buf_reserve(JsonBuf *b, size_t more) {
  if (b->cap - b->len >= more) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->len < more) {
    if (cap > SIZE_MAX / 2) return false;
    cap *= 2;
  }
  char *d = realloc(b->data, cap);
  if (d == NULL) return false;
  b->data = d;
  b->cap = cap;
  return true;
}

void json_buf_free(JsonBuf *b) {
  if (b == NULL) return;
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
