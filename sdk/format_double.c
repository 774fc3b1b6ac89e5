/*
 * format_double.c - the shortest decimal text that reads back (strtod,
 * round to nearest) as exactly the same double (issue 9, item 7).
 *
 * Built on the C library's correctly rounded printf and strtod, with the
 * reasoning that makes the result provably the shortest:
 *
 *  - L(p), the decimals of at most p significant digits, grows with p, so
 *    the nearest element of L(p + 1) to v is no farther from v than the
 *    nearest of L(p); "%.{p-1}e" prints that nearest element.
 *  - The numbers that read back as v form an interval around v.  It is
 *    symmetric except when v's significand is a power of two (and v is
 *    above DBL_MIN): then the part below v is half as wide.  In a
 *    symmetric interval, if any element of L(p) is inside, the nearest is.
 *    In the asymmetric one, the nearest or the next one above v is.
 *  - DBL_DIG (15): every decimal of <= 15 digits that reads as a normal v
 *    is what "%.15g" prints for v.  So when "%.15g" reads back, it is the
 *    one and only candidate of <= 15 digits (with %g's trailing zeros
 *    gone): the shortest.  That is the fast path, one printf and one
 *    strtod, and it covers nearly all data (prices, measurements).
 *  - Otherwise a normal v needs 16 or 17 digits: "%.16g", then the next
 *    16-digit decimal above v for a power of two, then "%.17g", which
 *    always reads back.
 *  - Subnormals have fewer significant bits, so DBL_DIG does not hold
 *    (5e-324 was printed as 4.94065645841247e-324): for them a binary
 *    search over p = 1..17, valid because reading back is monotonic in p
 *    (their interval is symmetric).
 *
 * Syntax is %g's: "0.1", "1e+21", "5e-324", "-0"; NaN and infinities come
 * out as printf writes them ("nan", "inf"), as before.
 */
#include <float.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "sdk_internal.h"

/* v formatted with %.{precision}g, and whether it reads back as v. */
static bool try_g(double v, int precision, char *out, size_t cap, size_t *len) {
  int n = snprintf(out, cap, "%.*g", precision, v);
  *len = n > 0 ? (size_t)n : 0;
  return strtod(out, NULL) == v;
}

/* printf's exponent: "e+21", "e-05", "e-324". */
static char *print_exponent(int exp10, char *q) {
  int e = exp10 < 0 ? -exp10 : exp10;
  *q++ = 'e';
  *q++ = exp10 < 0 ? '-' : '+';
  if (e >= 100) *q++ = (char)('0' + e / 100);
  *q++ = (char)('0' + e / 10 % 10);
  *q++ = (char)('0' + e % 10);
  return q;
}

/* Print a decimal given as `digits` (n significant digits, no leading
 * zero) times 10^exp10, where exp10 is the power of the first digit,
 * exactly as "%.{precision}g" would (trailing zeros dropped; precision >= n
 * only decides between the plain and the exponent form). */
static size_t print_g(bool negative, const char *digits, int n, int precision, int exp10, char *out) {
  char *q = out;
  while (n > 1 && digits[n - 1] == '0') n--;
  if (negative) *q++ = '-';
  if (exp10 < -4 || exp10 >= precision) {
    *q++ = digits[0];
    if (n > 1) {
      *q++ = '.';
      memcpy(q, digits + 1, (size_t)n - 1);
      q += n - 1;
    }
    q = print_exponent(exp10, q);
  } else if (exp10 < 0) {
    *q++ = '0';
    *q++ = '.';
    for (int k = -1; k > exp10; k--) *q++ = '0';
    memcpy(q, digits, (size_t)n);
    q += n;
  } else {
    for (int k = 0; k <= exp10; k++) *q++ = k < n ? digits[k] : '0';
    if (n > exp10 + 1) {
      *q++ = '.';
      memcpy(q, digits + exp10 + 1, (size_t)(n - exp10 - 1));
      q += n - exp10 - 1;
    }
  }
  *q = '\0';
  return (size_t)(q - out);
}

