/*
 * test_textutil.c - the host's text helpers (host/base/textutil.c): the
 * growable buffer, JSON string escaping (the output must always be valid
 * JSON and safe to print on a terminal), and the edit distance behind
 * "did you mean" hints.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "textutil.h"

static void test_buffer_grows_and_hands_over(void **state) {
  NbhBuf buf = NBH_BUF_INIT;
  char *text;
  size_t i;
  (void)state;
  assert_string_equal(nbh_buf_text(&buf), "");
  for (i = 0; i < 10000; i++) nbh_buf_append(&buf, "0123456789", 10);
  nbh_buf_printf(&buf, "|%d|%s", 42, "end");
  assert_false(buf.failed);
  assert_int_equal(buf.len, 100000 + 7); /* "|42|end" */
  assert_int_equal(strlen(nbh_buf_text(&buf)), buf.len);
  assert_memory_equal(nbh_buf_text(&buf) + 99990, "0123456789|42|end", 17);
  text = nbh_buf_take(&buf);
  assert_non_null(text);
  /* Taken: the buffer starts again empty. */
  assert_int_equal(buf.len, 0);
  assert_string_equal(nbh_buf_text(&buf), "");
  free(text);
  nbh_buf_puts(&buf, "again");
  assert_string_equal(nbh_buf_text(&buf), "again");
  nbh_buf_free(&buf);

  text = nbh_format("%s=%u", "rows", 7u);
  assert_string_equal(text, "rows=7");
  free(text);
}

static char *escaped(const char *text, size_t len) {
  NbhBuf buf = NBH_BUF_INIT;
  nbh_buf_json_escape(&buf, text, len);
  assert_false(buf.failed);
  return nbh_buf_take(&buf);
}

static void expect_escape(const char *text, size_t len, const char *want) {
  char *got = escaped(text, len);
  assert_string_equal(got, want);
  free(got);
}

static void test_json_escape(void **state) {
  (void)state;
  expect_escape("plain text", 10, "plain text");
  expect_escape("a\"b\\c", 5, "a\\\"b\\\\c");
  expect_escape("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f");
  /* Other C0 controls and NUL as \u escapes: the length is given, so a NUL
   * inside the text is not its end. */
  expect_escape("x\x01y\x00z\x1f", 6, "x\\u0001y\\u0000z\\u001f");
  /* Valid UTF-8 passes through as it is. */
  expect_escape("caf\xc3\xa9 \xf0\x9f\x98\x80", 10, "caf\xc3\xa9 \xf0\x9f\x98\x80");
  /* C1 control U+0085 and the bidi override U+202E are escaped: valid
   * JSON either way, but not to be sent raw to a terminal. */
  expect_escape("a\xc2\x85" "b", 4, "a\\u0085b");
  expect_escape("\xe2\x80\xae" "evil", 7, "\\u202eevil");
  /* Invalid UTF-8 (a lone continuation byte, Latin-1, an overlong form, a
   * truncated sequence): each bad byte becomes U+FFFD, nothing is dropped. */
  expect_escape("\x80", 1, "\\ufffd");
  expect_escape("caf\xe9", 4, "caf\\ufffd");
  expect_escape("\xc0\xaf", 2, "\\ufffd\\ufffd");
  expect_escape("ok\xe2\x82", 4, "ok\\ufffd\\ufffd");
  expect_escape("", 0, "");
}

static void test_edit_distance(void **state) {
  (void)state;
  assert_int_equal(nbh_edit_distance("kitten", "sitting", 10), 3);
  assert_int_equal(nbh_edit_distance("", "abc", 10), 3);
  assert_int_equal(nbh_edit_distance("same", "same", 10), 0);
  /* A transposition of neighbours is one edit, not two. */
  assert_int_equal(nbh_edit_distance("path", "paht", 10), 1);
  /* Above the limit: limit + 1, also when the lengths alone say so. */
  assert_int_equal(nbh_edit_distance("kitten", "sitting", 2), 3);
  assert_int_equal(nbh_edit_distance("a", "abcdefgh", 2), 3);
}

static void test_did_you_mean(void **state) {
  static const char *const settings[] = {"path", "port", "batch_rows", NULL, "commit_rows"};
  (void)state;
  assert_string_equal(nbh_did_you_mean("pth", settings, 5), "path");
  assert_string_equal(nbh_did_you_mean("batch_row", settings, 5), "batch_rows");
  assert_string_equal(nbh_did_you_mean("comit_rows", settings, 5), "commit_rows");
  /* One letter changed in a one-letter name is not a typo of it. */
  static const char *const short_names[] = {"y"};
  assert_null(nbh_did_you_mean("x", short_names, 1));
  assert_null(nbh_did_you_mean("compression", settings, 5));
  assert_null(nbh_did_you_mean("path", settings, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buffer_grows_and_hands_over),
      cmocka_unit_test(test_json_escape),
      cmocka_unit_test(test_edit_distance),
      cmocka_unit_test(test_did_you_mean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
