/*
 * pg_dest.c - the postgresql destination: each stream goes into a table
 * with COPY ... FROM STDIN (text format), all of an engine commit in one
 * transaction.
 *
 * Exactly once: the same transaction records, in the bookkeeping table
 * nebula_commits (one row per pipeline_id and stream), how many rows of
 * this run the stream has in the database.  The destination's state (the
 * host's state file) records the same counts.  If the process dies after
 * the database commit but before the host saved the state, the next run
 * opens with the older state, finds larger counts in nebula_commits, and
 * skips that many rows of what the source sends again (the source resumes
 * from the positions saved with the older state, so it repeats exactly the
 * rows of the lost commit).  A smaller count in the database than in the
 * state means the table was changed or restored behind our back: refused.
 *
 * Modes: append (COPY into the table); replace (COPY into
 * <table>__nebula_new, created LIKE the table, swapped in by dest_finish
 * in one transaction); upsert (COPY into a temporary staging table, merged
 * at each commit with INSERT ... ON CONFLICT (key) DO UPDATE, the last row
 * of a key winning).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_conn.h"
#include "pg_copytext.h"
#include "pg_dest_keys.h"
#include "pg_internal.h"

enum { MODE_APPEND = 0, MODE_REPLACE = 1, MODE_UPSERT = 2 };
enum { STATE_MAGIC_LEN = 6, COPY_CHUNK = 1 << 20, MAX_STATE_STREAMS = 100000 };
static const char STATE_MAGIC[STATE_MAGIC_LEN] = {'N', 'B', 'P', 'G', 'D', '1'};

typedef struct DestStream {
  char *name;          /* the stream's name (the key in nebula_commits) */
  char *target;        /* quoted schema.table */
  char *target_text;   /* schema.table as the user reads it */
  char *load;          /* quoted table COPY writes into */
  char *new_name;      /* replace: quoted bare name of the new table */
  char *bare;          /* replace: quoted bare target name */
  char *columns;       /* quoted column list */
  char *keys;          /* upsert: quoted key list */
  char *updates;       /* upsert: c = EXCLUDED.c, ... ("" if all are keys) */
  struct ArrowSchema schema;
  uint64_t rows, committed_rows, skip;
  bool staged;
  bool cdc_ops;        /* apply_deletes: the stream's op column is obeyed */
  char *op_column;     /* apply_deletes: that column, quoted ("op" or "_op") */
  char **key_names;    /* upsert: the key columns, unquoted */
  size_t nkeys;
  int old_key_kind;    /* apply_deletes: where an update's old key is (PG_OLD_KEY_*) */
  uint64_t stage_base; /* stream rows before the staging table's first row */
} DestStream;

typedef struct ResumeEntry {
  char *name;
  uint64_t state_rows, db_rows;
} ResumeEntry;

typedef struct PgDest {
  const NbHostApi *host;
  PGconn *conn;
  PgServer server;
  int mode;
  bool fresh;
  bool apply_deletes;  /* upsert of CDC records: op d deletes, op t truncates */
  char *schema_name, *table_template, *primary_key, *pipeline_id;
  char *commits;       /* quoted schema.nebula_commits */
  DestStream *streams;
  uint32_t n;
  ResumeEntry *resume;
  size_t n_resume;
  int64_t seq;
  bool in_txn;
  PgBuf state, copy;
} PgDest;

static int nomem(NbError *err) { return nb_error_set(err, NB_NOMEM, "out of memory"); }

static char *quote_ident(PGconn *conn, const char *name) {
  char *q = PQescapeIdentifier(conn, name, strlen(name)), *out;
  if (q == NULL) return NULL;
  out = strdup(q);
  PQfreemem(q);
  return out;
}

static char *join3(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *out = malloc(n);
  if (out != NULL) snprintf(out, n, "%s%s%s", a, b, c);
  return out;
}

static int exec_sql(PgDest *d, const char *sql, NbError *err, const char *what) {
  return pg_exec(&d->server, d->conn, sql, what, err);
}

/* ---- state ------------------------------------------------------------ */

static int parse_state(PgDest *d, const unsigned char *p, size_t len, NbError *err) {
  size_t off = STATE_MAGIC_LEN + 12, i;
  uint32_t n;
  if (len < off || memcmp(p, STATE_MAGIC, STATE_MAGIC_LEN) != 0)
    goto bad;
  memcpy(&d->seq, p + STATE_MAGIC_LEN, 8);
  memcpy(&n, p + STATE_MAGIC_LEN + 8, 4);
  if (n > MAX_STATE_STREAMS) goto bad;
  d->resume = calloc(n + 1, sizeof *d->resume);
  if (d->resume == NULL) return nomem(err);
  for (i = 0; i < n; i++) {
    uint32_t nlen;
    if (len - off < 4) goto bad;
    memcpy(&nlen, p + off, 4);
    off += 4;
    if (nlen > len - off || len - off - nlen < 8) goto bad;
    d->resume[i].name = malloc((size_t)nlen + 1);
    if (d->resume[i].name == NULL) return nomem(err);
    memcpy(d->resume[i].name, p + off, nlen);
    d->resume[i].name[nlen] = '\0';
    off += nlen;
    memcpy(&d->resume[i].state_rows, p + off, 8);
    off += 8;
    d->n_resume = i + 1;
  }
  if (off != len) goto bad;
  return NB_OK;
bad:
  nb_error_set(err, NB_INVALID, "the saved destination state is not a postgresql destination state");
  nb_error_hint(err, "Delete the state file to run the pipeline from the start.");
  return NB_INVALID;
}

