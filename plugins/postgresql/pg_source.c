/*
 * pg_source.c - the postgresql source: each table (or the one query) is a
 * stream read with COPY (SELECT ...) TO STDOUT (FORMAT binary, or text
 * with copy_format = text), one row per PQgetCopyData call, so memory is
 * one batch whatever the table's size.
 *
 * Types are mapped from the column's base type (domains resolved) by
 * pg_catalog.c.  Values are decoded exactly: binary ones by pg_copybin.c,
 * text by pg_values.c; numeric(p,s) up to p = 38 is a decimal128 parsed
 * from its text (selected as text on both wires), other numerics stay text.
 *
 * Positions (versioned, "NBPG1"): rows read so far, and in incremental
 * mode the last row's cursor value and primary key as text.  A full
 * refresh is read in primary-key order so that a resume can skip the rows
 * already read (OFFSET); a table without a primary key cannot resume.
 * Incremental mode reads WHERE (cursor, key...) > (saved values) ORDER BY
 * cursor, key...: rows with equal cursor values are told apart by the key,
 * so none is lost or read twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"
#include "pg_source_internal.h"
#include "pg_values.h"


enum { POS_MAGIC_LEN = 6, CANCEL_CHECK_ROWS = 4096 };
static const char POS_MAGIC[POS_MAGIC_LEN] = {'N', 'B', 'P', 'G', '1', 0};

/* ---- open / close ----------------------------------------------------- */

static void stream_free(PgStream *st) {
  size_t i;
  for (i = 0; i < st->ncols && st->cols != NULL; i++) {
    free(st->cols[i].name);
    free(st->cols[i].type_name);
    free(st->cols[i].output_fn);
  }
  for (i = 0; i < POS_MAX_VALUES; i++) pg_buf_free(&st->saved[i]);
  free(st->cols);
  free(st->key);
  for (i = 0; i < st->nkey_names; i++) free(st->key_names[i]);
  free(st->key_names);
  free(st->name);
  free(st->stream_name);
  free(st->sql_name);
}

void pg_source_close(void *handle) {
  PgSource *s = handle;
  uint32_t i;
  if (s == NULL) return;
  pg_cdc_close(s->cdc);
  for (i = 0; i < s->n; i++) stream_free(&s->streams[i]);
  free(s->streams);
  if (s->conn != NULL) PQfinish(s->conn);
  pg_server_clear(&s->server);
  nb_batch_builder_free(s->builder);
  free(s->fields);
  free(s->query);
  free(s->cursor_name);
  free(s->bad_message);
  for (i = 0; i < POS_MAX_VALUES; i++) pg_buf_free(&s->bad_saved[i]);
  pg_buf_free(&s->position);
  pg_buf_free(&s->scratch);
  free(s);
}

static int read_settings(PgSource *s, const NbSettings *settings, const char **tables,
                         NbError *err) {
  const char *query = nb_settings_find(settings, "query");
  const char *cursor = nb_settings_find(settings, "cursor");
  int format = 0;
  int rc = nb_setting_enum(settings, "mode", "full|incremental|cdc", MODE_FULL, &s->mode, err);
  if (rc == NB_OK) rc = nb_setting_enum(settings, "copy_format", "binary|text", 0, &format, err);
  if (rc != NB_OK) return rc;
  s->binary = format == 0;
  *tables = nb_settings_find(settings, "tables");
  if (query != NULL && *tables != NULL)
    return nb_error_set(err, NB_INVALID, "settings \"query\" and \"tables\" are given together: give one");
  if (query != NULL && s->mode != MODE_FULL)
    return nb_error_set(err, NB_INVALID, "setting \"query\" reads in mode full only");
  if (s->mode == MODE_INCREMENTAL && (cursor == NULL || cursor[0] == '\0')) {
    nb_error_set(err, NB_INVALID, "mode incremental needs the setting \"cursor\"");
    nb_error_hint(err, "Name a NOT NULL column that grows with each change, e.g. cursor = \"updated_at\".");
    return NB_INVALID;
  }
  if (s->mode == MODE_CDC && (*tables == NULL || strchr(*tables, ',') != NULL)) {
    nb_error_set(err, NB_INVALID, "mode cdc reads exactly one table: setting \"tables\" must name one");
    nb_error_hint(err, "Run one pipeline (with its own slot) per table.");
    return NB_INVALID;
  }
  if (query != NULL && (s->query = strdup(query)) == NULL) return nomem(err);
  if (cursor != NULL && (s->cursor_name = strdup(cursor)) == NULL) return nomem(err);
  return NB_OK;
}