/* For a power of two: the smallest 16-digit decimal above |v|, if it
 * reads back as v, printed into out. */
static bool try_next_above(double v, char *out, size_t *len) {
  char e[40], digits[17];
  char *mark;
  int exp10, i;
  snprintf(e, sizeof e, "%.15e", fabs(v)); /* d.ddddddddddddddde+XX */
  mark = strchr(e, 'e');
  if (mark == NULL || mark - e != 17) return false;
  exp10 = atoi(mark + 1);
  digits[0] = e[0];
  memcpy(digits + 1, e + 2, 15);
  for (i = 15; i >= 0 && digits[i] == '9'; i--) digits[i] = '0';
  if (i < 0) {
    digits[0] = '1';
    exp10++;
  } else {
    digits[i]++;
  }
  /* The candidate is above v: a plain strtod of it, as the reader does. */
  snprintf(e, sizeof e, "%s%c.%.15se%d", v < 0 ? "-" : "", digits[0], digits + 1, exp10);
  if (strtod(e, NULL) != v) return false;
  *len = print_g(v < 0, digits, 16, 16, exp10, out);
  return true;
}

static bool power_of_two(double v) {
  int exp2;
  return frexp(fabs(v), &exp2) == 0.5;
}

/* Subnormals: the smallest p that reads back, by binary search. */
static size_t shortest_by_search(double v, char *out, size_t cap) {
  int lo = 1, hi = 17;
  size_t len;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (try_g(v, mid, out, cap, &len))
      hi = mid;
    else
      lo = mid + 1;
  }
  try_g(v, lo, out, cap, &len);
  return len;
}

/* The printf and strtod path: correct on every platform, slow (libc's
 * multi-precision arithmetic, several times per value). */
size_t nbsdk_format_double_printf(double v, char *out, size_t cap) {
  size_t len;
  if (cap < NBSDK_DOUBLE_CHARS) {
    if (cap > 0) out[0] = '\0';
    return 0;
  }
  switch (fpclassify(v)) {
    case FP_NAN:
    case FP_INFINITE:
    case FP_ZERO:
      return (size_t)snprintf(out, cap, "%g", v);
    case FP_SUBNORMAL:
      return shortest_by_search(v, out, cap);
    default:
      break;
  }
  if (try_g(v, 15, out, cap, &len) || try_g(v, 16, out, cap, &len)) return len;
  if (power_of_two(v) && try_next_above(v, out, &len)) return len;
  try_g(v, 17, out, cap, &len);
  return len;
}

/* The digits from shortest_digits.c, printed as the printf path would:
 * "%.15g" when 15 digits or fewer suffice, else "%.16g" or "%.17g" (the
 * precision only decides between the plain and the exponent form). */
static size_t print_shortest(bool negative, uint64_t digits, int32_t exp10, char *out) {
  char text[24];
  const char *first = nbsdk_u64_digits(digits, text + sizeof text);
  int n = (int)(text + sizeof text - first);
  /* print_g drops trailing zeros; the precision counts the digits kept. */
  int kept = n;
  while (kept > 1 && first[kept - 1] == '0') kept--;
  return print_g(negative, first, n, kept < 15 ? 15 : kept, exp10 + n - 1, out);
}

size_t nbsdk_format_double(double v, char *out, size_t cap) {
  uint64_t digits;
  int32_t exp10;
  /* Normal doubles (nearly all data) in integer arithmetic; subnormals,
   * zeros, NaN and infinities as before. */
  if (cap >= NBSDK_DOUBLE_CHARS && fpclassify(v) == FP_NORMAL &&
      nbsdk_shortest_digits(v, &digits, &exp10))
    return print_shortest(signbit(v) != 0, digits, exp10, out);
  return nbsdk_format_double_printf(v, out, cap);
}

/* The public name (sdk.h); NB_DOUBLE_CHARS is NBSDK_DOUBLE_CHARS. */
size_t nb_format_double(double v, char *out, size_t cap) {
  return nbsdk_format_double(v, out, cap);
}
