/*
 * mysql_source.c - the source: one stream per table (or one for `query`),
 * read with an unbuffered result (mysql_use_result) so memory is one batch
 * whatever the table size.
 *
 * Order and resume.  A table with a primary key is read ORDER BY the key
 * (mode full) or ORDER BY the cursor column then the key (mode
 * incremental); a position is the key (and cursor) of the last row of a
 * batch, and a resumed run continues WHERE (cursor, key) > (saved) - rows
 * with an equal cursor value are told apart by the key, never skipped.
 * A table without a primary key, and a query, are read in the server's
 * order and their position counts rows: a resumed run skips that many,
 * which is exact as long as the table did not change in between
 * (documented in docs/mysql-connector.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>

#include "mysql_cdc.h"
#include "mysql_internal.h"
#include "mysql_position.h"

#define MAX_KEY_COLUMNS MY_MAX_KEY_COLUMNS


typedef struct MyStream {
  char *name;             /* table name, or "query" */
  char *qtable;           /* quoted table name (NULL for a query) */
  char **key;             /* primary key columns in key order (discover) */
  size_t n_key;
  char *order[MAX_KEY_COLUMNS]; /* ordering columns: cursor first, then key */
  size_t n_order;
  MyColumn *cols;
  size_t n_cols;
  size_t order_index[MAX_KEY_COLUMNS]; /* result column of each ordering column */
  /* Resume: the ordering values of the last row handed over, and rows. */
  MyKeyValue last[MAX_KEY_COLUMNS];
  bool have_last;
  uint64_t rows;
  uint64_t skip; /* rows still to skip (position by row count) */
  MYSQL *db;     /* the streaming connection, while the stream is read */
  MYSQL_RES *res;
  NbBatchBuilder *builder;
  bool done;
  unsigned char *pos_buf;  /* the last position handed to the host */
  size_t pos_cap;
  size_t emitted_len;      /* its length, 0 before the first batch */
  unsigned char *seek_buf; /* the position the stream was resumed at */
  size_t seek_len;
  bool warned_zero;
  /* A row whose value could not be converted, met with rows already in the
   * batch: the batch goes first, the bad row is reported on the next call
   * (the unbuffered row stays valid until the next fetch). */
  MYSQL_ROW pending;
  unsigned long *pending_lens;
  MyCdc *cdc; /* mode cdc: the binlog reader of this table */
} MyStream;

typedef struct MySource {
  const NbHostApi *host;
  MyConnConfig cfg;
  int incremental;
  bool cdc;
  MyCdcSettings cdc_set;
  char *cursor;
  char *query;
  int zero_dates;
  uint64_t batch_rows, batch_bytes;
  MYSQL *meta; /* metadata queries; never holds an open result */
  MyStream *streams;
  uint32_t n_streams;
} MySource;

/* ---- Small helpers ---------------------------------------------------- */

/* Run sql on the metadata connection, opening it again once when the
 * server went away (restart) since its last use. */
static int meta_query(MySource *s, const char *sql, size_t len) {
  unsigned int no;
  MYSQL *db = NULL;
  NbError ignored;
  if (mysql_real_query(s->meta, sql, (unsigned long)len) == 0) return 0;
  no = mysql_errno(s->meta);
  if (no != CR_SERVER_GONE_ERROR && no != CR_SERVER_LOST) return -1;
  nb_error_init(&ignored);
  if (my_connect(&s->cfg, &db, &ignored) != NB_OK) {
    nb_error_release(&ignored);
    return -1; /* s->meta keeps the "gone away" error to report */
  }
  mysql_close(s->meta);
  s->meta = db;
  return mysql_real_query(s->meta, sql, (unsigned long)len) == 0 ? 0 : -1;
}

static int query_rows(MySource *s, const char *sql, MYSQL_RES **res, NbError *err) {
  *res = NULL;
  if (meta_query(s, sql, strlen(sql)) != 0)
    return my_fail(s->meta, &s->cfg, err, "query failed");
  *res = mysql_store_result(s->meta);
  if (*res == NULL) return my_fail(s->meta, &s->cfg, err, "reading a result failed");
  return NB_OK;
}

/* 'text' escaped for the connection into a new string (with quotes). */
static char *quote_literal(MYSQL *db, const char *text, size_t len) {
  char *q = malloc(2 * len + 3);
  unsigned long n;
  if (q == NULL) return NULL;
  q[0] = '\'';
  n = mysql_real_escape_string(db, q + 1, text, (unsigned long)len);
  q[n + 1] = '\'';
  q[n + 2] = '\0';
  return q;
}