/* Mode cdc: the table's columns (arrays as text: pgoutput sends their
 * text form) handed to pg_cdc.c. */
static int open_cdc(PgSource *s, const NbSettings *settings, NbError *err) {
  PgStream *st = &s->streams[0];
  PgCdcColumn *cols;
  size_t i;
  int rc = pg_cat_describe(s, st, err);
  if (rc != NB_OK) return rc;
  cols = calloc(st->ncols, sizeof *cols);
  if (cols == NULL) return nomem(err);
  for (i = 0; i < st->ncols; i++) {
    cols[i].name = st->cols[i].name;
    cols[i].field = st->cols[i].field;
    if (st->cols[i].as_json) cols[i].field.type = NB_TYPE_UTF8;
  }
  rc = pg_cdc_open(s->host, settings, &s->server, s->conn, st->name, st->sql_name, cols, st->ncols,
                   s->batch_rows, s->batch_bytes, &s->cdc, err);
  free(cols);
  return rc;
}

int pg_source_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                   NbError *err) {
  PgSource *s = calloc(1, sizeof *s);
  const char *tables = NULL;
  int rc;
  *out = NULL;
  if (s == NULL) return nomem(err);
  s->host = host;
  s->copying = -1;
  s->builder_stream = -1;
  s->batch_rows = args->batch_rows > 0 ? args->batch_rows : 65536;
  s->batch_bytes = args->batch_bytes > 0 ? args->batch_bytes : (16u << 20);
  rc = read_settings(s, args->settings, &tables, err);
  if (rc == NB_OK) rc = pg_connect(args->settings, host, &s->server, &s->conn, err);
  if (rc == NB_OK) {
    if (s->query != NULL) rc = pg_cat_add_stream(s, "query", "", 0, err);
    else if (tables != NULL) rc = pg_cat_list_named_tables(s, tables, err);
    else rc = pg_cat_list_all_tables(s, err);
  }
  if (rc == NB_OK) rc = pg_cat_load_primary_keys(s, err);
  if (rc == NB_OK && s->mode == MODE_CDC) rc = open_cdc(s, args->settings, err);
  if (rc != NB_OK) {
    pg_source_close(s);
    return rc;
  }
  *out = s;
  return NB_OK;
}

int pg_source_stream_count(void *handle, uint32_t *count, NbError *err) {
  (void)err;
  *count = ((PgSource *)handle)->n;
  return NB_OK;
}

int pg_source_stream_info(void *handle, uint32_t index, NbStreamInfo *out,
                          NbError *err) {
  PgSource *s = handle;
  if (index >= s->n) return nb_error_set(err, NB_INVALID, "stream index %u out of range", index);
  out->name = s->streams[index].stream_name;
  if (NB_STRUCT_HAS(NbStreamInfo, out, size_bytes)) out->size_bytes = -1;
  /* Incremental: a later run reads the rows added after the saved cursor;
   * CDC: the changes committed after the saved LSN. */
  if (NB_STRUCT_HAS(NbStreamInfo, out, flags) && (s->mode == MODE_INCREMENTAL || s->mode == MODE_CDC))
    out->flags |= NB_STREAM_REOPENS;
  if (NB_STRUCT_HAS(NbStreamInfo, out, key_count) && s->streams[index].nkey_names > 0) {
    out->key_columns = (const char *const *)s->streams[index].key_names;
    out->key_count = s->streams[index].nkey_names;
  }
  return NB_OK;
}

int pg_source_schema(void *handle, uint32_t index, struct ArrowSchema *out,
                     NbError *err) {
  PgSource *s = handle;
  PgStream *st;
  NbField *fields;
  size_t i;
  int rc;
  if (index >= s->n) return nb_error_set(err, NB_INVALID, "stream index %u out of range", index);
  st = &s->streams[index];
  if (s->cdc != NULL) return pg_cdc_schema(s->cdc, out, err);
  if (s->copying >= 0 && s->copying != (long)index && !st->described)
    return nb_error_set(err, NB_INTERNAL, "schema of stream \"%s\" asked while another stream is read", st->name);
  rc = pg_cat_describe(s, st, err);
  if (rc != NB_OK) return rc;
  fields = calloc(st->ncols, sizeof *fields);
  if (fields == NULL) return nomem(err);
  for (i = 0; i < st->ncols; i++) fields[i] = st->cols[i].field;
  rc = nb_schema_export(fields, st->ncols, out, err);
  free(fields);
  return rc;
}