static int encode_state(PgDest *d) {
  uint32_t i, n = d->n;
  d->state.len = 0;
  if (pg_buf_add(&d->state, STATE_MAGIC, STATE_MAGIC_LEN) != NB_OK ||
      pg_buf_add(&d->state, (const char *)&d->seq, 8) != NB_OK ||
      pg_buf_add(&d->state, (const char *)&n, 4) != NB_OK)
    return NB_NOMEM;
  for (i = 0; i < d->n; i++) {
    uint32_t len = (uint32_t)strlen(d->streams[i].name);
    if (pg_buf_add(&d->state, (const char *)&len, 4) != NB_OK ||
        pg_buf_add(&d->state, d->streams[i].name, len) != NB_OK ||
        pg_buf_add(&d->state, (const char *)&d->streams[i].committed_rows, 8) != NB_OK)
      return NB_NOMEM;
  }
  return NB_OK;
}

static ResumeEntry *find_resume(PgDest *d, const char *name) {
  size_t i;
  for (i = 0; i < d->n_resume; i++)
    if (strcmp(d->resume[i].name, name) == 0) return &d->resume[i];
  return NULL;
}

/* A fresh run (no state) that finds an unfinished run of the same
 * pipeline_id: that run died after its first commit and before the host
 * saved any state (or the state file was lost).  The source starts from
 * the beginning again, so the rows it committed are skipped. */
static int adopt_unfinished(PgDest *d, const char *stream, ResumeEntry **out, NbError *err) {
  ResumeEntry *grown = realloc(d->resume, (d->n_resume + 1) * sizeof *grown);
  if (grown == NULL) return nomem(err);
  d->resume = grown;
  memset(&grown[d->n_resume], 0, sizeof grown[d->n_resume]);
  if ((grown[d->n_resume].name = strdup(stream)) == NULL) return nomem(err);
  *out = &grown[d->n_resume++];
  return NB_OK;
}

/* Read this pipeline's rows of nebula_commits: the counts the database
 * has, to compare with the state's. */
static int read_bookkeeping(PgDest *d, NbError *err) {
  char *sql = join3("SELECT stream, seq, rows, finished FROM ", d->commits, " WHERE pipeline = $1");
  const char *params[1] = {d->pipeline_id};
  PGresult *res;
  int i, rc = NB_OK;
  if (sql == NULL) return nomem(err);
  res = PQexecParams(d->conn, sql, 1, NULL, params, NULL, NULL, 0);
  free(sql);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = pg_fail(&d->server, d->conn, res, NB_IO, err, "could not read the bookkeeping table");
    PQclear(res);
    return rc;
  }
  for (i = 0; rc == NB_OK && i < PQntuples(res); i++) {
    ResumeEntry *e = find_resume(d, PQgetvalue(res, i, 0));
    int64_t seq = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    if (seq > d->seq) d->seq = seq; /* a new run continues the numbering */
    if (e == NULL && d->fresh && PQgetvalue(res, i, 3)[0] == 'f')
      rc = adopt_unfinished(d, PQgetvalue(res, i, 0), &e, err);
    if (e != NULL) e->db_rows = strtoull(PQgetvalue(res, i, 2), NULL, 10);
  }
  PQclear(res);
  if (rc != NB_OK) return rc;
  if (d->n_resume > 0 && d->fresh) {
    /* The rows of the adopted run are this run's: resume it. */
    d->fresh = false;
    nb_log(d->host, NB_LOG_WARN,
           "pipeline_id \"%s\": an earlier run committed rows and stopped before its state was saved; "
           "resuming it (its rows are skipped, not loaded again)", d->pipeline_id);
  }
  for (i = 0; i < (int)d->n_resume && !d->fresh; i++) {
    ResumeEntry *e = &d->resume[i];
    if (e->db_rows < e->state_rows) {
      nb_error_set(err, NB_INVALID,
                   "stream \"%s\": the state says %llu rows were committed, table nebula_commits on server %s says %llu",
                   e->name, (unsigned long long)e->state_rows, d->server.label, (unsigned long long)e->db_rows);
      nb_error_detail(err, "The database was restored or changed since the state was saved (pipeline_id \"%s\").", d->pipeline_id);
      nb_error_hint(err, "Delete the state file and reload the tables, or restore the state file that goes with the database.");
      return NB_INVALID;
    }
  }
  return NB_OK;
}

/* ---- open / close ----------------------------------------------------- */

static void stream_free(DestStream *st) {
  free(st->name);
  free(st->target);
  free(st->target_text);
  free(st->load);
  free(st->new_name);
  free(st->bare);
  free(st->columns);
  free(st->keys);
  free(st->updates);
  free(st->op_column);
  while (st->nkeys > 0) free(st->key_names[--st->nkeys]);
  free(st->key_names);
  if (st->schema.release != NULL) st->schema.release(&st->schema);
}

void pg_dest_close(void *handle) {
  PgDest *d = handle;
  size_t i;
  if (d == NULL) return;
  for (i = 0; i < d->n; i++) stream_free(&d->streams[i]);
  for (i = 0; i < d->n_resume; i++) free(d->resume[i].name);
  free(d->resume);
  free(d->streams);
  if (d->conn != NULL) PQfinish(d->conn); /* an open transaction rolls back */
  pg_server_clear(&d->server);
  free(d->schema_name);
  free(d->table_template);
  free(d->primary_key);
  free(d->pipeline_id);
  free(d->commits);
  pg_buf_free(&d->state);
  pg_buf_free(&d->copy);
  free(d);
}

static int dup_setting(const NbSettings *s, const char *name, const char *fallback, char **out,
                       NbError *err) {
  const char *v = nb_settings_find(s, name);
  if (v == NULL) v = fallback;
  *out = NULL;
  if (v == NULL) return NB_OK;
  *out = strdup(v);
  return *out == NULL ? nomem(err) : NB_OK;
}

