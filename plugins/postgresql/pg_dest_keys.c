/*
 * pg_dest_keys.c - upsert with apply_deletes: the old key of an update
 * that changed the key is deleted from the target.
 *
 * Set-based, at the merge of a commit: for each staged update whose old
 * key is known and differs from its new key, a row (op 'd', the old key,
 * every other column NULL) goes into the staging table with the update's
 * nebula_ord.  The two rows never compete (their keys differ), and
 * against the other records of the old key the synthetic delete sits
 * exactly where the update was: u(K1->K2) then c(K1) leaves K1 present,
 * u(K1->K2) then u(K2->K3) leaves only K3, and a truncate after the
 * update drops both rows with the update.
 *
 * The old key comes from the mysql source's before_<key> columns (typed
 * like the key) or from the postgresql source's "before" JSON object of
 * text values; the latter become the key column's type with
 * jsonb_populate_record over the staging table's row type, i.e. with the
 * column type's own input function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_copytext.h"
#include "pg_dest_keys.h"

enum { BEFORE_SHOWN = 120 };

static const char BEFORE_PREFIX[] = "before_";

static bool has_field(const NbField *fields, size_t n, const char *name, size_t prefix_len,
                      const char *prefix) {
  size_t i;
  for (i = 0; i < n; i++)
    if (strncmp(fields[i].name, prefix, prefix_len) == 0 && strcmp(fields[i].name + prefix_len, name) == 0)
      return true;
  return false;
}

int pg_old_key_kind(const NbField *fields, size_t n, const char *op_name, char *const *keys, size_t nkeys) {
  size_t k;
  if (nkeys == 0) return PG_OLD_KEY_NONE;
  if (strcmp(op_name, "_op") == 0) {
    for (k = 0; k < nkeys; k++)
      if (!has_field(fields, n, keys[k], sizeof BEFORE_PREFIX - 1, BEFORE_PREFIX)) return PG_OLD_KEY_NONE;
    return PG_OLD_KEY_COLUMNS;
  }
  return has_field(fields, n, "before", 0, "") ? PG_OLD_KEY_JSON : PG_OLD_KEY_NONE;
}

/* ---- SQL text --------------------------------------------------------- */

static int add(PgBuf *b, const char *s) { return pg_buf_add(b, s, strlen(s)); }

static int add_ident(PgBuf *b, PGconn *conn, const char *prefix, const char *name) {
  size_t plen = strlen(prefix), nlen = strlen(name);
  char *joined = malloc(plen + nlen + 1), *q;
  int rc;
  if (joined == NULL) return NB_NOMEM;
  memcpy(joined, prefix, plen);
  memcpy(joined + plen, name, nlen + 1);
  q = PQescapeIdentifier(conn, joined, plen + nlen);
  free(joined);
  if (q == NULL) return NB_NOMEM;
  rc = add(b, q);
  PQfreemem(q);
  return rc;
}

static int add_literal(PgBuf *b, PGconn *conn, const char *s) {
  char *q = PQescapeLiteral(conn, s, strlen(s));
  int rc;
  if (q == NULL) return NB_NOMEM;
  rc = add(b, q);
  PQfreemem(q);
  return rc;
}

/* "alias.prefix<key>, ..." for every key column. */
static int add_key_list(PgBuf *b, const PgStage *s, const char *alias, const char *prefix) {
  size_t k;
  int rc = NB_OK;
  for (k = 0; rc == NB_OK && k < s->nkeys; k++) {
    if (k > 0) rc = add(b, ", ");
    if (rc == NB_OK && alias[0] != '\0') rc = add(b, alias);
    if (rc == NB_OK) rc = add_ident(b, s->conn, prefix, s->keys[k]);
  }
  return rc;
}

/* INSERT INTO stage (op, keys, nebula_ord) OVERRIDING SYSTEM VALUE SELECT 'd', */
static int add_insert_head(PgBuf *b, const PgStage *s) {
  int rc = add(b, "INSERT INTO ");
  if (rc == NB_OK) rc = add(b, s->load);
  if (rc == NB_OK) rc = add(b, " (");
  if (rc == NB_OK) rc = add(b, s->op);
  if (rc == NB_OK) rc = add(b, ", ");
  if (rc == NB_OK) rc = add_key_list(b, s, "", "");
  if (rc == NB_OK) rc = add(b, ", nebula_ord) OVERRIDING SYSTEM VALUE SELECT 'd', ");
  return rc;
}