/* ---- positions -------------------------------------------------------- */

static int encode_position(PgSource *s, PgStream *st) {
  size_t i;
  uint64_t rows = st->rows;
  uint32_t n = (uint32_t)st->nsaved;
  s->position.len = 0;
  if (pg_buf_add(&s->position, POS_MAGIC, POS_MAGIC_LEN) != NB_OK ||
      pg_buf_add(&s->position, (const char *)&rows, 8) != NB_OK ||
      pg_buf_add(&s->position, (const char *)&n, 4) != NB_OK)
    return NB_NOMEM;
  for (i = 0; i < st->nsaved; i++) {
    uint32_t len = (uint32_t)st->saved[i].len;
    if (pg_buf_add(&s->position, (const char *)&len, 4) != NB_OK ||
        pg_buf_add(&s->position, st->saved[i].data != NULL ? st->saved[i].data : "", len) != NB_OK)
      return NB_NOMEM;
  }
  return NB_OK;
}

static int bad_position(PgStream *st, NbError *err, const char *why) {
  nb_error_set(err, NB_INVALID, "saved position of stream \"%s\" is not a postgresql position: %s", st->name, why);
  nb_error_hint(err, "Delete the state file to read the stream from the start.");
  return NB_INVALID;
}

int pg_source_seek(void *handle, uint32_t index, const void *position,
                   size_t len, NbError *err) {
  PgSource *s = handle;
  PgStream *st;
  const unsigned char *p = position;
  size_t off = POS_MAGIC_LEN + 12, i;
  uint32_t n;
  int rc;
  if (index >= s->n) return nb_error_set(err, NB_INVALID, "stream index %u out of range", index);
  st = &s->streams[index];
  if (s->cdc != NULL) return pg_cdc_seek(s->cdc, position, len, err);
  if ((rc = pg_cat_describe(s, st, err)) != NB_OK) return rc;
  if (position == NULL || len < off || memcmp(p, POS_MAGIC, POS_MAGIC_LEN) != 0)
    return bad_position(st, err, "wrong length or format marker");
  memcpy(&st->rows, p + POS_MAGIC_LEN, 8);
  memcpy(&n, p + POS_MAGIC_LEN + 8, 4);
  if (n != 0 && (s->mode != MODE_INCREMENTAL || n != st->nkey + 1))
    return bad_position(st, err, "its values do not match the mode and primary key");
  for (i = 0; i < n; i++) {
    uint32_t vlen;
    if (len - off < 4) return bad_position(st, err, "truncated");
    memcpy(&vlen, p + off, 4);
    off += 4;
    if (vlen > len - off) return bad_position(st, err, "truncated value");
    st->saved[i].len = 0;
    if (pg_buf_add(&st->saved[i], (const char *)p + off, vlen) != NB_OK) return nomem(err);
    off += vlen;
  }
  if (off != len) return bad_position(st, err, "trailing bytes");
  st->nsaved = n;
  if (s->mode == MODE_FULL && st->rows > 0 && st->nkey == 0) {
    nb_error_set(err, NB_INVALID, "stream \"%s\" cannot resume a full refresh: the table has no primary key", st->name);
    nb_error_detail(err, "Without a key the rows have no stable order, so the rows already read cannot be skipped.");
    nb_error_hint(err, "Delete the state file (and the rows loaded) to read the table again from the start.");
    return NB_INVALID;
  }
  return NB_OK;
}

/* ---- reading ---------------------------------------------------------- */

static int add_literal(PgSource *s, PgBuf *q, const PgBuf *value, const char *type) {
  char *lit = PQescapeLiteral(s->conn, value->data != NULL ? value->data : "", value->len);
  int rc;
  if (lit == NULL) return NB_NOMEM;
  rc = pg_buf_add(q, "CAST(", 5);
  if (rc == NB_OK) rc = pg_buf_add(q, lit, strlen(lit));
  if (rc == NB_OK) rc = pg_buf_add(q, " AS ", 4);
  if (rc == NB_OK) rc = pg_buf_add(q, type, strlen(type));
  if (rc == NB_OK) rc = pg_buf_add(q, ")", 1);
  PQfreemem(lit);
  return rc;
}

