/*
 * test_mysql_cdc_apply.c - what the mysql destination's apply_deletes reads
 * from a CDC stream's schema and op values (plugins/mysql/mysql_cdc_apply.c):
 * the op column (_op before op, text only), the op mapping (exact one-letter
 * values, everything else unknown), and which columns are CDC metadata for
 * the mysql source's records and the postgresql source's (a table column
 * that only looks like metadata of the other shape is kept).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mysql_internal.h"

#define F(n, t) {.name = (n), .type = (t)}

static void test_op_column(void **state) {
  NbField both[] = {F("op", NB_TYPE_UTF8), F("id", NB_TYPE_INT64), F("_op", NB_TYPE_UTF8)};
  NbField pg[] = {F("id", NB_TYPE_INT64), F("op", NB_TYPE_LARGE_UTF8)};
  NbField none[] = {F("id", NB_TYPE_INT64), F("_opx", NB_TYPE_UTF8), F("Op", NB_TYPE_UTF8)};
  NbField typed[] = {F("_op", NB_TYPE_INT64), F("op", NB_TYPE_UTF8)};
  size_t at = 99;
  (void)state;
  assert_int_equal(my_cdc_op_column(both, 3, &at), NB_OK);
  assert_int_equal(at, 2); /* _op first: a table column op is data */
  assert_int_equal(my_cdc_op_column(pg, 2, &at), NB_OK);
  assert_int_equal(at, 1);
  assert_int_equal(my_cdc_op_column(none, 3, &at), NB_NOT_FOUND);
  assert_int_equal(my_cdc_op_column(none, 0, &at), NB_NOT_FOUND);
  assert_int_equal(my_cdc_op_column(typed, 2, &at), NB_INVALID); /* not text: refused, not skipped */
}

static void test_op_kind(void **state) {
  (void)state;
  assert_int_equal(my_cdc_op_kind("c", 1), MY_OP_UPSERT);
  assert_int_equal(my_cdc_op_kind("u", 1), MY_OP_UPSERT);
  assert_int_equal(my_cdc_op_kind("r", 1), MY_OP_UPSERT);
  assert_int_equal(my_cdc_op_kind("d", 1), MY_OP_DELETE);
  assert_int_equal(my_cdc_op_kind("t", 1), MY_OP_TRUNCATE);
  assert_int_equal(my_cdc_op_kind("dd", 2), MY_OP_UNKNOWN);
  assert_int_equal(my_cdc_op_kind("d\0", 2), MY_OP_UNKNOWN);
  assert_int_equal(my_cdc_op_kind("D", 1), MY_OP_UNKNOWN);
  assert_int_equal(my_cdc_op_kind("x", 1), MY_OP_UNKNOWN);
  assert_int_equal(my_cdc_op_kind("", 0), MY_OP_UNKNOWN);
  assert_int_equal(my_cdc_op_kind(NULL, 0), MY_OP_UNKNOWN);
  assert_int_equal(my_cdc_op_kind("delete", 6), MY_OP_UNKNOWN);
}

static void test_mysql_metadata(void **state) {
  NbField f[] = {F("_op", NB_TYPE_UTF8), F("id", NB_TYPE_INT64), F("lsn", NB_TYPE_UTF8),
                 F("before_id", NB_TYPE_INT64), F("before_lsn", NB_TYPE_UTF8),
                 F("before_gone", NB_TYPE_UTF8), F("before_", NB_TYPE_UTF8),
                 F("_binlog_file", NB_TYPE_UTF8), F("_binlog_pos", NB_TYPE_INT64),
                 F("_gtid", NB_TYPE_UTF8), F("_ts", NB_TYPE_TIMESTAMP)};
  const bool meta[] = {true, false, false, true, true, false, false, true, true, true, true};
  size_t i, n = sizeof f / sizeof f[0];
  (void)state;
  for (i = 0; i < n; i++) assert_int_equal(my_cdc_is_metadata(f, n, 0, i), meta[i]);
  assert_int_equal(my_cdc_before_column(f, n, 0, 1), 3);
  assert_int_equal(my_cdc_before_column(f, n, 0, 2), 4);
  assert_int_equal(my_cdc_before_column(f, n, 0, 7), SIZE_MAX);
}

static void test_pg_metadata(void **state) {
  NbField f[] = {F("op", NB_TYPE_UTF8), F("id", NB_TYPE_INT64), F("_ts", NB_TYPE_UTF8),
                 F("before_id", NB_TYPE_INT64), F("before", NB_TYPE_JSON),
                 F("toasted_columns", NB_TYPE_JSON), F("lsn", NB_TYPE_UTF8),
                 F("xid", NB_TYPE_INT64), F("commit_ts", NB_TYPE_TIMESTAMP)};
  const bool meta[] = {true, false, false, false, true, true, true, true, true};
  size_t i, n = sizeof f / sizeof f[0];
  (void)state;
  for (i = 0; i < n; i++) assert_int_equal(my_cdc_is_metadata(f, n, 0, i), meta[i]);
  /* before_<key> is the mysql source's: not looked up for op records. */
  assert_int_equal(my_cdc_before_column(f, n, 0, 1), SIZE_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_op_column),
      cmocka_unit_test(test_op_kind),
      cmocka_unit_test(test_mysql_metadata),
      cmocka_unit_test(test_pg_metadata),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
