/*
 * shortest_digits.c - the shortest decimal digits that read back as a
 * given double, in exact integer arithmetic (no printf, no strtod): the
 * Ryu algorithm (Ulf Adams, "Ryu: fast float-to-string conversion", PLDI
 * 2018), written from the paper.
 *
 * A positive double v = m2 * 2^e2 reads back from every decimal strictly
 * inside (or, for an even m2, on the border of) the interval between its
 * neighbours' midpoints.  With the three points scaled by 4 (so the
 * midpoints are integers: 4*m2 - 1 or - 2 below, 4*m2 + 2 above) and
 * multiplied by 10^-e10 through a 128-bit power of five, we get integers
 * vm < vr < vp.  Dropping decimal digits from all three while vp and vm
 * still differ after the drop gives the fewest digits of a decimal inside
 * the interval; vr, rounded by the last digit dropped (ties to even),
 * makes it the nearest such decimal to v.  Whether the dropped digits (and
 * the digits the multiplication already dropped) were all zero decides
 * the borders and the ties: they are tracked exactly.
 *
 * The result is the same decimal that format_double.c's printf path finds
 * (the nearest decimal of the fewest digits that reads back; ties to
 * even): tests/test_sdk_format_double.c compares the two on millions of
 * doubles.  Needs 128-bit integers: without them the caller uses printf.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sdk_internal.h"

#ifdef __SIZEOF_INT128__
#include "format_double_tables.h"

__extension__ typedef unsigned __int128 u128;

/* floor(e * log10(2)), for 0 <= e <= 1650. */
static int32_t log10_pow2(int32_t e) { return (int32_t)(((uint32_t)e * 78913u) >> 18); }

/* floor(e * log10(5)), for 0 <= e <= 2620. */
static int32_t log10_pow5(int32_t e) { return (int32_t)(((uint32_t)e * 732923u) >> 20); }

/* ceil(e * log2(5)) (1 for e = 0): the bit length of 5^e. */
static int32_t pow5_bits(int32_t e) { return (int32_t)((((uint32_t)e * 1217359u) >> 19) + 1); }

static bool multiple_of_pow5(uint64_t value, int32_t p) {
  int32_t count = 0;
  while (value != 0 && value % 5 == 0) {
    value /= 5;
    count++;
  }
  return count >= p;
}

static bool multiple_of_pow2(uint64_t value, int32_t p) {
  return (value & ((UINT64_C(1) << p) - 1)) == 0;
}

/* (m * mul) >> j, where mul is a 128-bit {low, high} and j >= 64. */
static uint64_t mul_shift(uint64_t m, const uint64_t mul[2], int32_t j) {
  u128 low = (u128)m * mul[0];
  u128 high = (u128)m * mul[1];
  return (uint64_t)(((low >> 64) + high) >> (j - 64));
}

/* The scaled interval of one double and what exactness facts are known. */
typedef struct {
  uint64_t vr, vp, vm;
  int32_t e10;
  bool vr_trailing_zeros, vm_trailing_zeros;
} Scaled;

/* Scale v's midpoints for e2 >= 0 (v is an integer times a power of 2). */
static void scale_up(uint64_t m2, int32_t e2, uint32_t mm_shift, bool accept_bounds, Scaled *s) {
  uint64_t mv = 4 * m2;
  int32_t q = log10_pow2(e2) - (e2 > 3);
  int32_t j = -e2 + q + NBSDK_POW5_BITS + pow5_bits(q) - 1;
  s->e10 = q;
  s->vr = mul_shift(4 * m2, nbsdk_pow5_inv[q], j);
  s->vp = mul_shift(4 * m2 + 2, nbsdk_pow5_inv[q], j);
  s->vm = mul_shift(4 * m2 - 1 - mm_shift, nbsdk_pow5_inv[q], j);
  /* Only small q can make a scaled value an exact integer (5^q | value);
   * at most one of the three is a multiple of 5. */
  if (q <= 21) {
    if (mv % 5 == 0)
      s->vr_trailing_zeros = multiple_of_pow5(mv, q);
    else if (accept_bounds)
      s->vm_trailing_zeros = multiple_of_pow5(mv - 1 - mm_shift, q);
    else
      s->vp -= multiple_of_pow5(mv + 2, q); /* exclusive upper border */
  }
}

