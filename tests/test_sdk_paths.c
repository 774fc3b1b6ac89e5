/* nb_stream_path: the "{stream}" placeholder of file destinations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

static void expect_path(const char *pattern, const char *stream, const char *want) {
  char *got = nb_stream_path(pattern, stream);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_base_name(void **state) {
  (void)state;
  expect_path("out/{stream}.json", "in/orders.csv.gz", "out/orders.json");
  expect_path("{stream}", "orders", "orders");
  expect_path("{stream}.csv", ".env.csv", ".env.csv");
  expect_path("{stream}.csv", "a/b/.hidden", ".hidden.csv");
  expect_path("x-{stream}", "dir/", "x-");
  expect_path("plain.json", "in/orders.csv", "plain.json");
  expect_path("{stream", "orders", "{stream");
}

/* More tokens than any fixed guess of the output size: every one is
 * replaced, and nothing is written past the allocation (ASan in CI). */
static void test_many_tokens(void **state) {
  (void)state;
  const char *stream = "abcdefghijklmnopqrstuvwxyz0123456789.csv";
  char pattern[8 * 40 + 1] = "";
  char want[36 * 40 + 1] = "";
  for (int i = 0; i < 40; i++) {
    strcat(pattern, "{stream}");
    strcat(want, "abcdefghijklmnopqrstuvwxyz0123456789");
  }
  expect_path(pattern, stream, want);
}

static void test_null(void **state) {
  (void)state;
  assert_null(nb_stream_path(NULL, "s"));
  assert_null(nb_stream_path("{stream}", NULL));
  assert_true(nb_path_has_stream("a/{stream}.csv"));
  assert_false(nb_path_has_stream("a/stream.csv"));
  assert_false(nb_path_has_stream(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base_name),
      cmocka_unit_test(test_many_tokens),
      cmocka_unit_test(test_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
