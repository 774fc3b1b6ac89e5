/*
 * mysql_dest.c - the destination: rows go in as multi-row INSERT
 * statements inside one transaction per engine commit.
 *
 * Exactly once.  Each commit also writes, in the same transaction, the
 * bookkeeping table _nebula_commits: per (pipeline_id, stream) the number
 * of the stream's rows the database holds.  The state blob handed to the
 * host says how many rows the host had delivered at that commit.  If the
 * process dies after the database commit but before the host wrote its
 * state file, the resumed run opens with the older state: the source
 * replays rows the database already holds, and the destination drops
 * exactly (bookkeeping - state) rows of the stream before writing again.
 * The replay must be the same rows in the same order: the mysql source
 * reads keyed tables in key order and files are read in file order.
 *
 * Tables are created (CREATE TABLE IF NOT EXISTS) on a second connection,
 * because DDL commits the open transaction of its own connection.
 *
 * apply_deletes (mode upsert): CDC records are applied in record order by
 * their op column - runs of upserts and of deletes by key, sent as
 * multi-statement queries - and the CDC metadata columns are not written
 * (mysql_cdc_apply.c says which); the bookkeeping counts records.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "mysql_internal.h"

#define STATE_MAGIC "nebula-mysql-dest 1\n"
#define MAX_STATEMENT_BYTES ((size_t)4 << 20)
#define BOOKKEEPING "_nebula_commits"

enum { MODE_APPEND = 0, MODE_REPLACE, MODE_UPSERT };

typedef struct DestStream {
  char *name;               /* the host's stream name */
  char *qtable;             /* quoted target table */
  char *table;              /* target table, unquoted */
  struct ArrowSchema schema; /* kept copy (nb_schema_copy) */
  NbField *fields;          /* of schema */
  size_t n_fields;
  char *columns_sql;        /* "(`a`, `b`)" */
  char *upsert_sql;         /* " ON DUPLICATE KEY UPDATE ..." */
  char *load_sql;           /* "LOAD DATA LOCAL INFILE ... (`a`, `b`)" */
  size_t *cols;             /* the table's columns: indices into fields */
  size_t n_cols;
  /* apply_deletes: the CDC records' op column is obeyed. */
  size_t op_col;            /* index of the op column */
  size_t *keys;             /* the key columns: indices into fields */
  size_t *before_keys;      /* before_<key> of mysql-source records, or SIZE_MAX */
  size_t toasted_col;       /* toasted_columns of postgresql-source records, or SIZE_MAX */
  size_t n_keys;
  char *delete_sql;         /* "DELETE FROM `t` WHERE (`k`, ...) IN (" */
  uint64_t delivered;       /* rows the host delivered, counted from the run's start */
  uint64_t in_db;           /* rows the bookkeeping says the database holds */
  bool replaced;            /* mode replace: the old rows are deleted */
  bool touched;             /* written in the open transaction */
} DestStream;

typedef struct MyDest {
  const NbHostApi *host;
  MyConnConfig cfg;
  MYSQL *db;
  MYSQL *ddl;
  int mode;
  bool use_load; /* LOAD DATA LOCAL INFILE, until the server refuses it */
  bool apply_deletes; /* upsert of CDC records: d deletes, t empties the table */
  char *table_pattern;
  char *key;
  char *pipeline_id;
  DestStream *streams;
  uint32_t n_streams;
  bool in_txn;
  bool marker_cleared; /* this run's first commit removed the finished mark */
  char *stmt; /* the INSERT being built */
  size_t stmt_len, stmt_cap;
  char *state;
  size_t state_len;
} MyDest;

static int allow_statement_lists(MyDest *d, MYSQL *db, NbError *err);

/* ---- Text buffers ----------------------------------------------------- */

static int stmt_reserve(MyDest *d, size_t more) {
  size_t cap;
  char *p;
  if (d->stmt_len + more + 1 <= d->stmt_cap) return NB_OK;
  cap = d->stmt_cap ? d->stmt_cap : 65536;
  while (cap < d->stmt_len + more + 1) cap *= 2;
  p = realloc(d->stmt, cap);
  if (p == NULL) return NB_NOMEM;
  d->stmt = p;
  d->stmt_cap = cap;
  return NB_OK;
}

static int stmt_add(MyDest *d, const char *text, size_t n) {
  if (stmt_reserve(d, n) != NB_OK) return NB_NOMEM;
  memcpy(d->stmt + d->stmt_len, text, n);
  d->stmt_len += n;
  d->stmt[d->stmt_len] = '\0';
  return NB_OK;
}

static int stmt_str(MyDest *d, const char *text) { return stmt_add(d, text, strlen(text)); }

static int stmt_literal(MyDest *d, const char *text, size_t n) {
  if (stmt_reserve(d, 2 * n + 2) != NB_OK) return NB_NOMEM;
  d->stmt[d->stmt_len++] = '\'';
  d->stmt_len += mysql_real_escape_string(d->db, d->stmt + d->stmt_len, text, (unsigned long)n);
  d->stmt[d->stmt_len++] = '\'';
  d->stmt[d->stmt_len] = '\0';
  return NB_OK;
}

static int run_sql(MyDest *d, MYSQL *db, const char *sql, size_t len, const char *what,
                   NbError *err) {
  if (mysql_real_query(db, sql, (unsigned long)len) != 0)
    return my_fail(db, &d->cfg, err, "%s", what);
  return NB_OK;
}

/* ---- State ------------------------------------------------------------ */

static DestStream *find_stream(MyDest *d, const char *name) {
  uint32_t i;
  for (i = 0; i < d->n_streams; i++)
    if (strcmp(d->streams[i].name, name) == 0) return &d->streams[i];
  return NULL;
}

