/*
 * test_mysql_statement.c - the QUERY_EVENT layout and the TRUNCATE reader
 * of mode cdc (plugins/mysql/mysql_statement.c): accepted spellings
 * (case, TABLE optional, comments, quoting, qualified names, WAIT/NOWAIT,
 * ';'), statements that are not a TRUNCATE, TRUNCATEs that cannot be read,
 * and events whose lengths lie.  The statement is copied to a buffer of
 * exactly its length so ASan catches a read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mysql_statement.h"

static char db[MY_IDENT_MAX], table[MY_IDENT_MAX];

/* The kind of sql, read from a heap copy without a NUL. */
static int kind_of(const char *sql) {
  size_t n = strlen(sql);
  char *copy = malloc(n > 0 ? n : 1);
  int kind;
  assert_non_null(copy);
  memcpy(copy, sql, n);
  kind = my_truncate_target(copy, n, db, table);
  free(copy);
  return kind;
}

static void expect_truncate(const char *sql, const char *want_db, const char *want_table) {
  assert_int_equal(kind_of(sql), MY_STMT_TRUNCATE);
  assert_string_equal(db, want_db);
  assert_string_equal(table, want_table);
}

static void test_truncate_spellings(void **state) {
  (void)state;
  expect_truncate("TRUNCATE TABLE t", "", "t");
  expect_truncate("truncate t", "", "t");
  expect_truncate("TrUnCaTe\tTaBlE\n t ;", "", "t");
  expect_truncate("TRUNCATE TABLE nebula_test.t", "nebula_test", "t");
  expect_truncate("TRUNCATE `db`.`t`", "db", "t");
  expect_truncate("TRUNCATE `d``b` . `t``x`", "d`b", "t`x");
  expect_truncate("TRUNCATE \"a\"\"b\"", "", "a\"b");
  expect_truncate("TRUNCATE `table`", "", "table");
  expect_truncate("TRUNCATE TABLEx", "", "TABLEx");
  expect_truncate("TRUNCATE `a b.c`", "", "a b.c");
  expect_truncate("TRUNCATE t\xc3\xa9", "", "t\xc3\xa9");
  expect_truncate("/* a */ -- b\n# c\n  TRUNCATE /* d */ TABLE /**/ t /* e */", "", "t");
  expect_truncate("TRUNCATE TABLE t WAIT 10;", "", "t");
  expect_truncate("TRUNCATE t NOWAIT", "", "t");
  expect_truncate("TRUNCATE t -- trailing", "", "t");
}

static void test_other_statements(void **state) {
  (void)state;
  assert_int_equal(kind_of(""), MY_STMT_OTHER);
  assert_int_equal(kind_of("BEGIN"), MY_STMT_OTHER);
  assert_int_equal(kind_of("COMMIT"), MY_STMT_OTHER);
  assert_int_equal(kind_of("TRUNCATEx t"), MY_STMT_OTHER);
  assert_int_equal(kind_of("TRUNC"), MY_STMT_OTHER);
  assert_int_equal(kind_of("ALTER TABLE t TRUNCATE PARTITION p"), MY_STMT_OTHER);
  assert_int_equal(kind_of("DELETE FROM t"), MY_STMT_OTHER);
  assert_int_equal(kind_of("/* TRUNCATE t */ SELECT 1"), MY_STMT_OTHER);
  assert_int_equal(kind_of("--TRUNCATE t"), MY_STMT_OTHER); /* "--x" is not a comment */
  assert_string_equal(table, "");
}

static void test_unreadable(void **state) {
  char longname[400];
  (void)state;
  assert_int_equal(kind_of("TRUNCATE"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE TABLE"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE TABLE `t"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE ``"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE t u"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE t; SELECT 1"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE t WAIT"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE db."), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE /*!40000 TABLE */ t"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE /*M!100000 t */"), MY_STMT_UNREADABLE);
  assert_int_equal(kind_of("TRUNCATE t /* open"), MY_STMT_UNREADABLE);
  assert_string_equal(db, "");
  assert_string_equal(table, "");
  memcpy(longname, "TRUNCATE ", 9);
  memset(longname + 9, 'x', MY_IDENT_MAX);
  longname[9 + MY_IDENT_MAX] = '\0';
  assert_int_equal(kind_of(longname), MY_STMT_UNREADABLE);
  longname[9 + MY_IDENT_MAX - 1] = '\0'; /* the longest name kept: 259 bytes */
  assert_int_equal(kind_of(longname), MY_STMT_TRUNCATE);
  assert_int_equal(strlen(table), MY_IDENT_MAX - 1);
}

/* A QUERY_EVENT: 19-byte header, post-header, status vars, db, NUL, sql. */
static size_t make_event(uint8_t *ev, const char *dbname, size_t status, const char *sql,
                         size_t checksum) {
  size_t at = 19 + 13, n = strlen(dbname);
  memset(ev, 0xEE, 19 + 13);
  ev[19 + 8] = (uint8_t)n;
  ev[19 + 11] = (uint8_t)status;
  ev[19 + 12] = (uint8_t)(status >> 8);
  memset(ev + at, 0x01, status);
  at += status;
  memcpy(ev + at, dbname, n);
  at += n;
  ev[at++] = '\0';
  memcpy(ev + at, sql, strlen(sql));
  at += strlen(sql);
  memset(ev + at, 0xCC, checksum);
  return at + checksum;
}

static void test_query_event(void **state) {
  uint8_t ev[256];
  MyQueryEvent q;
  size_t len;
  (void)state;
  len = make_event(ev, "nebula_test", 5, "TRUNCATE t", 4);
  assert_int_equal(my_query_event_parse(ev, len, 4, &q), 0);
  assert_int_equal(q.db_len, 11);
  assert_memory_equal(q.db, "nebula_test", 11);
  assert_int_equal(q.sql_len, 10);
  assert_memory_equal(q.sql, "TRUNCATE t", 10);
  len = make_event(ev, "", 0, "BEGIN", 0);
  assert_int_equal(my_query_event_parse(ev, len, 0, &q), 0);
  assert_int_equal(q.db_len, 0);
  assert_int_equal(q.sql_len, 5);
  /* Lengths past the end, a missing NUL, too short for the header. */
  len = make_event(ev, "db", 0, "", 0);
  assert_int_equal(my_query_event_parse(ev, len - 1, 0, &q), -1);
  assert_int_equal(my_query_event_parse(ev, len, 4, &q), -1);
  ev[19 + 8] = 200;
  assert_int_equal(my_query_event_parse(ev, len, 0, &q), -1);
  len = make_event(ev, "db", 0, "x", 0);
  ev[19 + 8] = 1; /* the byte after the name is 'b', not NUL */
  assert_int_equal(my_query_event_parse(ev, len, 0, &q), -1);
  len = make_event(ev, "db", 0, "x", 0);
  ev[19 + 11] = 0xFF;
  assert_int_equal(my_query_event_parse(ev, len, 0, &q), -1);
  assert_int_equal(my_query_event_parse(ev, 31, 0, &q), -1);
  assert_int_equal(my_query_event_parse(NULL, 0, 0, &q), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_truncate_spellings),
      cmocka_unit_test(test_other_statements),
      cmocka_unit_test(test_unreadable),
      cmocka_unit_test(test_query_event),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
