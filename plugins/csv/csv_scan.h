/*
 * csv_scan.h - find the bytes that matter to CSV syntax (the delimiter,
 * the quote character, CR or LF) in a run of bytes.
 *
 * Shared by the reader and the writer.  Most bytes of a CSV file are
 * ordinary, so both look at 16 bytes per step with SSE2 (four byte
 * compares, one movemask) and fall back to a table lookup per byte on
 * machines without SSE2:
 *   - csv_scan_special finds the first special byte of a run (the writer:
 *     does a value need quotes?); its loads never go past `end`;
 *   - csv_scan_mask64 gives a bitmask of the special bytes among 64 (the
 *     reader walks from one field boundary to the next with count-trailing-
 *     zeros, so a typical field costs a few instructions, not a scan).
 */
#ifndef CSV_SCAN_H
#define CSV_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct CsvScanner {
  uint8_t special[256]; /* 1 for delimiter, quote, CR, LF */
#if defined(__SSE2__)
  __m128i v_delim, v_quote, v_cr, v_lf;
#endif
} CsvScanner;

static inline void csv_scanner_init(CsvScanner *s, char delim, char quote) {
  memset(s->special, 0, sizeof s->special);
  s->special[(unsigned char)delim] = 1;
  s->special[(unsigned char)quote] = 1;
  s->special['\r'] = 1;
  s->special['\n'] = 1;
#if defined(__SSE2__)
  s->v_delim = _mm_set1_epi8(delim);
  s->v_quote = _mm_set1_epi8(quote);
  s->v_cr = _mm_set1_epi8('\r');
  s->v_lf = _mm_set1_epi8('\n');
#endif
}

#if defined(__SSE2__)
static inline unsigned csv_scan_mask16(const CsvScanner *s, const char *p) {
  __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i m = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(x, s->v_delim), _mm_cmpeq_epi8(x, s->v_quote)),
      _mm_or_si128(_mm_cmpeq_epi8(x, s->v_cr), _mm_cmpeq_epi8(x, s->v_lf)));
  return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* Bit i set when p[i] is special, for i < avail (at most 64).  Reads 64
 * bytes whatever avail is: the caller keeps 64 readable bytes after p. */
static inline uint64_t csv_scan_mask64(const CsvScanner *s, const char *p, size_t avail) {
  uint64_t m = 0;
#if defined(__SSE2__)
  m = (uint64_t)csv_scan_mask16(s, p) | (uint64_t)csv_scan_mask16(s, p + 16) << 16 |
      (uint64_t)csv_scan_mask16(s, p + 32) << 32 | (uint64_t)csv_scan_mask16(s, p + 48) << 48;
#else
  for (unsigned i = 0; i < 64; i++) m |= (uint64_t)s->special[(unsigned char)p[i]] << i;
#endif
  if (avail < 64) m &= ((uint64_t)1 << avail) - 1;
  return m;
}

/* csv_scan_mask64, and *non_ascii set to whether any of the 64 bytes at p
 * has its high bit set.  The reader zeroes the bytes after its data, so
 * bytes past avail count only where they are data (a false "non-ASCII"
 * merely costs the caller a full UTF-8 check). */
static inline __attribute__((always_inline)) uint64_t csv_scan_mask64_ascii(const CsvScanner *s, const char *p, size_t avail,
                                             bool *non_ascii) {
  uint64_t m = 0;
#if defined(__SSE2__)
  __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
  __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
  __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
  *non_ascii = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(x0, x1), _mm_or_si128(x2, x3))) != 0;
  m = (uint64_t)csv_scan_mask16(s, p) | (uint64_t)csv_scan_mask16(s, p + 16) << 16 |
      (uint64_t)csv_scan_mask16(s, p + 32) << 32 | (uint64_t)csv_scan_mask16(s, p + 48) << 48;
#else
  unsigned high = 0;
  for (unsigned i = 0; i < 64; i++) {
    m |= (uint64_t)s->special[(unsigned char)p[i]] << i;
    high |= (unsigned char)p[i] & 0x80u;
  }
  *non_ascii = high != 0;
#endif
  if (avail < 64) m &= ((uint64_t)1 << avail) - 1;
  return m;
}

/* The first special byte in [p, end), or end if there is none. */
static inline const char *csv_scan_special(const CsvScanner *s, const char *p,
                                           const char *end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    unsigned bits = csv_scan_mask16(s, p);
    if (bits != 0) return p + __builtin_ctz(bits);
    p += 16;
  }
#endif
  while (p < end && !s->special[(unsigned char)*p]) p++;
  return p;
}

#endif /* CSV_SCAN_H */
