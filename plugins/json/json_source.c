/*
 * json_source.c - the json source: files (a glob pattern gives one stream
 * per file) read as JSON Lines or as one array of records, turned into
 * Arrow batches.
 *
 * Records and columns.  An object's members become columns, in the order
 * they are first seen.  A string is UTF8 (decoded), a number NUMBER (the
 * text as written), true/false BOOL, an object or array JSON (its text
 * without insignificant whitespace), null or a missing member an Arrow
 * null.  A record that is not an object (a bare number, string, array)
 * goes into a column named "value".  A member name holding U+0000 cannot be
 * a column name (names are C strings): the column is named with the six
 * characters "\u0000" in its place.  A member name that repeats within
 * an object (RFC 8259 only says names SHOULD be unique) makes the record
 * a bad record by default (duplicate_keys = error): NB_DATA naming the
 * file, line, column, record and name, handled by the engine's on_error
 * like any other.  With duplicate_keys = first or last, the value kept is
 * the first or the last of that name (JavaScript, Python and jq keep the
 * last); the others are dropped before anything else looks at the
 * record, counted (counter json_duplicate_members_dropped) and reported
 * by a warning once per stream.
 *
 * Schema.  The schema is learned from the records in the first read buffer
 * (up to batch_rows), and at least the first good record whatever its
 * size (up to max_record_bytes).  A column seen only as null so far is
 * exported as UTF8.  A later record that does not fit (a new member, or a value of
 * another kind) ends the batch; the next call returns NB_SCHEMA_CHANGED
 * with the schema widened: new columns are appended; a column that held
 * only nulls takes the new value's type; conflicting kinds widen to JSON,
 * where every value is stored as the JSON text it was written as (a string
 * keeps its quotes and escapes).  No value is ever changed or dropped.
 *
 * Bad records.  In JSON Lines a syntax error is NB_DATA naming the file,
 * line, byte column and the raw line; the next call continues with the
 * next line.  In an array document it is NB_DATA, then NB_END: the next
 * element of a broken document cannot be found.  Good rows before a bad
 * record are returned first.  A record longer than max_record_bytes is a
 * bad record too (see json_reader.h).  A file that cannot be read on
 * (corrupt or truncated compressed data, an I/O error) is not a bad
 * record: the rows before the damage are returned, then NB_IO (never
 * NB_DATA, which would ask the engine to skip and call again) at this and
 * every later call.
 *
 * Pipes.  Reading a pipe or terminal, a batch ends when the rows read so
 * far are all there is for now (JsonReader.streaming), so a slow
 * producer's records are handed over, and committed, as they come.
 *
 * Positions: (byte offset after the last record, line, record number, line
 * start offset, format, array state), so both formats are resumable.
 *
 * Speed.  Records of JSON Lines usually all have one shape.  The parser is
 * told the column names as the member names to expect (update_key_hints),
 * so it recognises them by comparing bytes, and a record whose members
 * come in the columns' order with string, number, nested or null values
 * (append_row) becomes a pending row of references into the read buffer,
 * given to the builder a column at a time (flush_pending).  Any other
 * record takes the general path (map_record, append_record), which looks
 * names up in a hash index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "json_source_internal.h"

/* Map the members of a record to columns (s->member_col).  *fits is false
 * when the record needs a schema change; with apply the change is made. */
