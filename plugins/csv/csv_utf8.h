/*
 * csv_utf8.h - UTF-8 validation of CSV text (RFC 3629: no overlong forms,
 * no UTF-16 surrogates, nothing above U+10FFFF, no truncated sequence).
 *
 * The csv source checks every record before its values go into UTF8
 * columns, so the check sits on the hot path: runs of ASCII (most CSV
 * bytes) are skipped 32 bytes per step with SSE2 (one movemask of the
 * OR of two loads), then 8 per step (one 64-bit word), and only the bytes of multi-byte sequences are looked
 * at one by one.  Loads never go past the end of the text.
 */
#ifndef CSV_UTF8_H
#define CSV_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Length of the valid sequence starting at s (at most n bytes available),
 * or 0 when the bytes there are not valid UTF-8.  s[0] >= 0x80. */
static inline size_t csv_utf8_sequence(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  size_t len, i;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0; /* overlong below U+0800 */
    if (c == 0xED) hi = 0x9F; /* surrogates U+D800..U+DFFF */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90; /* overlong below U+10000 */
    if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
  } else {
    return 0; /* a continuation byte, C0, C1 or F5..FF */
  }
  if (n < len || s[1] < lo || s[1] > hi) return 0;
  for (i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return len;
}

/* Whether the 8 bytes at s are all ASCII. */
static inline int csv_ascii8(const unsigned char *s) {
  uint64_t w;
  memcpy(&w, s, 8);
  return (w & UINT64_C(0x8080808080808080)) == 0;
}

/* Offset of the first byte of [text, text + len) that is not part of valid
 * UTF-8, or len when all of it is valid. */
static inline size_t csv_utf8_check(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  for (;;) {
#if defined(__SSE2__)
    while (len - i >= 32) {
      __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
      __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
      if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0) break;
      i += 32;
    }
#endif
    while (len - i >= 8 && csv_ascii8(s + i)) i += 8;
    while (i < len && s[i] < 0x80) i++;
    if (i == len) return len;
    /* Past the ASCII run: sequences until the next ASCII byte. */
    while (i < len && s[i] >= 0x80) {
      size_t n = csv_utf8_sequence(s + i, len - i);
      if (n == 0) return i;
      i += n;
    }
  }
}

#endif /* CSV_UTF8_H */