/* A growable SQL text. */
typedef struct Sql {
  char *p;
  size_t len, cap;
  bool failed;
} Sql;

static void sql_add(Sql *q, const char *text, size_t n) {
  if (q->failed) return;
  if (q->len + n + 1 > q->cap) {
    size_t cap = q->cap ? q->cap : 256;
    char *p;
    while (cap < q->len + n + 1) cap *= 2;
    p = realloc(q->p, cap);
    if (p == NULL) {
      q->failed = true;
      return;
    }
    q->p = p;
    q->cap = cap;
  }
  memcpy(q->p + q->len, text, n);
  q->len += n;
  q->p[q->len] = '\0';
}

static void sql_str(Sql *q, const char *text) { sql_add(q, text, strlen(text)); }

static void sql_ident(Sql *q, const char *name) {
  char *id = my_quote_ident(name);
  if (id == NULL) {
    q->failed = true;
    return;
  }
  sql_str(q, id);
  free(id);
}

/* ---- Opening: settings and the stream list ---------------------------- */

/* Settings of mode cdc (read whatever the mode: unknown names are caught
 * by the settings check, these are declared for the source). */
static int load_cdc_settings(MySource *s, const NbSettings *settings, NbError *err) {
  int rc;
  if ((rc = nb_setting_int(settings, "server_id", 4040, &s->cdc_set.server_id, err)) != NB_OK ||
      (rc = nb_setting_bool(settings, "stop_at_catchup", false, &s->cdc_set.stop_at_catchup,
                            err)) != NB_OK ||
      (rc = nb_setting_string(settings, "start_file", NULL, &s->cdc_set.start_file, err)) !=
          NB_OK ||
      (rc = nb_setting_int(settings, "start_pos", 4, &s->cdc_set.start_pos, err)) != NB_OK ||
      (rc = nb_setting_string(settings, "start_gtid", NULL, &s->cdc_set.start_gtid, err)) !=
          NB_OK ||
      (rc = nb_setting_int(settings, "heartbeat_seconds", 1, &s->cdc_set.heartbeat_seconds,
                           err)) != NB_OK ||
      (rc = nb_setting_bool(settings, "snapshot", false, &s->cdc_set.snapshot, err)) != NB_OK)
    return rc;
  if (s->cdc_set.snapshot && (s->cdc_set.start_file != NULL || s->cdc_set.start_gtid != NULL)) {
    nb_error_set(err, NB_INVALID, "setting \"snapshot\" cannot be combined with \"%s\"",
                 s->cdc_set.start_file != NULL ? "start_file" : "start_gtid");
    nb_error_hint(err, "The snapshot's own binlog position is where the changes start.");
    return NB_INVALID;
  }
  if (s->cdc_set.server_id < 1 || s->cdc_set.server_id > 4000000000ll) {
    nb_error_set(err, NB_INVALID, "setting \"server_id\" must be 1 to 4000000000");
    nb_error_hint(err, "Pick an id no server or other replica of this server uses.");
    return NB_INVALID;
  }
  if (s->cdc_set.heartbeat_seconds < 1 || s->cdc_set.heartbeat_seconds > 3600) {
    nb_error_set(err, NB_INVALID, "setting \"heartbeat_seconds\" must be 1 to 3600");
    return NB_INVALID;
  }
  if (s->cdc_set.start_gtid != NULL &&
      (s->cdc_set.start_gtid[0] == '\0' || strlen(s->cdc_set.start_gtid) > 1000 ||
       strspn(s->cdc_set.start_gtid, "0123456789-, ") != strlen(s->cdc_set.start_gtid) ||
       s->cdc_set.start_file != NULL)) {
    nb_error_set(err, NB_INVALID, "setting \"start_gtid\" must be a MariaDB GTID position"
                 " (domain-server-sequence, comma-separated) and not be combined with"
                 " \"start_file\"");
    return NB_INVALID;
  }
  if (s->cdc_set.start_file != NULL &&
      (s->cdc_set.start_file[0] == '\0' || strlen(s->cdc_set.start_file) > 255 ||
       strchr(s->cdc_set.start_file, '/') != NULL)) {
    nb_error_set(err, NB_INVALID, "setting \"start_file\" must be a binlog file name"
                 " (1 to 255 bytes, no '/')");
    return NB_INVALID;
  }
  return NB_OK;
}

