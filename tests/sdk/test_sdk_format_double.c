/*
 * test_sdk_format_double.c - doubles are written in the shortest form that
 * reads back as the same value (sdk/format_double.c, used by nb_view_text):
 * known values, every power of two, subnormals, and a million random bit
 * patterns, each checked against strtod: the text reads back bit for bit,
 * it is JSON number syntax, and no decimal with one digit fewer reads back.
 * The integer-arithmetic path (sdk/shortest_digits.c) writes the same
 * bytes as the printf and strtod path on all of them and 4 million more.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

static uint64_t bits_of(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}

static double double_of(uint64_t b) {
  double v;
  memcpy(&v, &b, sizeof v);
  return v;
}

/* The text nb_view_text gives for v (the path destinations use). */
static size_t view_text(double v, char *scratch, const char **text) {
  NbColumnView view;
  memset(&view, 0, sizeof view);
  view.field.type = NB_TYPE_FLOAT64;
  view.data = (const uint8_t *)&v;
  return nb_view_text(&view, 0, scratch, text);
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s) {
  if (*s == '-') s++;
  if (*s == '0') s++;
  else if (*s >= '1' && *s <= '9') while (*s >= '0' && *s <= '9') s++;
  else return false;
  if (*s == '.') {
    s++;
    if (!(*s >= '0' && *s <= '9')) return false;
    while (*s >= '0' && *s <= '9') s++;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-') s++;
    if (!(*s >= '0' && *s <= '9')) return false;
    while (*s >= '0' && *s <= '9') s++;
  }
  return *s == '\0';
}

/* Significant digits of a decimal text: leading zeros and the exponent
 * not counted, trailing zeros of the mantissa not counted. */
static int significant_digits(const char *s) {
  char digits[64];
  int n = 0;
  for (; *s != '\0' && *s != 'e' && *s != 'E'; s++)
    if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0')) digits[n++] = *s;
  while (n > 1 && digits[n - 1] == '0') n--;
  return n;
}

/* No decimal of `digits` significant digits reads back as v.  Those that
 * could are the two around |v| (reading is monotonic): the nearest one,
 * printed by %e, and its neighbours one unit in the last place away. */
static void assert_no_shorter(double v, int digits) {
  char text[64], candidate[64];
  uint64_t mantissa = 0;
  int exp10, i;
  const char *p;
  if (digits < 1) return;
  snprintf(text, sizeof text, "%.*e", digits - 1, fabs(v));
  for (p = text; *p != 'e'; p++)
    if (*p >= '0' && *p <= '9') mantissa = mantissa * 10 + (uint64_t)(*p - '0');
  exp10 = atoi(p + 1) - (digits - 1);
  for (i = -1; i <= 1; i++) {
    snprintf(candidate, sizeof candidate, "%s%" PRIu64 "e%d", v < 0 ? "-" : "",
             mantissa + (uint64_t)(int64_t)i, exp10);
    if (bits_of(strtod(candidate, NULL)) == bits_of(v))
      fail_msg("%.17g: \"%s\" (%d digits) also reads back", v, candidate, digits);
  }
}

/* The integer-arithmetic formatter (shortest_digits.c) must write the
 * very bytes of the printf and strtod path it replaced. */
static void same_as_printf_path(double v, const char *fast) {
  char slow[NBSDK_DOUBLE_CHARS];
  nbsdk_format_double_printf(v, slow, sizeof slow);
  if (strcmp(fast, slow) != 0)
    fail_msg("%.17g (bits %016" PRIx64 "): \"%s\", the printf path \"%s\"", v, bits_of(v), fast,
             slow);
}