static DestStream *add_stream(MyDest *d, const char *name, size_t len) {
  DestStream *grown = realloc(d->streams, (d->n_streams + 1) * sizeof *grown);
  DestStream *s;
  if (grown == NULL) return NULL;
  d->streams = grown;
  s = &d->streams[d->n_streams];
  memset(s, 0, sizeof *s);
  if ((s->name = strndup(name, len)) == NULL) return NULL;
  d->n_streams++;
  return s;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static int bad_state(const char *why, NbError *err) {
  nb_error_set(err, NB_INVALID, "the saved destination state is not a mysql state (%s)", why);
  nb_error_hint(err, "Delete the state file to load from the start.");
  return NB_INVALID;
}

/* "nebula-mysql-dest 1\n" then "<delivered> <hex name>\n" per stream. */
static int parse_state(MyDest *d, const char *p, size_t len, NbError *err) {
  size_t at = strlen(STATE_MAGIC);
  if (len < at || memcmp(p, STATE_MAGIC, at) != 0) return bad_state("no header", err);
  while (at < len) {
    uint64_t rows = 0;
    char *name;
    size_t n = 0, start;
    DestStream *s;
    if (p[at] < '0' || p[at] > '9') return bad_state("a row count expected", err);
    while (at < len && p[at] >= '0' && p[at] <= '9') {
      if (rows > (UINT64_MAX - 9) / 10) return bad_state("a row count too large", err);
      rows = rows * 10 + (uint64_t)(p[at++] - '0');
    }
    if (at >= len || p[at++] != ' ') return bad_state("a space expected", err);
    start = at;
    while (at < len && p[at] != '\n') at++;
    if (at >= len || at == start || (at - start) % 2 != 0) return bad_state("a bad stream name", err);
    if ((name = malloc((at - start) / 2 + 1)) == NULL)
      return nb_error_set(err, NB_NOMEM, "out of memory");
    for (; start < at; start += 2) {
      int hi = hexval(p[start]), lo = hexval(p[start + 1]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        free(name);
        return bad_state("a bad stream name", err);
      }
      name[n++] = (char)(hi * 16 + lo);
    }
    name[n] = '\0';
    at++; /* the newline */
    if (find_stream(d, name) != NULL) {
      free(name);
      return bad_state("a stream twice", err);
    }
    s = add_stream(d, name, n);
    free(name);
    if (s == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    s->delivered = rows;
  }
  return NB_OK;
}

static int build_state(MyDest *d, NbError *err) {
  size_t cap = strlen(STATE_MAGIC) + 1, at, i, j;
  char *p;
  for (i = 0; i < d->n_streams; i++) cap += 24 + 2 * strlen(d->streams[i].name);
  if ((p = malloc(cap)) == NULL) return nb_error_set(err, NB_NOMEM, "out of memory (state)");
  at = (size_t)snprintf(p, cap, "%s", STATE_MAGIC);
  for (i = 0; i < d->n_streams; i++) {
    const DestStream *s = &d->streams[i];
    at += (size_t)snprintf(p + at, cap - at, "%" PRIu64 " ", s->delivered);
    for (j = 0; s->name[j] != '\0'; j++)
      at += (size_t)snprintf(p + at, cap - at, "%02x", (unsigned char)s->name[j]);
    p[at++] = '\n';
  }
  free(d->state);
  d->state = p;
  d->state_len = at;
  return NB_OK;
}

/* ---- Bookkeeping -------------------------------------------------------- */

static void stream_free(DestStream *s);

/* The marker row of a load that ended (dest_finish): stream name "\0",
 * which no real stream name contains. */
#define FINISHED_MARKER "X'00'"

static int bookkeeping_create(MyDest *d, NbError *err) {
  return run_sql(d, d->db,
                 "CREATE TABLE IF NOT EXISTS " BOOKKEEPING " (pipeline VARBINARY(255) NOT NULL,"
                 " stream VARBINARY(2048) NOT NULL, rows_loaded BIGINT UNSIGNED NOT NULL,"
                 " PRIMARY KEY (pipeline, stream)) ENGINE=InnoDB",
                 strlen("CREATE TABLE IF NOT EXISTS " BOOKKEEPING " (pipeline VARBINARY(255) NOT NULL,"
                        " stream VARBINARY(2048) NOT NULL, rows_loaded BIGINT UNSIGNED NOT NULL,"
                        " PRIMARY KEY (pipeline, stream)) ENGINE=InnoDB"),
                 "creating table " BOOKKEEPING " failed", err);
}

/* "<verb> ... WHERE pipeline = '<id>'" into d->stmt. */
static int pipeline_statement(MyDest *d, const char *head, NbError *err) {
  d->stmt_len = 0;
  if (stmt_str(d, head) != NB_OK || stmt_literal(d, d->pipeline_id, strlen(d->pipeline_id)) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  return NB_OK;
}

/* Read the pipeline's rows of the bookkeeping table into d->streams
 * (in_db); *finished when the last load ended (marker row). */
static int bookkeeping_read(MyDest *d, bool *finished, uint64_t *rows_found, NbError *err) {
  MYSQL_RES *res;
  MYSQL_ROW row;
  int rc = pipeline_statement(d, "SELECT stream, rows_loaded FROM " BOOKKEEPING " WHERE pipeline = ",
                              err);
  *finished = false;
  *rows_found = 0;
  if (rc != NB_OK) return rc;
  if ((rc = run_sql(d, d->db, d->stmt, d->stmt_len, "reading table " BOOKKEEPING " failed",
                    err)) != NB_OK)
    return rc;
  if ((res = mysql_store_result(d->db)) == NULL)
    return my_fail(d->db, &d->cfg, err, "reading table " BOOKKEEPING " failed");
  while (rc == NB_OK && (row = mysql_fetch_row(res)) != NULL) {
    unsigned long *lens = mysql_fetch_lengths(res);
    DestStream *s;
    if (row[0] == NULL || lens[0] == 0) continue;
    if (memchr(row[0], '\0', lens[0]) != NULL) {
      *finished = true;
      continue;
    }
    s = find_stream(d, row[0]);
    if (s == NULL && (s = add_stream(d, row[0], lens[0])) == NULL) {
      rc = nb_error_set(err, NB_NOMEM, "out of memory");
      break;
    }
    s->in_db = strtoull(row[1] != NULL ? row[1] : "0", NULL, 10);
    s->replaced = true;
    *rows_found += 1;
  }
  mysql_free_result(res);
  return rc;
}

/* Without a state, a run is a new load unless the pipeline's last load
 * was interrupted (rows in the bookkeeping, no marker): then it died
 * before the host saved its first state, or its state file was deleted,
 * and the source replays from the start - the rows the table holds are
 * skipped, not loaded twice. */
static int bookkeeping_load(MyDest *d, bool has_state, NbError *err) {
  bool finished = false;
  uint64_t found = 0;
  uint32_t i;
  int rc;
  if ((rc = bookkeeping_create(d, err)) != NB_OK) return rc;
  if ((rc = bookkeeping_read(d, &finished, &found, err)) != NB_OK) return rc;
  if (has_state || (found > 0 && !finished)) {
    if (!has_state)
      nb_log(d->host, NB_LOG_INFO,
             "pipeline \"%s\": the last load into this database was interrupted before it saved"
             " a state; the rows it committed are skipped when they are sent again (set another"
             " pipeline_id for a new load)", d->pipeline_id);
    mysql_commit(d->db);
    return NB_OK;
  }
  /* A new load: forget the last one. */
  for (i = 0; i < d->n_streams; i++) stream_free(&d->streams[i]);
  d->n_streams = 0;
  if ((rc = pipeline_statement(d, "DELETE FROM " BOOKKEEPING " WHERE pipeline = ", err)) != NB_OK)
    return rc;
  if ((rc = run_sql(d, d->db, d->stmt, d->stmt_len, "resetting table " BOOKKEEPING " failed",
                    err)) != NB_OK)
    return rc;
  return run_sql(d, d->db, "COMMIT", 6, "commit failed", err);
}

/* After a crash between the database commit and the state file, the
 * bookkeeping is ahead of the state: that many replayed rows are dropped. */
static int reconcile(MyDest *d, NbError *err) {
  uint32_t i;
  for (i = 0; i < d->n_streams; i++) {
    DestStream *s = &d->streams[i];
    if (s->in_db < s->delivered) {
      nb_error_set(err, NB_INVALID,
                   "stream \"%s\": the state says %" PRIu64 " rows were loaded, table "
                   BOOKKEEPING " of pipeline \"%s\" says %" PRIu64,
                   s->name, s->delivered, d->pipeline_id, s->in_db);
      nb_error_detail(err, "The bookkeeping table was changed, or another pipeline uses the same pipeline_id.");
      nb_error_hint(err, "Give each pipeline its own pipeline_id, or delete the state file to load from the start.");
      return NB_INVALID;
    }
    if (s->in_db > s->delivered)
      nb_log(d->host, NB_LOG_INFO,
             "stream \"%s\": %" PRIu64 " rows were committed after the saved state; the replayed"
             " rows are skipped", s->name, s->in_db - s->delivered);
  }
  return NB_OK;
}

/* ---- Open / close ----------------------------------------------------- */

static void stream_free(DestStream *s) {
  free(s->name);
  free(s->qtable);
  free(s->table);
  if (s->schema.release != NULL) s->schema.release(&s->schema);
  free(s->fields);
  free(s->columns_sql);
  free(s->upsert_sql);
  free(s->load_sql);
  free(s->cols);
  free(s->keys);
  free(s->before_keys);
  free(s->delete_sql);
}

void my_dest_close(void *dest) {
  MyDest *d = dest;
  uint32_t i;
  if (d == NULL) return;
  if (d->db != NULL) {
    if (d->in_txn) mysql_rollback(d->db);
    mysql_close(d->db);
  }
  if (d->ddl != NULL) mysql_close(d->ddl);
  for (i = 0; i < d->n_streams; i++) stream_free(&d->streams[i]);
  free(d->streams);
  my_conn_config_free(&d->cfg);
  free(d->table_pattern);
  free(d->key);
  free(d->pipeline_id);
  free(d->stmt);
  free(d->state);
  free(d);
}

static int copy_opt(const NbSettings *settings, const char *name, const char *fallback,
                    char **out, NbError *err) {
  const char *v = NULL;
  int rc = nb_setting_string(settings, name, fallback, &v, err);
  if (rc != NB_OK) return rc;
  if (v != NULL && (*out = strdup(v)) == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  return NB_OK;
}

/* apply_deletes deletes by key: it needs mode upsert and the key named. */
static int check_apply_settings(const MyDest *d, NbError *err) {
  if (d->mode != MODE_UPSERT) {
    nb_error_set(err, NB_INVALID, "setting \"apply_deletes\" needs mode upsert");
    nb_error_hint(err, "Set mode = \"upsert\" (and key), or leave apply_deletes false.");
    return NB_INVALID;
  }
  if (d->key == NULL || strspn(d->key, " ,") == strlen(d->key)) {
    nb_error_set(err, NB_INVALID, "setting \"apply_deletes\" needs setting \"key\"");
    nb_error_hint(err, "Name the table's primary key columns in key (comma-separated): deletes"
                  " find the row by them.");
    return NB_INVALID;
  }
  return NB_OK;
}

int my_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest, NbError *err) {
  MyDest *d = calloc(1, sizeof *d);
  int rc;
  *dest = NULL;
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->host = host;
  rc = my_conn_config_load(args->settings, &d->cfg, err);
  if (rc == NB_OK)
    rc = nb_setting_enum(args->settings, "mode", "append|replace|upsert", MODE_APPEND, &d->mode,
                         err);
  if (rc == NB_OK) rc = copy_opt(args->settings, "table", "{stream}", &d->table_pattern, err);
  if (rc == NB_OK) rc = copy_opt(args->settings, "key", NULL, &d->key, err);
  if (rc == NB_OK) rc = copy_opt(args->settings, "pipeline_id", "nebula", &d->pipeline_id, err);
  if (rc == NB_OK) {
    int bulk = 0;
    rc = nb_setting_enum(args->settings, "bulk_load", "load_data|insert", 0, &bulk, err);
    d->use_load = bulk == 0 && d->mode != MODE_UPSERT;
    d->cfg.local_infile = d->use_load;
  }
  if (rc == NB_OK)
    rc = nb_setting_bool(args->settings, "apply_deletes", false, &d->apply_deletes, err);
  if (rc == NB_OK && d->apply_deletes) rc = check_apply_settings(d, err);
  if (rc == NB_OK && args->state != NULL)
    rc = parse_state(d, args->state, args->state_len, err);
  if (rc == NB_OK) rc = my_connect(&d->cfg, &d->db, err);
  if (rc == NB_OK && mysql_autocommit(d->db, 0) != 0)
    rc = my_fail(d->db, &d->cfg, err, "turning autocommit off failed");
  if (rc == NB_OK) rc = allow_statement_lists(d, d->db, err);
  if (rc == NB_OK) rc = bookkeeping_load(d, args->state != NULL, err);
  if (rc == NB_OK) rc = reconcile(d, err);
  if (rc != NB_OK) {
    my_dest_close(d);
    return rc == NB_NOT_FOUND ? NB_INVALID : rc;
  }
  *dest = d;
  return NB_OK;
}

/* ---- Prepare: the table ------------------------------------------------- */

/* The table for a stream: table_pattern with "{stream}" replaced by the
 * stream's base name (nb_stream_path). */
static char *table_name(const MyDest *d, const char *stream) {
  return nb_stream_path(d->table_pattern, stream);
}

static bool is_key_column(const MyDest *d, const char *name) {
  const char *p = d->key;
  size_t n = strlen(name);
  while (p != NULL && *p != '\0') {
    const char *end;
    while (*p == ' ' || *p == ',') p++;
    end = p;
    while (*end != '\0' && *end != ',') end++;
    while (end > p && end[-1] == ' ') end--;
    if ((size_t)(end - p) == n && strncmp(p, name, n) == 0) return true;
    p = *end == ',' || *end == ' ' ? end + 1 : end;
    while (*p == ' ') p++;
  }
  return false;
}

/* The column type a created table gets for an Arrow column. */
static const char *sql_type(const MyDest *d, const NbField *f, char *buf, size_t cap) {
  bool key = is_key_column(d, f->name);
  switch (f->type) {
    case NB_TYPE_INT64: return "BIGINT";
    case NB_TYPE_FLOAT64: return "DOUBLE";
    case NB_TYPE_BOOL: return "BOOLEAN";
    case NB_TYPE_DECIMAL128:
      snprintf(buf, cap, "DECIMAL(%d,%d)", (int)f->precision, (int)f->scale);
      return buf;
    case NB_TYPE_DATE32: return "DATE";
    case NB_TYPE_TIMESTAMP: return "DATETIME(6)";
    case NB_TYPE_JSON: return "JSON";
    case NB_TYPE_NUMBER: return key ? "VARCHAR(255)" : "VARCHAR(1024)";
    default: return key ? "VARCHAR(255)" : "LONGTEXT";
  }
}

static int create_table(MyDest *d, DestStream *s, NbError *err) {
  size_t i;
  char buf[64];
  int rc;
  if (d->ddl == NULL && (rc = my_connect(&d->cfg, &d->ddl, err)) != NB_OK) return rc;
  d->stmt_len = 0;
  rc = stmt_str(d, "CREATE TABLE IF NOT EXISTS ");
  rc |= stmt_str(d, s->qtable);
  rc |= stmt_str(d, " (");
  for (i = 0; i < s->n_cols; i++) {
    const NbField *f = &s->fields[s->cols[i]];
    char *id = my_quote_ident(f->name);
    if (id == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    rc |= stmt_str(d, i > 0 ? ", " : "");
    rc |= stmt_str(d, id);
    free(id);
    rc |= stmt_str(d, " ");
    rc |= stmt_str(d, sql_type(d, f, buf, sizeof buf));
    if (is_key_column(d, f->name)) rc |= stmt_str(d, " NOT NULL");
  }
  if (d->key != NULL && d->key[0] != '\0') {
    const char *p = d->key;
    bool first = true;
    rc |= stmt_str(d, ", PRIMARY KEY (");
    while (*p != '\0') {
      const char *end;
      char *name, *id;
      while (*p == ' ' || *p == ',') p++;
      if (*p == '\0') break;
      end = p;
      while (*end != '\0' && *end != ',') end++;
      name = strndup(p, (size_t)(end - p));
      if (name == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
      while (strlen(name) > 0 && name[strlen(name) - 1] == ' ') name[strlen(name) - 1] = '\0';
      id = my_quote_ident(name);
      free(name);
      if (id == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
      rc |= stmt_str(d, first ? "" : ", ");
      rc |= stmt_str(d, id);
      free(id);
      first = false;
      p = end;
    }
    rc |= stmt_str(d, ")");
  }
  rc |= stmt_str(d, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
  if (rc != NB_OK) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (mysql_real_query(d->ddl, d->stmt, (unsigned long)d->stmt_len) != 0) {
    rc = my_fail(d->ddl, &d->cfg, err, "creating table \"%s\" failed", s->table);
    nb_error_detail(err, "Stream \"%s\".", s->name);
    if (rc == NB_UNAVAILABLE) {
      /* A retry opens a new connection. */
      mysql_close(d->ddl);
      d->ddl = NULL;
    }
    return rc == NB_NOT_FOUND ? NB_INVALID : rc;
  }
  return NB_OK;
}

/* "(`a`, `b`)" and " ON DUPLICATE KEY UPDATE `a` = VALUES(`a`), ...". */
static int column_lists(DestStream *s, NbError *err) {
  size_t i, cap = 64, at = 0, uat = 0, ucap;
  char *cols, *ups;
  for (i = 0; i < s->n_cols; i++) cap += 2 * strlen(s->fields[s->cols[i]].name) + 8;
  ucap = 32 + 3 * cap;
  cols = malloc(cap);
  ups = malloc(ucap);
  if (cols == NULL || ups == NULL) {
    free(cols);
    free(ups);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  at += (size_t)snprintf(cols, cap, " (");
  uat += (size_t)snprintf(ups, ucap, " ON DUPLICATE KEY UPDATE ");
  for (i = 0; i < s->n_cols; i++) {
    char *id = my_quote_ident(s->fields[s->cols[i]].name);
    if (id == NULL) {
      free(cols);
      free(ups);
      return nb_error_set(err, NB_NOMEM, "out of memory");
    }
    at += (size_t)snprintf(cols + at, cap - at, "%s%s", i > 0 ? ", " : "", id);
    uat += (size_t)snprintf(ups + uat, ucap - uat, "%s%s = VALUES(%s)", i > 0 ? ", " : "", id,
                            id);
    free(id);
  }
  {
    static const char head[] = "LOAD DATA LOCAL INFILE 'nebula-batch' INTO TABLE ";
    static const char mid[] = " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY"
                              " '\\\\' LINES TERMINATED BY '\\n' ";
    size_t lcap = sizeof head + strlen(s->qtable) + sizeof mid + at + 4;
    char *load = malloc(lcap);
    if (load == NULL) {
      free(cols);
      free(ups);
      return nb_error_set(err, NB_NOMEM, "out of memory");
    }
    snprintf(load, lcap, "%s%s%s%s)", head, s->qtable, mid, cols + 1);
    free(s->load_sql);
    s->load_sql = load;
  }
  snprintf(cols + at, cap - at, ") VALUES ");
  free(s->columns_sql);
  free(s->upsert_sql);
  s->columns_sql = cols;
  s->upsert_sql = ups;
  return NB_OK;
}

/* ---- Prepare: CDC records (apply_deletes) ------------------------------ */

/* The next name of the comma-separated key list at *p (spaces around
 * names dropped): *name, *len; false at the end. */
static bool next_key_name(const char **p, const char **name, size_t *len) {
  const char *at = *p, *end;
  while (*at == ' ' || *at == ',') at++;
  if (*at == '\0') return false;
  end = at;
  while (*end != '\0' && *end != ',') end++;
  *p = end;
  while (end > at && end[-1] == ' ') end--;
  *name = at;
  *len = (size_t)(end - at);
  return true;
}

static bool is_table_column(const DestStream *s, size_t field) {
  size_t i;
  for (i = 0; i < s->n_cols; i++)
    if (s->cols[i] == field) return true;
  return false;
}

/* The key columns (setting key, in its order) among the table's columns,
 * and their before_<key> columns of mysql-source records. */
static int find_keys(const MyDest *d, DestStream *s, NbError *err) {
  const char *p = d->key, *name;
  size_t len, n = 0, i;
  while (next_key_name(&p, &name, &len)) n++;
  free(s->keys);
  free(s->before_keys);
  s->keys = calloc(n, sizeof *s->keys);
  s->before_keys = calloc(n, sizeof *s->before_keys);
  if (s->keys == NULL || s->before_keys == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  s->n_keys = 0;
  for (p = d->key; next_key_name(&p, &name, &len); s->n_keys++) {
    for (i = 0; i < s->n_fields; i++)
      if (strlen(s->fields[i].name) == len && strncmp(s->fields[i].name, name, len) == 0 &&
          is_table_column(s, i))
        break;
    if (i == s->n_fields) {
      nb_error_set(err, NB_INVALID, "setting \"key\": stream \"%s\" has no column \"%.*s\"",
                   s->name, (int)len, name);
      nb_error_hint(err, "apply_deletes deletes rows by the key columns of the records; name"
                    " columns of the table (not CDC metadata such as _op or before_*).");
      return NB_INVALID;
    }
    s->keys[s->n_keys] = i;
    s->before_keys[s->n_keys] = my_cdc_before_column(s->fields, s->n_fields, s->op_col, i);
  }
  return NB_OK;
}

/* The columns the table gets: every field, or with apply_deletes every
 * field but the CDC metadata (the op column, before images, binlog or
 * WAL positions, timestamps). */
static int table_columns(MyDest *d, DestStream *s, NbError *err) {
  size_t i;
  int rc;
  free(s->cols);
  s->n_cols = 0;
  if ((s->cols = calloc(s->n_fields, sizeof *s->cols)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  if (d->apply_deletes) {
    rc = my_cdc_op_column(s->fields, s->n_fields, &s->op_col);
    if (rc != NB_OK) {
      nb_error_set(err, NB_INVALID, "stream \"%s\" has no text column \"_op\" or \"op\": setting"
                   " \"apply_deletes\" applies CDC records", s->name);
      nb_error_hint(err, "Read the source in mode cdc (mysql: _op, postgresql: op), or leave"
                    " apply_deletes false.");
      return NB_INVALID;
    }
  }
  s->toasted_col = SIZE_MAX;
  for (i = 0; i < s->n_fields; i++) {
    if (!d->apply_deletes || !my_cdc_is_metadata(s->fields, s->n_fields, s->op_col, i))
      s->cols[s->n_cols++] = i;
    else if (strcmp(s->fields[i].name, "toasted_columns") == 0 &&
             strcmp(s->fields[s->op_col].name, "op") == 0)
      s->toasted_col = i;
  }
  if (s->n_cols == 0)
    return nb_error_set(err, NB_INVALID, "stream \"%s\" has no columns to write", s->name);
  return d->apply_deletes ? find_keys(d, s, err) : NB_OK;
}

/* "DELETE FROM `t` WHERE (`k1`, `k2`) IN (" */
static int delete_head(DestStream *s, NbError *err) {
  size_t i, cap = strlen(s->qtable) + 64, at;
  char *sql;
  for (i = 0; i < s->n_keys; i++) cap += 2 * strlen(s->fields[s->keys[i]].name) + 4;
  if ((sql = malloc(cap)) == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  at = (size_t)snprintf(sql, cap, "DELETE FROM %s WHERE (", s->qtable);
  for (i = 0; i < s->n_keys; i++) {
    char *id = my_quote_ident(s->fields[s->keys[i]].name);
    if (id == NULL) {
      free(sql);
      return nb_error_set(err, NB_NOMEM, "out of memory");
    }
    at += (size_t)snprintf(sql + at, cap - at, "%s%s", i > 0 ? ", " : "", id);
    free(id);
  }
  snprintf(sql + at, cap - at, ") IN (");
  free(s->delete_sql);
  s->delete_sql = sql;
  return NB_OK;
}

int my_dest_prepare(void *dest, const char *stream_name, const struct ArrowSchema *schema,
                    uint32_t *dest_stream, NbError *err) {
  MyDest *d = dest;
  DestStream *s = find_stream(d, stream_name);
  int rc;
  if (s == NULL && (s = add_stream(d, stream_name, strlen(stream_name))) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  if ((rc = nb_schema_copy(schema, &s->schema, err)) != NB_OK) return rc;
  free(s->fields);
  s->fields = NULL;
  if ((rc = nb_schema_fields(&s->schema, &s->fields, &s->n_fields, err)) != NB_OK) return rc;
  if (s->n_fields == 0)
    return nb_error_set(err, NB_INVALID, "stream \"%s\" has no columns to write", stream_name);
  if (s->table == NULL) {
    if ((s->table = table_name(d, stream_name)) == NULL ||
        (s->qtable = my_quote_ident(s->table)) == NULL)
      return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if ((rc = table_columns(d, s, err)) != NB_OK) return rc;
  if ((rc = create_table(d, s, err)) != NB_OK) return rc;
  if ((rc = column_lists(s, err)) != NB_OK) return rc;
  if (d->apply_deletes && (rc = delete_head(s, err)) != NB_OK) return rc;
  *dest_stream = (uint32_t)(s - d->streams);
  return NB_OK;
}

/* ---- Write ------------------------------------------------------------ */

/* A failure inside the open transaction.  Retrying the same call (what the
 * host does after NB_UNAVAILABLE) would be wrong: the server may have
 * rolled back the whole transaction (connection lost) or only the
 * statement (lock wait timeout), so the run fails instead and the next
 * run resumes from the last commit, which the bookkeeping makes exact. */
static int not_retryable(int rc, NbError *err) {
  if (rc == NB_OK || rc == NB_NOMEM || rc == NB_DATA) return rc;
  if (err != NULL) {
    err->code = NB_IO;
    if (rc == NB_UNAVAILABLE)
      nb_error_detail(err, "The load fails here; running the pipeline again resumes after the last"
                      " commit without losing or duplicating rows.");
  }
  return NB_IO;
}

/* Between transactions nothing is lost with the connection: a connection
 * that went away (server restart) is opened again, and a failure to do so
 * is NB_UNAVAILABLE, which the host retries. */
static int reconnect(MyDest *d, NbError *err) {
  MYSQL *db = NULL;
  int rc;
  if ((rc = my_connect(&d->cfg, &db, err)) != NB_OK) return rc;
  if (mysql_autocommit(db, 0) != 0) {
    rc = my_fail(db, &d->cfg, err, "turning autocommit off failed");
    mysql_close(db);
    return rc;
  }
  if ((rc = allow_statement_lists(d, db, err)) != NB_OK) {
    mysql_close(db);
    return rc;
  }
  mysql_close(d->db);
  d->db = db;
  nb_log(d->host, NB_LOG_INFO, "reconnected to the server after the connection was lost");
  return NB_OK;
}

static int begin(MyDest *d, NbError *err) {
  unsigned int no;
  int rc;
  if (d->in_txn) return NB_OK;
  if (mysql_real_query(d->db, "START TRANSACTION", 17) != 0) {
    no = mysql_errno(d->db);
    if (no != CR_SERVER_GONE_ERROR && no != CR_SERVER_LOST)
      return my_fail(d->db, &d->cfg, err, "starting a transaction failed");
    if ((rc = reconnect(d, err)) != NB_OK) return rc;
    if (mysql_real_query(d->db, "START TRANSACTION", 17) != 0)
      return my_fail(d->db, &d->cfg, err, "starting a transaction failed");
  }
  d->in_txn = true;
  return NB_OK;
}

/* "YYYY-MM-DD HH:MM:SS.ffffff" of microseconds since the epoch (UTC). */
static size_t format_timestamp(int64_t micros, char *buf, size_t cap) {
  int64_t secs = micros / 1000000, frac = micros % 1000000, days, rem, y;
  unsigned m, d;
  if (frac < 0) {
    frac += 1000000;
    secs--;
  }
  days = secs / 86400;
  rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  nb_civil_from_days(days, &y, &m, &d);
  return (size_t)snprintf(buf, cap, "%04lld-%02u-%02u %02lld:%02lld:%02lld.%06lld",
                          (long long)y, m, d, (long long)(rem / 3600),
                          (long long)(rem / 60 % 60), (long long)(rem % 60), (long long)frac);
}

/* How a value is written: SQL NULL / \N, as it is (numbers), or as a
 * string (quoted for INSERT, escaped for LOAD DATA). */
typedef enum { VALUE_NULL, VALUE_BARE, VALUE_STRING } ValueKind;

/* One value as text, the same for INSERT and LOAD DATA: *text (maybe in
 * buf) and *n.  NB_DATA for a float MariaDB cannot store (NaN, inf). */
static int value_text(const NbColumnView *v, int64_t row, char *buf, size_t cap,
                      const char **text, size_t *n, ValueKind *kind, NbError *err) {
  *text = NULL;
  *kind = VALUE_BARE;
  if (nb_view_is_null(v, row)) {
    *kind = VALUE_NULL;
    return NB_OK;
  }
  switch (v->field.type) {
    case NB_TYPE_TIMESTAMP: {
      const int64_t *values = (const int64_t *)(const void *)v->data;
      *n = format_timestamp(values[row + v->offset], buf, cap);
      *text = buf;
      *kind = VALUE_STRING;
      return NB_OK;
    }
    case NB_TYPE_BOOL:
      *n = nb_view_text_n(v, row, buf, cap, text);
      *text = *text != NULL && *n > 0 && (*text)[0] == 't' ? "1" : "0";
      *n = 1;
      return NB_OK;
    case NB_TYPE_INT64:
    case NB_TYPE_DECIMAL128:
      *n = nb_view_text_n(v, row, buf, cap, text);
      return *text != NULL ? NB_OK : NB_INTERNAL;
    case NB_TYPE_FLOAT64:
      *n = nb_view_text_n(v, row, buf, cap, text);
      if (*text == NULL || *n == 0 ||
          !(((*text)[0] >= '0' && (*text)[0] <= '9') || (*text)[0] == '-')) {
        nb_error_set(err, NB_DATA, "column \"%s\": %s cannot be stored in MariaDB/MySQL",
                     v->field.name, *text != NULL ? *text : "the value");
        return NB_DATA;
      }
      return NB_OK;
    default:
      *n = nb_view_text_n(v, row, buf, cap, text);
      *kind = VALUE_STRING;
      return *text != NULL ? NB_OK : NB_INTERNAL;
  }
}

/* One value: of a multi-row INSERT (NULL, strings quoted), or a LOAD DATA
 * field (load: \N, strings escaped). */
static int put_value(MyDest *d, const NbColumnView *v, int64_t row, bool load, NbError *err) {
  char buf[NB_TEXT_SCRATCH];
  const char *text;
  size_t n = 0;
  ValueKind kind;
  int rc = value_text(v, row, buf, sizeof buf, &text, &n, &kind, err);
  if (rc != NB_OK) return rc;
  if (kind == VALUE_NULL) return load ? stmt_add(d, "\\N", 2) : stmt_add(d, "NULL", 4);
  if (kind == VALUE_BARE) return stmt_add(d, text, n);
  if (!load) return stmt_literal(d, text, n);
  if (stmt_reserve(d, 2 * n) != NB_OK) return NB_NOMEM;
  d->stmt_len += my_load_escape(d->stmt + d->stmt_len, text, n);
  d->stmt[d->stmt_len] = '\0';
  return NB_OK;
}

static int flush_insert(MyDest *d, DestStream *s, int64_t first, int64_t last, NbError *err) {
  int rc;
  if (d->mode == MODE_UPSERT && stmt_str(d, s->upsert_sql) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  if (mysql_real_query(d->db, d->stmt, (unsigned long)d->stmt_len) != 0) {
    rc = my_fail(d->db, &d->cfg, err, "inserting into table \"%s\" failed", s->table);
    nb_error_detail(err, "Rows %lld to %lld of the batch of stream \"%s\"; the transaction is"
                    " rolled back.", (long long)first + 1, (long long)last + 1, s->name);
    return not_retryable(rc, err);
  }
  d->stmt_len = 0;
  return NB_OK;
}

static int start_insert(MyDest *d, DestStream *s) {
  d->stmt_len = 0;
  if (stmt_str(d, "INSERT INTO ") != NB_OK || stmt_str(d, s->qtable) != NB_OK ||
      stmt_str(d, s->columns_sql) != NB_OK)
    return NB_NOMEM;
  return NB_OK;
}

/* One row into the statement: "(v,v)" for INSERT, "v\tv\n" for LOAD DATA.
 * NB_DATA locates the row (a value MariaDB cannot store). */
static int put_row(MyDest *d, const DestStream *s, const NbColumnView *views, size_t n_views,
                   int64_t row, bool load, NbError *err) {
  size_t i;
  int rc = load ? NB_OK : stmt_add(d, "(", 1);
  (void)n_views;
  for (i = 0; rc == NB_OK && i < s->n_cols; i++) {
    if (i > 0) rc = stmt_add(d, load ? "\t" : ",", 1);
    if (rc == NB_OK) rc = put_value(d, nb_column_view_at(views, s->cols[i]), row, load, err);
  }
  if (rc == NB_OK) rc = stmt_add(d, load ? "\n" : ")", 1);
  if (rc == NB_DATA) {
    nb_error_locate(err, s->table, row + 1, 0);
    return NB_DATA;
  }
  if (rc != NB_OK)
    return nb_error_set(err, NB_NOMEM, load ? "out of memory (LOAD DATA buffer)"
                                            : "out of memory (INSERT statement)");
  return NB_OK;
}

static int write_rows(MyDest *d, DestStream *s, const NbColumnView *views, size_t n_views,
                      int64_t start, int64_t length, NbError *err) {
  int64_t row, first = -1;
  size_t base = 0;
  int rc;
  for (row = start; row < length; row++) {
    s->delivered++;
    if (s->delivered <= s->in_db) continue; /* committed before the crash */
    if (first < 0) {
      if (start_insert(d, s) != NB_OK) return nb_error_set(err, NB_NOMEM, "out of memory");
      base = d->stmt_len;
      first = row;
    }
    if (d->stmt_len > base && stmt_add(d, ",", 1) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory (INSERT statement)");
    if ((rc = put_row(d, s, views, n_views, row, false, err)) != NB_OK) return rc;
    if (d->stmt_len >= MAX_STATEMENT_BYTES) {
      if ((rc = flush_insert(d, s, first, row, err)) != NB_OK) return rc;
      first = -1;
    }
  }
  if (first >= 0) return flush_insert(d, s, first, length - 1, err);
  return NB_OK;
}

/* Send the rows formatted so far; on a refusal of LOCAL INFILE, note it
 * (*refused) so the caller writes the same rows with INSERTs. */
static int flush_load(MyDest *d, DestStream *s, int64_t first, int64_t last, bool *refused,
                      NbError *err) {
  int rc = my_load_data(d->db, &d->cfg, s->load_sql, d->stmt, d->stmt_len, refused, err);
  d->stmt_len = 0;
  if (rc != NB_OK) {
    nb_error_detail(err, "Table \"%s\", rows %lld to %lld of the batch of stream \"%s\"; the"
                    " transaction is rolled back.", s->table, (long long)first + 1,
                    (long long)last + 1, s->name);
    return not_retryable(rc, err);
  }
  if (*refused) {
    nb_log(d->host, NB_LOG_INFO,
           "the server refuses LOAD DATA LOCAL INFILE: loading with INSERT statements");
    d->use_load = false;
  }
  return NB_OK;
}

/* The rows of a batch by LOAD DATA LOCAL INFILE, in chunks of about
 * MAX_STATEMENT_BYTES; falls back to INSERTs from the chunk that was
 * refused. */
static int load_rows(MyDest *d, DestStream *s, const NbColumnView *views, size_t n_views,
                     int64_t length, NbError *err) {
  int64_t row, first = -1;
  uint64_t delivered_at_first = s->delivered;
  bool refused = false;
  int rc;
  d->stmt_len = 0;
  for (row = 0; row < length; row++) {
    if (first < 0) delivered_at_first = s->delivered;
    s->delivered++;
    if (s->delivered <= s->in_db) continue; /* committed before the crash */
    if (first < 0) first = row;
    if ((rc = put_row(d, s, views, n_views, row, true, err)) != NB_OK) return rc;
    if (d->stmt_len >= MAX_STATEMENT_BYTES || row == length - 1) {
      if ((rc = flush_load(d, s, first, row, &refused, err)) != NB_OK) return rc;
      if (refused) {
        s->delivered = delivered_at_first;
        return write_rows(d, s, views, n_views, first, length, err);
      }
      first = -1;
    }
  }
  /* Rows are skipped only before the first one written, so every
   * formatted row was sent by the last row's flush. */
  return NB_OK;
}

/* ---- Write: CDC records (apply_deletes) -------------------------------- */

/* The statements being built while records are applied in order: runs
 * of upserts (one INSERT ... ON DUPLICATE KEY UPDATE, whose rows the
 * server applies one after the other) and of deletes (one DELETE ... IN),
 * a record of the other kind closing the run, so the last record of a key
 * decides, as in the source, whatever the key columns' collation.  The
 * closed statements go to the server together (multi-statement query, one
 * round trip) when about MAX_STATEMENT_BYTES are pending or the batch
 * ends; the server runs them in order and stops at the first error. */
typedef struct ApplyRun {
  MyOpKind kind;       /* of the open statement; MY_OP_UNKNOWN: none open */
  int64_t first, last; /* records of the batch in the pending statements */
  size_t base;         /* d->stmt_len after the open statement's head */
  unsigned statements; /* closed statements pending */
} ApplyRun;

/* apply_deletes sends several statements per query (the connection's
 * own option, set again after a reconnect). */
static int allow_statement_lists(MyDest *d, MYSQL *db, NbError *err) {
  if (!d->apply_deletes || mysql_set_server_option(db, MYSQL_OPTION_MULTI_STATEMENTS_ON) == 0)
    return NB_OK;
  return my_fail(db, &d->cfg, err, "enabling multi-statement queries failed (apply_deletes)");
}

static void close_statement(MyDest *d, DestStream *s, ApplyRun *run, int *rc) {
  if (run->kind == MY_OP_UNKNOWN) return;
  if ((run->kind == MY_OP_UPSERT ? stmt_str(d, s->upsert_sql) : stmt_add(d, ")", 1)) != NB_OK ||
      stmt_add(d, ";", 1) != NB_OK)
    *rc = NB_NOMEM;
  run->kind = MY_OP_UNKNOWN;
  run->statements++;
}

static int send_pending(MyDest *d, DestStream *s, ApplyRun *run, NbError *err) {
  int rc = NB_OK, status;
  close_statement(d, s, run, &rc);
  if (rc != NB_OK) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (run->statements == 0) return NB_OK;
  status = mysql_real_query(d->db, d->stmt, (unsigned long)d->stmt_len) != 0 ? 1 : 0;
  while (status == 0) {
    MYSQL_RES *res = mysql_store_result(d->db); /* none for DML */
    if (res != NULL) mysql_free_result(res);
    status = mysql_next_result(d->db); /* -1: no more, > 0: the next one failed */
  }
  if (status > 0) {
    rc = my_fail(d->db, &d->cfg, err, "applying CDC records to table \"%s\" failed (apply_deletes)",
                 s->table);
    nb_error_detail(err, "Records %lld to %lld of the batch of stream \"%s\"; the transaction is"
                    " rolled back.", (long long)run->first + 1, (long long)run->last + 1, s->name);
    return not_retryable(rc, err);
  }
  d->stmt_len = 0;
  run->statements = 0;
  run->first = -1;
  return NB_OK;
}

/* One key tuple "(v, v)" of the key columns (keys: s->keys, or the
 * before_<key> columns for the old key of an update). */
static int put_key(MyDest *d, const DestStream *s, const NbColumnView *views, const size_t *keys,
                   int64_t row, NbError *err) {
  size_t i;
  int rc = stmt_add(d, "(", 1);
  for (i = 0; rc == NB_OK && i < s->n_keys; i++) {
    if (i > 0) rc = stmt_add(d, ", ", 2);
    if (rc == NB_OK) rc = put_value(d, nb_column_view_at(views, keys[i]), row, false, err);
  }
  if (rc == NB_OK) rc = stmt_add(d, ")", 1);
  if (rc == NB_DATA) {
    nb_error_locate(err, s->table, row + 1, 0);
    return NB_DATA;
  }
  return rc == NB_OK ? NB_OK : nb_error_set(err, NB_NOMEM, "out of memory (DELETE statement)");
}

static void note_record(ApplyRun *run, int64_t row) {
  if (run->first < 0) run->first = row;
  run->last = row;
}

/* Add a record to the open statement of its kind, closing the open
 * statement of the other kind first.  before: the delete is of the
 * update's old key. */
static int run_add(MyDest *d, DestStream *s, ApplyRun *run, MyOpKind kind,
                   const NbColumnView *views, int64_t row, bool before, NbError *err) {
  int rc = NB_OK;
  if (run->kind != kind) close_statement(d, s, run, &rc);
  if (rc == NB_OK && run->kind == MY_OP_UNKNOWN) {
    if (kind == MY_OP_UPSERT)
      rc = stmt_str(d, "INSERT INTO ") | stmt_str(d, s->qtable) | stmt_str(d, s->columns_sql);
    else
      rc = stmt_str(d, s->delete_sql);
    run->kind = kind;
    run->base = d->stmt_len;
  }
  if (rc == NB_OK && d->stmt_len > run->base) rc = stmt_add(d, ",", 1);
  if (rc != NB_OK) return nb_error_set(err, NB_NOMEM, "out of memory");
  note_record(run, row);
  rc = kind == MY_OP_UPSERT ? put_row(d, s, views, 0, row, false, err)
                            : put_key(d, s, views, before ? s->before_keys : s->keys, row, err);
  if (rc != NB_OK) return rc;
  return d->stmt_len >= MAX_STATEMENT_BYTES ? send_pending(d, s, run, err) : NB_OK;
}

/* Op t: the table emptied, in order with the statements before it
 * (DELETE, not TRUNCATE, which would commit the transaction). */
static int run_truncate(MyDest *d, DestStream *s, ApplyRun *run, int64_t row, NbError *err) {
  int rc = NB_OK;
  close_statement(d, s, run, &rc);
  if (rc != NB_OK || stmt_str(d, "DELETE FROM ") != NB_OK || stmt_str(d, s->qtable) != NB_OK ||
      stmt_add(d, ";", 1) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  note_record(run, row);
  run->statements++;
  return NB_OK;
}

/* An update of mysql-source records whose before image has another key:
 * the row moved, and the old key's row is deleted first. */
static bool key_moved(const DestStream *s, const NbColumnView *views, int64_t row) {
  size_t i;
  for (i = 0; i < s->n_keys; i++) {
    char a[NB_TEXT_SCRATCH], b[NB_TEXT_SCRATCH];
    const NbColumnView *now, *old;
    const char *ta = NULL, *tb = NULL;
    size_t na, nb;
    if (s->before_keys[i] == SIZE_MAX) return false;
    now = nb_column_view_at(views, s->keys[i]);
    old = nb_column_view_at(views, s->before_keys[i]);
    if (nb_view_is_null(old, row)) return false; /* no before image (c, d, r) */
    if (nb_view_is_null(now, row)) return true;
    na = nb_view_text_n(now, row, a, sizeof a, &ta);
    nb = nb_view_text_n(old, row, b, sizeof b, &tb);
    if (ta == NULL || tb == NULL || na != nb || memcmp(ta, tb, na) != 0) return true;
  }
  return false;
}

static int bad_op(const DestStream *s, const NbColumnView *op, int64_t row, NbError *err) {
  char buf[NB_TEXT_SCRATCH];
  const char *text = NULL;
  size_t n = nb_view_is_null(op, row) ? 0 : nb_view_text_n(op, row, buf, sizeof buf, &text);
  if (text == NULL)
    nb_error_set(err, NB_DATA, "the op column \"%s\" is null (table \"%s\")", op->field.name,
                 s->table);
  else
    nb_error_set(err, NB_DATA, "unknown op \"%.*s\" in column \"%s\" (table \"%s\")",
                 n > 40 ? 40 : (int)n, text, op->field.name, s->table);
  nb_error_hint(err, "apply_deletes knows c, u, r (insert or update), d (delete by key) and t"
                " (empty the table).");
  nb_error_locate(err, s->table, row + 1, 0);
  return NB_DATA;
}

/* A postgresql-source record whose toasted_columns names columns the
 * server did not send (unchanged TOASTed values, NULL in the record):
 * upserting it would overwrite them with NULL, so the run stops. */
static int check_toasted(const DestStream *s, const NbColumnView *views, int64_t row,
                         NbError *err) {
  char buf[NB_TEXT_SCRATCH];
  const NbColumnView *v;
  const char *text = NULL;
  size_t n;
  if (s->toasted_col == SIZE_MAX) return NB_OK;
  v = nb_column_view_at(views, s->toasted_col);
  if (nb_view_is_null(v, row)) return NB_OK;
  n = nb_view_text_n(v, row, buf, sizeof buf, &text);
  if (text == NULL || n == 0 || (n == 2 && memcmp(text, "[]", 2) == 0)) return NB_OK;
  nb_error_set(err, NB_DATA, "the record lacks the values of the columns %.*s (toasted_columns:"
               " unchanged TOASTed values the server did not send; table \"%s\")",
               n > 200 ? 200 : (int)n, text, s->table);
  nb_error_detail(err, "apply_deletes writes every column of a record; these would become NULL.");
  nb_error_hint(err, "Not supported yet: replicate this table with the postgresql destination, or"
                " without the large columns.");
  nb_error_locate(err, s->table, row + 1, 0);
  return NB_DATA;
}

/* The records of a batch in order; records the database holds from
 * before a crash are skipped, as in write_rows. */
static int apply_records(MyDest *d, DestStream *s, const NbColumnView *views, int64_t length,
                         NbError *err) {
  const NbColumnView *op = nb_column_view_at(views, s->op_col);
  ApplyRun run = {MY_OP_UNKNOWN, -1, -1, 0, 0};
  int64_t row;
  int rc = NB_OK;
  d->stmt_len = 0;
  for (row = 0; row < length && rc == NB_OK; row++) {
    char buf[NB_TEXT_SCRATCH];
    const char *text = NULL;
    size_t n;
    MyOpKind kind;
    s->delivered++;
    if (s->delivered <= s->in_db) continue; /* committed before the crash */
    n = nb_view_is_null(op, row) ? 0 : nb_view_text_n(op, row, buf, sizeof buf, &text);
    kind = my_cdc_op_kind(text, n);
    if (kind == MY_OP_UNKNOWN) return bad_op(s, op, row, err);
    if (kind == MY_OP_TRUNCATE) {
      rc = run_truncate(d, s, &run, row, err);
      continue;
    }
    if (kind == MY_OP_UPSERT && (rc = check_toasted(s, views, row, err)) != NB_OK) return rc;
    if (kind == MY_OP_UPSERT && text[0] == 'u' && key_moved(s, views, row) &&
        (rc = run_add(d, s, &run, MY_OP_DELETE, views, row, true, err)) != NB_OK)
      return rc;
    rc = run_add(d, s, &run, kind, views, row, false, err);
  }
  return rc == NB_OK ? send_pending(d, s, &run, err) : rc;
}

int my_dest_write(void *dest, uint32_t dest_stream, const struct ArrowArray *batch,
                  NbError *err) {
  MyDest *d = dest;
  DestStream *s;
  NbColumnView *views = NULL;
  size_t n_views = 0;
  int rc;
  if (dest_stream >= d->n_streams || d->streams[dest_stream].fields == NULL)
    return nb_error_set(err, NB_INTERNAL, "dest_write on stream %u, not prepared",
                        (unsigned)dest_stream);
  s = &d->streams[dest_stream];
  if ((rc = nb_batch_views(&s->schema, batch, &views, &n_views, err)) != NB_OK) return rc;
  rc = begin(d, err);
  if (rc == NB_OK && d->mode == MODE_REPLACE && !s->replaced) {
    d->stmt_len = 0;
    if (stmt_str(d, "DELETE FROM ") != NB_OK || stmt_str(d, s->qtable) != NB_OK)
      rc = nb_error_set(err, NB_NOMEM, "out of memory");
    else
      rc = not_retryable(run_sql(d, d->db, d->stmt, d->stmt_len,
                                 "emptying the table for mode replace failed", err), err);
    if (rc == NB_OK) s->replaced = true;
  }
  s->touched = true;
  if (rc == NB_OK && d->apply_deletes)
    rc = apply_records(d, s, views, batch->length, err);
  else if (rc == NB_OK)
    rc = d->use_load ? load_rows(d, s, views, n_views, batch->length, err)
                     : write_rows(d, s, views, n_views, 0, batch->length, err);
  free(views);
  return rc;
}

/* ---- Commit ----------------------------------------------------------- */

static int write_bookkeeping(MyDest *d, NbError *err) {
  uint32_t i;
  int rc;
  if (!d->marker_cleared) {
    /* This load is under way again until dest_finish. */
    if ((rc = pipeline_statement(d, "DELETE FROM " BOOKKEEPING " WHERE stream = " FINISHED_MARKER
                                    " AND pipeline = ", err)) != NB_OK ||
        (rc = run_sql(d, d->db, d->stmt, d->stmt_len, "writing table " BOOKKEEPING " failed",
                      err)) != NB_OK)
      return rc;
  }
  for (i = 0; i < d->n_streams; i++) {
    DestStream *s = &d->streams[i];
    char num[32];
    uint64_t rows = s->delivered > s->in_db ? s->delivered : s->in_db;
    if (!s->touched) continue;
    d->stmt_len = 0;
    snprintf(num, sizeof num, ", %" PRIu64 ")", rows);
    if (stmt_str(d, "INSERT INTO " BOOKKEEPING " (pipeline, stream, rows_loaded) VALUES (") ||
        stmt_literal(d, d->pipeline_id, strlen(d->pipeline_id)) || stmt_str(d, ", ") ||
        stmt_literal(d, s->name, strlen(s->name)) || stmt_str(d, num) ||
        stmt_str(d, " ON DUPLICATE KEY UPDATE rows_loaded = VALUES(rows_loaded)"))
      return nb_error_set(err, NB_NOMEM, "out of memory");
    if ((rc = run_sql(d, d->db, d->stmt, d->stmt_len, "writing table " BOOKKEEPING " failed",
                      err)) != NB_OK)
      return rc;
  }
  return NB_OK;
}

int my_dest_commit(void *dest, const void **state, size_t *state_len, NbError *err) {
  MyDest *d = dest;
  uint32_t i;
  int rc = NB_OK;
  if (d->in_txn) {
    rc = write_bookkeeping(d, err);
    if (rc == NB_OK && mysql_commit(d->db) != 0)
      rc = my_fail(d->db, &d->cfg, err, "commit failed");
    if (rc != NB_OK) {
      mysql_rollback(d->db);
      d->in_txn = false;
      return not_retryable(rc, err);
    }
    d->in_txn = false;
    d->marker_cleared = true;
    for (i = 0; i < d->n_streams; i++) {
      DestStream *s = &d->streams[i];
      if (s->delivered > s->in_db) s->in_db = s->delivered;
      s->touched = false;
    }
  }
  if ((rc = build_state(d, err)) != NB_OK) return rc;
  *state = d->state;
  *state_len = d->state_len;
  return NB_OK;
}

/* The run ended with every stream complete: mark the load finished, so
 * that a later run without a state starts a new load. */
int my_dest_finish(void *dest, NbError *err) {
  MyDest *d = dest;
  int rc;
  if (d->in_txn) {
    mysql_rollback(d->db);
    d->in_txn = false;
  }
  rc = pipeline_statement(d, "INSERT INTO " BOOKKEEPING " (pipeline, stream, rows_loaded) SELECT ",
                          err);
  if (rc == NB_OK &&
      stmt_str(d, ", " FINISHED_MARKER ", 0 ON DUPLICATE KEY UPDATE rows_loaded = 0") != NB_OK)
    rc = nb_error_set(err, NB_NOMEM, "out of memory");
  if (rc == NB_OK)
    rc = run_sql(d, d->db, d->stmt, d->stmt_len, "marking the load finished failed", err);
  if (rc == NB_OK && mysql_commit(d->db) != 0)
    rc = my_fail(d->db, &d->cfg, err, "marking the load finished failed");
  return rc == NB_OK ? NB_OK : not_retryable(rc, err);
}
