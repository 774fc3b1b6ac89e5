/*
 * csv_scan.h - find the next byte that matters to CSV syntax (the
 * delimiter, the quote character, CR or LF) in a run of bytes.
 *
 * Shared by the reader (to find where a field ends) and the writer (to
 * decide whether a value needs quoting).  Most bytes of a CSV file are
 * ordinary, so the search looks at 16 bytes per step with SSE2 (four byte
 * compares, one movemask, one count-trailing-zeros) and falls back to a
 * table lookup per byte for the last few bytes of a run and on machines
 * without SSE2.  The loads never go past `end`.
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

/* The first special byte in [p, end), or end if there is none. */
static inline const char *csv_scan_special(const CsvScanner *s, const char *p,
                                           const char *end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, s->v_delim), _mm_cmpeq_epi8(x, s->v_quote)),
        _mm_or_si128(_mm_cmpeq_epi8(x, s->v_cr), _mm_cmpeq_epi8(x, s->v_lf)));
    unsigned bits = (unsigned)_mm_movemask_epi8(m);
    if (bits != 0) return p + __builtin_ctz(bits);
    p += 16;
  }
#endif
  while (p < end && !s->special[(unsigned char)*p]) p++;
  return p;
}

#endif /* CSV_SCAN_H */