/* mysql source: the before_<key> columns hold the old key, typed. */
static int columns_sql(PgBuf *b, const PgStage *s) {
  size_t k;
  int rc = add_insert_head(b, s);
  if (rc == NB_OK) rc = add_key_list(b, s, "s.", BEFORE_PREFIX);
  if (rc == NB_OK) rc = add(b, ", s.nebula_ord FROM ");
  if (rc == NB_OK) rc = add(b, s->load);
  if (rc == NB_OK) rc = add(b, " s WHERE s.");
  if (rc == NB_OK) rc = add(b, s->op);
  if (rc == NB_OK) rc = add(b, " = 'u'");
  for (k = 0; rc == NB_OK && k < s->nkeys; k++) {
    rc = add(b, " AND s.");
    if (rc == NB_OK) rc = add_ident(b, s->conn, BEFORE_PREFIX, s->keys[k]);
    if (rc == NB_OK) rc = add(b, " IS NOT NULL");
  }
  if (rc == NB_OK) rc = add(b, " AND ROW(");
  if (rc == NB_OK) rc = add_key_list(b, s, "s.", BEFORE_PREFIX);
  if (rc == NB_OK) rc = add(b, ") IS DISTINCT FROM ROW(");
  if (rc == NB_OK) rc = add_key_list(b, s, "s.", "");
  if (rc == NB_OK) rc = add(b, ")");
  return rc;
}

/* "WITH u AS MATERIALIZED (the staged updates with a before image whose
 * key may differ from the new key, that image as jsonb in b) ".  An
 * update whose before image holds, for every key column, the very text
 * of the new key's value has not changed the key and is left out
 * without a jsonb conversion (the common case under REPLICA IDENTITY
 * FULL); text that differs is compared again as typed values below.
 * Materialized, so that no plan casts the "before" of another record. */
static int add_updates_cte(PgBuf *b, const PgStage *s) {
  size_t k;
  int rc = add(b, "WITH u AS MATERIALIZED (SELECT nebula_ord, ");
  if (rc == NB_OK) rc = add_key_list(b, s, "", "");
  if (rc == NB_OK) rc = add(b, ", \"before\"::jsonb AS b FROM ");
  if (rc == NB_OK) rc = add(b, s->load);
  if (rc == NB_OK) rc = add(b, " WHERE ");
  if (rc == NB_OK) rc = add(b, s->op);
  if (rc == NB_OK) rc = add(b, " = 'u' AND \"before\" IS NOT NULL AND NOT (");
  for (k = 0; rc == NB_OK && k < s->nkeys; k++) {
    if (k > 0) rc = add(b, " AND ");
    if (rc == NB_OK) rc = add(b, "\"before\"::json ->> ");
    if (rc == NB_OK) rc = add_literal(b, s->conn, s->keys[k]);
    if (rc == NB_OK) rc = add(b, " IS NOT DISTINCT FROM ");
    if (rc == NB_OK) rc = add_ident(b, s->conn, "", s->keys[k]);
    if (rc == NB_OK) rc = add(b, "::text");
  }
  if (rc == NB_OK) rc = add(b, ")) ");
  return rc;
}

/* postgresql source: the old key's text values in the "before" JSON,
 * read with the key columns' input functions. */
static int json_sql(PgBuf *b, const PgStage *s) {
  size_t k;
  int rc = add_updates_cte(b, s);
  if (rc == NB_OK) rc = add_insert_head(b, s);
  if (rc == NB_OK) rc = add_key_list(b, s, "r.", "");
  if (rc == NB_OK) rc = add(b, ", u.nebula_ord FROM u CROSS JOIN LATERAL jsonb_populate_record(NULL::");
  if (rc == NB_OK) rc = add(b, s->load);
  if (rc == NB_OK) rc = add(b, ", jsonb_build_object(");
  for (k = 0; rc == NB_OK && k < s->nkeys; k++) {
    if (k > 0) rc = add(b, ", ");
    if (rc == NB_OK) rc = add_literal(b, s->conn, s->keys[k]);
    if (rc == NB_OK) rc = add(b, ", u.b -> ");
    if (rc == NB_OK) rc = add_literal(b, s->conn, s->keys[k]);
  }
  if (rc == NB_OK) rc = add(b, ")) r WHERE ROW(");
  if (rc == NB_OK) rc = add_key_list(b, s, "r.", "");
  if (rc == NB_OK) rc = add(b, ") IS DISTINCT FROM ROW(");
  if (rc == NB_OK) rc = add_key_list(b, s, "u.", "");
  if (rc == NB_OK) rc = add(b, ")");
  return rc;
}