static int create_bookkeeping(PgDest *d, NbError *err) {
  char *schema = quote_ident(d->conn, d->schema_name), *sql;
  int rc;
  if (schema == NULL) return nomem(err);
  d->commits = join3(schema, ".", "nebula_commits");
  free(schema);
  if (d->commits == NULL) return nomem(err);
  sql = join3("CREATE TABLE IF NOT EXISTS ", d->commits,
              " (pipeline text NOT NULL, stream text NOT NULL, seq bigint NOT NULL, "
              "rows bigint NOT NULL, finished boolean NOT NULL DEFAULT false, "
              "committed_at timestamptz NOT NULL DEFAULT now(), "
              "PRIMARY KEY (pipeline, stream))");
  if (sql == NULL) return nomem(err);
  rc = exec_sql(d, sql, err, "could not create the bookkeeping table nebula_commits");
  free(sql);
  return rc;
}

int pg_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **out, NbError *err) {
  PgDest *d = calloc(1, sizeof *d);
  int rc;
  *out = NULL;
  if (d == NULL) return nomem(err);
  d->host = host;
  d->fresh = args->state == NULL;
  rc = nb_setting_enum(args->settings, "mode", "append|replace|upsert", MODE_APPEND, &d->mode, err);
  if (rc == NB_OK) rc = dup_setting(args->settings, "schema", "public", &d->schema_name, err);
  if (rc == NB_OK) rc = dup_setting(args->settings, "table", "{stream}", &d->table_template, err);
  if (rc == NB_OK) rc = dup_setting(args->settings, "primary_key", NULL, &d->primary_key, err);
  if (rc == NB_OK) rc = dup_setting(args->settings, "pipeline_id", "default", &d->pipeline_id, err);
  if (rc == NB_OK) rc = nb_setting_bool(args->settings, "apply_deletes", false, &d->apply_deletes, err);
  if (rc == NB_OK && d->apply_deletes && d->mode != MODE_UPSERT)
    rc = nb_error_set(err, NB_INVALID, "setting \"apply_deletes\" needs mode upsert");
  if (rc == NB_OK && args->state != NULL) rc = parse_state(d, args->state, args->state_len, err);
  if (rc == NB_OK) rc = pg_connect(args->settings, host, &d->server, &d->conn, err);
  if (rc == NB_OK) rc = create_bookkeeping(d, err);
  if (rc == NB_OK) rc = read_bookkeeping(d, err);
  if (rc != NB_OK) {
    pg_dest_close(d);
    return rc;
  }
  *out = d;
  return NB_OK;
}

/* ---- prepare: the target table ------------------------------------------ */

static bool file_like(const char *name) {
  static const char *const ext[] = {".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".txt",
                                    ".parquet", ".gz", ".zst", ".lz4", ".sz"};
  size_t i, n = strlen(name);
  if (strchr(name, '/') != NULL) return true;
  for (i = 0; i < sizeof ext / sizeof ext[0]; i++) {
    size_t e = strlen(ext[i]);
    if (n > e && strcmp(name + n - e, ext[i]) == 0) return true;
  }
  return false;
}

/* {stream}: a file's base name without extensions, a table's own name
 * without its schema. */
static char *stream_base(const char *name) {
  const char *slash = strrchr(name, '/'), *base = slash != NULL ? slash + 1 : name;
  char *out;
  if (file_like(name)) {
    out = strdup(base);
    if (out != NULL && strchr(out, '.') != NULL && out[0] != '.') *strchr(out, '.') = '\0';
    return out;
  }
  if (strrchr(base, '.') != NULL) base = strrchr(base, '.') + 1;
  return strdup(base);
}

static char *expand_template(const char *tmpl, const char *base) {
  const char *hit = strstr(tmpl, "{stream}");
  size_t n;
  char *out;
  if (hit == NULL) return strdup(tmpl);
  n = strlen(tmpl) - 8 + strlen(base) + 1;
  out = malloc(n);
  if (out != NULL)
    snprintf(out, n, "%.*s%s%s", (int)(hit - tmpl), tmpl, base, hit + 8);
  return out;
}

static int table_exists(PgDest *d, const char *quoted, bool *exists, NbError *err) {
  const char *params[1] = {quoted};
  PGresult *res = PQexecParams(d->conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params, NULL, NULL, 0);
  int rc = NB_OK;
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    rc = pg_fail(&d->server, d->conn, res, NB_IO, err, "could not look up table %s", quoted);
  else
    *exists = PQgetvalue(res, 0, 0)[0] == 't';
  PQclear(res);
  return rc;
}

static const char *pg_type_of(const NbField *f, char *buf, size_t cap) {
  switch (f->type) {
    case NB_TYPE_INT64: return "bigint";
    case NB_TYPE_FLOAT64: return "double precision";
    case NB_TYPE_BOOL: return "boolean";
    case NB_TYPE_DECIMAL128:
      snprintf(buf, cap, "numeric(%d,%d)", (int)f->precision, (int)f->scale);
      return buf;
    case NB_TYPE_NUMBER: return "numeric";
    case NB_TYPE_DATE32: return "date";
    case NB_TYPE_TIMESTAMP:
      return f->timezone != NULL && f->timezone[0] == '\0' ? "timestamp" : "timestamptz";
    case NB_TYPE_JSON: return "json";
    default: return "text";
  }
}

static int add_key_name(DestStream *st, const char *name) {
  char **grown = realloc(st->key_names, (st->nkeys + 1) * sizeof *grown);
  if (grown == NULL) return NB_NOMEM;
  st->key_names = grown;
  if ((grown[st->nkeys] = strdup(name)) == NULL) return NB_NOMEM;
  st->nkeys++;
  return NB_OK;
}

/* Quote each name of a comma-separated list; "a, b" -> "\"a\", \"b\"".
 * With names != NULL, each name (unquoted) is also kept there. */
