/* test_jsonread.c - the host's small JSON reader (host/base/jsonread.c),
 * used for state files: values, positions in errors, refusals (leading
 * zeros, lone surrogates, control characters, depth), and its UTF-8
 * validator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonread.h"

static void test_json_reader(void **state) {
  NbhJson v;
  char why[128];
  const NbhJson *s;
  (void)state;

  const char *text = "{\"a\": [1, true, null, \"x\\u00e9\\ud83d\\ude00\\n\"]}";
  assert_int_equal(nbh_json_parse(text, strlen(text), &v, why, sizeof why), 0);
  s = nbh_json_get(&v, "a");
  assert_non_null(s);
  assert_int_equal(s->n, 4);
  assert_int_equal(s->items[0].uint, 1);
  assert_true(s->items[1].boolean);
  assert_int_equal(s->items[2].kind, NBH_JSON_NULL);
  assert_string_equal(s->items[3].string, "x\xc3\xa9\xf0\x9f\x98\x80\n");
  nbh_json_free(&v);

  assert_int_equal(nbh_json_parse("{\"a\": 01}", 9, &v, why, sizeof why), -1);
  assert_string_equal(why, "leading zero in number at line 1, column 7");
  assert_int_equal(nbh_json_parse("\n  [1.5]", 8, &v, why, sizeof why), -1);
  assert_string_equal(why, "expected an integer at line 2, column 5");
  assert_int_equal(nbh_json_parse("\"\\ud800\"", 8, &v, why, sizeof why), -1);
  assert_int_equal(nbh_json_parse("18446744073709551616", 20, &v, why, sizeof why), -1);
  assert_int_equal(nbh_json_parse("\"a\x01\"", 4, &v, why, sizeof why), -1);
  assert_int_equal(nbh_json_parse("[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]", 39, &v, why, sizeof why), -1);
  assert_string_equal(nbh_utf8_valid("caf\xc3\xa9", 5) ? "ok" : "bad", "ok");
  assert_false(nbh_utf8_valid("caf\xe9", 4));
  assert_false(nbh_utf8_valid("\xc0\xaf", 2));       /* overlong */
  assert_false(nbh_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
  assert_false(nbh_utf8_valid("\xe2\x82", 2));       /* truncated */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_reader),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
