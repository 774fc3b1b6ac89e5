/*
 * parquet_dest.c - the parquet destination: Arrow batches -> Parquet files,
 * one file per stream ("{stream}" in path) or one file for a single stream.
 *
 * A row group is buffered column by column (pq_colwriter.c) and written
 * when it reaches row_group_bytes or row_group_rows, and at every commit.
 * Exactly-once: dest_commit finishes the open row group, writes it and
 * syncs the file (no footer); the state holds, per file, the durable
 * length, the encoded schema and the encoded RowGroup metadata written so
 * far.  A resumed run truncates each file to its length, restores the
 * metadata and goes on.  The footer (FileMetaData, its length, "PAR1") is
 * written only by dest_finish, the end of a run that completed: a file
 * whose run was interrupted has no trailing magic and never looks
 * complete to a reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet_connector.h"
#include "pq_colwriter.h"
#include "pq_format.h"
#include "thrift.h"

typedef struct OutFile {
  char *path;
  NbFile *file;
  uint64_t length;         /* bytes passed to file_write */
  PqBuf schema;            /* SchemaElement list elements, root first */
  uint32_t n_schema;
  PqBuf kv;                /* KeyValue list elements (footer metadata) */
  uint32_t n_kv;
  PqBuf row_groups;        /* RowGroup list elements written so far */
  uint32_t n_row_groups;
  int64_t num_rows;
  uint64_t durable_length; /* at the last commit */
  PqColWriter *cols;       /* the open row group; NULL until prepared */
  size_t n_cols;
  size_t rg_rows;
  bool finished;
} OutFile;

typedef struct DestStream {
  char *name;
  size_t file;
  struct ArrowSchema schema; /* our copy, for nb_batch_views */
} DestStream;

typedef struct ParquetDest {
  const NbHostApi *host;
  char *path;
  bool per_stream;
  int codec;
  int32_t level;
  uint64_t row_group_bytes;
  uint64_t row_group_rows;
  size_t page_bytes;
  size_t dict_bytes;
  OutFile *files;
  size_t n_files;
  DestStream *streams;
  size_t n_streams;
  PqBuf state;
} ParquetDest;

#define STATE_MAGIC "nebula-parquet-dest 1\n"
#define PAR1 "PAR1"

static const int codec_of_choice[] = {PQ_CODEC_NONE, PQ_CODEC_SNAPPY, PQ_CODEC_ZSTD,
                                      PQ_CODEC_LZ4_RAW, PQ_CODEC_GZIP};

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

static void out_file_free(OutFile *f, const NbHostApi *host) {
  if (f->file != NULL) host->file_close(f->file, NULL);
  free(f->path);
  pq_buf_free(&f->schema);
  pq_buf_free(&f->kv);
  pq_buf_free(&f->row_groups);
  for (size_t i = 0; i < f->n_cols; i++) pq_col_free(&f->cols[i]);
  free(f->cols);
  memset(f, 0, sizeof *f);
}

static OutFile *find_file(ParquetDest *d, const char *path) {
  size_t i = NB_KEYED_FIND(d->files, d->n_files, OutFile, path, path);
  return i < d->n_files ? &d->files[i] : NULL;
}

static OutFile *add_file(ParquetDest *d, const char *path) {
  OutFile *v = NB_KEYED_APPEND(d->files, d->n_files, OutFile, path, path);
  if (v == NULL) return NULL;
  d->files = v;
  return &v[d->n_files++];
}

static int write_bytes(ParquetDest *d, OutFile *f, const void *p, size_t n, NbError *err) {
  if (n == 0) return NB_OK;
  int rc = d->host->file_write(f->file, p, n, err);
  if (rc == NB_OK) f->length += n;
  return rc;
}

/* Open path: create it with the leading magic, or (resume_length >= 0)
 * truncate it to a committed length. */
static int open_output(ParquetDest *d, OutFile *f, int64_t resume_length, NbError *err) {
  NbWriteOptions o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.compression = "none";
  o.resume_length = resume_length;
  int rc = d->host->file_open_write(d->host->host_data, f->path, &o, &f->file, err);
  if (rc != NB_OK) return rc;
  if (resume_length >= 0) {
    f->length = (uint64_t)resume_length;
    return NB_OK;
  }
  f->length = 0;
  return write_bytes(d, f, PAR1, 4, err);
}

/* ------------------------------------------------------------------------
 * Row groups and the footer
 * ------------------------------------------------------------------------ */

typedef struct SinkCtx {
  ParquetDest *d;
  OutFile *f;
} SinkCtx;