/* The first staged update whose "before" is not an object with a string
 * for every key column: nebula_ord, the JSON (shortened), its type, then
 * each key's value type. */
static int json_check_sql(PgBuf *b, const PgStage *s) {
  size_t k;
  char shown[32];
  int rc = add_updates_cte(b, s);
  if (rc == NB_OK) rc = add(b, "SELECT u.nebula_ord, left(u.b::text, ");
  snprintf(shown, sizeof shown, "%d", BEFORE_SHOWN);
  if (rc == NB_OK) rc = add(b, shown);
  if (rc == NB_OK) rc = add(b, "), jsonb_typeof(u.b)");
  for (k = 0; rc == NB_OK && k < s->nkeys; k++) {
    rc = add(b, ", jsonb_typeof(u.b -> ");
    if (rc == NB_OK) rc = add_literal(b, s->conn, s->keys[k]);
    if (rc == NB_OK) rc = add(b, ")");
  }
  if (rc == NB_OK) rc = add(b, " FROM u WHERE jsonb_typeof(u.b) <> 'object'");
  for (k = 0; rc == NB_OK && k < s->nkeys; k++) {
    rc = add(b, " OR jsonb_typeof(u.b -> ");
    if (rc == NB_OK) rc = add_literal(b, s->conn, s->keys[k]);
    if (rc == NB_OK) rc = add(b, ") IS DISTINCT FROM 'string'");
  }
  if (rc == NB_OK) rc = add(b, " ORDER BY u.nebula_ord LIMIT 1");
  if (rc == NB_OK) rc = pg_buf_add(b, "", 1);
  return rc;
}

/* ---- running them ----------------------------------------------------- */

static int malformed(const PgStage *s, PGresult *res, NbError *err) {
  unsigned long long record = s->base + strtoull(PQgetvalue(res, 0, 0), NULL, 10);
  const char *type = PQgetvalue(res, 0, 2);
  size_t k;
  if (strcmp(type, "object") != 0) {
    nb_error_set(err, NB_INVALID, "table %s, stream \"%s\", record %llu: the before image of an update is a JSON %s, not an object",
                 s->table, s->stream, record, type);
  } else {
    for (k = 0; k + 1 < s->nkeys && !PQgetisnull(res, 0, 3 + (int)k) &&
                strcmp(PQgetvalue(res, 0, 3 + (int)k), "string") == 0; k++) {}
    nb_error_set(err, NB_INVALID, "table %s, stream \"%s\", record %llu: the before image of an update has no text value for key column \"%s\"",
                 s->table, s->stream, record, s->keys[k]);
  }
  nb_error_detail(err, "before = %s%s", PQgetvalue(res, 0, 1),
                  PQgetlength(res, 0, 1) >= BEFORE_SHOWN ? "..." : "");
  nb_error_hint(err, "apply_deletes deletes the old key of an update that changed it; the key of the upsert "
                     "(primary_key) must be the source table's replica identity or primary key.");
  nb_error_locate(err, s->table, (int64_t)record, 0);
  return NB_INVALID;
}

static int check_json(const PgStage *s, NbError *err) {
  PgBuf sql = {0};
  PGresult *res;
  int rc = json_check_sql(&sql, s);
  if (rc != NB_OK) {
    pg_buf_free(&sql);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  res = PQexec(s->conn, sql.data);
  pg_buf_free(&sql);
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    rc = pg_fail(s->server, s->conn, res, NB_IO, err, "table %s, stream \"%s\": could not read the before images of the staged updates",
                 s->table, s->stream);
  else if (PQntuples(res) > 0)
    rc = malformed(s, res, err);
  PQclear(res);
  return rc;
}

int pg_stage_old_keys(const PgStage *s, int kind, NbError *err) {
  PgBuf sql = {0};
  int rc;
  if (kind == PG_OLD_KEY_NONE) return NB_OK;
  if (kind == PG_OLD_KEY_JSON && (rc = check_json(s, err)) != NB_OK) return rc;
  rc = kind == PG_OLD_KEY_JSON ? json_sql(&sql, s) : columns_sql(&sql, s);
  if (rc == NB_OK) rc = pg_buf_add(&sql, "", 1);
  if (rc != NB_OK) {
    pg_buf_free(&sql);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  rc = pg_exec(s->server, s->conn, sql.data, "could not stage the deletes of the old keys of updates that changed a key", err);
  if (rc != NB_OK) nb_error_locate(err, s->table, 0, 0);
  pg_buf_free(&sql);
  return rc;
}