static int load_settings(MySource *s, const NbSettings *settings, NbError *err) {
  const char *v = NULL;
  int rc, mode = 0;
  if ((rc = nb_setting_enum(settings, "mode", "full|incremental|cdc", 0, &mode, err)) != NB_OK ||
      (rc = nb_setting_enum(settings, "zero_dates", "null|error", MY_ZERO_NULL, &s->zero_dates,
                            err)) != NB_OK)
    return rc;
  s->incremental = mode == 1;
  s->cdc = mode == 2;
  if ((rc = load_cdc_settings(s, settings, err)) != NB_OK) return rc;
  if ((rc = nb_setting_string(settings, "cursor", NULL, &v, err)) != NB_OK) return rc;
  if (v != NULL && (s->cursor = strdup(v)) == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  if ((rc = nb_setting_string(settings, "query", NULL, &v, err)) != NB_OK) return rc;
  if (v != NULL && (s->query = strdup(v)) == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  if (s->incremental && s->cursor == NULL) {
    nb_error_set(err, NB_INVALID, "setting \"mode\" is \"incremental\" without a \"cursor\"");
    nb_error_hint(err, "Name the column that grows with each change in \"cursor\" (an updated_at or id column).");
    return NB_INVALID;
  }
  if (!s->incremental && s->cursor != NULL) {
    nb_error_set(err, NB_INVALID, "setting \"cursor\" is given with mode \"full\"");
    nb_error_hint(err, "Set mode = \"incremental\" to read by the cursor column.");
    return NB_INVALID;
  }
  if (s->query != NULL && s->cdc) {
    nb_error_set(err, NB_INVALID, "setting \"query\" cannot be combined with mode \"cdc\"");
    nb_error_hint(err, "Mode cdc reads the changes of tables: name them in \"tables\".");
    return NB_INVALID;
  }
  if (s->query != NULL && (s->incremental || nb_settings_find(settings, "tables") != NULL)) {
    nb_error_set(err, NB_INVALID, "setting \"query\" cannot be combined with %s",
                 s->incremental ? "mode \"incremental\"" : "\"tables\"");
    return NB_INVALID;
  }
  return NB_OK;
}

static int add_stream(MySource *s, const char *name, size_t len, NbError *err) {
  MyStream *st;
  MyStream *grown = realloc(s->streams, (s->n_streams + 1) * sizeof *grown);
  if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory (streams)");
  s->streams = grown;
  st = &s->streams[s->n_streams];
  memset(st, 0, sizeof *st);
  st->name = strndup(name, len);
  if (st->name == NULL) return nb_error_set(err, NB_NOMEM, "out of memory (streams)");
  s->n_streams++;
  if (s->query == NULL && (st->qtable = my_quote_ident(st->name)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory (streams)");
  return NB_OK;
}

/* The tables setting: comma-separated names, blanks around them ignored. */
static int streams_from_setting(MySource *s, const char *list, NbError *err) {
  const char *p = list;
  while (*p != '\0') {
    const char *start, *end;
    int rc;
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    if (*p == '\0') break;
    start = p;
    while (*p != '\0' && *p != ',') p++;
    end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if ((rc = add_stream(s, start, (size_t)(end - start), err)) != NB_OK) return rc;
  }
  if (s->n_streams == 0) {
    nb_error_set(err, NB_INVALID, "setting \"tables\" names no table");
    return NB_INVALID;
  }
  return NB_OK;
}

/* Every base table of the database, by name. */
static int streams_from_database(MySource *s, NbError *err) {
  MYSQL_RES *res;
  MYSQL_ROW row;
  int rc = query_rows(s,
                      "SELECT table_name FROM information_schema.tables WHERE table_schema ="
                      " DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
                      &res, err);
  if (rc != NB_OK) return rc;
  while (rc == NB_OK && (row = mysql_fetch_row(res)) != NULL) {
    unsigned long *lens = mysql_fetch_lengths(res);
    if (row[0] != NULL) rc = add_stream(s, row[0], lens[0], err);
  }
  mysql_free_result(res);
  return rc;
}

/* Whether table exists in the database; NB_NOT_FOUND names it otherwise. */
static int check_table(MySource *s, MyStream *st, NbError *err) {
  Sql q = {0};
  MYSQL_RES *res;
  int rc;
  char *lit = quote_literal(s->meta, st->name, strlen(st->name));
  if (lit == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  sql_str(&q, "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE()"
              " AND table_name = ");
  sql_str(&q, lit);
  free(lit);
  if (q.failed) {
    free(q.p);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  rc = query_rows(s, q.p, &res, err);
  free(q.p);
  if (rc != NB_OK) return rc;
  if (mysql_num_rows(res) == 0) {
    char server[300];
    mysql_free_result(res);
    nb_error_set(err, NB_NOT_FOUND, "table \"%s\" does not exist in database \"%s\" on server %s",
                 st->name, s->cfg.database, my_server_name(&s->cfg, server, sizeof server));
    nb_error_hint(err, "Check the setting \"tables\"; `nebula-host discover` lists the tables.");
    return NB_NOT_FOUND;
  }
  mysql_free_result(res);
  return NB_OK;
}

/* Say what a table is read by: what discover cannot show. */
static void log_order(const MySource *s, const MyStream *st) {
  char cols[512];
  size_t i, at = 0;
  cols[0] = '\0';
  for (i = s->incremental ? 1 : 0; i < st->n_order && at < sizeof cols; i++)
    at += (size_t)snprintf(cols + at, sizeof cols - at, "%s%s", at > 0 ? ", " : "", st->order[i]);
  if (cols[0] == '\0')
    nb_log(s->host, NB_LOG_INFO,
           "table \"%s\" has no primary key: read in server order, resumed by row count",
           st->name);
  else
    nb_log(s->host, NB_LOG_INFO, "table \"%s\": primary key (%s)%s%s", st->name, cols,
           s->incremental ? ", cursor " : "", s->incremental ? st->order[0] : "");
}

/* The primary key columns of a table, in key order (none without one):
 * what discover shows and what the table is ordered and resumed by. */
static int load_key(MySource *s, MyStream *st, NbError *err) {
  Sql q = {0};
  MYSQL_RES *res;
  MYSQL_ROW row;
  my_ulonglong n;
  int rc;
  char *lit = quote_literal(s->meta, st->name, strlen(st->name));
  if (lit == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  sql_str(&q, "SELECT column_name FROM information_schema.key_column_usage WHERE"
              " table_schema = DATABASE() AND constraint_name = 'PRIMARY' AND table_name = ");
  sql_str(&q, lit);
  sql_str(&q, " ORDER BY ordinal_position");
  free(lit);
  if (q.failed) {
    free(q.p);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  rc = query_rows(s, q.p, &res, err);
  free(q.p);
  if (rc != NB_OK) return rc;
  n = mysql_num_rows(res);
  if (n > 0 && (n > SIZE_MAX / sizeof *st->key || (st->key = calloc((size_t)n, sizeof *st->key)) == NULL)) {
    mysql_free_result(res);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  while (st->n_key < n && (row = mysql_fetch_row(res)) != NULL) {
    if (row[0] == NULL) continue;
    if ((st->key[st->n_key++] = strdup(row[0])) == NULL) {
      mysql_free_result(res);
      return nb_error_set(err, NB_NOMEM, "out of memory");
    }
  }
  mysql_free_result(res);
  return NB_OK;
}

/* The ordering columns of a table: [cursor,] primary key columns. */
static int load_order(MySource *s, MyStream *st, NbError *err) {
  size_t i;
  if (s->incremental && (st->order[st->n_order++] = strdup(s->cursor)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  for (i = 0; i < st->n_key; i++) {
    if (s->incremental && strcmp(st->key[i], s->cursor) == 0) continue;
    if (st->n_order == MAX_KEY_COLUMNS)
      return nb_error_set(err, NB_INVALID, "table \"%s\": more than %d primary key columns",
                          st->name, MAX_KEY_COLUMNS - 1);
    if ((st->order[st->n_order++] = strdup(st->key[i])) == NULL)
      return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  log_order(s, st);
  if (s->incremental && st->n_order == 1) {
    nb_error_set(err, NB_INVALID, "table \"%s\" has no primary key, which mode \"incremental\" needs",
                 st->name);
    nb_error_detail(err, "Rows with equal cursor values are told apart by the primary key.");
    return NB_INVALID;
  }
  return NB_OK;
}

static void stream_stop(MyStream *st) {
  if (st->res != NULL) mysql_free_result(st->res); /* drains what is left */
  st->res = NULL;
  if (st->db != NULL) mysql_close(st->db);
  st->db = NULL;
}

static void stream_free(MyStream *st) {
  size_t i;
  stream_stop(st);
  my_cdc_free(st->cdc);
  free(st->name);
  free(st->qtable);
  for (i = 0; i < st->n_order; i++) free(st->order[i]);
  for (i = 0; i < st->n_key; i++) free(st->key[i]);
  free(st->key);
  for (i = 0; i < MAX_KEY_COLUMNS; i++) free(st->last[i].buf);
  my_columns_free(st->cols, st->n_cols);
  nb_batch_builder_free(st->builder);
  free(st->pos_buf);
  free(st->seek_buf);
}

void my_source_close(void *source) {
  MySource *s = source;
  uint32_t i;
  if (s == NULL) return;
  for (i = 0; i < s->n_streams; i++) stream_free(&s->streams[i]);
  free(s->streams);
  if (s->meta != NULL) mysql_close(s->meta);
  my_conn_config_free(&s->cfg);
  free(s->cursor);
  free(s->query);
  free(s);
}

int my_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source,
                   NbError *err) {
  MySource *s = calloc(1, sizeof *s);
  const char *tables = nb_settings_find(args->settings, "tables");
  uint32_t i;
  int rc;
  *source = NULL;
  if (s == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  s->host = host;
  s->batch_rows = args->batch_rows > 0 ? args->batch_rows : 65536;
  s->batch_bytes = args->batch_bytes > 0 ? args->batch_bytes : (16u << 20);
  rc = my_conn_config_load(args->settings, &s->cfg, err);
  if (rc == NB_OK) rc = load_settings(s, args->settings, err);
  if (rc == NB_OK) rc = my_connect(&s->cfg, &s->meta, err);
  if (rc == NB_OK) {
    if (s->query != NULL)
      rc = add_stream(s, "query", 5, err);
    else if (tables != NULL)
      rc = streams_from_setting(s, tables, err);
    else
      rc = streams_from_database(s, err);
  }
  for (i = 0; rc == NB_OK && s->query == NULL && i < s->n_streams; i++) {
    rc = check_table(s, &s->streams[i], err);
    if (rc == NB_OK) rc = load_key(s, &s->streams[i], err);
    if (rc == NB_OK && s->cdc)
      rc = my_cdc_new(host, &s->cfg, &s->cdc_set, s->streams[i].name, i, s->batch_rows,
                      s->batch_bytes, &s->streams[i].cdc, err);
    else if (rc == NB_OK)
      rc = load_order(s, &s->streams[i], err);
  }
  if (rc == NB_OK && s->cdc && !s->cdc_set.stop_at_catchup && s->n_streams > 1) {
    /* The host reads streams one after the other: a stream that never
     * ends would keep the others from being read. */
    rc = nb_error_set(err, NB_INVALID, "mode \"cdc\" without \"stop_at_catchup\" reads one"
                      " table, and \"tables\" names %u", (unsigned)s->n_streams);
    nb_error_hint(err, "Run one pipeline per table, or set stop_at_catchup = true.");
  }
  if (rc != NB_OK) {
    my_source_close(s);
    return rc;
  }
  *source = s;
  return NB_OK;
}

int my_source_stream_count(void *source, uint32_t *count, NbError *err) {
  (void)err;
  *count = ((MySource *)source)->n_streams;
  return NB_OK;
}

int my_source_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err) {
  MySource *s = source;
  if (index >= s->n_streams)
    return nb_error_set(err, NB_INVALID, "stream index %u out of range", (unsigned)index);
  out->name = s->streams[index].name;
  if (NB_STRUCT_HAS(NbStreamInfo, out, size_bytes)) out->size_bytes = -1;
  /* Incremental: a later run reads the rows added after the saved cursor;
   * CDC: the changes logged after the saved binlog position. */
  if (NB_STRUCT_HAS(NbStreamInfo, out, flags) && (s->incremental || s->cdc))
    out->flags |= NB_STREAM_REOPENS;
  if (NB_STRUCT_HAS(NbStreamInfo, out, key_count) && s->streams[index].n_key > 0) {
    out->key_columns = (const char *const *)s->streams[index].key;
    out->key_count = (uint32_t)s->streams[index].n_key;
  }
  return NB_OK;
}

/* ---- Queries ---------------------------------------------------------- */

/* SELECT * FROM t [WHERE (order) > (last)] [ORDER BY order] or the query. */
static int build_select(MySource *s, MyStream *st, MYSQL *db, bool metadata_only, Sql *q) {
  size_t i;
  if (s->query != NULL) {
    sql_str(q, "SELECT * FROM (");
    sql_str(q, s->query);
    sql_str(q, ") AS nebula_query");
    if (metadata_only) sql_str(q, " LIMIT 0");
    return NB_OK;
  }
  sql_str(q, "SELECT * FROM ");
  sql_str(q, st->qtable);
  if (metadata_only) {
    sql_str(q, " LIMIT 0");
    return NB_OK;
  }
  if (s->incremental) {
    sql_str(q, " WHERE ");
    sql_ident(q, st->order[0]);
    sql_str(q, " IS NOT NULL");
  }
  if (st->have_last && st->n_order > 0) {
    sql_str(q, s->incremental ? " AND (" : " WHERE (");
    for (i = 0; i < st->n_order; i++) {
      if (i > 0) sql_str(q, ", ");
      sql_ident(q, st->order[i]);
    }
    sql_str(q, ") > (");
    for (i = 0; i < st->n_order; i++) {
      char *lit = st->last[i].data == NULL ? strdup("NULL")
                                           : quote_literal(db, st->last[i].data, st->last[i].len);
      if (lit == NULL) {
        q->failed = true;
        return NB_NOMEM;
      }
      if (i > 0) sql_str(q, ", ");
      /* A binary literal compares byte for byte with binary keys and is
       * converted like any string for numeric and temporal ones. */
      if (st->last[i].data != NULL) sql_str(q, "_binary");
      sql_str(q, lit);
      free(lit);
    }
    sql_str(q, ")");
  }
  if (st->n_order > 0) {
    sql_str(q, " ORDER BY ");
    for (i = 0; i < st->n_order; i++) {
      if (i > 0) sql_str(q, ", ");
      sql_ident(q, st->order[i]);
    }
  }
  return NB_OK;
}

/* Learn the stream's columns (once) from a zero-row query. */
static int load_columns(MySource *s, MyStream *st, NbError *err) {
  Sql q = {0};
  MYSQL_RES *res;
  size_t i, j;
  int rc;
  if (st->cols != NULL) return NB_OK;
  build_select(s, st, s->meta, true, &q);
  if (q.failed) {
    free(q.p);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if (meta_query(s, q.p, q.len) != 0) {
    free(q.p);
    return my_fail(s->meta, &s->cfg, err, "reading the columns of %s \"%s\" failed",
                   s->query != NULL ? "stream" : "table", st->name);
  }
  free(q.p);
  res = mysql_store_result(s->meta);
  if (res == NULL)
    return my_fail(s->meta, &s->cfg, err, "the statement of stream \"%s\" returns no rows",
                   st->name);
  rc = my_columns_from_result(res, &st->cols, &st->n_cols, err);
  mysql_free_result(res);
  if (rc != NB_OK) return rc;
  for (i = 0; i < st->n_order; i++) {
    for (j = 0; j < st->n_cols && strcmp(st->cols[j].name, st->order[i]) != 0; j++) {
    }
    if (j == st->n_cols) {
      nb_error_set(err, NB_INVALID, "table \"%s\" has no column \"%s\"", st->name, st->order[i]);
      if (s->incremental && i == 0) nb_error_hint(err, "Check the setting \"cursor\".");
      return NB_INVALID;
    }
    st->order_index[i] = j;
  }
  return NB_OK;
}

int my_source_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err) {
  MySource *s = source;
  MyStream *st;
  NbField *fields;
  size_t i;
  int rc;
  if (index >= s->n_streams)
    return nb_error_set(err, NB_INVALID, "stream index %u out of range", (unsigned)index);
  st = &s->streams[index];
  if (st->cdc != NULL) return my_cdc_schema(st->cdc, out, err);
  if ((rc = load_columns(s, st, err)) != NB_OK) return rc;
  fields = calloc(st->n_cols > 0 ? st->n_cols : 1, sizeof *fields);
  if (fields == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  for (i = 0; i < st->n_cols; i++) fields[i] = st->cols[i].field;
  rc = nb_schema_export(fields, st->n_cols, out, err);
  free(fields);
  return rc;
}

static int encode_position(MyStream *st, size_t *len, NbError *err) {
  if (my_position_encode(st->rows, st->last, st->have_last ? st->n_order : 0, &st->pos_buf,
                         &st->pos_cap, len) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory (position)");
  return NB_OK;
}

static int decode_position(MyStream *st, const unsigned char *p, size_t position_len,
                           NbError *err) {
  size_t count = 0;
  int rc = my_position_decode(st->name, p, position_len, st->n_order, &st->rows, st->last,
                              &count, err);
  if (rc != NB_OK) return rc;
  st->have_last = count > 0;
  /* Without a key the position counts rows: skip them again. */
  st->skip = st->n_order == 0 ? st->rows : 0;
  return NB_OK;
}

int my_source_seek(void *source, uint32_t index, const void *position, size_t position_len,
                   NbError *err) {
  MySource *s = source;
  MyStream *st;
  int rc;
  if (index >= s->n_streams)
    return nb_error_set(err, NB_INVALID, "stream index %u out of range", (unsigned)index);
  st = &s->streams[index];
  if (st->cdc != NULL) return my_cdc_seek(st->cdc, position, position_len, err);
  if ((rc = decode_position(st, position, position_len, err)) != NB_OK) return rc;
  free(st->seek_buf);
  st->seek_len = 0;
  if ((st->seek_buf = malloc(position_len > 0 ? position_len : 1)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  memcpy(st->seek_buf, position, position_len);
  st->seek_len = position_len;
  return NB_OK;
}

/* After a failed read (the server went away): forget the rows read since
 * the last position handed to the host, so that a retried source_next
 * starts a new query right after it. */
static void rewind_to_emitted(MyStream *st) {
  size_t i;
  nb_batch_builder_reset(st->builder);
  st->pending = NULL;
  stream_stop(st);
  if (st->emitted_len > 0 && decode_position(st, st->pos_buf, st->emitted_len, NULL) == NB_OK)
    return;
  if (st->seek_len > 0 && decode_position(st, st->seek_buf, st->seek_len, NULL) == NB_OK) return;
  for (i = 0; i < st->n_order; i++) my_key_value_set(&st->last[i], NULL, 0);
  st->have_last = false;
  st->rows = 0;
  st->skip = 0;
}

/* ---- Reading ---------------------------------------------------------- */

static int stream_start(MySource *s, MyStream *st, NbError *err) {
  Sql q = {0};
  int rc = load_columns(s, st, err);
  if (rc != NB_OK) return rc;
  if (st->builder == NULL) {
    NbField *fields = calloc(st->n_cols > 0 ? st->n_cols : 1, sizeof *fields);
    size_t i;
    if (fields == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    for (i = 0; i < st->n_cols; i++) fields[i] = st->cols[i].field;
    rc = nb_batch_builder_new(fields, st->n_cols,
                              s->batch_rows < 65536 ? (size_t)s->batch_rows : 65536,
                              &st->builder, err);
    free(fields);
    if (rc != NB_OK) return rc;
  }
  if ((rc = my_connect(&s->cfg, &st->db, err)) != NB_OK) return rc;
  build_select(s, st, st->db, false, &q);
  if (q.failed) {
    free(q.p);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if (mysql_real_query(st->db, q.p, (unsigned long)q.len) != 0) {
    free(q.p);
    rc = my_fail(st->db, &s->cfg, err, "reading %s \"%s\" failed",
                 s->query != NULL ? "the query of stream" : "table", st->name);
    stream_stop(st);
    return rc;
  }
  free(q.p);
  st->res = mysql_use_result(st->db);
  if (st->res == NULL) {
    rc = my_fail(st->db, &s->cfg, err, "reading %s failed", st->name);
    stream_stop(st);
    return rc;
  }
  if (mysql_num_fields(st->res) != st->n_cols) {
    stream_stop(st);
    nb_error_set(err, NB_DATA, "the columns of \"%s\" changed while it was read", st->name);
    return NB_DATA;
  }
  return NB_OK;
}

static int remember_last(MyStream *st, MYSQL_ROW row, const unsigned long *lens,
                         NbError *err) {
  size_t i;
  for (i = 0; i < st->n_order; i++)
    if (my_key_value_set(&st->last[i], row[st->order_index[i]], lens[st->order_index[i]]) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory");
  st->have_last = st->n_order > 0;
  return NB_OK;
}

static int append_row(MySource *s, MyStream *st, MYSQL_ROW row, const unsigned long *lens,
                      NbError *err) {
  size_t i, rows = nb_batch_builder_rows(st->builder);
  for (i = 0; i < st->n_cols; i++) {
    bool zero = false;
    int rc = my_append_value(nb_batch_builder_column(st->builder, i), &st->cols[i], row[i],
                             lens[i], s->zero_dates, &zero, err);
    if (rc != NB_OK) {
      size_t j;
      for (j = 0; j < i; j++) nb_column_truncate(nb_batch_builder_column(st->builder, j), rows);
      if (rc == NB_DATA) {
        nb_error_locate(err, st->name, (int64_t)st->rows + 1, (int64_t)i + 1);
        nb_error_detail(err, "Row %llu of table \"%s\".", (unsigned long long)st->rows + 1,
                        st->name);
      }
      return rc;
    }
    if (zero) {
      s->host->counter_add(s->host->host_data, "mysql_zero_dates_as_null", 1);
      if (!st->warned_zero) {
        st->warned_zero = true;
        nb_log(s->host, NB_LOG_WARN,
               "table \"%s\" column \"%s\": zero dates are read as nulls (zero_dates = null);"
               " counted in mysql_zero_dates_as_null", st->name, st->cols[i].name);
      }
    }
  }
  return NB_OK;
}

int my_source_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info,
                   NbError *err) {
  MySource *s = source;
  MyStream *st;
  MYSQL_ROW row;
  size_t pos_len = 0;
  int rc;
  if (index >= s->n_streams)
    return nb_error_set(err, NB_INVALID, "stream index %u out of range", (unsigned)index);
  st = &s->streams[index];
  if (st->cdc != NULL) return my_cdc_next(st->cdc, out, info, err);
  if (st->done) return NB_END;
  if (s->host->is_cancelled(s->host->host_data))
    return nb_error_set(err, NB_CANCELLED, "cancelled");
  if (st->res == NULL && (rc = stream_start(s, st, err)) != NB_OK) return rc;
  while (nb_batch_builder_rows(st->builder) < s->batch_rows &&
         nb_batch_builder_bytes(st->builder) < s->batch_bytes) {
    unsigned long *lens;
    if (st->pending != NULL) {
      row = st->pending;
      lens = st->pending_lens;
      st->pending = NULL;
    } else {
      row = mysql_fetch_row(st->res);
      if (row == NULL) break;
      lens = mysql_fetch_lengths(st->res);
      if (st->skip > 0) {
        st->skip--;
        continue;
      }
    }
    rc = append_row(s, st, row, lens, err);
    if (rc == NB_DATA && nb_batch_builder_rows(st->builder) > 0) {
      /* Hand over the good rows first; the bad one comes next call. */
      nb_error_release(err);
      st->pending = row;
      st->pending_lens = lens;
      break;
    }
    if (rc == NB_DATA) {
      /* Report the bad row with a position after it: the next call goes on. */
      if (remember_last(st, row, lens, NULL) != NB_OK || encode_position(st, &pos_len, NULL) != NB_OK) {
        nb_error_release(err);
        return nb_error_set(err, NB_NOMEM, "out of memory (position)");
      }
      st->rows++;
      if (encode_position(st, &pos_len, NULL) != NB_OK) return NB_NOMEM;
      st->emitted_len = pos_len;
      info->position = st->pos_buf;
      info->position_len = pos_len;
      info->bytes_read = -1;
      return NB_DATA;
    }
    if (rc != NB_OK) {
      rewind_to_emitted(st);
      return rc;
    }
    if ((rc = remember_last(st, row, lens, err)) != NB_OK) {
      rewind_to_emitted(st);
      return rc;
    }
    st->rows++;
  }
  if (st->pending == NULL && mysql_errno(st->db) != 0) {
    rc = my_fail(st->db, &s->cfg, err, "reading table \"%s\" failed after %llu rows", st->name,
                 (unsigned long long)st->rows);
    rewind_to_emitted(st);
    return rc == NB_INVALID ? NB_IO : rc;
  }
  if (nb_batch_builder_rows(st->builder) == 0) {
    stream_stop(st);
    st->done = true;
    return NB_END;
  }
  if ((rc = nb_batch_builder_finish(st->builder, out, err)) != NB_OK) return rc;
  if ((rc = encode_position(st, &pos_len, err)) != NB_OK) {
    out->release(out);
    return rc;
  }
  st->emitted_len = pos_len;
  info->position = st->pos_buf;
  info->position_len = pos_len;
  info->bytes_read = -1;
  return NB_OK;
}