static int sink_pages(void *ctx, const uint8_t *data, size_t n, NbError *err) {
  SinkCtx *s = ctx;
  return write_bytes(s->d, s->f, data, n, err);
}

static int flush_row_group(ParquetDest *d, OutFile *f, NbError *err) {
  if (f->rg_rows == 0) return NB_OK;
  PqBuf chunk = {0}, metas = {0};
  int64_t total_unc = 0;
  uint64_t start = f->length;
  int rc = NB_OK;
  for (size_t i = 0; i < f->n_cols && rc == NB_OK; i++) {
    /* Pages go to the file about 1 MiB at a time (see PqChunkParams). */
    SinkCtx sink = {d, f};
    PqChunkParams p = {d->host, d->codec, d->level, d->page_bytes, f->length, sink_pages, &sink, 1 << 20};
    chunk.len = 0;
    rc = pq_col_write_chunk(&f->cols[i], &p, &chunk, &metas, &total_unc, err);
  }
  if (rc == NB_OK) {
    TWriter w;
    tw_init(&w, &f->row_groups);
    tw_struct_begin(&w);
    tw_list(&w, 1, T_STRUCT, (uint32_t)f->n_cols);
    pq_buf_put(&f->row_groups, metas.data, metas.len);
    tw_i64(&w, 2, total_unc);
    tw_i64(&w, 3, (int64_t)f->rg_rows);
    tw_i64(&w, 5, (int64_t)start);
    tw_i64(&w, 6, (int64_t)(f->length - start));
    tw_struct_end(&w);
    if (f->row_groups.failed) rc = nb_error_set(err, NB_NOMEM, "out of memory keeping row group metadata");
    f->n_row_groups++;
    f->num_rows += (int64_t)f->rg_rows;
  }
  for (size_t i = 0; i < f->n_cols; i++) pq_col_reset(&f->cols[i]);
  f->rg_rows = 0;
  pq_buf_free(&chunk);
  pq_buf_free(&metas);
  if (rc != NB_OK) nb_error_detail(err, "While writing a row group of \"%s\".", f->path);
  return rc;
}

static int write_footer(ParquetDest *d, OutFile *f, NbError *err) {
  PqBuf m = {0};
  TWriter w;
  uint32_t n_cols = f->n_schema > 0 ? f->n_schema - 1 : 0;
  tw_init(&w, &m);
  tw_struct_begin(&w);
  tw_i32(&w, 1, 1);
  tw_list(&w, 2, T_STRUCT, f->n_schema);
  pq_buf_put(&m, f->schema.data, f->schema.len);
  tw_i64(&w, 3, f->num_rows);
  tw_list(&w, 4, T_STRUCT, f->n_row_groups);
  pq_buf_put(&m, f->row_groups.data, f->row_groups.len);
  if (f->n_kv > 0) {
    tw_list(&w, 5, T_STRUCT, f->n_kv);
    pq_buf_put(&m, f->kv.data, f->kv.len);
  }
  tw_binary(&w, 6, PQ_CREATED_BY, strlen(PQ_CREATED_BY));
  tw_list(&w, 7, T_STRUCT, n_cols);
  for (uint32_t i = 0; i < n_cols; i++) {
    tw_struct_begin(&w);
    tw_empty_struct(&w, 1); /* TYPE_ORDER */
    tw_struct_end(&w);
  }
  tw_struct_end(&w);
  pq_buf_le32(&m, (uint32_t)m.len);
  pq_buf_put(&m, PAR1, 4);
  int rc = m.failed ? nb_error_set(err, NB_NOMEM, "out of memory writing the footer of \"%s\"", f->path)
                    : write_bytes(d, f, m.data, m.len, err);
  pq_buf_free(&m);
  return rc;
}

/* ------------------------------------------------------------------------
 * State: per file its committed length, schema and row groups
 * ------------------------------------------------------------------------ */

static void put_blob(PqBuf *b, const void *p, size_t n) {
  pq_buf_le64(b, n);
  pq_buf_put(b, p, n);
}