static int map_record(Stream *s, const JsonMember *m, size_t n, bool apply,
                      bool *fits) {
  Columns *cols = &s->cols;
  *fits = true;
  if (apply && n > 0) {
    /* Refuse, before changing anything, a record whose new names would
     * take the stream past max_columns (names are unique here). */
    size_t added = 0;
    for (size_t i = 0; i < n; i++)
      added += m[i].hint == JSON_NO_HINT && columns_find(cols, m[i].key, m[i].key_len) == SIZE_MAX;
    if (added > 0 && cols->n + added > s->src->max_columns) return NB_INVALID;
  }
  if (n > s->member_col_cap) {
    size_t cap = s->member_col_cap ? s->member_col_cap : 16;
    while (cap < n) cap *= 2;
    size_t *mc = realloc(s->member_col, cap * sizeof *mc);
    if (mc == NULL) return NB_NOMEM;
    s->member_col = mc;
    s->member_col_cap = cap;
  }
  size_t expect = 0;
  for (size_t i = 0; i < n; i++) {
    size_t idx;
    /* The parser recognised the name as column hint's (see
     * update_key_hints); otherwise records usually list their members in
     * the columns' order. */
    if (m[i].hint != JSON_NO_HINT) {
      idx = m[i].hint;
    } else if (expect < cols->n && cols->v[expect].name_len == m[i].key_len &&
               memcmp(cols->v[expect].name, m[i].key, m[i].key_len) == 0) {
      idx = expect;
    } else {
      idx = columns_find(cols, m[i].key, m[i].key_len);
      if (idx == SIZE_MAX) {
        if (!apply) {
          *fits = false;
          return NB_OK;
        }
        int rc = columns_add(cols, m[i].key, m[i].key_len, &idx);
        if (rc != NB_OK) return rc;
      }
    }
    Column *col = &cols->v[idx];
    ColumnKind vk = kind_of(m[i].value.kind);
    if (vk != COL_NULL && vk != col->kind && col->kind != COL_JSON) {
      if (col->kind == COL_NULL && vk == COL_UTF8) {
        col->kind = COL_UTF8; /* exported as UTF8 already */
      } else if (!apply) {
        *fits = false;
        return NB_OK;
      } else {
        col->kind = col->kind == COL_NULL ? vk : COL_JSON;
      }
    }
    s->member_col[i] = idx;
    expect = idx + 1;
  }
  return NB_OK;
}

/* Give the parser the names of columns added since the last call, as the
 * member names it should expect, so that it recognises them by comparing
 * bytes: hint k is column k (columns are only ever appended).  Out of
 * memory only loses speed, so it is not an error. */
static void update_key_hints(Stream *s) {
  JsonParser *p = &s->reader.parser;
  while (s->hinted_columns < s->cols.n) {
    /* A name renamed for U+0000 ("\u0000", column_name) holds a
     * backslash: the parser keeps its index but never matches it. */
    const Column *col = &s->cols.v[s->hinted_columns];
    if (!json_parser_expect_key(p, col->name, col->name_len)) return;
    s->hinted_columns++;
  }
}

/* The members of a record; a non-object record is one member "value". */
static const JsonMember *record_members(const Stream *s, const JsonValue *v,
                                        JsonMember *single, size_t *n) {
  if (v->kind == JSON_OBJECT) {
    *n = s->reader.parser.n_members;
    return s->reader.parser.members;
  }
  single->key = "value";
  single->key_len = 5;
  single->hint = JSON_NO_HINT;
  single->value = *v;
  *n = 1;
  return single;
}

/* ------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------ */

static int build_fields(const Stream *s, NbField **out) {
  size_t n = s->cols.n;
  NbField *f = calloc(n ? n : 1, sizeof *f);
  if (f == NULL) return NB_NOMEM;
  for (size_t i = 0; i < n; i++) {
    f[i].name = s->cols.v[i].name;
    f[i].type = type_of(s->cols.v[i].kind);
    f[i].nullable = true;
  }
  *out = f;
  return NB_OK;
}