/* Scale v's midpoints for e2 < 0 (v has a binary fraction). */
static void scale_down(uint64_t m2, int32_t e2, uint32_t mm_shift, bool accept_bounds, Scaled *s) {
  uint64_t mv = 4 * m2;
  int32_t q = log10_pow5(-e2) - (-e2 > 1);
  int32_t i = -e2 - q;
  int32_t j = q - (pow5_bits(i) - NBSDK_POW5_BITS);
  s->e10 = q + e2;
  s->vr = mul_shift(4 * m2, nbsdk_pow5[i], j);
  s->vp = mul_shift(4 * m2 + 2, nbsdk_pow5[i], j);
  s->vm = mul_shift(4 * m2 - 1 - mm_shift, nbsdk_pow5[i], j);
  if (q <= 1) {
    /* mv * 5^i / 2^q is exact: mv has at least 2 trailing zero bits. */
    s->vr_trailing_zeros = true;
    if (accept_bounds)
      s->vm_trailing_zeros = mm_shift == 1;
    else
      s->vp--; /* exclusive upper border */
  } else if (q < 63) {
    s->vr_trailing_zeros = multiple_of_pow2(mv, q);
  }
}

/* Drop digits while the interval still holds a shorter decimal, when the
 * borders or a tie may matter (exactness known). */
static uint64_t shortest_exact(Scaled *s, bool accept_bounds, int32_t *removed) {
  uint32_t last_removed = 0;
  while (s->vp / 10 > s->vm / 10) {
    s->vm_trailing_zeros &= s->vm % 10 == 0;
    s->vr_trailing_zeros &= last_removed == 0;
    last_removed = (uint32_t)(s->vr % 10);
    s->vr /= 10;
    s->vp /= 10;
    s->vm /= 10;
    (*removed)++;
  }
  if (s->vm_trailing_zeros) {
    /* vm is exact and inside: more of its zeros may go. */
    while (s->vm % 10 == 0) {
      s->vr_trailing_zeros &= last_removed == 0;
      last_removed = (uint32_t)(s->vr % 10);
      s->vr /= 10;
      s->vp /= 10;
      s->vm /= 10;
      (*removed)++;
    }
  }
  if (s->vr_trailing_zeros && last_removed == 5 && s->vr % 2 == 0)
    last_removed = 4; /* an exact tie: round to even */
  return s->vr + ((s->vr == s->vm && (!accept_bounds || !s->vm_trailing_zeros)) || last_removed >= 5);
}

/* The common case: no border or tie question. */
static uint64_t shortest_common(Scaled *s, int32_t *removed) {
  bool round_up = false;
  while (s->vp / 10 > s->vm / 10) {
    round_up = s->vr % 10 >= 5;
    s->vr /= 10;
    s->vp /= 10;
    s->vm /= 10;
    (*removed)++;
  }
  return s->vr + (s->vr == s->vm || round_up);
}

bool nbsdk_shortest_digits(double v, uint64_t *digits, int32_t *exp10) {
  uint64_t bits, mantissa, m2;
  uint32_t exponent, mm_shift;
  int32_t e2, removed = 0;
  bool accept_bounds;
  Scaled s;

  memcpy(&bits, &v, sizeof bits);
  mantissa = bits & ((UINT64_C(1) << 52) - 1);
  exponent = (uint32_t)((bits >> 52) & 0x7ff);
  if (exponent == 0x7ff || (exponent == 0 && mantissa == 0)) return false;
  if (exponent == 0) {
    e2 = 1 - 1023 - 52 - 2;
    m2 = mantissa;
  } else {
    e2 = (int32_t)exponent - 1023 - 52 - 2;
    m2 = (UINT64_C(1) << 52) | mantissa;
  }
  /* strtod rounds ties to even: an even significand owns its borders. */
  accept_bounds = (m2 & 1) == 0;
  /* The lower neighbour is half as far for a power of two (not for the
   * smallest normal exponent). */
  mm_shift = mantissa != 0 || exponent <= 1;
  memset(&s, 0, sizeof s);
  if (e2 >= 0)
    scale_up(m2, e2, mm_shift, accept_bounds, &s);
  else
    scale_down(m2, e2, mm_shift, accept_bounds, &s);
  if (s.vm_trailing_zeros || s.vr_trailing_zeros)
    *digits = shortest_exact(&s, accept_bounds, &removed);
  else
    *digits = shortest_common(&s, &removed);
  *exp10 = s.e10 + removed;
  return true;
}

#else /* no 128-bit integers: format_double.c uses printf and strtod */

bool nbsdk_shortest_digits(double v, uint64_t *digits, int32_t *exp10) {
  (void)v;
  (void)digits;
  (void)exp10;
  return false;
}

#endif
