/*
 * test_pg_values.c - the postgresql connector's parsers of the server's
 * text output, on memory: COPY text rows (escapes, \N versus "\\N", empty
 * fields, wrong field counts, a lone trailing backslash), the escaper that
 * writes COPY rows, and exact parsing of integers, floats, booleans, dates
 * and timestamps at and beyond their limits (every refusal is a refusal,
 * never a shifted or rounded value); numeric(p,s) text into decimal128(p,s)
 * digit for digit (NaN, Infinity and extra digits refused, never rounded).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pg_copytext.h"
#include "pg_values.h"

static int decode(const char *row, NbStringRef *f, size_t n, char *buf) {
  size_t len = strlen(row);
  memcpy(buf, row, len + 1);
  return pg_copy_decode_row(buf, len, f, n, NULL);
}

static void expect_field(const NbStringRef *f, const char *want) {
  if (want == NULL) {
    assert_null(f->data);
    return;
  }
  assert_non_null(f->data);
  assert_int_equal(f->len, strlen(want));
  assert_memory_equal(f->data, want, f->len);
}

static void test_decode_rows(void **state) {
  NbStringRef f[4];
  char buf[128];
  (void)state;
  assert_int_equal(decode("a\t\\N\t\t\\\\N\n", f, 4, buf), NB_OK);
  expect_field(&f[0], "a");
  expect_field(&f[1], NULL);     /* \N is NULL */
  expect_field(&f[2], "");       /* an empty field is an empty string */
  expect_field(&f[3], "\\N");    /* \\N is the text backslash-N */
  assert_int_equal(decode("\\t\\n\\r\\\\\\b\\f\\v\tx\\101\\x41\\x4g\t\\N\\N\tz", f, 4, buf), NB_OK);
  expect_field(&f[0], "\t\n\r\\\b\f\v");
  expect_field(&f[1], "xAA\x04g");
  expect_field(&f[2], "NN");     /* two escapes: not NULL */
  expect_field(&f[3], "z");
  /* Wrong field counts, and a lone backslash at the end kept as it is. */
  assert_int_equal(decode("a\tb", f, 3, buf), NB_DATA);
  assert_int_equal(decode("a\tb\tc\td\te", f, 4, buf), NB_DATA);
  assert_int_equal(decode("a\\", f, 1, buf), NB_OK);
  expect_field(&f[0], "a\\");
  assert_int_equal(decode("", f, 1, buf), NB_OK);
  expect_field(&f[0], "");
}

static void test_escape(void **state) {
  PgBuf b = {0};
  NbStringRef f[1];
  char buf[64];
  const char value[] = "a\tb\nc\rd\\e\\N";
  (void)state;
  assert_int_equal(pg_copy_escape(&b, value, strlen(value)), NB_OK);
  assert_int_equal(pg_buf_add(&b, "", 1), NB_OK);
  assert_string_equal(b.data, "a\\tb\\nc\\rd\\\\e\\\\N");
  /* And back. */
  assert_int_equal(decode(b.data, f, 1, buf), NB_OK);
  expect_field(&f[0], value);
  pg_buf_free(&b);
}

static void test_integers(void **state) {
  int64_t v;
  (void)state;
  assert_true(pg_parse_int64("-9223372036854775808", 20, &v));
  assert_true(v == INT64_MIN);
  assert_true(pg_parse_int64("9223372036854775807", 19, &v));
  assert_true(v == INT64_MAX);
  assert_false(pg_parse_int64("9223372036854775808", 19, &v));
  assert_false(pg_parse_int64("-9223372036854775809", 20, &v));
  assert_false(pg_parse_int64("", 0, &v));
  assert_false(pg_parse_int64("-", 1, &v));
  assert_false(pg_parse_int64("1x", 2, &v));
  assert_false(pg_parse_int64("+1", 2, &v));
}