static int build_state(ParquetDest *d, NbError *err) {
  PqBuf *b = &d->state;
  b->len = 0;
  pq_buf_put(b, STATE_MAGIC, strlen(STATE_MAGIC));
  pq_buf_le32(b, (uint32_t)d->n_files);
  for (size_t i = 0; i < d->n_files; i++) {
    const OutFile *f = &d->files[i];
    put_blob(b, f->path, strlen(f->path));
    pq_buf_le64(b, f->durable_length);
    pq_buf_le64(b, (uint64_t)f->num_rows);
    pq_buf_le32(b, f->n_schema);
    put_blob(b, f->schema.data, f->schema.len);
    pq_buf_le32(b, f->n_kv);
    put_blob(b, f->kv.data, f->kv.len);
    pq_buf_le32(b, f->n_row_groups);
    put_blob(b, f->row_groups.data, f->row_groups.len);
  }
  return b->failed ? nb_error_set(err, NB_NOMEM, "out of memory building the parquet destination state") : NB_OK;
}

typedef struct StateReader {
  const uint8_t *p, *end;
  bool bad;
} StateReader;

static uint64_t sr_u64(StateReader *s, size_t n) {
  if (s->bad || (size_t)(s->end - s->p) < n) {
    s->bad = true;
    return 0;
  }
  uint64_t v = n == 8 ? pq_le64(s->p) : pq_le32(s->p);
  s->p += n;
  return v;
}

static const uint8_t *sr_blob(StateReader *s, size_t *n) {
  uint64_t len = sr_u64(s, 8);
  if (s->bad || len > (uint64_t)(s->end - s->p)) {
    s->bad = true;
    return NULL;
  }
  const uint8_t *p = s->p;
  s->p += len;
  *n = (size_t)len;
  return p;
}

/* n structs back to back, exactly filling p[0..len). */
static bool structs_valid(const uint8_t *p, size_t len, uint32_t n) {
  TReader r;
  tr_init(&r, p, len);
  for (uint32_t i = 0; i < n && r.error == NULL; i++) tr_skip(&r, T_STRUCT);
  return r.error == NULL && r.p == r.end;
}

static int restore_file(ParquetDest *d, StateReader *s, NbError *err) {
  size_t path_len = 0, schema_len = 0, rg_len = 0, kv_len = 0;
  const uint8_t *path = sr_blob(s, &path_len);
  uint64_t length = sr_u64(s, 8);
  uint64_t rows = sr_u64(s, 8);
  uint32_t n_schema = (uint32_t)sr_u64(s, 4);
  const uint8_t *schema = sr_blob(s, &schema_len);
  uint32_t n_kv = (uint32_t)sr_u64(s, 4);
  const uint8_t *kv = sr_blob(s, &kv_len);
  uint32_t n_rg = (uint32_t)sr_u64(s, 4);
  const uint8_t *rgs = sr_blob(s, &rg_len);
  if (s->bad || path_len == 0 || memchr(path, 0, path_len) != NULL || length < 4 ||
      length > INT64_MAX || rows > INT64_MAX || !structs_valid(schema, schema_len, n_schema) ||
      !structs_valid(kv, kv_len, n_kv) ||
      !structs_valid(rgs, rg_len, n_rg)) {
    s->bad = true;
    return NB_INVALID;
  }
  char *name = strndup((const char *)path, path_len);
  if (name == NULL) return nb_error_set(err, NB_NOMEM, "out of memory restoring the parquet destination");
  OutFile *f = find_file(d, name) != NULL ? NULL : add_file(d, name);
  free(name);
  if (f == NULL) {
    s->bad = true;
    return NB_INVALID;
  }
  f->durable_length = length;
  f->num_rows = (int64_t)rows;
  f->n_schema = n_schema;
  pq_buf_put(&f->schema, schema, schema_len);
  f->n_kv = n_kv;
  pq_buf_put(&f->kv, kv, kv_len);
  f->n_row_groups = n_rg;
  pq_buf_put(&f->row_groups, rgs, rg_len);
  if (f->schema.failed || f->kv.failed || f->row_groups.failed)
    return nb_error_set(err, NB_NOMEM, "out of memory restoring the parquet destination");
  return open_output(d, f, (int64_t)length, err);
}