static int quote_list(PgDest *d, const char *list, PgBuf *out, DestStream *names) {
  char *copy = strdup(list), *p, *next;
  int rc = NB_OK;
  if (copy == NULL) return NB_NOMEM;
  for (p = copy; p != NULL && rc == NB_OK; p = next) {
    char *q, *end;
    next = strchr(p, ',');
    if (next != NULL) *next++ = '\0';
    while (*p == ' ') p++;
    end = p + strlen(p);
    while (end > p && end[-1] == ' ') *--end = '\0';
    if (*p == '\0') continue;
    if (names != NULL && add_key_name(names, p) != NB_OK) { rc = NB_NOMEM; break; }
    q = quote_ident(d->conn, p);
    if (q == NULL) { rc = NB_NOMEM; break; }
    if (out->len > 0) rc = pg_buf_add(out, ", ", 2);
    if (rc == NB_OK) rc = pg_buf_add(out, q, strlen(q));
    free(q);
  }
  free(copy);
  return rc == NB_OK ? pg_buf_add(out, "", 1) : rc;
}

static int create_table(PgDest *d, DestStream *st, const NbField *f, size_t n, NbError *err) {
  PgBuf sql = {0};
  size_t i;
  int rc = pg_buf_add(&sql, "CREATE TABLE ", 13);
  if (rc == NB_OK) rc = pg_buf_add(&sql, st->target, strlen(st->target));
  if (rc == NB_OK) rc = pg_buf_add(&sql, " (", 2);
  for (i = 0; rc == NB_OK && i < n; i++) {
    char tbuf[48], *q = quote_ident(d->conn, f[i].name);
    const char *type = pg_type_of(&f[i], tbuf, sizeof tbuf);
    if (q == NULL) { rc = NB_NOMEM; break; }
    if (i > 0) rc = pg_buf_add(&sql, ", ", 2);
    if (rc == NB_OK) rc = pg_buf_add(&sql, q, strlen(q));
    if (rc == NB_OK) rc = pg_buf_add(&sql, " ", 1);
    if (rc == NB_OK) rc = pg_buf_add(&sql, type, strlen(type));
    if (rc == NB_OK && !f[i].nullable) rc = pg_buf_add(&sql, " NOT NULL", 9);
    free(q);
  }
  if (rc == NB_OK && d->primary_key != NULL) {
    PgBuf keys = {0};
    rc = quote_list(d, d->primary_key, &keys, NULL);
    if (rc == NB_OK) rc = pg_buf_add(&sql, ", PRIMARY KEY (", 15);
    if (rc == NB_OK) rc = pg_buf_add(&sql, keys.data, strlen(keys.data));
    if (rc == NB_OK) rc = pg_buf_add(&sql, ")", 1);
    pg_buf_free(&keys);
  }
  if (rc == NB_OK) rc = pg_buf_add(&sql, ")", 2);
  if (rc != NB_OK) {
    pg_buf_free(&sql);
    return nomem(err);
  }
  rc = exec_sql(d, sql.data, err, "could not create the target table");
  if (rc == NB_OK) nb_log(d->host, NB_LOG_INFO, "created table %s", st->target_text);
  pg_buf_free(&sql);
  return rc;
}

/* The key of an upsert: the setting, else the table's primary key. */
static int find_keys(PgDest *d, DestStream *st, NbError *err) {
  PgBuf keys = {0};
  int rc;
  if (d->primary_key != NULL) {
    rc = quote_list(d, d->primary_key, &keys, st);
  } else {
    const char *params[1] = {st->target};
    PGresult *res = PQexecParams(d->conn,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary "
        "ORDER BY array_position(i.indkey::int2[], a.attnum)",
        1, NULL, params, NULL, NULL, 0);
    int i;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      rc = pg_fail(&d->server, d->conn, res, NB_IO, err, "could not read the primary key of table %s", st->target_text);
      PQclear(res);
      return rc;
    }
    rc = NB_OK;
    for (i = 0; rc == NB_OK && i < PQntuples(res); i++) {
      char *q = quote_ident(d->conn, PQgetvalue(res, i, 0));
      if (q == NULL || add_key_name(st, PQgetvalue(res, i, 0)) != NB_OK) { free(q); rc = NB_NOMEM; break; }
      if (keys.len > 0) rc = pg_buf_add(&keys, ", ", 2);
      if (rc == NB_OK) rc = pg_buf_add(&keys, q, strlen(q));
      free(q);
    }
    if (rc == NB_OK) rc = pg_buf_add(&keys, "", 1);
    PQclear(res);
  }
  if (rc != NB_OK) {
    pg_buf_free(&keys);
    return nomem(err);
  }
  if (keys.data[0] == '\0') {
    pg_buf_free(&keys);
    nb_error_set(err, NB_INVALID, "mode upsert: table %s has no primary key", st->target_text);
    nb_error_hint(err, "Add a primary key to the table, or name the key columns in the setting \"primary_key\".");
    return NB_INVALID;
  }
  st->keys = keys.data;
  return NB_OK;
}