static int add_ident(PgSource *s, PgBuf *q, const char *name) {
  char *id = PQescapeIdentifier(s->conn, name, strlen(name));
  int rc;
  if (id == NULL) return NB_NOMEM;
  rc = pg_buf_add(q, id, strlen(id));
  PQfreemem(id);
  return rc;
}

/* The ordering and filter columns: cursor first (incremental), then key. */
static size_t order_column(const PgSource *s, const PgStream *st, size_t i) {
  if (s->mode == MODE_INCREMENTAL) return i == 0 ? (size_t)st->cursor : st->key[i - 1];
  return st->key[i];
}

/* A column's text as COPY's text format gives it: the type's output
 * function, not a cast to text (inet::text adds the netmask that inet's
 * output leaves out); arrays through to_json. */
static int add_text_of(PgSource *s, PgBuf *q, const PgColumn *c) {
  int rc;
  if (c->as_json) {
    rc = pg_buf_add(q, "to_json(", 8);
  } else {
    rc = pg_buf_add(q, c->output_fn, strlen(c->output_fn));
    if (rc == NB_OK) rc = pg_buf_add(q, "(", 1);
  }
  if (rc == NB_OK) rc = add_ident(s, q, c->name);
  if (rc == NB_OK) rc = pg_buf_add(q, ")::text", 7);
  return rc;
}

/* The SELECT list.  Text format: the columns (arrays through to_json).
 * Binary: the columns of a binary wire as they are, the others as their
 * text; in incremental mode the cursor and key again as text, after the
 * columns, for the position (the same text the text format saves). */
static int add_select_list(PgSource *s, PgStream *st, size_t norder, PgBuf *q) {
  size_t i;
  int rc = NB_OK;
  for (i = 0; rc == NB_OK && i < st->ncols; i++) {
    const PgColumn *c = &st->cols[i];
    if (i > 0) rc = pg_buf_add(q, ", ", 2);
    if (rc != NB_OK) break;
    if (s->binary && c->wire == PG_WIRE_TEXT) {
      rc = add_text_of(s, q, c);
    } else {
      if (c->as_json) rc = pg_buf_add(q, "to_json(", 8);
      if (rc == NB_OK) rc = add_ident(s, q, c->name);
      if (rc == NB_OK && c->as_json) rc = pg_buf_add(q, ")", 1);
    }
  }
  for (i = 0; s->binary && s->mode == MODE_INCREMENTAL && rc == NB_OK && i < norder; i++) {
    rc = pg_buf_add(q, ", ", 2);
    if (rc == NB_OK) rc = add_text_of(s, q, &st->cols[order_column(s, st, i)]);
  }
  return rc;
}

static int build_copy_sql(PgSource *s, PgStream *st, PgBuf *q) {
  size_t i, norder = s->mode == MODE_INCREMENTAL ? st->nkey + 1 : st->nkey;
  char tail[64];
  int rc = pg_buf_add(q, "COPY (SELECT ", 13);
  if (rc == NB_OK) rc = add_select_list(s, st, norder, q);
  if (rc == NB_OK) rc = pg_buf_add(q, " FROM ", 6);
  if (rc == NB_OK && st->oid == 0) {
    rc = pg_buf_add(q, "(", 1);
    if (rc == NB_OK) rc = pg_buf_add(q, s->query, strlen(s->query));
    if (rc == NB_OK) rc = pg_buf_add(q, "\n) AS nebula_query", 18);
  } else if (rc == NB_OK) {
    rc = pg_buf_add(q, st->sql_name, strlen(st->sql_name));
  }
  if (rc == NB_OK && s->mode == MODE_INCREMENTAL && st->nsaved == norder) {
    rc = pg_buf_add(q, " WHERE (", 8);
    for (i = 0; rc == NB_OK && i < norder; i++) {
      if (i > 0) rc = pg_buf_add(q, ", ", 2);
      if (rc == NB_OK) rc = add_ident(s, q, st->cols[order_column(s, st, i)].name);
    }
    if (rc == NB_OK) rc = pg_buf_add(q, ") > (", 5);
    for (i = 0; rc == NB_OK && i < norder; i++) {
      if (i > 0) rc = pg_buf_add(q, ", ", 2);
      if (rc == NB_OK) rc = add_literal(s, q, &st->saved[i], st->cols[order_column(s, st, i)].type_name);
    }
    if (rc == NB_OK) rc = pg_buf_add(q, ")", 1);
  }
  if (rc == NB_OK && norder > 0) {
    rc = pg_buf_add(q, " ORDER BY ", 10);
    for (i = 0; rc == NB_OK && i < norder; i++) {
      if (i > 0) rc = pg_buf_add(q, ", ", 2);
      if (rc == NB_OK) rc = add_ident(s, q, st->cols[order_column(s, st, i)].name);
    }
  }
  if (rc == NB_OK && s->mode == MODE_FULL && st->rows > 0) {
    snprintf(tail, sizeof tail, " OFFSET %llu", (unsigned long long)st->rows);
    rc = pg_buf_add(q, tail, strlen(tail));
  }
  if (rc == NB_OK && s->binary) rc = pg_buf_add(q, ") TO STDOUT (FORMAT binary)", 28); /* with the NUL */
  else if (rc == NB_OK) rc = pg_buf_add(q, ") TO STDOUT", 12);
  return rc;
}

