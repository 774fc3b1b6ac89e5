/*
 * json_utf8.h - UTF-8 validation and encoding shared by the JSON parser and
 * the JSON writer.
 *
 * Validation follows RFC 3629 (table 3-7 of the Unicode standard): no
 * overlong forms, no encoded surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF, no truncated sequences.  ASCII runs are skipped 16 bytes at a
 * time (json_skip_plain, json_utf8_check); json_utf8_sequence is the path
 * for one sequence of bytes >= 0x80.
 */
#ifndef JSON_UTF8_H
#define JSON_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Length of the valid multi-byte sequence starting at s (s[0] >= 0x80),
 * given that `avail` bytes are readable from s.  Returns 2..4, or 0 if the
 * sequence is invalid.  *bad receives the index of the first byte that
 * makes it invalid; *bad == avail means the sequence was cut short by the
 * end of the data (more bytes might complete it). */
static inline size_t json_utf8_sequence(const unsigned char *s, size_t avail,
                                        size_t *bad) {
  unsigned char c = s[0];
  unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  size_t n;

  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;      /* overlong below U+0800 */
    else if (c == 0xED) hi = 0x9F; /* UTF-16 surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;      /* overlong below U+10000 */
    else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
  } else {
    *bad = 0;
    return 0;
  }
  if (avail < 2) {
    *bad = avail;
    return 0;
  }
  if (s[1] < lo || s[1] > hi) {
    *bad = 1;
    return 0;
  }
  for (size_t i = 2; i < n; i++) {
    if (i >= avail) {
      *bad = avail;
      return 0;
    }
    if ((s[i] & 0xC0) != 0x80) {
      *bad = i;
      return 0;
    }
  }
  return n;
}

/* Encode code point cp (<= 0x10FFFF, not a surrogate) at out; returns the
 * number of bytes written (1..4). */
static inline size_t json_utf8_encode(uint32_t cp, char *out) {
  unsigned char *o = (unsigned char *)out;
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xC0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Word-at-a-time helpers (bit tricks from "Bit Twiddling Hacks"): non-zero
 * when some byte of w is zero / is below n (n <= 128). */
#define JSON_ONES UINT64_C(0x0101010101010101)
#define JSON_HIGHS UINT64_C(0x8080808080808080)
static inline uint64_t json_has_zero(uint64_t w) {
  return (w - JSON_ONES) & ~w & JSON_HIGHS;
}
static inline uint64_t json_has_less(uint64_t w, unsigned n) {
  return (w - JSON_ONES * n) & ~w & JSON_HIGHS;
}
static inline uint64_t json_load64(const void *p) {
  uint64_t w;
  memcpy(&w, p, sizeof w);
  return w;
}

/* Non-zero when one of the 8 bytes at p is special inside a JSON string:
 * '"', '\\', a control character (< 0x20) or a non-ASCII byte. */
static inline uint64_t json_word_special(uint64_t w) {
  return json_has_less(w, 0x20) | json_has_zero(w ^ (JSON_ONES * '"')) |
         json_has_zero(w ^ (JSON_ONES * '\\')) | (w & JSON_HIGHS);
}

/* The first byte at or after c that is special inside a JSON string
 * ('"', '\\', a control character or a non-ASCII byte).  One must come
 * (the '\0' sentinel of a buffer does), and the 15 bytes after it must be
 * readable: blocks are loaded whole.
 *
 * Shaped for short strings, which most JSON names and values are: with
 * SSE2 (every x86-64) a 16-byte block costs six vector operations and a
 * bit scan, so a string under 16 bytes is crossed without looping.  The
 * plain bytes are computed rather than the special ones, because a signed
 * "greater than 0x1F" is one instruction and rules out both the controls
 * and, as bytes >= 0x80 are negative when signed, the non-ASCII bytes.
 * Elsewhere the words of json_word_special are used, 8 bytes at a time. */
static inline const char *json_skip_plain(const char *c) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i below_space = _mm_set1_epi8(0x1F);
  for (;;) {
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)c);
    __m128i plain = _mm_andnot_si128(
        _mm_or_si128(_mm_cmpeq_epi8(b, quote), _mm_cmpeq_epi8(b, backslash)),
        _mm_cmpgt_epi8(b, below_space));
    unsigned special = (unsigned)_mm_movemask_epi8(plain) ^ 0xFFFFu;
    if (special != 0) return c + __builtin_ctz(special);
    c += 16;
  }
#else
  while (json_word_special(json_load64(c)) == 0) c += 8;
  for (;;) {
    unsigned char ch = (unsigned char)*c;
    if (ch < 0x20 || ch >= 0x80 || ch == '"' || ch == '\\') return c;
    c++;
  }
#endif
}

/* Position of the first invalid byte of s[0..len), or len if it is all
 * valid UTF-8. */
static inline size_t json_utf8_check(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, bad;
  while (i < len) {
#if defined(__SSE2__)
    /* An ASCII run: the sign bits of 16 bytes at once. */
    while (i + 16 <= len &&
           _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i))) == 0)
      i += 16;
#endif
    while (i + 8 <= len && (json_load64(s + i) & JSON_HIGHS) == 0) i += 8;
    if (i >= len) break;
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = json_utf8_sequence(s + i, len - i, &bad);
    if (n == 0) return i;
    i += n;
  }
  return len;
}

#endif /* JSON_UTF8_H */