static void test_floats(void **state) {
  double d;
  (void)state;
  assert_true(pg_parse_double("NaN", 3, &d) && isnan(d));
  assert_true(pg_parse_double("Infinity", 8, &d) && isinf(d) && d > 0);
  assert_true(pg_parse_double("-Infinity", 9, &d) && isinf(d) && d < 0);
  assert_true(pg_parse_double("5e-324", 6, &d) && d > 0);
  assert_true(pg_parse_double("0.1", 3, &d) && d == 0.1);
  assert_true(pg_parse_double("1.7976931348623157e+308", 23, &d) && d == 1.7976931348623157e+308);
  assert_false(pg_parse_double("1e999", 5, &d));
  assert_false(pg_parse_double("1.5x", 4, &d));
  assert_false(pg_parse_double("", 0, &d));
}

static void test_bools(void **state) {
  bool b;
  (void)state;
  assert_true(pg_parse_bool("t", 1, &b) && b);
  assert_true(pg_parse_bool("f", 1, &b) && !b);
  assert_false(pg_parse_bool("true", 4, &b));
  assert_false(pg_parse_bool("", 0, &b));
}

static void test_dates(void **state) {
  int32_t days;
  (void)state;
  assert_true(pg_parse_date("1970-01-01", 10, &days) && days == 0);
  assert_true(pg_parse_date("2024-02-29", 10, &days) && days == 19782);
  assert_true(pg_parse_date("0001-01-01", 10, &days) && days == -719162);
  assert_true(pg_parse_date("1969-12-31", 10, &days) && days == -1);
  assert_true(pg_parse_date("5874897-12-31", 13, &days) == false); /* 7 year digits */
  assert_true(pg_parse_date("294276-01-01", 12, &days));
  assert_false(pg_parse_date("2023-02-29", 10, &days));
  assert_false(pg_parse_date("2024-13-01", 10, &days));
  assert_false(pg_parse_date("2024-00-10", 10, &days));
  assert_false(pg_parse_date("infinity", 8, &days));
  assert_false(pg_parse_date("-infinity", 9, &days));
  assert_false(pg_parse_date("0044-03-15 BC", 13, &days));
  assert_false(pg_parse_date("2024-1-01", 9, &days));
}

static void test_timestamps(void **state) {
  int64_t us;
  (void)state;
  assert_true(pg_parse_timestamp("1970-01-01 00:00:00", 19, &us) && us == 0);
  assert_true(pg_parse_timestamp("1970-01-01 00:00:00.000001", 26, &us) && us == 1);
  assert_true(pg_parse_timestamp("1970-01-01 00:00:00.5", 21, &us) && us == 500000);
  assert_true(pg_parse_timestamp("1969-12-31 23:59:59.999999", 26, &us) && us == -1);
  assert_true(pg_parse_timestamp("2024-06-01 12:00:00+02", 22, &us) && us == 1717236000000000LL);
  assert_true(pg_parse_timestamp("2024-06-01 12:00:00-09:30", 25, &us) && us == 1717277400000000LL);
  assert_true(pg_parse_timestamp("1900-01-01 00:00:00+00:19:32", 28, &us) && us == -2208989972000000LL);
  assert_true(pg_parse_timestamp("294000-12-31 23:59:59.999999", 28, &us));
  assert_false(pg_parse_timestamp("294276-12-31 23:59:59.999999", 28, &us)); /* beyond int64 us */
  assert_false(pg_parse_timestamp("infinity", 8, &us));
  assert_false(pg_parse_timestamp("2024-06-01 12:00:00 BC", 22, &us));
  assert_false(pg_parse_timestamp("2024-06-01 12:00:00.1234567", 27, &us));
  assert_false(pg_parse_timestamp("2024-06-01 12:00:00.", 20, &us));
  assert_false(pg_parse_timestamp("2024-06-01 12:00:00+2", 21, &us));
  assert_false(pg_parse_timestamp("2024-06-01 12:60:00", 19, &us));
  assert_false(pg_parse_timestamp("2024-06-01", 10, &us));
}