/* Column list, and the SET list of an upsert (every non-key column). */
static int column_lists(PgDest *d, DestStream *st, const NbField *f, size_t n, NbError *err) {
  PgBuf cols = {0}, upd = {0};
  size_t i;
  int rc = NB_OK;
  for (i = 0; rc == NB_OK && i < n; i++) {
    char *q = quote_ident(d->conn, f[i].name);
    if (q == NULL) { rc = NB_NOMEM; break; }
    if (cols.len > 0) rc = pg_buf_add(&cols, ", ", 2);
    if (rc == NB_OK) rc = pg_buf_add(&cols, q, strlen(q));
    if (rc == NB_OK && st->keys != NULL) {
      /* st->keys is "\"a\", \"b\"": a column is a key if its quoted name is
       * one of the items. */
      size_t ql = strlen(q);
      const char *k = st->keys;
      bool is_key = false;
      while ((k = strstr(k, q)) != NULL) {
        if ((k == st->keys || k[-1] == ' ') && (k[ql] == ',' || k[ql] == '\0')) is_key = true;
        k += ql;
      }
      if (!is_key) {
        if (upd.len > 0) rc = pg_buf_add(&upd, ", ", 2);
        if (rc == NB_OK) rc = pg_buf_add(&upd, q, ql);
        if (rc == NB_OK) rc = pg_buf_add(&upd, " = EXCLUDED.", 12);
        if (rc == NB_OK) rc = pg_buf_add(&upd, q, ql);
      }
    }
    free(q);
  }
  if (rc == NB_OK) rc = pg_buf_add(&cols, "", 1);
  if (rc == NB_OK) rc = pg_buf_add(&upd, "", 1);
  if (rc != NB_OK) {
    pg_buf_free(&cols);
    pg_buf_free(&upd);
    return nomem(err);
  }
  st->columns = cols.data;
  st->updates = upd.data;
  return NB_OK;
}

static int prepare_replace(PgDest *d, DestStream *st, const char *table, NbError *err) {
  char *newbare = join3(table, "__nebula_new", ""), *schema = NULL, *sql;
  const char *dot = strchr(table, '.');
  int rc = NB_OK;
  if (newbare == NULL) return nomem(err);
  /* table is schema.name (unquoted text); the new table lives beside it. */
  if (dot != NULL) {
    schema = strndup(table, (size_t)(dot - table));
    st->new_name = quote_ident(d->conn, newbare + (dot - table) + 1);
    st->bare = quote_ident(d->conn, dot + 1);
  }
  if (schema == NULL || st->new_name == NULL || st->bare == NULL) rc = nomem(err);
  if (rc == NB_OK) {
    char *qs = quote_ident(d->conn, schema);
    st->load = qs != NULL ? join3(qs, ".", st->new_name) : NULL;
    free(qs);
    if (st->load == NULL) rc = nomem(err);
  }
  free(schema);
  free(newbare);
  if (rc != NB_OK) return rc;
  if (d->fresh) {
    sql = join3("DROP TABLE IF EXISTS ", st->load, "");
    if (sql == NULL) return nomem(err);
    rc = exec_sql(d, sql, err, "could not drop the replacement table left by an earlier run");
    free(sql);
    if (rc != NB_OK) return rc;
  }
  {
    size_t n = strlen(st->load) + strlen(st->target) + 64;
    sql = malloc(n);
    if (sql == NULL) return nomem(err);
    snprintf(sql, n, "CREATE TABLE IF NOT EXISTS %s (LIKE %s INCLUDING ALL)", st->load, st->target);
    rc = exec_sql(d, sql, err, "could not create the replacement table");
    free(sql);
  }
  return rc;
}

/* apply_deletes: the stream must carry the CDC records' op column: "op"
 * as the postgresql source names it, or "_op" as the mysql source does
 * (MariaDB -> PostgreSQL replication); "_op" first, as the mysql
 * destination looks for them.  Both sources put a deleted row's key in
 * the key columns, so the merge below serves both. */
static int check_op_column(PgDest *d, DestStream *st, const NbField *f, size_t n, NbError *err) {
  static const char *const names[] = {"_op", "op"};
  size_t i, k;
  for (k = 0; k < 2; k++)
    for (i = 0; i < n; i++)
      if (strcmp(f[i].name, names[k]) == 0 && f[i].type == NB_TYPE_UTF8) {
        free(st->op_column);
        if ((st->op_column = pg_quote_qualified(d->conn, names[k])) == NULL) return nomem(err);
        st->cdc_ops = true;
        st->old_key_kind = pg_old_key_kind(f, n, names[k], st->key_names, st->nkeys);
        return NB_OK;
      }
  nb_error_set(err, NB_INVALID,
               "stream \"%s\" has no text column \"op\" or \"_op\": setting \"apply_deletes\" applies CDC records",
               st->name);
  nb_error_hint(err, "Read the source in mode cdc, or leave apply_deletes false.");
  return NB_INVALID;
}

static int setup_stream(PgDest *d, DestStream *st, NbError *err) {
  NbField *f = NULL;
  size_t n = 0;
  char *base = NULL, *table = NULL;
  bool exists = false;
  int rc = nb_schema_fields(&st->schema, &f, &n, err);
  if (rc != NB_OK) return rc;
  base = stream_base(st->name);
  table = base != NULL ? expand_template(d->table_template, base) : NULL;
  if (table != NULL && strchr(table, '.') == NULL) {
    char *full = join3(d->schema_name, ".", table);
    free(table);
    table = full;
  }
  if (table == NULL || (st->target = pg_quote_qualified(d->conn, table)) == NULL ||
      (st->target_text = strdup(table)) == NULL)
    rc = nomem(err);
  if (rc == NB_OK) rc = table_exists(d, st->target, &exists, err);
  if (rc == NB_OK && !exists) rc = create_table(d, st, f, n, err);
  if (rc == NB_OK && d->mode == MODE_UPSERT) rc = find_keys(d, st, err);
  if (rc == NB_OK && d->apply_deletes) rc = check_op_column(d, st, f, n, err);
  if (rc == NB_OK) rc = column_lists(d, st, f, n, err);
  if (rc == NB_OK && d->mode == MODE_REPLACE) rc = prepare_replace(d, st, table, err);
  else if (rc == NB_OK && (st->load = strdup(st->target)) == NULL) rc = nomem(err);
  free(base);
  free(table);
  free(f);
  return rc;
}

