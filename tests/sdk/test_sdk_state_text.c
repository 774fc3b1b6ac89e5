/* nb_text_expect / nb_text_u64 / nb_text_path: the text state blobs of
 * file destinations, read from untrusted bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nebula/sdk.h"

static void test_blob(void **state) {
  (void)state;
  const char blob[] = "magic 1\n42 10 out/a.json\n18446744073709551615 1 b\n";
  const char *s = blob, *end = blob + strlen(blob);
  uint64_t a, b;
  char *path;
  assert_true(nb_text_expect(&s, end, "magic 1\n"));
  assert_true(nb_text_u64(&s, end, ' ', &a));
  assert_int_equal(a, 42);
  assert_int_equal(nb_text_path(&s, end, &path), NB_OK);
  assert_string_equal(path, "out/a.json");
  free(path);
  assert_true(nb_text_u64(&s, end, ' ', &b));
  assert_true(b == UINT64_MAX);
  assert_int_equal(nb_text_path(&s, end, &path), NB_OK);
  assert_string_equal(path, "b");
  free(path);
  assert_ptr_equal(s, end);
}

/* What the writer never produces is refused, and *s does not move. */
static void test_refused(void **state) {
  (void)state;
  const char *bad_numbers[] = {"", " 1 ", "-1 ", "+1 ", "1x", "1", "18446744073709551616 ",
                               "99999999999999999999 "};
  for (size_t i = 0; i < sizeof bad_numbers / sizeof bad_numbers[0]; i++) {
    const char *s = bad_numbers[i], *end = s + strlen(s);
    uint64_t v = 7;
    assert_false(nb_text_u64(&s, end, ' ', &v));
    assert_ptr_equal(s, bad_numbers[i]);
    assert_int_equal(v, 7);
  }
  /* Empty, longer than the blob, no newline after it, a NUL inside, and a
   * length that would wrap. */
  const char *bad_paths[] = {"0 \n", "5 abc\n", "3 abcd", "3 abc", "18446744073709551615 a\n"};
  for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
    const char *s = bad_paths[i], *end = s + strlen(s);
    char *path = (char *)"untouched";
    assert_int_equal(nb_text_path(&s, end, &path), NB_INVALID);
    assert_null(path);
    assert_ptr_equal(s, bad_paths[i]);
  }
  const char with_nul[] = "3 a\0b\n";
  const char *s = with_nul;
  char *path;
  assert_int_equal(nb_text_path(&s, with_nul + sizeof with_nul - 1, &path), NB_INVALID);
  const char *m = "magi";
  assert_false(nb_text_expect(&m, m + 4, "magic"));
  assert_false(nb_text_expect(&m, m + 4, "mage"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blob),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