/* The full property for one finite value; returns the text's digits. */
static int check_value(double v) {
  char out[NBSDK_DOUBLE_CHARS], scratch[NB_TEXT_SCRATCH];
  const char *text;
  size_t len = nbsdk_format_double(v, out, sizeof out);
  int digits;
  if (len != strlen(out) || len == 0) fail_msg("%.17g: length %zu for \"%s\"", v, len, out);
  if (bits_of(strtod(out, NULL)) != bits_of(v))
    fail_msg("%.17g (bits %016" PRIx64 "): \"%s\" reads back as %.17g", v, bits_of(v), out,
             strtod(out, NULL));
  if (!json_number(out)) fail_msg("%.17g: \"%s\" is not a JSON number", v, out);
  digits = significant_digits(out);
  if (v != 0) assert_no_shorter(v, digits - 1);
  same_as_printf_path(v, out);
  len = view_text(v, scratch, &text);
  if (len != strlen(out) || memcmp(text, out, len) != 0)
    fail_msg("%.17g: nb_view_text says \"%.*s\", the formatter \"%s\"", v, (int)len, text, out);
  return digits;
}

static void expect(double v, const char *want) {
  char scratch[NB_TEXT_SCRATCH];
  const char *text;
  size_t len = view_text(v, scratch, &text);
  if (len != strlen(want) || memcmp(text, want, len) != 0)
    fail_msg("%.17g: got \"%.*s\", want \"%s\"", v, (int)len, text, want);
  if (isfinite(v)) check_value(v);
}

static void test_known_values(void **state) {
  (void)state;
  expect(5e-324, "5e-324");          /* the example */
  expect(-5e-324, "-5e-324");
  expect(1e-323, "1e-323");
  expect(2.2250738585072009e-308, "2.225073858507201e-308"); /* largest subnormal */
  expect(DBL_MIN, "2.2250738585072014e-308");
  expect(DBL_MAX, "1.7976931348623157e+308");
  expect(-DBL_MAX, "-1.7976931348623157e+308");
  expect(0.0, "0");
  expect(-0.0, "-0");
  expect(0.1, "0.1");
  expect(0.3, "0.3");
  expect(0.1 + 0.2, "0.30000000000000004");
  expect(1.0, "1");
  expect(100.0, "100");
  expect(11.31, "11.31");
  expect(-2.5, "-2.5");
  expect(1e21, "1e+21");
  expect(1e-7, "1e-07");
  expect(123456789012345680.0, "1.2345678901234568e+17");
  expect(9007199254740993.0, "9007199254740992"); /* 2^53 + 1 rounds to 2^53 */
  expect(5e-324 * 3, "1.5e-323");
  expect(1.0 / 3.0, "0.3333333333333333");
  expect(2.0 / 3.0, "0.6666666666666666");
}

static void test_nan_and_infinity_unchanged(void **state) {
  char scratch[NB_TEXT_SCRATCH];
  const char *text;
  size_t len;
  (void)state;
  len = view_text(INFINITY, scratch, &text);
  assert_int_equal(len, 3);
  assert_memory_equal(text, "inf", 3);
  len = view_text(-INFINITY, scratch, &text);
  assert_memory_equal(text, "-inf", len);
  len = view_text(NAN, scratch, &text);
  assert_true(strstr(text, "nan") != NULL);
}

static void test_powers_of_two(void **state) {
  int e;
  (void)state;
  for (e = -1074; e <= 1023; e++) {
    check_value(ldexp(1.0, e));
    check_value(-ldexp(1.0, e));
  }
}

static void test_subnormals(void **state) {
  uint64_t b;
  (void)state;
  for (b = 1; b < 5000; b++) check_value(double_of(b));
  for (b = 0x000fffffffffffffULL; b > 0x000fffffffffffffULL - 5000; b--)
    check_value(double_of(b));
  for (b = 1; b < (1ULL << 52); b = b * 3 + 1) check_value(double_of(b));
}

static void test_neighbours_of_powers_of_ten(void **state) {
  int e;
  (void)state;
  for (e = -323; e <= 308; e++) {
    double v = pow(10.0, e);
    if (!isfinite(v) || v == 0) continue;
    check_value(v);
    check_value(nextafter(v, 0));
    check_value(nextafter(v, INFINITY));
  }
}

/* xorshift64*: a fixed sequence, so a failure can be reproduced. */
static uint64_t next_random(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ULL;
}