/* The unscaled value of row `row` of a decimal128 array (little endian). */
static __int128 decimal_at(const struct ArrowArray *a, int64_t row) {
  const unsigned char *p = (const unsigned char *)a->buffers[1] + 16 * (size_t)row;
  unsigned __int128 v = 0;
  int i;
  for (i = 15; i >= 0; i--) v = v << 8 | p[i];
  return (__int128)v;
}

static void test_decimals(void **state) {
  NbField f[2] = {{.name = "a", .type = NB_TYPE_DECIMAL128, .nullable = true, .precision = 10, .scale = 2},
                  {.name = "b", .type = NB_TYPE_DECIMAL128, .nullable = true, .precision = 38, .scale = 0}};
  static const char *const max38 = "99999999999999999999999999999999999999";
  static const char *const refused_a[] = {"NaN", "Infinity", "-Infinity", "12.345", "123456789.00", "", "-", "1e5"};
  static const char *const refused_b[] = {"NaN", "100000000000000000000000000000000000000", "0.5"};
  NbBatchBuilder *bb = NULL;
  NbColumnBuilder *a, *b;
  struct ArrowArray out;
  unsigned __int128 m = 0;
  size_t i;
  int rc = NB_OK;
  (void)state;
  assert_int_equal(nb_batch_builder_new(f, 2, 8, &bb, NULL), NB_OK);
  a = nb_batch_builder_column(bb, 0);
  b = nb_batch_builder_column(bb, 1);
  for (i = 0; i < sizeof refused_a / sizeof *refused_a; i++)
    assert_false(pg_append_text_value(a, NB_TYPE_DECIMAL128, refused_a[i], strlen(refused_a[i]), &rc));
  for (i = 0; i < sizeof refused_b / sizeof *refused_b; i++)
    assert_false(pg_append_text_value(b, NB_TYPE_DECIMAL128, refused_b[i], strlen(refused_b[i]), &rc));
  assert_true(pg_append_text_value(a, NB_TYPE_DECIMAL128, "12345678.90", 11, &rc) && rc == NB_OK);
  assert_true(pg_append_text_value(b, NB_TYPE_DECIMAL128, max38, strlen(max38), &rc) && rc == NB_OK);
  assert_true(pg_append_text_value(a, NB_TYPE_DECIMAL128, "-0.01", 5, &rc) && rc == NB_OK);
  assert_true(pg_append_text_value(b, NB_TYPE_DECIMAL128, "-99999999999999999999999999999999999999", 39, &rc) && rc == NB_OK);
  assert_true(pg_append_text_value(a, NB_TYPE_DECIMAL128, "12.340", 6, &rc) && rc == NB_OK); /* a zero beyond the scale */
  assert_true(pg_append_text_value(b, NB_TYPE_DECIMAL128, "0", 1, &rc) && rc == NB_OK);
  assert_int_equal(nb_batch_builder_finish(bb, &out, NULL), NB_OK);
  assert_int_equal(out.length, 3);
  for (i = 0; i < 38; i++) m = m * 10 + 9;
  assert_true(decimal_at(out.children[0], 0) == 1234567890);
  assert_true(decimal_at(out.children[0], 1) == -1);
  assert_true(decimal_at(out.children[0], 2) == 1234);
  assert_true(decimal_at(out.children[1], 0) == (__int128)m);
  assert_true(decimal_at(out.children[1], 1) == -(__int128)m);
  assert_true(decimal_at(out.children[1], 2) == 0);
  out.release(&out);
  nb_batch_builder_free(bb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode_rows), cmocka_unit_test(test_escape),
      cmocka_unit_test(test_integers),    cmocka_unit_test(test_floats),
      cmocka_unit_test(test_bools),       cmocka_unit_test(test_dates),
      cmocka_unit_test(test_timestamps),  cmocka_unit_test(test_decimals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
