/*
 * mysql_snapshot.c - the initial snapshot of mode cdc (mysql_snapshot.h).
 *
 * Consistency.  START TRANSACTION WITH CONSISTENT SNAPSHOT makes InnoDB's
 * read view and, on MariaDB, also records the binlog position of the last
 * transaction committed before it (SHOW STATUS Binlog_snapshot_file /
 * Binlog_snapshot_position), without FLUSH TABLES WITH READ LOCK: every
 * transaction before that position is in the snapshot, none after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_snapshot.h"

struct MySnapshot {
  const MyConnConfig *cfg;
  MYSQL *db;
  MYSQL_RES *res;
  char *table;
  char *key; /* single integer primary key column, or NULL */
};

static bool is_integer_type(const char *t) {
  return strcmp(t, "tinyint") == 0 || strcmp(t, "smallint") == 0 ||
         strcmp(t, "mediumint") == 0 || strcmp(t, "int") == 0 || strcmp(t, "bigint") == 0;
}

/* The primary key, when it is one integer column. */
static int find_key(MySnapshot *s, NbError *err) {
  char sql[900], lit[520];
  MYSQL_RES *res;
  MYSQL_ROW row;
  mysql_real_escape_string(s->db, lit, s->table, (unsigned long)strnlen(s->table, 255));
  snprintf(sql, sizeof sql,
           "SELECT k.column_name, c.data_type FROM information_schema.key_column_usage k"
           " JOIN information_schema.columns c ON c.table_schema = k.table_schema"
           " AND c.table_name = k.table_name AND c.column_name = k.column_name"
           " WHERE k.table_schema = DATABASE() AND k.table_name = '%s'"
           " AND k.constraint_name = 'PRIMARY'",
           lit);
  if (mysql_query(s->db, sql) != 0 || (res = mysql_store_result(s->db)) == NULL)
    return my_fail(s->db, s->cfg, err, "reading the primary key of table \"%s\" failed",
                   s->table);
  row = mysql_fetch_row(res);
  if (mysql_num_rows(res) == 1 && row != NULL && row[0] != NULL && row[1] != NULL &&
      is_integer_type(row[1]) && (s->key = strdup(row[0])) == NULL) {
    mysql_free_result(res);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  mysql_free_result(res);
  return NB_OK;
}

/* The server's clock (seconds) when the snapshot was taken. */
static int read_time(MySnapshot *s, int64_t *taken_at, NbError *err) {
  MYSQL_RES *res;
  MYSQL_ROW row;
  if (mysql_query(s->db, "SELECT UNIX_TIMESTAMP()") != 0 ||
      (res = mysql_store_result(s->db)) == NULL)
    return my_fail(s->db, s->cfg, err, "reading the server's clock failed");
  row = mysql_fetch_row(res);
  *taken_at = row != NULL && row[0] != NULL ? strtoll(row[0], NULL, 10) : 0;
  mysql_free_result(res);
  return NB_OK;
}

/* Binlog_snapshot_file / _position of the transaction just started. */
static int read_point(MySnapshot *s, char *file, uint64_t *pos, NbError *err) {
  MYSQL_RES *res;
  MYSQL_ROW row;
  bool have_file = false, have_pos = false;
  char server[300];
  if (mysql_query(s->db, "SHOW STATUS LIKE 'binlog_snapshot_%'") != 0 ||
      (res = mysql_store_result(s->db)) == NULL)
    return my_fail(s->db, s->cfg, err, "reading the binlog position of the snapshot of table"
                   " \"%s\" failed", s->table);
  while ((row = mysql_fetch_row(res)) != NULL) {
    if (row[0] == NULL || row[1] == NULL) continue;
    if (strcasecmp(row[0], "Binlog_snapshot_file") == 0 && row[1][0] != '\0' &&
        strlen(row[1]) < 256 && strchr(row[1], '/') == NULL) {
      snprintf(file, 256, "%s", row[1]);
      have_file = true;
    } else if (strcasecmp(row[0], "Binlog_snapshot_position") == 0) {
      char *end;
      *pos = strtoull(row[1], &end, 10);
      have_pos = *end == '\0' && *pos >= 4;
    }
  }
  mysql_free_result(res);
  if (have_file && have_pos) return NB_OK;
  nb_error_set(err, NB_NOT_IMPLEMENTED, "snapshot of table \"%s\": server %s does not report"
               " the binlog position of a consistent snapshot (Binlog_snapshot_file /"
               " Binlog_snapshot_position)", s->table,
               my_server_name(s->cfg, server, sizeof server));
  nb_error_hint(err, "The initial snapshot needs MariaDB with the binary log on; set"
                " snapshot = false to read changes only.");
  return NB_NOT_IMPLEMENTED;
}

int my_snapshot_open(const MyConnConfig *cfg, const char *table, MySnapshot **out,
                     char *file, uint64_t *pos, int64_t *taken_at, NbError *err) {
  MySnapshot *s = calloc(1, sizeof *s);
  int rc;
  *out = NULL;
  if (s == NULL || (s->table = strdup(table)) == NULL) {
    free(s);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  s->cfg = cfg;
  rc = my_connect(cfg, &s->db, err);
  if (rc == NB_OK) rc = find_key(s, err);
  if (rc == NB_OK)
    rc = my_exec(s->db, cfg, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", err);
  if (rc == NB_OK && mysql_query(s->db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") != 0)
    rc = my_fail(s->db, cfg, err, "starting the snapshot of table \"%s\" failed", table);
  if (rc == NB_OK) rc = read_point(s, file, pos, err);
  if (rc == NB_OK) rc = read_time(s, taken_at, err);
  if (rc != NB_OK) {
    my_snapshot_close(s);
    return rc;
  }
  *out = s;
  return NB_OK;
}

const char *my_snapshot_key(const MySnapshot *s) { return s->key; }

int my_snapshot_query(MySnapshot *s, const char *after_key, size_t n_cols, NbError *err) {
  char *qt = my_quote_ident(s->table), *qk = s->key != NULL ? my_quote_ident(s->key) : NULL;
  size_t n = (qt != NULL ? strlen(qt) : 0) + 2 * (qk != NULL ? strlen(qk) : 0) + 80;
  char *sql = malloc(n);
  int at;
  if (qt == NULL || (s->key != NULL && qk == NULL) || sql == NULL) {
    free(qt), free(qk), free(sql);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  /* after_key is a checked decimal integer (my_cdc_key_valid). */
  at = snprintf(sql, n, "SELECT * FROM %s", qt);
  if (qk != NULL && after_key != NULL)
    at += snprintf(sql + at, n - (size_t)at, " WHERE %s > %.21s", qk, after_key);
  if (qk != NULL) snprintf(sql + at, n - (size_t)at, " ORDER BY %s", qk);
  free(qt);
  free(qk);
  if (mysql_query(s->db, sql) != 0 || (s->res = mysql_use_result(s->db)) == NULL) {
    free(sql);
    return my_fail(s->db, s->cfg, err, "reading the snapshot of table \"%s\" failed", s->table);
  }
  free(sql);
  if (mysql_num_fields(s->res) != n_cols) {
    nb_error_set(err, NB_DATA, "the columns of table \"%s\" changed while its snapshot was"
                 " started (%u, not %zu)", s->table, mysql_num_fields(s->res), n_cols);
    nb_error_hint(err, "Run again: the snapshot then reads the new definition.");
    return NB_DATA;
  }
  return NB_OK;
}

int my_snapshot_fetch(MySnapshot *s, MYSQL_ROW *row, unsigned long **lens, NbError *err) {
  *row = mysql_fetch_row(s->res);
  if (*row != NULL) {
    *lens = mysql_fetch_lengths(s->res);
    return NB_OK;
  }
  if (mysql_errno(s->db) != 0) {
    int rc = my_fail(s->db, s->cfg, err, "reading the snapshot of table \"%s\" failed",
                     s->table);
    return rc == NB_INVALID ? NB_IO : rc;
  }
  return NB_OK;
}

void my_snapshot_close(MySnapshot *s) {
  if (s == NULL) return;
  if (s->res != NULL) mysql_free_result(s->res);
  /* Closing the connection ends the read-only transaction. */
  if (s->db != NULL) mysql_close(s->db);
  free(s->table);
  free(s->key);
  free(s);
}
