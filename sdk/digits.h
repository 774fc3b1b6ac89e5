/*
 * digits.h - decimal digits of an unsigned 64-bit integer, two per
 * division (a table of "00" to "99"): the text of integers, dates,
 * timestamps, decimals and doubles of every row goes through here, so it
 * is inline.
 */
#ifndef NEBULA_SDK_DIGITS_H
#define NEBULA_SDK_DIGITS_H

#include <stdint.h>

/* "00" to "99": two digits per division, half the divisions of one at a
 * time (integers, dates and timestamps of every row come through here). */
static const char DIGIT_PAIRS[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of v, ending just before end; returns the first. */
static inline char *nbsdk_u64_digits(uint64_t v, char *end) {
  char *p = end;
  while (v >= 100) {
    unsigned pair = (unsigned)(v % 100) * 2;
    v /= 100;
    p -= 2;
    p[0] = DIGIT_PAIRS[pair];
    p[1] = DIGIT_PAIRS[pair + 1];
  }
  if (v >= 10) {
    p -= 2;
    p[0] = DIGIT_PAIRS[v * 2];
    p[1] = DIGIT_PAIRS[v * 2 + 1];
  } else {
    *--p = (char)('0' + v);
  }
  return p;
}

#endif
