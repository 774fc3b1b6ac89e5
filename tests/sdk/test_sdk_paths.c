/* nb_stream_path: the "{stream}" placeholder of file destinations;
 * nb_path_expand: a file source's "path" setting as its input files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* What nb_path_expand reported: paths joined by '|', sizes summed. */
typedef struct Seen {
  char paths[512];
  int64_t sizes;
  int calls;
  int stop_at;    /* return NB_IO on this call (1-based), 0 never */
} Seen;

static int seen_each(void *cookie, const char *path, int64_t size_bytes) {
  Seen *s = cookie;
  s->calls++;
  if (s->paths[0] != '\0') strcat(s->paths, "|");
  strcat(s->paths, path);
  s->sizes += size_bytes;
  return s->calls == s->stop_at ? NB_IO : NB_OK;
}

static void write_file(const char *dir, const char *name, size_t bytes) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  for (size_t i = 0; i < bytes; i++) fputc('x', f);
  fclose(f);
}

static void test_expand(void **state) {
  (void)state;
  char dir[] = "/tmp/nb-paths-XXXXXX";
  assert_non_null(mkdtemp(dir));
  write_file(dir, "b.json", 3);
  write_file(dir, "a.json", 5);
  write_file(dir, "c.csv", 7);
  char pattern[256], want[512];
  NbError err;
  nb_error_init(&err);

  /* A glob: every match, sorted, with its size. */
  Seen s = {.paths = ""};
  snprintf(pattern, sizeof pattern, "%s/*.json", dir);
  assert_int_equal(nb_path_expand(NULL, pattern, seen_each, &s, &err), NB_OK);
  snprintf(want, sizeof want, "%s/a.json|%s/b.json", dir, dir);
  assert_string_equal(s.paths, want);
  assert_int_equal(s.sizes, 8);

  /* Without wildcards: as is, even when missing (size -1); "-" too. */
  Seen one = {.paths = ""};
  snprintf(pattern, sizeof pattern, "%s/missing.json", dir);
  assert_int_equal(nb_path_expand(NULL, pattern, seen_each, &one, &err), NB_OK);
  assert_string_equal(one.paths, pattern);
  assert_int_equal(one.sizes, -1);
  Seen dash = {.paths = ""};
  assert_int_equal(nb_path_expand(NULL, "-", seen_each, &dash, &err), NB_OK);
  assert_string_equal(dash.paths, "-");
  assert_int_equal(dash.sizes, -1);

  /* The callback's status stops the expansion and is returned. */
  Seen stop = {.paths = "", .stop_at = 1};
  snprintf(pattern, sizeof pattern, "%s/*", dir);
  assert_int_equal(nb_path_expand(NULL, pattern, seen_each, &stop, &err), NB_IO);
  assert_int_equal(stop.calls, 1);

  /* Nothing matches: NB_NOT_FOUND naming the pattern, hinting at "path". */
  Seen none = {.paths = ""};
  snprintf(pattern, sizeof pattern, "%s/*.parquet", dir);
  assert_int_equal(nb_path_expand(NULL, pattern, seen_each, &none, &err), NB_NOT_FOUND);
  assert_int_equal(none.calls, 0);
  assert_non_null(strstr(err.message, "no file matches pattern"));
  assert_non_null(strstr(err.message, pattern));
  assert_non_null(strstr(err.hint, "\"path\""));
  nb_error_release(&err);

  assert_int_equal(nb_path_expand(NULL, NULL, seen_each, &none, &err), NB_INVALID);
  nb_error_release(&err);

  const char *names[] = {"a.json", "b.json", "c.csv"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(pattern, sizeof pattern, "%s/%s", dir, names[i]);
    unlink(pattern);
  }
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base_name),
      cmocka_unit_test(test_many_tokens),
      cmocka_unit_test(test_null),
      cmocka_unit_test(test_expand),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