static int start_copy(PgSource *s, uint32_t index, NbError *err) {
  PgStream *st = &s->streams[index];
  PgBuf q = {0};
  PGresult *res;
  int rc = build_copy_sql(s, st, &q);
  if (rc != NB_OK) {
    pg_buf_free(&q);
    return nomem(err);
  }
  res = PQexec(s->conn, q.data);
  pg_buf_free(&q);
  if (PQresultStatus(res) != PGRES_COPY_OUT) {
    rc = pg_fail(&s->server, s->conn, res, NB_IO, err, "could not read table \"%s\"", st->name);
    PQclear(res);
    return rc;
  }
  PQclear(res);
  s->copying = index;
  s->header_seen = s->trailer_seen = false;
  st->started = true;
  /* A COPY restarted after a lost connection keeps the rows not yet
   * delivered: they are counted in st->rows, so OFFSET (or the saved key)
   * continues after them. */
  if (s->builder != NULL && s->builder_stream == (long)index) return NB_OK;
  nb_batch_builder_free(s->builder);
  s->builder = NULL;
  free(s->fields);
  /* Binary incremental: the cursor and key text after the columns. */
  s->fields = calloc(st->ncols + st->nkey + 1, sizeof *s->fields);
  if (s->fields == NULL) return nomem(err);
  s->builder_stream = (long)index;
  {
    NbField *fields = calloc(st->ncols, sizeof *fields);
    size_t i;
    if (fields == NULL) return nomem(err);
    for (i = 0; i < st->ncols; i++) fields[i] = st->cols[i].field;
    rc = nb_batch_builder_new(fields, st->ncols,
                              s->batch_rows < 65536 ? (size_t)s->batch_rows : 65536,
                              &s->builder, err);
    free(fields);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

/* Set a bad-value message (not yet an error: the rows before it go first). */
static int note_bad_value(PgSource *s, const PgStream *st, size_t col, const char *text, size_t text_len) {
  char head[64], type[64];
  size_t n = text_len < 40 ? text_len : 40;
  int len;
  memcpy(head, text, n);
  head[n] = '\0';
  /* date32, timestamp[us], decimal128(10,2): the type the value missed. */
  if (st->cols[col].field.type == NB_TYPE_TIMESTAMP)
    snprintf(type, sizeof type, "timestamp[us]");
  else
    nb_type_name(&st->cols[col].field, type, sizeof type);
  free(s->bad_message);
  len = snprintf(NULL, 0, "row %llu of table \"%s\", column \"%s\" (%s): value \"%s\" does not fit Arrow type %s",
                 (unsigned long long)(st->rows + 1), st->name, st->cols[col].name, st->cols[col].type_name,
                 head, type);
  s->bad_message = malloc((size_t)len + 1);
  if (s->bad_message == NULL) return NB_NOMEM;
  snprintf(s->bad_message, (size_t)len + 1, "row %llu of table \"%s\", column \"%s\" (%s): value \"%s\" does not fit Arrow type %s",
           (unsigned long long)(st->rows + 1), st->name, st->cols[col].name, st->cols[col].type_name,
           head, type);
  return NB_OK;
}

/* Keep the last row's cursor and key text (into to[], st->saved for a
 * good row) for the position. */
static int save_order_values(PgSource *s, PgStream *st, PgBuf *to) {
  size_t i, n = st->nkey + 1;
  for (i = 0; i < n; i++) {
    /* Binary: their text follows the columns (add_select_list). */
    const NbStringRef *v = s->binary ? &s->fields[st->ncols + i] : &s->fields[order_column(s, st, i)];
    to[i].len = 0;
    if (pg_buf_add(&to[i], v->data != NULL ? v->data : "", v->len) != NB_OK) return NB_NOMEM;
  }
  if (to == st->saved) st->nsaved = n;
  return NB_OK;
}

/* A binary COPY that does not follow the format: an error naming the
 * table, the row and the column. */
static int malformed(PgSource *s, PgStream *st, size_t column, const char *why, NbError *err) {
  if (column > 0 && column <= st->ncols)
    nb_error_set(err, NB_IO, "table \"%s\", row %llu, column \"%s\": malformed binary COPY data from PostgreSQL server %s: %s",
                 st->name, (unsigned long long)(st->rows + 1), st->cols[column - 1].name, s->server.label, why);
  else
    nb_error_set(err, NB_IO, "table \"%s\", row %llu: malformed binary COPY data from PostgreSQL server %s: %s",
                 st->name, (unsigned long long)(st->rows + 1), s->server.label, why);
  nb_error_hint(err, "Set copy_format = \"text\" to read the table in text format.");
  return NB_IO;
}

/* Append the decoded fields to every column (s->fields).  NB_DATA for a
 * value that does not fit (the row is not appended; s->bad_message says
 * why). */
static int append_row(PgSource *s, PgStream *st, NbError *err) {
  size_t i, k, base = nb_batch_builder_rows(s->builder);
  for (i = 0; i < st->ncols; i++) {
    NbColumnBuilder *b = nb_batch_builder_column(s->builder, i);
    const NbStringRef *v = &s->fields[i];
    char text[160];
    int arc = NB_OK, outcome = PG_APPEND_OK;
    if (v->data == NULL) {
      arc = nb_column_append_null(b);
    } else if (!s->binary) {
      if (!pg_append_text_value(b, st->cols[i].field.type, v->data, v->len, &arc)) {
        outcome = PG_APPEND_NOFIT;
        snprintf(text, sizeof text, "%.*s", (int)(v->len < 40 ? v->len : 40), v->data);
      }
    } else {
      outcome = pg_bin_append(b, st->cols[i].field.type, st->cols[i].wire, v, &s->scratch, text, sizeof text);
    }
    if (outcome == PG_APPEND_NOMEM || arc != NB_OK) return nomem(err);
    if (outcome == PG_APPEND_OK) continue;
    for (k = 0; k < i; k++) nb_column_truncate(nb_batch_builder_column(s->builder, k), base);
    if (outcome == PG_APPEND_MALFORMED) return malformed(s, st, i + 1, text, err);
    if (note_bad_value(s, st, i, text, strlen(text)) != NB_OK) return nomem(err);
    if (s->mode == MODE_INCREMENTAL && save_order_values(s, st, s->bad_saved) != NB_OK)
      return nomem(err);
    return NB_DATA;
  }
  if (s->mode == MODE_INCREMENTAL && save_order_values(s, st, st->saved) != NB_OK)
    return nomem(err);
  return NB_OK;
}

/* One CopyData message: a row decoded and appended (*got_row), or in
 * binary format the header or the trailer (nothing to append).  NB_DATA
 * for a bad value (see append_row). */
static int add_row(PgSource *s, PgStream *st, char *line, size_t len, bool *got_row, NbError *err) {
  size_t extra = s->binary && s->mode == MODE_INCREMENTAL ? st->nkey + 1 : 0;
  *got_row = false;
  if (s->binary) {
    PgBinError e;
    int kind;
    if (s->trailer_seen) return malformed(s, st, 0, "data after the end of the binary COPY", err);
    kind = pg_bin_decode_message(line, len, &s->header_seen, s->fields, st->ncols + extra, &e);
    if (kind == PG_BIN_BAD) return malformed(s, st, e.column, e.why, err);
    s->trailer_seen = kind == PG_BIN_END;
    if (kind != PG_BIN_ROW) return NB_OK;
  } else if (pg_copy_decode_row(line, len, s->fields, st->ncols, err) != NB_OK) {
    return nb_error_set(err, NB_INTERNAL, "table \"%s\": malformed COPY row from the server", st->name);
  }
  *got_row = true;
  return append_row(s, st, err);
}

static int end_copy(PgSource *s, PgStream *st, NbError *err) {
  PGresult *res;
  int rc = NB_OK;
  while ((res = PQgetResult(s->conn)) != NULL) {
    if (rc == NB_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = pg_fail(&s->server, s->conn, res, NB_IO, err, "reading table \"%s\" failed", st->name);
    PQclear(res);
  }
  s->copying = -1;
  st->done = rc == NB_OK;
  return rc;
}

static int deliver(PgSource *s, PgStream *st, struct ArrowArray *out, NbBatchInfo *info,
                   NbError *err) {
  int rc = encode_position(s, st);
  if (rc != NB_OK) return nomem(err);
  info->position = s->position.data;
  info->position_len = s->position.len;
  info->bytes_read = -1;
  return nb_batch_builder_finish(s->builder, out, err);
}

int pg_source_next(void *handle, uint32_t index, struct ArrowArray *out,
                   NbBatchInfo *info, NbError *err) {
  PgSource *s = handle;
  PgStream *st;
  int rc;
  if (index >= s->n) return nb_error_set(err, NB_INVALID, "stream index %u out of range", index);
  st = &s->streams[index];
  if (s->cdc != NULL) return pg_cdc_next(s->cdc, out, info, err);
  if (s->bad_message != NULL) {
    /* The bad row is counted as read: the position moves past it. */
    nb_error_set(err, NB_DATA, "%s", s->bad_message);
    nb_error_locate(err, st->name, (int64_t)st->rows + 1, 0);
    free(s->bad_message);
    s->bad_message = NULL;
    st->rows++;
    if (s->mode == MODE_INCREMENTAL) {
      size_t i;
      for (i = 0; i < st->nkey + 1; i++) {
        PgBuf tmp = st->saved[i];
        st->saved[i] = s->bad_saved[i];
        s->bad_saved[i] = tmp;
      }
      st->nsaved = st->nkey + 1;
    }
    if (encode_position(s, st) != NB_OK) return nomem(err);
    info->position = s->position.data;
    info->position_len = s->position.len;
    info->bytes_read = -1;
    return NB_DATA;
  }
  if (st->done) return NB_END;
  if (s->copying >= 0 && s->copying != (long)index)
    return nb_error_set(err, NB_INTERNAL, "stream \"%s\" read while stream \"%s\" is being read",
                        st->name, s->streams[s->copying].name);
  if ((rc = pg_cat_describe(s, st, err)) != NB_OK) return rc;
  if (s->copying < 0 && PQstatus(s->conn) == CONNECTION_BAD) {
    /* The host retries NB_UNAVAILABLE: connect again, then restart. */
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK)
      return pg_fail(&s->server, s->conn, NULL, NB_UNAVAILABLE, err,
                     "could not connect again to read table \"%s\"", st->name);
    nb_log(s->host, NB_LOG_WARN, "connected again to PostgreSQL server %s; table \"%s\" continues after row %llu",
           s->server.label, st->name, (unsigned long long)st->rows);
  }
  if (s->copying < 0 && (rc = start_copy(s, index, err)) != NB_OK) return rc;
  for (;;) {
    char *line = NULL;
    int n = PQgetCopyData(s->conn, &line, 0);
    size_t rows;
    bool got_row;
    if (n == -1) {
      if ((rc = end_copy(s, st, err)) != NB_OK) return rc;
      if (nb_batch_builder_rows(s->builder) == 0) return NB_END;
      return deliver(s, st, out, info, err);
    }
    if (n < 0) {
      rc = pg_fail(&s->server, s->conn, NULL, NB_IO, err, "reading table \"%s\" failed", st->name);
      s->copying = -1;
      return rc;
    }
    rc = add_row(s, st, line, (size_t)n, &got_row, err);
    PQfreemem(line);
    if (rc == NB_DATA) {
      if (nb_batch_builder_rows(s->builder) > 0) return deliver(s, st, out, info, err);
      return pg_source_next(handle, index, out, info, err);
    }
    if (rc != NB_OK) return rc;
    if (!got_row) continue;
    st->rows++;
    rows = nb_batch_builder_rows(s->builder);
    if (rows >= s->batch_rows || nb_batch_builder_bytes(s->builder) >= s->batch_bytes)
      return deliver(s, st, out, info, err);
    if (rows % CANCEL_CHECK_ROWS == 0 && s->host != NULL && s->host->is_cancelled(s->host->host_data))
      return nb_error_set(err, NB_CANCELLED, "reading table \"%s\" cancelled", st->name);
  }
}
