/*
 * mysql_cdc_apply.c - what the destination's apply_deletes needs to know
 * about a CDC stream: which column is the op, what each op value means,
 * and which columns are the record's metadata rather than the table's.
 *
 * Two shapes of records are understood (docs/mysql-connector.md,
 * "Replication"):
 * - the mysql source's: `_op`, the columns, `before_<column>`...,
 *   `_binlog_file`, `_binlog_pos`, `_gtid`, `_ts`;
 * - the postgresql source's: `op`, the columns, `before`,
 *   `toasted_columns`, `lsn`, `xid`, `commit_ts`.
 * The metadata names are those the two sources emit; the sources refuse
 * a table column of such a name, so nothing of the table is dropped.
 */
#include <string.h>

#include "mysql_internal.h"

static bool is_text(const NbField *f) {
  return f->type == NB_TYPE_UTF8 || f->type == NB_TYPE_LARGE_UTF8;
}

static bool named(const NbField *f, const char *name) { return strcmp(f->name, name) == 0; }

int my_cdc_op_column(const NbField *fields, size_t n, size_t *index) {
  static const char *const names[] = {"_op", "op"}; /* _op first: a table may have a column op */
  size_t k, i;
  for (k = 0; k < NB_COUNT(names); k++)
    for (i = 0; i < n; i++)
      if (named(&fields[i], names[k])) {
        if (!is_text(&fields[i])) return NB_INVALID;
        *index = i;
        return NB_OK;
      }
  return NB_NOT_FOUND;
}

MyOpKind my_cdc_op_kind(const char *text, size_t n) {
  if (text == NULL || n != 1) return MY_OP_UNKNOWN;
  switch (text[0]) {
    case 'c': /* insert */
    case 'u': /* update */
    case 'r': /* a row of the initial snapshot */
      return MY_OP_UPSERT;
    case 'd': return MY_OP_DELETE;
    case 't': return MY_OP_TRUNCATE;
    default: return MY_OP_UNKNOWN;
  }
}

/* "before_<name>" where <name> is another column of the record. */
static bool is_before_image(const NbField *fields, size_t n, size_t i) {
  static const char prefix[] = "before_";
  const char *rest;
  size_t j;
  if (strncmp(fields[i].name, prefix, sizeof prefix - 1) != 0) return false;
  rest = fields[i].name + sizeof prefix - 1;
  for (j = 0; j < n; j++)
    if (j != i && named(&fields[j], rest)) return true;
  return false;
}

bool my_cdc_is_metadata(const NbField *fields, size_t n, size_t op_index, size_t i) {
  static const char *const mysql_meta[] = {"_binlog_file", "_binlog_pos", "_gtid", "_ts"};
  static const char *const pg_meta[] = {"before", "toasted_columns", "lsn", "xid", "commit_ts"};
  size_t k;
  if (i == op_index) return true;
  if (named(&fields[op_index], "_op")) {
    for (k = 0; k < NB_COUNT(mysql_meta); k++)
      if (named(&fields[i], mysql_meta[k])) return true;
    return is_before_image(fields, n, i);
  }
  for (k = 0; k < NB_COUNT(pg_meta); k++)
    if (named(&fields[i], pg_meta[k])) return true;
  return false;
}

size_t my_cdc_before_column(const NbField *fields, size_t n, size_t op_index, size_t column) {
  static const char prefix[] = "before_";
  size_t j, len = strlen(fields[column].name);
  if (!named(&fields[op_index], "_op")) return SIZE_MAX;
  for (j = 0; j < n; j++)
    if (strncmp(fields[j].name, prefix, sizeof prefix - 1) == 0 &&
        strlen(fields[j].name) == sizeof prefix - 1 + len &&
        strcmp(fields[j].name + sizeof prefix - 1, fields[column].name) == 0)
      return j;
  return SIZE_MAX;
}