static int ensure_builder(Stream *s, NbError *err) {
  if (s->builder != NULL && !s->builder_stale) return NB_OK;
  nb_batch_builder_free(s->builder);
  s->builder = NULL;
  s->builder_columns = 0;
  s->builder_stale = false;
  s->zero_column_rows = 0;
  if (s->cols.n == 0) return NB_OK;
  NbField *fields;
  if (build_fields(s, &fields) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
  /* The builder reserves hint rows in every column at its first value:
   * at most about batch_bytes in all (16 bytes a cell), so that many
   * columns do not cost 65536 rows each. */
  uint64_t hint = s->src->batch_rows < 65536 ? s->src->batch_rows : 65536;
  uint64_t by_bytes = s->src->batch_bytes / ((uint64_t)s->cols.n * 16);
  if (hint > by_bytes) hint = by_bytes > 0 ? by_bytes : 1;
  int rc = nb_batch_builder_new(fields, s->cols.n, (size_t)hint, &s->builder, err);
  free(fields);
  if (rc != NB_OK) return rc;
  s->builder_columns = s->cols.n;
  /* Kinds change without a new builder only from COL_NULL to COL_UTF8,
   * both strings: text_only holds while the builder does. */
  s->text_only = true;
  for (size_t i = 0; i < s->cols.n; i++)
    if (s->cols.v[i].kind == COL_BOOL) s->text_only = false;
  /* About 64K values pending at most (1 MiB), 256 rows when they fit. */
  size_t rows = PENDING_VALUES / s->cols.n;
  rows = rows > PENDING_ROWS ? PENDING_ROWS : rows ? rows : 1;
  free(s->pending);
  s->pending = malloc(rows * s->cols.n * sizeof *s->pending);
  s->pending_cap = rows;
  s->pending_rows = 0;
  if (s->pending == NULL) {
    nb_batch_builder_free(s->builder);
    s->builder = NULL;
    s->builder_columns = 0;
    return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
  }
  return NB_OK;
}

/* Give the pending rows to the builder, a column at a time: one call per
 * column, whose loop keeps the column's state in registers, costs about
 * half as much per value as appending row by row.  On failure the
 * columns may differ in length: the caller resets the builder. */
static int flush_pending(Stream *s) {
  size_t rows = s->pending_rows;
  s->pending_rows = 0;
  if (rows == 0) return NB_OK;
  for (size_t j = 0; j < s->builder_columns; j++) {
    int rc = nb_column_append_nullable_strings(nb_batch_builder_column(s->builder, j),
                                               s->pending + j * s->pending_cap, rows);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

/* Forget the rows of the batch being built (after an error). */
static void drop_rows(Stream *s) {
  if (s->builder != NULL) nb_batch_builder_reset(s->builder);
  s->pending_rows = 0;
  s->zero_column_rows = 0;
}

/* reader.before_refill: the pending rows point into the buffer. */
static int flush_before_refill(void *ctx, NbError *err) {
  Stream *s = ctx;
  if (flush_pending(s) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
  return NB_OK;
}

/* How a value goes into a column on the fast path of append_row:
 * STORE_TEXT its text (decoded string, number, minified nested value),
 * STORE_RAW its JSON text (a string in a JSON column keeps its quotes and
 * escapes), STORE_NULL as a null, STORE_NO not at all: the record takes
 * the general path (a bool, or a value that changes the column's type). */
enum { STORE_NO = 0, STORE_TEXT, STORE_RAW, STORE_NULL };
static const uint8_t row_store[COL_JSON + 1][JSON_OBJECT + 1] = {
    /* JSON_NULL, FALSE, TRUE, NUMBER, STRING, ARRAY, OBJECT */
    [COL_NULL] = {STORE_NULL, 0, 0, 0, 0, 0, 0},
    [COL_UTF8] = {STORE_NULL, 0, 0, 0, STORE_TEXT, 0, 0},
    [COL_NUMBER] = {STORE_NULL, 0, 0, STORE_TEXT, 0, 0, 0},
    [COL_BOOL] = {0, 0, 0, 0, 0, 0, 0},
    [COL_JSON] = {STORE_NULL, STORE_TEXT, STORE_TEXT, STORE_TEXT, STORE_RAW,
                  STORE_TEXT, STORE_TEXT},
};

/* The common record, taken as a pending row: an object whose members
 * come in the order of the columns (some may be missing: null), each
 * recognised by the parser from its expected name (hint k is column k),
 * with a value stored as text or null.  That is most records of JSON
 * Lines written by one producer, and for them the general path
 * (map_record, then append_record value by value) is skipped: no name is
 * looked up or compared, no duplicate is possible (hints only grow), and
 * the builder takes the values a column at a time (flush_pending).  Needs
 * a builder of string columns only (s->text_only).  Returns false, having
 * taken nothing, for any other record; *rc is set when it returns true. */
static bool append_row(Stream *s, const JsonMember *m, size_t n, int *rc) {
  const Column *cols = s->cols.v;
  NbStringRef *row = s->pending + s->pending_rows; /* column 0 */
  size_t stride = s->pending_cap;
  size_t n_cols = s->builder_columns;
  size_t next = 0; /* first column not filled yet */
  if (!s->text_only || n > n_cols) return false;
  /* This loop runs for every value: one pass, a table lookup, and
   * branches that go the same way for a column from row to row. */
  for (size_t i = 0; i < n; i++) {
    size_t k = m[i].hint;
    if (k < next || k >= n_cols) return false; /* also JSON_NO_HINT */
    for (; next < k; next++) row[next * stride].data = NULL; /* missing */
    const JsonValue *v = &m[i].value;
    NbStringRef *ref = &row[k * stride];
    unsigned how = row_store[cols[k].kind][v->kind];
    if (how == STORE_TEXT) {
      ref->data = v->text;
      ref->len = v->len;
    } else if (how == STORE_NULL) {
      ref->data = NULL;
    } else if (how == STORE_RAW) {
      ref->data = v->raw;
      ref->len = v->raw_len;
    } else {
      return false;
    }
    next = k + 1;
  }
  for (; next < n_cols; next++) row[next * stride].data = NULL;
  s->pending_rows++;
  /* Decoded strings and minified values live in the parser's scratch
   * area, which the next record reuses: such a row goes at once. */
  *rc = NB_OK;
  if (s->pending_rows == s->pending_cap || s->reader.parser.scratch_len > 0)
    *rc = flush_pending(s);
  return true;
}

/* Append the record (mapped by map_record) as one row. */
static int append_record(Stream *s, const JsonMember *m, size_t n) {
  Columns *cols = &s->cols;
  uint64_t stamp = ++s->stamp;
  /* Names are unique here (resolve_duplicates). */
  for (size_t i = 0; i < n; i++) {
    Column *col = &cols->v[s->member_col[i]];
    col->stamp = stamp;
    col->value = &m[i].value;
  }
  if (s->builder == NULL) {
    s->zero_column_rows++;
    return NB_OK;
  }
  for (size_t j = 0; j < cols->n; j++) {
    NbColumnBuilder *cb = nb_batch_builder_column(s->builder, j);
    const Column *col = &cols->v[j];
    const JsonValue *v = col->value;
    int rc;
    if (col->stamp != stamp || v->kind == JSON_NULL) {
      rc = nb_column_append_null(cb);
    } else {
      switch (col->kind) {
        case COL_UTF8:
          rc = nb_column_append_utf8(cb, v->text, v->len);
          break;
        case COL_BOOL:
          rc = nb_column_append_bool(cb, v->kind == JSON_TRUE);
          break;
        case COL_JSON:
          /* A string keeps its quotes and escapes: JSON text. */
          if (v->kind == JSON_STRING) rc = nb_column_append_utf8(cb, v->raw, v->raw_len);
          else rc = nb_column_append_utf8(cb, v->text, v->len);
          break;
        case COL_NUMBER:
        default:
          rc = nb_column_append_utf8(cb, v->text, v->len);
          break;
      }
    }
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------ */

static int read_file(void *ctx, void *buf, size_t cap, size_t *n_read,
                     NbError *err) {
  Stream *s = ctx;
  return s->src->host->file_read(s->file, buf, cap, n_read, err);
}

static void stream_close_file(Stream *s) {
  if (s->open) json_reader_free(&s->reader);
  if (s->file != NULL) s->src->host->file_close(s->file, NULL);
  s->file = NULL;
  s->open = false;
}

/* A pipe, terminal or socket: data arrives when the producer writes it,
 * so records are handed over as they come (JsonReader.streaming). */
static bool is_streaming(const char *path) {
  struct stat st;
  int rc = strcmp(path, "-") == 0 ? fstat(STDIN_FILENO, &st) : stat(path, &st);
  return rc == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode));
}

static int stream_open(Stream *s, NbError *err) {
  const NbHostApi *host = s->src->host;
  if (s->open) return NB_OK;
  int rc = host->file_open_read(host->host_data, s->path, &s->file, err);
  if (rc != NB_OK) return rc;
  rc = json_reader_init(&s->reader, s->src->format, s->src->max_depth,
                        JSON_IO_SIZE, read_file, s, s->path, err);
  if (rc != NB_OK) {
    host->file_close(s->file, NULL);
    s->file = NULL;
    return rc;
  }
  s->open = true;
  s->ended = false;
  s->hinted_columns = 0; /* a new parser expects no names yet */
  s->reader.max_record = s->src->max_record;
  s->reader.parser.max_members = s->src->max_columns;
  s->reader.streaming = is_streaming(s->path);
  s->reader.before_refill = flush_before_refill;
  s->reader.before_refill_ctx = s;
  return NB_OK;
}

/* Learn the columns from the records already in the first read buffer. */
static int learn_schema(Stream *s, NbError *err) {
  JsonValue v;
  JsonMember single;
  NbError e;
  int rc = NB_OK;

  nb_error_init(&e);
  rc = json_reader_begin(&s->reader, err);
  if (rc != NB_OK) return rc;
  json_reader_sample_begin(&s->reader);
  s->reader.stop_when_idle = false;
  uint64_t good = 0;
  for (uint64_t i = 0; i < s->src->batch_rows; i++) {
    /* The sample is the records buffered, and at least the first good
     * one whatever its size: read more only until it is complete. */
    s->reader.no_refill = good > 0;
    rc = json_reader_peek(&s->reader, &v, &e);
    if (rc != NB_OK && s->reader.failed != NB_OK) {
      /* Damaged input: learn from what came before; json_source_next
       * delivers it, then reports the error. */
      nb_error_release(&e);
      rc = NB_END;
    }
    if (rc == NB_END) break;
    if (rc == NB_DATA) {
      nb_error_release(&e);
      json_reader_accept(&s->reader);
      continue;
    }
    if (rc != NB_OK) break;
    size_t n, dropped;
    bool fits;
    const JsonMember *m = record_members(s, &v, &single, &n);
    rc = json_source_resolve_duplicates(s, &v, &n, &dropped, &e);
    if (rc == NB_DATA) {
      /* Refused: json_source_next reports it. */
      nb_error_release(&e);
      json_reader_accept(&s->reader);
      continue;
    }
    if (rc == NB_OK) rc = map_record(s, m, n, true, &fits);
    if (rc == NB_INVALID) {
      /* Too many columns: json_source_next reports it. */
      json_reader_accept(&s->reader);
      continue;
    }
    if (rc != NB_OK) {
      nb_error_release(&e);
      nb_error_set(&e, rc, "out of memory reading file \"%s\"", s->path);
      break;
    }
    update_key_hints(s);
    json_reader_accept(&s->reader);
    good++;
  }
  json_reader_sample_end(&s->reader);
  if (rc == NB_END || rc == NB_OK) {
    s->cols_known = true;
    s->builder_stale = true;
    return NB_OK;
  }
  if (err != NULL) {
    uint32_t size = err->struct_size;
    *err = e;
    err->struct_size = size;
  } else {
    nb_error_release(&e);
  }
  return rc;
}

static int stream_ready(JsonSource *src, uint32_t index, Stream **out,
                        NbError *err) {
  *out = NULL;
  int checked = nb_stream_index_check(index, src->n_streams, err);
  if (checked != NB_OK) return checked;
  Stream *s = &src->streams[index];
  *out = s;
  if (s->ended) return NB_OK;
  int rc = stream_open(s, err);
  if (rc != NB_OK) return rc;
  if (!s->cols_known) return learn_schema(s, err);
  return NB_OK;
}

static void set_position(Stream *s, NbBatchInfo *info) {
  uint64_t values[JSON_POSITION_VALUES];
  json_reader_position(&s->reader, values);
  s->position_len = nb_position_encode(s->position, sizeof s->position, values,
                                       JSON_POSITION_VALUES);
  if (info == NULL) return;
  info->position = s->position;
  info->position_len = s->position_len;
  info->bytes_read = (int64_t)values[0];
}

/* Move a local error into the caller's. */
static int pass_error(NbError *local, NbError *err, int rc) {
  if (err != NULL) {
    uint32_t size = err->struct_size;
    *err = *local;
    err->struct_size = size;
  } else {
    nb_error_release(local);
  }
  return rc;
}

/* NB_DATA for the bad record at the cursor, with no good rows before it
 * in this batch: the record is passed over (the position after it, so the
 * engine's skip goes on from there) and its error returned. */
static int skip_bad_record(Stream *s, NbBatchInfo *info, NbError *e, NbError *err) {
  json_reader_accept(&s->reader);
  set_position(s, info);
  return pass_error(e, err, NB_DATA);
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

/* nb_path_expand's callback: one stream per file. */
static int add_stream(void *cookie, const char *path, int64_t size_bytes) {
  JsonSource *src = cookie;
  Stream *v = realloc(src->streams, (src->n_streams + 1) * sizeof *v);
  if (v == NULL) return NB_NOMEM;
  src->streams = v;
  Stream *s = &v[src->n_streams];
  memset(s, 0, sizeof *s);
  s->src = src;
  s->path = strdup(path);
  if (s->path == NULL) return NB_NOMEM;
  s->size = size_bytes;
  src->n_streams++;
  return NB_OK;
}

/* A pattern with a URL scheme is listed by the host's storage module. */
static int expand_paths(JsonSource *src, const char *pattern, NbError *err) {
  int rc = nb_path_expand(src->host, pattern, add_stream, src, err);
  if (rc == NB_NOMEM) nb_error_set(err, NB_NOMEM, "out of memory opening the json source");
  return rc;
}

int json_source_open(const NbHostApi *host, const NbOpenArgs *args,
                     void **source, NbError *err) {
  const char *path;
  int format, duplicates;
  int64_t max_depth, max_record, max_columns;
  int rc;

  NbDeclaredSettings set = NB_DECLARED_SETTINGS(args->settings, json_settings, JSON_N_SETTINGS,
                                                 NB_SETTING_SOURCE);
  *source = NULL;
  rc = nb_declared_string(&set, "path", &path, err); /* REQUIRED: not NULL, not empty */
  if (rc != NB_OK) return rc;
  /* Choices in the order of JsonFormat and DuplicateKeys. */
  rc = nb_declared_enum(&set, "format", &format, err);
  if (rc != NB_OK) return rc;
  rc = nb_declared_enum(&set, "duplicate_keys", &duplicates, err);
  if (rc != NB_OK) return rc;
  rc = nb_declared_int(&set, "max_depth", &max_depth, err);
  if (rc != NB_OK) return rc;
  if (max_depth < 1 || max_depth > INT32_MAX) {
    nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"max_depth\"", (long long)max_depth);
    nb_error_hint(err, "Give a nesting depth between 1 and %d.", INT32_MAX);
    return NB_INVALID;
  }

  rc = nb_declared_int(&set, "max_record_bytes", &max_record, err);
  if (rc != NB_OK) return rc;
  if (max_record < 1 || (uint64_t)max_record > JSON_MAX_MAX_RECORD) {
    nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"max_record_bytes\"",
                 (long long)max_record);
    nb_error_hint(err, "Give a size in bytes between 1 and %llu.",
                  (unsigned long long)JSON_MAX_MAX_RECORD);
    return NB_INVALID;
  }

  rc = nb_declared_int(&set, "max_columns", &max_columns, err);
  if (rc != NB_OK) return rc;
  if (max_columns < 1 || max_columns > JSON_MAX_MAX_COLUMNS) {
    nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"max_columns\"",
                 (long long)max_columns);
    nb_error_hint(err, "Give a number of columns between 1 and %d.", JSON_MAX_MAX_COLUMNS);
    return NB_INVALID;
  }

  JsonSource *src = calloc(1, sizeof *src);
  if (src == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the json source");
  src->max_record = (size_t)max_record;
  src->max_columns = (size_t)max_columns;
  src->host = host;
  src->format = (JsonFormat)format;
  src->duplicate_keys = (DuplicateKeys)duplicates;
  src->max_depth = (uint32_t)max_depth;
  src->batch_rows = args->batch_rows ? args->batch_rows : 65536;
  src->batch_bytes = args->batch_bytes ? args->batch_bytes : (16u << 20);
  rc = expand_paths(src, path, err);
  if (rc != NB_OK) {
    json_source_close(src);
    return rc;
  }
  *source = src;
  return NB_OK;
}

int json_source_stream_count(void *source, uint32_t *count, NbError *err) {
  (void)err;
  *count = ((JsonSource *)source)->n_streams;
  return NB_OK;
}

int json_source_stream_info(void *source, uint32_t index, NbStreamInfo *out,
                            NbError *err) {
  JsonSource *src = source;
  int checked = nb_stream_index_check(index, src->n_streams, err);
  if (checked != NB_OK) return checked;
  nb_stream_info_set(out, src->streams[index].path, src->streams[index].size);
  return NB_OK;
}

int json_source_schema(void *source, uint32_t index, struct ArrowSchema *out,
                       NbError *err) {
  Stream *s;
  int rc = stream_ready(source, index, &s, err);
  if (rc != NB_OK) return rc;
  NbField *fields;
  if (build_fields(s, &fields) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
  rc = nb_schema_export(fields, s->cols.n, out, err);
  free(fields);
  return rc;
}

int json_source_seek(void *source, uint32_t index, const void *position,
                     size_t position_len, NbError *err) {
  JsonSource *src = source;
  uint64_t v[JSON_POSITION_VALUES];
  int checked = nb_stream_index_check(index, src->n_streams, err);
  if (checked != NB_OK) return checked;
  Stream *s = &src->streams[index];
  int rc = nb_position_decode(position, position_len, v, JSON_POSITION_VALUES, err);
  if (rc != NB_OK) return rc;
  if ((v[4] != JSON_FORMAT_LINES && v[4] != JSON_FORMAT_ARRAY) ||
      v[5] > JSON_ARRAY_ELEMENT || v[1] == 0 || v[3] > v[0])
    return nb_error_set(err, NB_INVALID, "saved position for file \"%s\" is not a json source position",
                        s->path);
  if (src->format != JSON_FORMAT_AUTO && (uint64_t)src->format != v[4]) {
    nb_error_set(err, NB_INVALID, "saved position for file \"%s\" was made with format \"%s\"",
                 s->path, v[4] == JSON_FORMAT_LINES ? "lines" : "array");
    nb_error_hint(err, "Resume with the same setting \"format\", or start afresh.");
    return NB_INVALID;
  }
  const NbHostApi *host = src->host;
  if (!NB_HOST_HAS(host, file_skip))
    return nb_error_set(err, NB_NOT_IMPLEMENTED, "the host cannot skip in files: cannot resume file \"%s\"",
                        s->path);
  stream_close_file(s);
  rc = stream_open(s, err);
  if (rc != NB_OK) return rc;
  if (v[0] > 0) {
    rc = host->file_skip(s->file, v[0], err);
    if (rc == NB_END) {
      nb_error_release(err);
      stream_close_file(s);
      nb_error_set(err, NB_INVALID, "cannot resume file \"%s\": it is shorter than the saved offset %llu",
                   s->path, (unsigned long long)v[0]);
      nb_error_hint(err, "The file changed since the position was saved; start afresh.");
      return NB_INVALID;
    }
    if (rc != NB_OK) {
      stream_close_file(s);
      return rc;
    }
  }
  json_reader_resume(&s->reader, v[0], v[1], v[3], v[2], (JsonFormat)v[4],
                     (JsonArrayState)v[5]);
  return NB_OK;
}

int json_source_next(void *source, uint32_t index, struct ArrowArray *out,
                     NbBatchInfo *info, NbError *err) {
  JsonSource *src = source;
  const NbHostApi *host = src->host;
  Stream *s;
  NbError e;
  JsonValue v;
  JsonMember single;
  int rc;

  rc = stream_ready(src, index, &s, err);
  if (rc != NB_OK) return rc;
  if (s->ended) return NB_END;
  if (host->is_cancelled != NULL && host->is_cancelled(host->host_data))
    return nb_error_set(err, NB_CANCELLED, "reading file \"%s\" was cancelled", s->path);
  rc = ensure_builder(s, err);
  if (rc != NB_OK) return rc;
  update_key_hints(s);

  nb_error_init(&e);
  uint64_t first_offset = json_reader_offset(&s->reader);
  size_t rows = 0;
  for (;;) {
    if (rows >= src->batch_rows ||
        json_reader_offset(&s->reader) - first_offset >= src->batch_bytes)
      break;
    /* With rows to hand over, a pipe with nothing more to read right now
     * ends the batch (JSON_READER_IDLE) rather than a wait for more. */
    s->reader.stop_when_idle = rows > 0;
    rc = json_reader_peek(&s->reader, &v, &e);
    if (rc == JSON_READER_IDLE) break;
    if (rc == NB_END) {
      if (rows > 0) break;
      set_position(s, info);
      stream_close_file(s);
      s->ended = true;
      return NB_END;
    }
    if (rc == NB_DATA) {
      /* Return the good rows first; the bad record comes next call. */
      if (rows > 0) {
        nb_error_release(&e);
        break;
      }
      return skip_bad_record(s, info, &e, err);
    }
    if (rc != NB_OK && s->reader.failed != NB_OK && rows > 0) {
      /* The input is damaged (or unreadable) after these rows: deliver
       * them; the reader repeats its error at the next call. */
      nb_error_release(&e);
      break;
    }
    if (rc != NB_OK) {
      drop_rows(s);
      return pass_error(&e, err, rc);
    }
    size_t n;
    bool fits;
    const JsonMember *m = record_members(s, &v, &single, &n);
    if (v.kind == JSON_OBJECT && s->builder != NULL && append_row(s, m, n, &rc)) {
      if (rc != NB_OK) {
        drop_rows(s);
        return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
      }
      json_reader_accept(&s->reader);
      rows++;
      continue;
    }
    size_t dropped;
    rc = json_source_resolve_duplicates(s, &v, &n, &dropped, &e);
    if (rc == NB_DATA) {
      if (rows > 0) {
        nb_error_release(&e);
        break;
      }
      return skip_bad_record(s, info, &e, err);
    }
    if (rc != NB_OK) {
      drop_rows(s);
      return pass_error(&e, err, rc);
    }
    rc = map_record(s, m, n, false, &fits);
    if (rc == NB_OK && !fits) {
      if (rows > 0) break;
      rc = map_record(s, m, n, true, &fits);
      if (rc == NB_OK) {
        s->builder_stale = true;
        return NB_SCHEMA_CHANGED;
      }
      if (rc == NB_INVALID) {
        json_source_too_many_columns(s, &v, err);
        json_reader_accept(&s->reader);
        set_position(s, info);
        return NB_DATA;
      }
    }
    /* Rows keep their order: the pending ones go first. */
    if (rc == NB_OK) rc = flush_pending(s);
    if (rc == NB_OK) rc = append_record(s, m, n);
    if (rc != NB_OK) {
      drop_rows(s);
      return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
    }
    json_reader_accept(&s->reader);
    json_source_note_dropped(s, dropped);
    rows++;
  }

  if (s->builder != NULL) {
    if (flush_pending(s) != NB_OK) {
      drop_rows(s);
      return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
    }
    rc = nb_batch_builder_finish(s->builder, out, err);
    if (rc != NB_OK) return rc;
  } else {
    /* No columns (records like {}): a struct array of rows only. */
    NbField none;
    memset(&none, 0, sizeof none);
    NbBatchBuilder *b;
    rc = nb_batch_builder_new(&none, 0, 1, &b, err);
    if (rc != NB_OK) return rc;
    rc = nb_batch_builder_finish(b, out, err);
    nb_batch_builder_free(b);
    if (rc != NB_OK) return rc;
    out->length = (int64_t)s->zero_column_rows;
    s->zero_column_rows = 0;
  }
  set_position(s, info);
  return NB_OK;
}

void json_source_close(void *source) {
  JsonSource *src = source;
  if (src == NULL) return;
  for (uint32_t i = 0; i < src->n_streams; i++) {
    Stream *s = &src->streams[i];
    stream_close_file(s);
    columns_free(&s->cols);
    nb_batch_builder_free(s->builder);
    free(s->member_col);
    json_names_free(&s->names);
    free(s->pending);
    free(s->path);
  }
  free(src->streams);
  free(src);
}
