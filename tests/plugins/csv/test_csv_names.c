/*
 * test_csv_names.c - unit tests of the csv connector's unique column names
 * (plugins/csv/csv_names.c): the dedupe rule, strict mode's errors, and a
 * large hostile header that must stay fast.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv_internal.h"

/* Split a comma-separated header (no quoting) into malloc'ed names. */
static char **split(const char *header, size_t *n) {
  char **names = NULL;
  const char *p = header;
  *n = 0;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
    names = realloc(names, (*n + 1) * sizeof *names);
    assert_non_null(names);
    names[*n] = strndup(p, len);
    assert_non_null(names[*n]);
    (*n)++;
    if (comma == NULL) break;
    p = comma + 1;
  }
  return names;
}

static void free_names(char **names, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) free(names[i]);
  free(names);
}

static void expect_dedupe(const char *header, const char *want) {
  size_t n, i, used = 0;
  char **names = split(header, &n);
  char got[1024];
  assert_int_equal(csv_unique_names(names, n, CSV_NAMES_DEDUPE, "h.csv", 1, NULL), NB_OK);
  got[0] = '\0';
  for (i = 0; i < n; i++)
    used += (size_t)snprintf(got + used, sizeof got - used, "%s%s", i ? "," : "", names[i]);
  if (strcmp(got, want) != 0) fail_msg("header %s:\n got: %s\nwant: %s", header, got, want);
  free_names(names, n);
}

static void test_dedupe(void **state) {
  (void)state;
  expect_dedupe("a,b,c", "a,b,c");
  expect_dedupe("a,a", "a,a_2");
  expect_dedupe("a,a,a", "a,a_2,a_3");
  expect_dedupe(",,", "column_1,column_2,column_3");
  expect_dedupe("x,,y", "x,column_2,y");
  /* Names in the header are taken wherever they stand. */
  expect_dedupe("a,a,,a_2,a", "a,a_3,column_3,a_2,a_4");
  expect_dedupe("x,,column_2,", "x,column_2_2,column_2,column_4");
  expect_dedupe("a_2,a,a", "a_2,a,a_3");
  expect_dedupe("column_1,", "column_1,column_2");
  expect_dedupe(",column_1", "column_1_2,column_1");
  /* Case and spaces matter, as they do for JSON keys. */
  expect_dedupe("a,A, a", "a,A, a");
  expect_dedupe("", "column_1");
}

static void expect_strict(const char *header, const char *message, int64_t column) {
  size_t n;
  char **names = split(header, &n);
  NbError err;
  nb_error_init(&err);
  assert_int_equal(csv_unique_names(names, n, CSV_NAMES_STRICT, "h.csv", 3, &err), NB_INVALID);
  if (strstr(err.message, message) == NULL) fail_msg("got: %s\nwant: %s", err.message, message);
  assert_string_equal(err.location, "h.csv");
  assert_int_equal(err.line, 3);
  assert_int_equal(err.column, column);
  assert_non_null(err.hint);
  nb_error_release(&err);
  free_names(names, n);
}

static void test_strict(void **state) {
  size_t n;
  char **names = split("a,b,c", &n);
  (void)state;
  assert_int_equal(csv_unique_names(names, n, CSV_NAMES_STRICT, "h.csv", 1, NULL), NB_OK);
  assert_string_equal(names[2], "c");
  free_names(names, n);
  expect_strict("id,name,id", "columns 1 and 3 at line 3 of file \"h.csv\" have the same name \"id\"", 3);
  expect_strict("id,,x", "column 2 at line 3 of file \"h.csv\" has an empty name", 2);
}

/* 100000 copies of one name, and 100000 empty names: linear, not
 * quadratic (a quadratic search would take minutes). */
static void test_many_columns(void **state) {
  const size_t n = 100000;
  char **names = calloc(n, sizeof *names);
  size_t i;
  (void)state;
  assert_non_null(names);
  for (i = 0; i < n; i++) names[i] = strdup(i % 2 ? "" : "v");
  assert_int_equal(csv_unique_names(names, n, CSV_NAMES_DEDUPE, "h.csv", 1, NULL), NB_OK);
  assert_string_equal(names[0], "v");
  assert_string_equal(names[1], "column_2");
  assert_string_equal(names[2], "v_2");
  assert_string_equal(names[n - 2], "v_50000");
  free_names(names, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dedupe),
      cmocka_unit_test(test_strict),
      cmocka_unit_test(test_many_columns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