static int restore_state(ParquetDest *d, const void *state, size_t len, NbError *err) {
  StateReader s = {state, (const uint8_t *)state + len, false};
  size_t magic = strlen(STATE_MAGIC);
  int rc = NB_OK;
  if (len < magic || memcmp(state, STATE_MAGIC, magic) != 0) s.bad = true;
  else s.p += magic;
  uint32_t n = (uint32_t)sr_u64(&s, 4);
  for (uint32_t i = 0; i < n && !s.bad && rc == NB_OK; i++) rc = restore_file(d, &s, err);
  if (rc == NB_OK && !s.bad && s.p != s.end) s.bad = true;
  if (s.bad) {
    nb_error_set(err, NB_INVALID, "the saved state is not a parquet destination state");
    nb_error_hint(err, "Resume with the same destination, or start afresh without the state file.");
    return NB_INVALID;
  }
  return rc;
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

void parquet_dest_close(void *dest) {
  ParquetDest *d = dest;
  if (d == NULL) return;
  for (size_t i = 0; i < d->n_files; i++) out_file_free(&d->files[i], d->host);
  free(d->files);
  for (size_t i = 0; i < d->n_streams; i++) {
    free(d->streams[i].name);
    if (d->streams[i].schema.release != NULL) d->streams[i].schema.release(&d->streams[i].schema);
  }
  free(d->streams);
  free(d->path);
  pq_buf_free(&d->state);
  free(d);
}

static int read_settings(ParquetDest *d, const NbSettings *s, NbError *err) {
  const char *path;
  int choice;
  int64_t level, rg_bytes, rg_rows, page, dict;
  int rc = nb_setting_string(s, "path", NULL, &path, err);
  if (rc == NB_OK) rc = nb_setting_enum(s, "compression", "none|snappy|zstd|lz4_raw|gzip", 1, &choice, err);
  if (rc == NB_OK) rc = nb_setting_int(s, "compression_level", 0, &level, err);
  if (rc == NB_OK) rc = nb_setting_int(s, "row_group_bytes", 64 << 20, &rg_bytes, err);
  if (rc == NB_OK) rc = nb_setting_int(s, "row_group_rows", 1 << 20, &rg_rows, err);
  if (rc == NB_OK) rc = nb_setting_int(s, "page_bytes", 1 << 20, &page, err);
  if (rc == NB_OK) rc = nb_setting_int(s, "dictionary_bytes", 1 << 20, &dict, err);
  if (rc != NB_OK) return rc;
  if (path == NULL || path[0] == '\0' || strcmp(path, "-") == 0)
    return nb_error_set(err, NB_INVALID, "setting \"path\" must name a file (Parquet cannot be written to standard output)");
  if (level < -131072 || level > 22)
    return nb_error_set(err, NB_INVALID, "setting \"compression_level\" is out of range: %lld", (long long)level);
  if (rg_bytes < 1024 || rg_rows < 1 || page < 1024 || page > (1 << 30) || dict < 0 || dict > (1 << 30))
    return nb_error_set(err, NB_INVALID, "settings \"row_group_bytes\" (>= 1024), \"row_group_rows\" (>= 1), \"page_bytes\" (1 KiB .. 1 GiB) and \"dictionary_bytes\" (0 .. 1 GiB) are out of range");
  d->path = strdup(path);
  if (d->path == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the parquet destination");
  d->per_stream = nb_path_has_stream(path);
  d->codec = codec_of_choice[choice];
  d->level = (int32_t)level;
  d->row_group_bytes = (uint64_t)rg_bytes;
  d->row_group_rows = (uint64_t)rg_rows;
  d->page_bytes = (size_t)page;
  d->dict_bytes = (size_t)dict;
  if (d->codec != PQ_CODEC_NONE && !NB_HOST_HAS(d->host, block_compress))
    return nb_error_set(err, NB_INVALID, "the host has no block compression (ABI 1.2): use compression = none");
  return NB_OK;
}

int parquet_dest_open(const NbHostApi *host, const NbOpenArgs *args,
                      void **dest, NbError *err) {
  ParquetDest *d = calloc(1, sizeof *d);
  *dest = NULL;
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the parquet destination");
  d->host = host;
  int rc = read_settings(d, args->settings, err);
  if (rc == NB_OK && args->state != NULL) rc = restore_state(d, args->state, args->state_len, err);
  if (rc != NB_OK) {
    parquet_dest_close(d);
    return rc;
  }
  *dest = d;
  return NB_OK;
}

/* Column writers and the encoded schema of fields. */
static int make_columns(ParquetDest *d, const NbField *fields, size_t n,
                        PqColWriter **cols, PqBuf *schema, NbError *err) {
  PqColWriter *c = calloc(n ? n : 1, sizeof *c);
  if (c == NULL) return nb_error_set(err, NB_NOMEM, "out of memory preparing a parquet stream");
  TWriter w;
  tw_init(&w, schema);
  tw_struct_begin(&w);
  tw_binary(&w, 4, "schema", 6);
  tw_i32(&w, 5, (int32_t)n);
  tw_struct_end(&w);
  for (size_t i = 0; i < n; i++) {
    int rc = pq_col_init(&c[i], &fields[i], d->dict_bytes, err);
    if (rc != NB_OK) {
      for (size_t j = 0; j < i; j++) pq_col_free(&c[j]);
      free(c);
      return rc;
    }
    pq_col_schema(&c[i], &w);
  }
  *cols = c;
  return NB_OK;
}

/* Parquet has no type for NUMBER (a number kept as its exact text): it is
 * written as a STRING, and a key "nebula:extension:<column>" with the
 * value "nebula.number" in the footer tells the parquet source to give it
 * back as NUMBER. */
static int number_columns_kv(OutFile *f, NbError *err) {
  TWriter w;
  tw_init(&w, &f->kv);
  for (size_t i = 0; i < f->n_cols; i++) {
    if (f->cols[i].nb_type != NB_TYPE_NUMBER) continue;
    size_t n = strlen(f->cols[i].name);
    char *key = malloc(n + 18);
    if (key == NULL) return nb_error_set(err, NB_NOMEM, "out of memory preparing a parquet stream");
    memcpy(key, "nebula:extension:", 17);
    memcpy(key + 17, f->cols[i].name, n + 1);
    tw_struct_begin(&w);
    tw_binary(&w, 1, key, n + 17);
    tw_binary(&w, 2, "nebula.number", 13);
    tw_struct_end(&w);
    free(key);
    f->n_kv++;
  }
  return f->kv.failed ? nb_error_set(err, NB_NOMEM, "out of memory preparing a parquet stream") : NB_OK;
}

static int attach_schema(ParquetDest *d, OutFile *f, const NbField *fields, size_t n,
                         const char *stream_name, NbError *err) {
  PqColWriter *cols = NULL;
  PqBuf schema = {0};
  int rc = make_columns(d, fields, n, &cols, &schema, err);
  if (rc != NB_OK) {
    pq_buf_free(&schema);
    return rc;
  }
  if (schema.failed) rc = nb_error_set(err, NB_NOMEM, "out of memory preparing a parquet stream");
  bool known = f->n_schema > 0;
  if (rc == NB_OK && known &&
      (f->n_schema != n + 1 || f->schema.len != schema.len || memcmp(f->schema.data, schema.data, schema.len) != 0)) {
    rc = nb_error_set(err, NB_INVALID, "stream \"%s\" does not have the schema of the Parquet file \"%s\" it goes to",
                      stream_name, f->path);
    nb_error_hint(err, "A Parquet file has one schema: put \"{stream}\" in path for one file per stream, or start afresh if the source changed since the interrupted run.");
  }
  if (rc != NB_OK || f->cols != NULL) {
    for (size_t j = 0; j < n; j++) pq_col_free(&cols[j]);
    free(cols);
    pq_buf_free(&schema);
    return rc;
  }
  f->cols = cols;
  f->n_cols = n;
  if (!known) {
    pq_buf_free(&f->schema);
    f->schema = schema;
    f->n_schema = (uint32_t)n + 1;
    rc = number_columns_kv(f, err);
  } else {
    pq_buf_free(&schema);
  }
  return rc;
}

int parquet_dest_prepare(void *dest, const char *stream_name,
                         const struct ArrowSchema *schema,
                         uint32_t *dest_stream, NbError *err) {
  ParquetDest *d = dest;
  NbField *fields = NULL;
  size_t n = 0;
  int rc = nb_schema_fields(schema, &fields, &n, err);
  if (rc != NB_OK) return rc;
  char *path = nb_stream_path(d->path, stream_name);
  if (path == NULL) {
    free(fields);
    return nb_error_set(err, NB_NOMEM, "out of memory preparing a parquet stream");
  }
  OutFile *f = find_file(d, path);
  if (f == NULL) {
    f = add_file(d, path);
    if (f == NULL) rc = nb_error_set(err, NB_NOMEM, "out of memory preparing a parquet stream");
    else rc = open_output(d, f, -1, err);
  }
  free(path);
  if (rc == NB_OK) rc = attach_schema(d, f, fields, n, stream_name, err);
  free(fields);
  if (rc != NB_OK) return rc;
  size_t file_index = (size_t)(f - d->files);
  size_t i = NB_KEYED_FIND(d->streams, d->n_streams, DestStream, name, stream_name);
  if (i < d->n_streams) {
    rc = nb_schema_copy(schema, &d->streams[i].schema, err);
    if (rc != NB_OK) return rc;
    d->streams[i].file = file_index;
    *dest_stream = (uint32_t)i;
    return NB_OK;
  }
  DestStream *v = NB_KEYED_APPEND(d->streams, d->n_streams, DestStream, name, stream_name);
  if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory preparing a parquet stream");
  d->streams = v;
  DestStream *s = &v[d->n_streams];
  rc = nb_schema_copy(schema, &s->schema, err);
  if (rc != NB_OK) {
    free(s->name);
    return rc;
  }
  s->file = file_index;
  *dest_stream = (uint32_t)d->n_streams++;
  return NB_OK;
}

static size_t row_group_bytes(const OutFile *f) {
  size_t n = 0;
  for (size_t i = 0; i < f->n_cols; i++) n += pq_col_bytes(&f->cols[i]);
  return n;
}

/* Append rows [start, start + n) of the batch to every column, all or
 * nothing. */
static int append_rows(OutFile *f, const NbColumnView *views, int64_t start, int64_t n,
                       const char *stream, NbError *err) {
  PqColMark marks[64];
  PqColMark *m = f->n_cols <= 64 ? marks : calloc(f->n_cols, sizeof *m);
  if (m == NULL) return nb_error_set(err, NB_NOMEM, "out of memory writing a batch");
  for (size_t i = 0; i < f->n_cols; i++) pq_col_mark(&f->cols[i], &m[i]);
  int rc = NB_OK;
  for (size_t i = 0; i < f->n_cols && rc == NB_OK; i++)
    rc = pq_col_append(&f->cols[i], nb_column_view_at(views, i), start, n, err);
  if (rc != NB_OK) {
    for (size_t i = 0; i < f->n_cols; i++) pq_col_rollback(&f->cols[i], &m[i]);
    if (rc == NB_DATA) nb_error_detail(err, "Stream \"%s\", file \"%s\"; none of the batch was written.", stream, f->path);
  } else {
    f->rg_rows += (size_t)n;
  }
  if (m != marks) free(m);
  return rc;
}

int parquet_dest_write(void *dest, uint32_t dest_stream,
                       const struct ArrowArray *batch, NbError *err) {
  ParquetDest *d = dest;
  if (dest_stream >= d->n_streams) return nb_error_set(err, NB_INTERNAL, "unknown destination stream %u", dest_stream);
  DestStream *s = &d->streams[dest_stream];
  OutFile *f = &d->files[s->file];
  NbColumnView *views = NULL;
  size_t n = 0;
  int rc = nb_batch_views(&s->schema, batch, &views, &n, err);
  if (rc != NB_OK) return rc;
  if (n != f->n_cols) {
    free(views);
    return nb_error_set(err, NB_INTERNAL, "batch of %zu columns for a file of %zu", n, f->n_cols);
  }
  int64_t done = 0;
  while (rc == NB_OK && done < batch->length) {
    int64_t room = (int64_t)(d->row_group_rows - f->rg_rows);
    int64_t k = batch->length - done < room ? batch->length - done : room;
    rc = append_rows(f, views, done, k, s->name, err);
    if (rc != NB_OK) break;
    done += k;
    if (f->rg_rows >= d->row_group_rows || row_group_bytes(f) >= d->row_group_bytes)
      rc = flush_row_group(d, f, err);
  }
  free(views);
  return rc;
}

int parquet_dest_commit(void *dest, const void **state, size_t *state_len,
                        NbError *err) {
  ParquetDest *d = dest;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    if (f->finished) continue;
    int rc = flush_row_group(d, f, err);
    if (rc == NB_OK) rc = d->host->file_commit(f->file, &f->durable_length, err);
    if (rc != NB_OK) return rc;
    if (f->durable_length != f->length) {
      return nb_error_set(err, NB_IO, "file \"%s\" is %llu bytes long after a commit, %llu were written",
                          f->path, (unsigned long long)f->durable_length, (unsigned long long)f->length);
    }
  }
  int rc = build_state(d, err);
  if (rc != NB_OK) return rc;
  *state = d->state.data;
  *state_len = d->state.len;
  return NB_OK;
}

int parquet_dest_finish(void *dest, NbError *err) {
  ParquetDest *d = dest;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    if (f->finished) continue;
    uint64_t len;
    int rc = flush_row_group(d, f, err);
    if (rc == NB_OK && f->n_schema == 0)
      rc = nb_error_set(err, NB_INTERNAL, "file \"%s\" has no schema", f->path);
    if (rc == NB_OK) rc = write_footer(d, f, err);
    if (rc == NB_OK) rc = d->host->file_commit(f->file, &len, err);
    if (rc != NB_OK) return rc;
    f->finished = true;
  }
  return NB_OK;
}