static void test_random_bit_patterns(void **state) {
  uint64_t seed = 0x9e3779b97f4a7c15ULL, i, checked = 0;
  int lengths[18] = {0};
  (void)state;
  for (i = 0; i < 1000000; i++) {
    double v = double_of(next_random(&seed));
    if (!isfinite(v)) continue;
    lengths[check_value(v)]++;
    checked++;
  }
  assert_true(checked > 990000);
  /* Random bits mostly need 16 or 17 digits: the slow paths ran. */
  assert_true(lengths[16] > 0 && lengths[17] > 0);
}

/* Short decimals as data has them: the fast path. */
static void test_short_decimals(void **state) {
  uint64_t seed = 12345, i;
  char text[64];
  (void)state;
  for (i = 0; i < 200000; i++) {
    uint64_t r = next_random(&seed);
    int exp10 = (int)((r >> 8) % 40) - 20;
    uint64_t m = (r >> 16) % 1000000000000000ULL;
    double v;
    snprintf(text, sizeof text, "%" PRIu64 "e%d", m, exp10);
    v = strtod(text, NULL);
    if (v != 0) assert_true(check_value(v) <= 15);
  }
}

/* Values as data has them, against the printf path only (cheaper than
 * check_value, so millions): quotients like i / 7.0, floats widened to
 * double, integers around 2^53 and 10^15..10^17 (where %g switches to
 * the exponent form), 16 and 17 digit decimals and their neighbours. */
static void test_fast_path_matches_printf_path(void **state) {
  uint64_t seed = 777, i;
  char fast[NBSDK_DOUBLE_CHARS], text[64];
  (void)state;
  for (i = 1; i <= 4000000; i++) {
    uint64_t r = next_random(&seed);
    double v;
    switch (i % 8) {
      case 0: v = (double)i / 7.0; break;
      case 1: v = (double)(float)((double)(r >> 11) * 0x1p-53 * 1e6); break;
      case 2: v = (double)(r >> (r % 64)); break;
      case 3: v = (double)(9007199254740992ULL - 500 + (r % 1000)) * ((r & 1) ? 1 : 10); break;
      case 4: v = ldexp((double)(r >> 11), (int)(r % 2100) - 1100); break;
      case 5:
        snprintf(text, sizeof text, "%" PRIu64 "e%d", r % UINT64_C(100000000000000000),
                 (int)((r >> 57) % 60) - 30);
        v = strtod(text, NULL);
        break;
      case 6: v = nextafter((double)(r % 1000000) / 100.0, (r & 1) ? INFINITY : 0); break;
      default: v = (double)(int64_t)(r % 200000000000000000ULL) * 0.001; break;
    }
    if (r & 2) v = -v;
    if (!isfinite(v)) continue;
    nbsdk_format_double(v, fast, sizeof fast);
    same_as_printf_path(v, fast);
  }
}

static void test_small_buffer(void **state) {
  char out[8];
  (void)state;
  memset(out, 'x', sizeof out);
  assert_int_equal(nbsdk_format_double(1.5, out, sizeof out), 0);
  assert_string_equal(out, "");
}

/* The public name (sdk.h, ABI 1.2) is the same algorithm. */
static void test_public_name(void **state) {
  char out[NB_DOUBLE_CHARS], small[8];
  (void)state;
  assert_int_equal(nb_format_double(5e-324, out, sizeof out), 6);
  assert_string_equal(out, "5e-324");
  assert_int_equal(nb_format_double(0.1, out, sizeof out), 3);
  assert_string_equal(out, "0.1");
  assert_int_equal(nb_format_double(0.1f, out, sizeof out), 19);
  assert_string_equal(out, "0.10000000149011612");
  assert_int_equal(nb_format_double(1.5, small, sizeof small), 0);
  assert_string_equal(small, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_values),
      cmocka_unit_test(test_public_name),
      cmocka_unit_test(test_nan_and_infinity_unchanged),
      cmocka_unit_test(test_powers_of_two),
      cmocka_unit_test(test_subnormals),
      cmocka_unit_test(test_neighbours_of_powers_of_ten),
      cmocka_unit_test(test_random_bit_patterns),
      cmocka_unit_test(test_short_decimals),
      cmocka_unit_test(test_fast_path_matches_printf_path),
      cmocka_unit_test(test_small_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