int pg_dest_prepare(void *handle, const char *stream_name, const struct ArrowSchema *schema,
                    uint32_t *dest_stream, NbError *err) {
  PgDest *d = handle;
  DestStream *st, *grown;
  ResumeEntry *e;
  uint32_t i;
  int rc;
  for (i = 0; i < d->n; i++)
    if (strcmp(d->streams[i].name, stream_name) == 0) {
      *dest_stream = i;
      return nb_error_set(err, NB_INVALID, "stream \"%s\" changed its schema: the postgresql destination cannot follow", stream_name);
    }
  grown = realloc(d->streams, (d->n + 1) * sizeof *grown);
  if (grown == NULL) return nomem(err);
  d->streams = grown;
  st = &grown[d->n];
  memset(st, 0, sizeof *st);
  if ((st->name = strdup(stream_name)) == NULL) return nomem(err);
  d->n++;
  rc = nb_schema_copy(schema, &st->schema, err);
  if (rc == NB_OK) rc = setup_stream(d, st, err);
  if (rc != NB_OK) return rc;
  if (!d->fresh && (e = find_resume(d, stream_name)) != NULL) {
    st->rows = st->committed_rows = e->state_rows;
    st->skip = e->db_rows - e->state_rows;
    if (st->skip > 0)
      nb_log(d->host, NB_LOG_INFO,
             "stream \"%s\": the last commit reached table %s before the state was saved; skipping its %llu rows",
             stream_name, st->target_text, (unsigned long long)st->skip);
  }
  *dest_stream = d->n - 1;
  return NB_OK;
}

/* ---- write ------------------------------------------------------------ */

/* A failure inside a transaction that holds rows: the rows are gone with
 * the connection, so retrying this call would lose them.  Not transient:
 * the run fails, and the next run resumes from the last commit. */
static int txn_failed(PgDest *d, int rc, NbError *err) {
  if (rc == NB_OK || !d->in_txn) return rc;
  if (rc == NB_UNAVAILABLE) {
    if (err != NULL) err->code = NB_IO;
    nb_error_detail(err, "The rows written since the last commit were rolled back with the transaction; a new run resumes from the last commit.");
    rc = NB_IO;
  }
  d->in_txn = false;
  return rc;
}

static int begin(PgDest *d, NbError *err) {
  if (d->in_txn) return NB_OK;
  if (PQstatus(d->conn) == CONNECTION_BAD) {
    /* Nothing uncommitted is lost: connect again (the host retries). */
    PQreset(d->conn);
    if (PQstatus(d->conn) != CONNECTION_OK)
      return pg_fail(&d->server, d->conn, NULL, NB_UNAVAILABLE, err, "could not connect again");
  }
  {
    int rc = exec_sql(d, "BEGIN", err, "could not begin a transaction");
    if (rc != NB_OK) return rc;
  }
  d->in_txn = true;
  return NB_OK;
}

static int create_stage(PgDest *d, DestStream *st, uint32_t index, NbError *err) {
  char name[48], *sql;
  size_t n;
  int rc;
  snprintf(name, sizeof name, "nebula_stage_%u", index);
  n = strlen(st->target) + 256;
  sql = malloc(n);
  if (sql == NULL) return nomem(err);
  if (st->cdc_ops) /* without NOT NULL: a truncate record has no key */
    snprintf(sql, n,
             "CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT * FROM %s WITH NO DATA; "
             "ALTER TABLE %s ADD COLUMN nebula_ord bigint GENERATED ALWAYS AS IDENTITY",
             name, st->target, name);
  else
    snprintf(sql, n,
             "CREATE TEMP TABLE %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DROP; "
             "ALTER TABLE %s ADD COLUMN nebula_ord bigint GENERATED ALWAYS AS IDENTITY",
             name, st->target, name);
  rc = exec_sql(d, sql, err, "could not create the staging table of an upsert");
  free(sql);
  if (rc != NB_OK) return rc;
  free(st->load);
  st->load = strdup(name);
  if (st->load == NULL) return nomem(err);
  st->staged = true;
  st->stage_base = st->rows; /* the rows a resume skipped come before */
  return NB_OK;
}

static int put_chunk(PgDest *d, DestStream *st, NbError *err) {
  if (d->copy.len == 0) return NB_OK;
  if (PQputCopyData(d->conn, d->copy.data, (int)d->copy.len) != 1)
    return pg_fail(&d->server, d->conn, NULL, NB_IO, err, "could not write to table %s", st->target_text);
  d->copy.len = 0;
  return NB_OK;
}

static int encode_rows(PgDest *d, DestStream *st, const NbColumnView *views, size_t ncols,
                       int64_t from, int64_t to, NbError *err) {
  int64_t r;
  size_t c;
  char scratch[NB_TEXT_SCRATCH];
  for (r = from; r < to; r++) {
    for (c = 0; c < ncols; c++) {
      const NbColumnView *v = nb_column_view_at(views, c);
      int rc;
      if (c > 0 && pg_buf_add(&d->copy, "\t", 1) != NB_OK) return nomem(err);
      if (nb_view_is_null(v, r)) {
        rc = pg_buf_add(&d->copy, "\\N", 2);
      } else {
        const char *text = NULL;
        size_t len = nb_view_text_n(v, r, scratch, sizeof scratch, &text);
        if (text == NULL) return nb_error_set(err, NB_INTERNAL, "value of column %zu does not format", c + 1);
        if ((v->field.type == NB_TYPE_DATE32 || v->field.type == NB_TYPE_TIMESTAMP) && len > 0) {
          /* ISO 8601 writes a year beyond 9999 as "+294000": PostgreSQL
           * reads it without the sign.  A year before 1 ("-0044") would
           * need PostgreSQL's BC notation: refused, never shifted. */
          if (text[0] == '+') {
            text++;
            len--;
          } else if (text[0] == '-') {
            nb_error_set(err, NB_DATA, "table %s, column \"%s\": %.*s is before year 1, which the postgresql destination does not write",
                         st->target_text, v->field.name, (int)len, text);
            nb_error_locate(err, st->target_text, r + 1, (int64_t)c + 1);
            return NB_DATA;
          }
        }
        rc = pg_copy_escape(&d->copy, text, len);
      }
      if (rc != NB_OK) return nomem(err);
    }
    if (pg_buf_add(&d->copy, "\n", 1) != NB_OK) return nomem(err);
    if (d->copy.len >= COPY_CHUNK) {
      int rc = put_chunk(d, st, err);
      if (rc != NB_OK) return rc;
    }
  }
  return put_chunk(d, st, err);
}

static int dest_write(PgDest *d, uint32_t index, const struct ArrowArray *batch, NbError *err);

int pg_dest_write(void *handle, uint32_t index, const struct ArrowArray *batch, NbError *err) {
  PgDest *d = handle;
  return txn_failed(d, dest_write(d, index, batch, err), err);
}

static int dest_write(PgDest *d, uint32_t index, const struct ArrowArray *batch, NbError *err) {
  DestStream *st;
  NbColumnView *views = NULL;
  size_t ncols = 0;
  int64_t from = 0;
  PGresult *res;
  char *sql;
  size_t n;
  int rc;
  if (index >= d->n) return nb_error_set(err, NB_INVALID, "destination stream %u out of range", index);
  st = &d->streams[index];
  if (batch->length == 0) return NB_OK;
  if (st->skip > 0) {
    from = st->skip < (uint64_t)batch->length ? (int64_t)st->skip : batch->length;
    st->skip -= (uint64_t)from;
    st->rows += (uint64_t)from;
    if (from == batch->length) return NB_OK;
  }
  if ((rc = begin(d, err)) != NB_OK) return rc;
  if (d->mode == MODE_UPSERT && !st->staged && (rc = create_stage(d, st, index, err)) != NB_OK) return rc;
  rc = nb_batch_views(&st->schema, batch, &views, &ncols, err);
  if (rc != NB_OK) return rc;
  n = strlen(st->load) + strlen(st->columns) + 64;
  sql = malloc(n);
  if (sql == NULL) {
    free(views);
    return nomem(err);
  }
  snprintf(sql, n, "COPY %s (%s) FROM STDIN", st->load, st->columns);
  res = PQexec(d->conn, sql);
  free(sql);
  if (PQresultStatus(res) != PGRES_COPY_IN) {
    rc = pg_fail(&d->server, d->conn, res, NB_IO, err, "could not write to table %s", st->target_text);
    PQclear(res);
    free(views);
    return rc;
  }
  PQclear(res);
  d->copy.len = 0;
  rc = encode_rows(d, st, views, ncols, from, batch->length, err);
  free(views);
  if (PQputCopyEnd(d->conn, rc == NB_OK ? NULL : "nebula: batch abandoned") != 1 && rc == NB_OK)
    rc = pg_fail(&d->server, d->conn, NULL, NB_IO, err, "could not write to table %s", st->target_text);
  while ((res = PQgetResult(d->conn)) != NULL) {
    if (rc == NB_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = pg_fail(&d->server, d->conn, res, NB_IO, err, "could not write to table %s", st->target_text);
    PQclear(res);
  }
  if (rc == NB_OK) st->rows += (uint64_t)(batch->length - from);
  return rc;
}

/* ---- commit ----------------------------------------------------------- */

/* CDC records: an update that changed the key first gets a delete of its
 * old key beside it (pg_dest_keys.c); a truncate empties the target and
 * drops the rows staged before it; then each key's last record decides:
 * op d deletes the row, any other op inserts or updates it. */
static int merge_cdc_stage(PgDest *d, DestStream *st, NbError *err) {
  const char *op = st->op_column;
  PgStage stage = {&d->server, d->conn, st->load, op, st->target_text, st->name,
                   st->key_names, st->nkeys, st->stage_base};
  int rc = pg_stage_old_keys(&stage, st->old_key_kind, err);
  size_t n = 4 * strlen(st->columns) + 8 * strlen(st->keys) + strlen(st->updates) +
             3 * strlen(st->target) + 6 * strlen(st->load) + 5 * strlen(op) + 1024;
  char *sql;
  if (rc != NB_OK) return rc;
  if ((sql = malloc(n)) == NULL) return nomem(err);
  snprintf(sql, n,
           "DO $nebula$ BEGIN IF EXISTS (SELECT 1 FROM %s WHERE %s = 't') THEN "
           "DELETE FROM %s; "
           "DELETE FROM %s WHERE nebula_ord <= (SELECT max(nebula_ord) FROM %s WHERE %s = 't'); "
           "END IF; END $nebula$; "
           "DELETE FROM %s WHERE (%s) IN (SELECT %s FROM (SELECT DISTINCT ON (%s) %s, %s FROM %s "
           "ORDER BY %s, nebula_ord DESC) s WHERE s.%s = 'd'); "
           "INSERT INTO %s (%s) SELECT %s FROM (SELECT DISTINCT ON (%s) * FROM %s ORDER BY %s, nebula_ord DESC) s "
           "WHERE s.%s IS DISTINCT FROM 'd' ON CONFLICT (%s) DO %s%s",
           st->load, op, st->target, st->load, st->load, op,
           st->target, st->keys, st->keys, st->keys, st->keys, op, st->load, st->keys, op,
           st->target, st->columns, st->columns, st->keys, st->load, st->keys, op, st->keys,
           st->updates[0] != '\0' ? "UPDATE SET " : "NOTHING", st->updates);
  rc = exec_sql(d, sql, err, "could not apply the staged CDC records (upsert with apply_deletes)");
  if (rc != NB_OK) nb_error_locate(err, st->target_text, 0, 0);
  free(sql);
  return rc;
}

static int merge_stage(PgDest *d, DestStream *st, NbError *err) {
  if (st->cdc_ops) return merge_cdc_stage(d, st, err);
  {
  size_t n = 2 * strlen(st->columns) + 2 * strlen(st->keys) + strlen(st->updates) +
             strlen(st->target) + strlen(st->load) + 256;
  char *sql = malloc(n);
  int rc;
  if (sql == NULL) return nomem(err);
  snprintf(sql, n,
           "INSERT INTO %s (%s) SELECT DISTINCT ON (%s) %s FROM %s ORDER BY %s, nebula_ord DESC "
           "ON CONFLICT (%s) DO %s%s",
           st->target, st->columns, st->keys, st->columns, st->load, st->keys, st->keys,
           st->updates[0] != '\0' ? "UPDATE SET " : "NOTHING", st->updates);
  rc = exec_sql(d, sql, err, "could not merge the staged rows (upsert)");
  if (rc != NB_OK) nb_error_locate(err, st->target_text, 0, 0);
  free(sql);
  return rc;
  }
}

static int record_commit(PgDest *d, DestStream *st, NbError *err) {
  char seq[32], rows[32];
  const char *params[4] = {d->pipeline_id, st->name, seq, rows};
  char *sql = join3("INSERT INTO ", d->commits,
                    " (pipeline, stream, seq, rows) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (pipeline, stream) DO UPDATE SET seq = EXCLUDED.seq, "
                    "rows = EXCLUDED.rows, finished = false, committed_at = now()");
  PGresult *res;
  int rc = NB_OK;
  if (sql == NULL) return nomem(err);
  snprintf(seq, sizeof seq, "%lld", (long long)(d->seq + 1));
  snprintf(rows, sizeof rows, "%llu", (unsigned long long)st->rows);
  res = PQexecParams(d->conn, sql, 4, NULL, params, NULL, NULL, 0);
  free(sql);
  if (PQresultStatus(res) != PGRES_COMMAND_OK)
    rc = pg_fail(&d->server, d->conn, res, NB_IO, err, "could not record the commit in nebula_commits");
  PQclear(res);
  return rc;
}

int pg_dest_commit(void *handle, const void **state, size_t *state_len, NbError *err) {
  PgDest *d = handle;
  uint32_t i;
  int rc = NB_OK;
  if (d->in_txn) {
    for (i = 0; rc == NB_OK && i < d->n; i++) {
      DestStream *st = &d->streams[i];
      if (st->staged) rc = merge_stage(d, st, err);
      if (rc == NB_OK && st->rows != st->committed_rows) rc = record_commit(d, st, err);
    }
    if (rc == NB_OK) rc = exec_sql(d, "COMMIT", err, "could not commit");
    if (rc != NB_OK) return txn_failed(d, rc == NB_INVALID ? NB_IO : rc, err);
    d->in_txn = false;
    d->seq++;
    for (i = 0; i < d->n; i++) {
      DestStream *st = &d->streams[i];
      st->committed_rows = st->rows;
      if (st->staged) { /* ON COMMIT DROP removed it */
        st->staged = false;
        free(st->load);
        st->load = strdup(st->target);
        if (st->load == NULL) return nomem(err);
      }
    }
  }
  /* Rows skipped on a resume (already in the database) count as committed
   * even when nothing else was written: the source's positions saved with
   * this state are past them. */
  for (i = 0; i < d->n; i++) d->streams[i].committed_rows = d->streams[i].rows;
  if (encode_state(d) != NB_OK) return nomem(err);
  *state = d->state.data;
  *state_len = d->state.len;
  return NB_OK;
}

/* The run completed: a later run without state starts afresh. */
static int mark_finished(PgDest *d, NbError *err) {
  const char *params[1] = {d->pipeline_id};
  char *sql = join3("UPDATE ", d->commits, " SET finished = true WHERE pipeline = $1");
  PGresult *res;
  int rc = NB_OK;
  if (sql == NULL) return nomem(err);
  res = PQexecParams(d->conn, sql, 1, NULL, params, NULL, NULL, 0);
  free(sql);
  if (PQresultStatus(res) != PGRES_COMMAND_OK)
    rc = pg_fail(&d->server, d->conn, res, NB_IO, err, "could not mark the run finished in nebula_commits");
  PQclear(res);
  return rc;
}

/* The run completed: mark it so in nebula_commits and, in mode replace,
 * swap every new table in, all in one transaction. */
int pg_dest_finish(void *handle, NbError *err) {
  PgDest *d = handle;
  uint32_t i;
  int rc;
  if ((rc = begin(d, err)) != NB_OK) return rc;
  rc = mark_finished(d, err);
  for (i = 0; rc == NB_OK && d->mode == MODE_REPLACE && i < d->n; i++) {
    DestStream *st = &d->streams[i];
    size_t n = strlen(st->target) + strlen(st->load) + strlen(st->bare) + 96;
    char *sql = malloc(n);
    if (sql == NULL) return nomem(err);
    snprintf(sql, n, "DROP TABLE %s; ALTER TABLE %s RENAME TO %s", st->target, st->load, st->bare);
    rc = exec_sql(d, sql, err, "could not swap in the new table (mode replace)");
    if (rc != NB_OK) nb_error_locate(err, st->target_text, 0, 0);
    free(sql);
  }
  if (rc == NB_OK) rc = exec_sql(d, "COMMIT", err, "could not commit the end of the run");
  rc = txn_failed(d, rc == NB_INVALID ? NB_IO : rc, err);
  d->in_txn = false;
  return rc;
}
