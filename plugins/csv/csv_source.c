/*
 * csv_source.c - the csv connector's source: one stream per file matched by
 * `path`, the schema from the header (or column1..N), values as UTF8 text
 * unless `columns` declares a type or `infer_types` infers one, batches of
 * Arrow arrays, bad records reported one by one, and resume at a saved
 * byte offset.
 *
 * A position is (offset after the last record, its line number, records
 * read so far), encoded with nb_position_encode.
 */
#include "csv_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv_reader.h"
#include "csv_utf8.h"

#define POSITION_VALUES 3

/* How a column turns text into values. */
typedef enum ColumnMode {
  MODE_TEXT,     /* append the bytes (UTF8) */
  MODE_DECLARED, /* nb_column_append_text: must fit the declared type */
  MODE_INFERRED  /* INT64 or NUMBER inferred: widen when a value does not fit */
} ColumnMode;

typedef struct CsvSource CsvSource;

typedef struct CsvStream {
  const CsvSource *source;
  char *path;
  NbFile *file;
  CsvReader *reader;
  bool schema_ready;
  bool at_end;   /* the reader reported NB_END */
  bool finished; /* NB_END returned; file closed */

  size_t n_columns;
  NbField *fields; /* names point into names[] */
  char **names;
  ColumnMode *modes;
  NbBatchBuilder *builder;
  NbColumnBuilder **columns; /* the builder's columns, looked up once */
  NbStringRef *row;          /* a record's values, for the plain-text path */
  uint64_t data_offset; /* first byte after the header */
  int64_t data_line;

  uint64_t records; /* records read (good and bad) so far */
  uint64_t mark_records;

  /* A bad record (NB_DATA), or the failure that ends the stream (NB_IO),
   * found after good rows of the same batch: reported by the next call. */
  bool has_pending;
  int pending_rc;
  NbError pending;
  uint8_t pending_position[NB_POSITION_MAX_BYTES];
  size_t pending_position_len;

  uint8_t position[NB_POSITION_MAX_BYTES];
  int64_t size_bytes;
} CsvStream;

struct CsvSource {
  const NbHostApi *host;
  CsvFormat format;
  bool strict;
  bool infer;
  bool ascii_syntax; /* delimiter and quote are ASCII (see record_utf8_ok) */
  CsvHeaderNames header_names;
  size_t max_columns;
  size_t max_record_bytes;
  CsvDeclaredColumn *declared;
  size_t n_declared;
  uint64_t batch_rows;
  uint64_t batch_bytes;
  CsvStream *streams;
  uint32_t n_streams;
};

/* ------------------------------------------------------------------------
 * Files through the host
 * ------------------------------------------------------------------------ */

static int host_read(void *ctx, char *buf, size_t cap, size_t *n_read, NbError *err) {
  CsvStream *s = ctx;
  return s->source->host->file_read(s->file, buf, cap, n_read, err);
}

static int host_skip(void *ctx, uint64_t n, NbError *err) {
  CsvStream *s = ctx;
  return s->source->host->file_skip(s->file, n, err);
}

static void stream_close_file(CsvStream *s) {
  csv_reader_free(s->reader);
  s->reader = NULL;
  if (s->file != NULL) s->source->host->file_close(s->file, NULL);
  s->file = NULL;
}

/* A pipe, terminal or socket: data arrives when the producer writes it,
 * so records are handed over as they come (csv_reader_stop_when_idle). */
static bool is_streaming(const char *path) {
  struct stat st;
  int rc = strcmp(path, "-") == 0 ? fstat(STDIN_FILENO, &st) : stat(path, &st);
  return rc == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* Open the file and a reader at offset 0. */
static int stream_open_file(CsvStream *s, NbError *err) {
  const CsvSource *src = s->source;
  CsvReaderOptions options;
  CsvInput input;
  int rc;

  stream_close_file(s);
  rc = src->host->file_open_read(src->host->host_data, s->path, &s->file, err);
  if (rc != NB_OK) {
    s->file = NULL;
    return rc;
  }
  memset(&options, 0, sizeof options);
  options.delimiter = src->format.delimiter;
  options.quote = src->format.quote;
  options.strict = src->strict;
  options.max_fields = src->max_columns;
  options.max_record_bytes = src->max_record_bytes;
  input.read = host_read;
  input.skip = NB_HOST_HAS(src->host, file_skip) ? host_skip : NULL;
  input.ctx = s;
  rc = csv_reader_new(&options, &input, s->path, &s->reader, err);
  if (rc != NB_OK) stream_close_file(s);
  if (rc == NB_OK) {
    csv_reader_skip_blank_lines(s->reader, true);
    csv_reader_set_streaming(s->reader, is_streaming(s->path));
  }
  s->at_end = false;
  s->finished = false;
  return rc;
}

/* ------------------------------------------------------------------------
 * Schema
 * ------------------------------------------------------------------------ */

static void stream_free_schema(CsvStream *s) {
  size_t i;
  for (i = 0; i < s->n_columns; i++) free(s->names[i]);
  free(s->names);
  free(s->fields);
  free(s->modes);
  free(s->columns);
  s->columns = NULL;
  free(s->row);
  s->row = NULL;
  nb_batch_builder_free(s->builder);
  s->names = NULL;
  s->fields = NULL;
  s->modes = NULL;
  s->builder = NULL;
  s->n_columns = 0;
  s->schema_ready = false;
}

static int alloc_columns(CsvStream *s, size_t n, NbError *err) {
  size_t i;
  s->n_columns = n;
  s->names = calloc(n ? n : 1, sizeof *s->names);
  s->fields = calloc(n ? n : 1, sizeof *s->fields);
  s->modes = calloc(n ? n : 1, sizeof *s->modes);
  if (s->names == NULL || s->fields == NULL || s->modes == NULL) {
    s->n_columns = 0;
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  for (i = 0; i < n; i++) {
    s->fields[i].type = NB_TYPE_UTF8;
    s->fields[i].nullable = s->source->format.null_string != NULL;
    s->modes[i] = MODE_TEXT;
  }
  return NB_OK;
}

/* A header whose names are not UTF-8: they would become keys and names
 * downstream.  NB_DATA as abi.h says for a malformed start of the stream
 * (from source_schema; see schema_for_next for source_next). */
static int check_header_utf8(const CsvStream *s, const CsvRecord *rec, NbError *err) {
  size_t i;
  for (i = 0; i < rec->n_fields; i++) {
    const CsvField *f = &rec->fields[i];
    size_t bad = csv_utf8_check(f->data, f->len);
    if (bad == f->len) continue;
    nb_error_set(err, NB_DATA,
                 "the name of column %zu at line %lld of file \"%s\" is not valid UTF-8", i + 1,
                 (long long)rec->line, s->path);
    nb_error_detail(err, "Byte %zu of the name (0x%02X) is not part of a valid UTF-8 sequence.",
                    bad + 1, (unsigned)(unsigned char)f->data[bad]);
    nb_error_hint(err,
                  "If the file is in another encoding, such as Latin-1 or Windows-1252, "
                  "convert it to UTF-8 first, for example with iconv -f LATIN1 -t UTF-8.");
    nb_error_locate(err, s->path, rec->line, (int64_t)i + 1);
    nb_error_record(err, rec->raw, rec->raw_len);
    return NB_DATA;
  }
  return NB_OK;
}

/* Column names from the header record, or column1..N. */
static int read_column_names(CsvStream *s, NbError *err) {
  const CsvSource *src = s->source;
  CsvRecord rec;
  NbError rerr;
  size_t i;
  int rc;

  nb_error_init(&rerr);
  /* Bad records before the first good one stay in memory until the
   * rewind: at most twice max_record_bytes of them (issue 9, item 13). */
  csv_reader_mark_within(s->reader, 2 * (uint64_t)src->max_record_bytes);
  for (;;) {
    rc = csv_reader_next(s->reader, &rec, &rerr);
    if (rc == NB_DATA && !src->format.header) {
      /* Without a header a bad record is data: find the first good one to
       * count columns, and report the bad ones from source_next. */
      nb_error_release(&rerr);
      continue;
    }
    break;
  }
  if (rc == CSV_READER_MARK_FULL) {
    nb_error_release(&rerr);
    csv_reader_unmark(s->reader);
    nb_error_set(err, NB_INVALID,
                 "file \"%s\" has no good record in its first %llu bytes to count its "
                 "columns from (header = false)",
                 s->path, 2 * (unsigned long long)src->max_record_bytes);
    nb_error_detail(err,
                    "The records before the first good one are bad; they are reported one "
                    "by one once the columns are known, which needs them in memory, at most "
                    "2 x max_record_bytes.");
    nb_error_hint(err, "Remove or fix the bad records at the start of the file, or raise "
                       "max_record_bytes.");
    nb_error_locate(err, s->path, 1, 0);
    return NB_INVALID;
  }
  if (rc == NB_END) {
    nb_error_release(&rerr);
    csv_reader_unmark(s->reader);
    return alloc_columns(s, 0, err);
  }
  if (rc != NB_OK) {
    csv_error_move(err, &rerr);
    return rc;
  }
  if (src->format.header && (rc = check_header_utf8(s, &rec, err)) != NB_OK) return rc;
  if ((rc = alloc_columns(s, rec.n_fields, err)) != NB_OK) return rc;
  for (i = 0; i < rec.n_fields; i++) {
    if (src->format.header) {
      s->names[i] = strndup(rec.fields[i].data, rec.fields[i].len);
    } else {
      s->names[i] = malloc(32);
      if (s->names[i] != NULL) snprintf(s->names[i], 32, "column%zu", i + 1);
    }
    if (s->names[i] == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if (src->format.header &&
      (rc = csv_unique_names(s->names, s->n_columns, src->header_names, s->path, rec.line,
                             err)) != NB_OK)
    return rc;
  for (i = 0; i < s->n_columns; i++) s->fields[i].name = s->names[i];
  if (src->format.header)
    csv_reader_unmark(s->reader);
  else
    csv_reader_rewind(s->reader);
  csv_reader_unmark(s->reader);
  return NB_OK;
}

static void list_columns(const CsvStream *s, char *buf, size_t cap) {
  size_t used = 0, i;
  buf[0] = '\0';
  for (i = 0; i < s->n_columns && used + 1 < cap; i++) {
    int n = snprintf(buf + used, cap - used, "%s\"%s\"", i ? ", " : "", s->names[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
}

static int apply_declared_types(CsvStream *s, NbError *err) {
  const CsvSource *src = s->source;
  size_t d, i;
  for (d = 0; d < src->n_declared; d++) {
    const CsvDeclaredColumn *col = &src->declared[d];
    for (i = 0; i < s->n_columns; i++)
      if (strcmp(s->names[i], col->name) == 0) break;
    if (i == s->n_columns) {
      char list[1024];
      list_columns(s, list, sizeof list);
      nb_error_set(err, NB_INVALID,
                   "column \"%s\" of setting \"columns\" is not a column of file \"%s\"",
                   col->name, s->path);
      if (s->n_columns == 0)
        nb_error_detail(err, "The file has no columns.");
      else
        nb_error_detail(err, "The file has the columns %s.", list);
      return NB_INVALID;
    }
    s->fields[i].type = col->type;
    s->fields[i].precision = col->precision;
    s->fields[i].scale = col->scale;
    s->modes[i] = col->type == NB_TYPE_UTF8 ? MODE_TEXT : MODE_DECLARED;
  }
  return NB_OK;
}

static bool is_null(const CsvSource *src, const CsvField *f) {
  const char *ns = src->format.null_string;
  return ns != NULL && !(f->flags & CSV_FIELD_QUOTED) && strlen(ns) == f->len &&
         memcmp(ns, f->data, f->len) == 0;
}

static NbType kind_type(CsvKind kind) {
  return kind == CSV_KIND_INT64 ? NB_TYPE_INT64
         : kind == CSV_KIND_NUMBER ? NB_TYPE_NUMBER
                                   : NB_TYPE_UTF8;
}

/* Infer the types of undeclared columns from the records of the first
 * batch, then go back to where the data starts. */
static int infer_types(CsvStream *s, NbError *err) {
  const CsvSource *src = s->source;
  CsvKind *kinds;
  bool *seen;
  uint64_t rows = 0, bytes = 0, start;
  size_t i;
  int rc = NB_OK;

  kinds = calloc(s->n_columns, sizeof *kinds);
  seen = calloc(s->n_columns, sizeof *seen);
  if (kinds == NULL || seen == NULL) {
    free(kinds);
    free(seen);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  /* A bad record's tail (an over-long line) is not kept past the sample's
   * budget either: the sample then just ends (issue 9, item 13). */
  csv_reader_mark_within(s->reader, src->batch_bytes + 2 * (uint64_t)src->max_record_bytes);
  start = csv_reader_offset(s->reader);
  /* The sample stays in memory until the rewind: bound it by the bytes
   * read, bad records included, not only by the good rows. */
  while (rows < src->batch_rows && bytes < src->batch_bytes) {
    CsvRecord rec;
    NbError rerr;
    nb_error_init(&rerr);
    /* A pipe that goes quiet ends the sample (issue 9, item 12). */
    csv_reader_stop_when_idle(s->reader, rows > 0);
    rc = csv_reader_next(s->reader, &rec, &rerr);
    csv_reader_stop_when_idle(s->reader, false);
    if (rc == CSV_READER_IDLE || rc == CSV_READER_MARK_FULL) {
      nb_error_release(&rerr);
      rc = NB_OK;
      break;
    }
    bytes = csv_reader_offset(s->reader) - start;
    if (rc == NB_DATA) {
      nb_error_release(&rerr);
      rc = NB_OK;
      continue;
    }
    if (rc == NB_END) {
      rc = NB_OK;
      break;
    }
    if (rc == NB_IO) {
      /* The input failed: infer from the records before the failure;
       * source_next delivers them and then reports it. */
      nb_error_release(&rerr);
      rc = NB_OK;
      break;
    }
    if (rc != NB_OK) {
      csv_error_move(err, &rerr);
      break;
    }
    rows++;
    if (rec.n_fields != s->n_columns) continue;
    for (i = 0; i < s->n_columns; i++) {
      CsvKind k;
      if (s->modes[i] != MODE_TEXT || kinds[i] == CSV_KIND_STRING) continue;
      if (is_null(src, &rec.fields[i])) continue;
      k = csv_classify(rec.fields[i].data, rec.fields[i].len, NULL);
      if (k > kinds[i]) kinds[i] = k;
      seen[i] = true;
    }
  }
  csv_reader_rewind(s->reader);
  csv_reader_unmark(s->reader);
  for (i = 0; rc == NB_OK && i < s->n_columns; i++) {
    if (s->modes[i] != MODE_TEXT || !seen[i] || kinds[i] == CSV_KIND_STRING) continue;
    s->fields[i].type = kind_type(kinds[i]);
    s->modes[i] = MODE_INFERRED;
  }
  free(kinds);
  free(seen);
  return rc;
}

/* Rows the builder reserves room for up front.  Every column reserves
 * about 20 bytes per hinted row (offsets and text), so the hint is kept
 * to what batch_bytes allows for this many columns: a file of 10^5
 * columns must not reserve 10^5 times a batch of rows (issue 9, item 13).
 * Columns grow past the hint as data arrives, in proportion to it. */
static size_t builder_row_hint(const CsvStream *s) {
  const CsvSource *src = s->source;
  uint64_t hint = src->batch_rows < 65536 ? src->batch_rows : 65536;
  uint64_t per_row = (uint64_t)(s->n_columns ? s->n_columns : 1) * 20;
  if (hint > src->batch_bytes / per_row) hint = src->batch_bytes / per_row;
  return hint > 0 ? (size_t)hint : 1;
}

static int make_builder(CsvStream *s, NbError *err) {
  size_t hint = builder_row_hint(s);
  size_t i;
  int rc;
  nb_batch_builder_free(s->builder);
  s->builder = NULL;
  if (s->columns == NULL && (s->columns = calloc(s->n_columns ? s->n_columns : 1,
                                                 sizeof *s->columns)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  if (s->row == NULL && (s->row = calloc(s->n_columns ? s->n_columns : 1, sizeof *s->row)) == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  rc = nb_batch_builder_new(s->fields, s->n_columns, hint, &s->builder, err);
  if (rc != NB_OK) return rc;
  for (i = 0; i < s->n_columns; i++) s->columns[i] = nb_batch_builder_column(s->builder, i);
  return NB_OK;
}

static int ensure_schema(CsvStream *s, NbError *err) {
  int rc;
  if (s->schema_ready) return NB_OK;
  stream_free_schema(s);
  if ((rc = stream_open_file(s, err)) != NB_OK) return rc;
  if ((rc = read_column_names(s, err)) != NB_OK) goto fail;
  csv_reader_skip_blank_lines(s->reader, s->n_columns != 1);
  s->data_offset = csv_reader_offset(s->reader);
  s->data_line = csv_reader_line(s->reader);
  s->records = 0;
  if ((rc = apply_declared_types(s, err)) != NB_OK) goto fail;
  if (s->source->infer && s->n_columns > 0 && (rc = infer_types(s, err)) != NB_OK) goto fail;
  if ((rc = make_builder(s, err)) != NB_OK) goto fail;
  s->schema_ready = true;
  return NB_OK;
fail:
  stream_free_schema(s);
  stream_close_file(s);
  return rc;
}

/* ensure_schema for source_next and source_seek.  A header that cannot be
 * read is NB_DATA from source_schema, but from source_next NB_DATA means
 * "a bad record, call again to go on", and a caller that skips it would
 * ask for the same header forever: there it is NB_INVALID. */
static int schema_for_next(CsvStream *s, NbError *err) {
  int rc = ensure_schema(s, err);
  if (rc != NB_DATA) return rc;
  if (err != NULL) err->code = NB_INVALID;
  return NB_INVALID;
}

/* ------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------ */

static size_t encode_position(uint8_t *buf, uint64_t offset, int64_t line, uint64_t records) {
  uint64_t values[POSITION_VALUES];
  values[0] = offset;
  values[1] = (uint64_t)line;
  values[2] = records;
  return nb_position_encode(buf, NB_POSITION_MAX_BYTES, values, POSITION_VALUES);
}

static void set_info(const CsvStream *s, NbBatchInfo *info, const void *position, size_t len,
                     uint64_t offset) {
  if (info == NULL) return;
  if (NB_STRUCT_HAS(NbBatchInfo, info, position)) info->position = position;
  if (NB_STRUCT_HAS(NbBatchInfo, info, position_len)) info->position_len = len;
  if (NB_STRUCT_HAS(NbBatchInfo, info, bytes_read))
    info->bytes_read = s->size_bytes >= 0 ? (int64_t)offset : -1;
}

static void truncate_row(CsvStream *s, size_t rows) {
  size_t i;
  for (i = 0; i < s->n_columns; i++) nb_column_truncate(s->columns[i], rows);
}

static int ragged_error(const CsvStream *s, const CsvRecord *rec, NbError *err) {
  size_t column = rec->n_fields < s->n_columns ? rec->n_fields + 1 : s->n_columns + 1;
  nb_error_set(err, NB_DATA, "wrong number of fields at line %lld of file \"%s\"",
               (long long)rec->line, s->path);
  nb_error_detail(err, "The record has %zu field%s, the header has %zu.", rec->n_fields,
                  rec->n_fields == 1 ? "" : "s", s->n_columns);
  nb_error_locate(err, s->path, rec->line, (int64_t)column);
  nb_error_record(err, rec->raw, rec->raw_len);
  return NB_DATA;
}

/* nb_column_append_text refused a value: name file, line, column, value. */
static int type_error(const CsvStream *s, const CsvRecord *rec, size_t col, NbError *why,
                      NbError *err) {
  const CsvField *f = &rec->fields[col];
  char type[64];
  nb_type_name(&s->fields[col], type, sizeof type);
  nb_error_set(err, NB_DATA, "invalid %s value \"%.*s\" in column \"%s\" at line %lld of file \"%s\"",
               type, f->len > 200 ? 200 : (int)f->len, f->data, s->names[col],
               (long long)rec->line, s->path);
  if (why->message != NULL) nb_error_detail(err, "The value does not fit the type: %s.", why->message);
  if (f->len == 0 && s->source->format.null_string == NULL)
    nb_error_hint(err, "Set null_string = \"\" to read empty fields as null.");
  nb_error_locate(err, s->path, rec->line, (int64_t)col + 1);
  nb_error_record(err, rec->raw, rec->raw_len);
  nb_error_release(why);
  return NB_DATA;
}

/* The first value of rec that is not valid UTF-8, as a bad record naming
 * file, line, column and byte; NB_OK when every value is valid.  Called
 * when the record's raw bytes are not valid UTF-8 (with an ASCII delimiter
 * and quote the values then hold the bad bytes too), or for every record
 * when the delimiter or the quote is not ASCII. */
static int utf8_error(const CsvStream *s, const CsvRecord *rec, NbError *err) {
  size_t col;
  for (col = 0; col < rec->n_fields && col < s->n_columns; col++) {
    const CsvField *f = &rec->fields[col];
    size_t bad = csv_utf8_check(f->data, f->len);
    if (bad == f->len) continue;
    nb_error_set(err, NB_DATA, "invalid UTF-8 in column \"%s\" at line %lld of file \"%s\"",
                 s->names[col], (long long)rec->line, s->path);
    nb_error_detail(err,
                    "Byte %zu of the value (0x%02X) is not part of a valid UTF-8 sequence; "
                    "text values must be UTF-8.",
                    bad + 1, (unsigned)(unsigned char)f->data[bad]);
    nb_error_hint(err,
                  "If the file is in another encoding, such as Latin-1 or Windows-1252, "
                  "convert it to UTF-8 first, for example with iconv -f LATIN1 -t UTF-8.");
    nb_error_locate(err, s->path, rec->line, (int64_t)col + 1);
    nb_error_record(err, rec->raw, rec->raw_len);
    return NB_DATA;
  }
  return NB_OK;
}

static bool record_utf8_ok(const CsvStream *s, const CsvRecord *rec) {
  if (rec->ascii) return true;
  if (s->source->ascii_syntax && csv_utf8_check(rec->raw, rec->raw_len) == rec->raw_len)
    return true;
  return utf8_error(s, rec, NULL) == NB_OK;
}

/* Result of appending one record. */
enum { ROW_OK, ROW_BAD, ROW_WIDEN, ROW_NOMEM };

/* The common case: every column is text and there is no null string, so
 * the record's fields go to the builder as they are, in one call. */
static int append_plain_record(CsvStream *s, const CsvRecord *rec, NbError *rerr) {
  size_t i;
  int rc;
  for (i = 0; i < s->n_columns; i++) {
    s->row[i].data = rec->fields[i].data;
    s->row[i].len = rec->fields[i].len;
  }
  rc = nb_batch_builder_append_strings(s->builder, s->row, s->n_columns);
  if (rc == NB_OK) return ROW_OK;
  nb_error_set(rerr, rc, "could not append a value: %s", nb_status_name(rc));
  return ROW_NOMEM;
}

static int append_record(CsvStream *s, const CsvRecord *rec, size_t rows, NbError *rerr) {
  const CsvSource *src = s->source;
  size_t i;
  for (i = 0; i < s->n_columns; i++) {
    const CsvField *f = &rec->fields[i];
    NbColumnBuilder *col = s->columns[i];
    int rc;
    if (src->format.null_string != NULL && is_null(src, f)) {
      rc = nb_column_append_null(col);
    } else if (s->modes[i] == MODE_TEXT) {
      rc = nb_column_append_utf8(col, f->data, f->len);
    } else if (s->modes[i] == MODE_INFERRED) {
      int64_t v = 0;
      CsvKind k = csv_classify(f->data, f->len, &v);
      if (kind_type(k) != s->fields[i].type &&
          (k == CSV_KIND_STRING || s->fields[i].type == NB_TYPE_INT64)) {
        /* Widen: INT64 -> NUMBER -> UTF8, never narrower than before. */
        s->fields[i].type = kind_type(k);
        if (k == CSV_KIND_STRING) s->modes[i] = MODE_TEXT;
        truncate_row(s, rows);
        return ROW_WIDEN;
      }
      if (s->fields[i].type == NB_TYPE_INT64)
        rc = nb_column_append_int64(col, v);
      else
        rc = nb_column_append_utf8(col, f->data, f->len);
    } else {
      NbError why;
      nb_error_init(&why);
      rc = nb_column_append_text(col, f->data, f->len, &why);
      if (rc == NB_DATA) {
        truncate_row(s, rows);
        type_error(s, rec, i, &why, rerr);
        return ROW_BAD;
      }
      nb_error_release(&why);
    }
    if (rc != NB_OK) {
      truncate_row(s, rows);
      nb_error_set(rerr, rc, "could not append a value: %s", nb_status_name(rc));
      return ROW_NOMEM;
    }
  }
  return ROW_OK;
}

static bool any_inferred(const CsvStream *s) {
  size_t i;
  for (i = 0; i < s->n_columns; i++)
    if (s->modes[i] == MODE_INFERRED) return true;
  return false;
}

/* Every value is appended as it is: no null string, every column text. */
static bool all_plain_text(const CsvStream *s) {
  size_t i;
  if (s->source->format.null_string != NULL) return false;
  for (i = 0; i < s->n_columns; i++)
    if (s->modes[i] != MODE_TEXT) return false;
  return true;
}

static int finish_batch(CsvStream *s, struct ArrowArray *out, NbBatchInfo *info,
                        uint64_t offset, int64_t line, uint64_t records, NbError *err) {
  size_t len;
  int rc = nb_batch_builder_finish(s->builder, out, err);
  if (rc != NB_OK) return rc;
  len = encode_position(s->position, offset, line, records);
  set_info(s, info, s->position, len, offset);
  return NB_OK;
}

static int end_stream(CsvStream *s) {
  s->finished = true;
  stream_close_file(s);
  return NB_END;
}

static CsvStream *stream_at(CsvSource *src, uint32_t index, NbError *err) {
  size_t n = src != NULL ? src->n_streams : 0;
  return nb_stream_index_check(index, n, err) == NB_OK ? &src->streams[index] : NULL;
}

int csv_source_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info,
                    NbError *err) {
  CsvSource *src = source;
  CsvStream *s = stream_at(src, index, err);
  size_t rows = 0;
  uint64_t bytes = 0;
  bool inferred, plain;
  int rc;

  if (s == NULL) return NB_INVALID;
  if (s->has_pending) {
    s->has_pending = false;
    csv_error_move(err, &s->pending);
    /* A stream failure has no position: nothing after it can be read. */
    if (s->pending_rc != NB_DATA) return s->pending_rc;
    set_info(s, info, s->pending_position, s->pending_position_len,
             s->reader != NULL ? csv_reader_offset(s->reader) : 0);
    return NB_DATA;
  }
  if (s->finished) return NB_END;
  if ((rc = schema_for_next(s, err)) != NB_OK) return rc;
  if (s->at_end || s->n_columns == 0) return end_stream(s);

  inferred = any_inferred(s);
  plain = all_plain_text(s);
  if (inferred) {
    csv_reader_mark(s->reader);
    s->mark_records = s->records;
  }
  for (;;) {
    CsvRecord rec;
    NbError rerr;
    int row;
    nb_error_init(&rerr);
    /* With rows to hand over, a quiet pipe ends the batch rather than a
     * wait for more (issue 9, item 12). */
    csv_reader_stop_when_idle(s->reader, rows > 0);
    rc = csv_reader_next(s->reader, &rec, &rerr);
    csv_reader_stop_when_idle(s->reader, false);
    if (rc == CSV_READER_IDLE) break;
    if (rc == NB_END) {
      s->at_end = true;
      break;
    }
    if (rc == NB_OK && rec.n_fields != s->n_columns) {
      rc = ragged_error(s, &rec, &rerr);
    } else if (rc == NB_OK && !rec.ascii && !record_utf8_ok(s, &rec)) {
      rc = utf8_error(s, &rec, &rerr);
    } else if (rc == NB_OK) {
      row = plain ? append_plain_record(s, &rec, &rerr) : append_record(s, &rec, rows, &rerr);
      if (row == ROW_WIDEN) {
        csv_reader_rewind(s->reader);
        csv_reader_unmark(s->reader);
        s->records = s->mark_records;
        nb_batch_builder_reset(s->builder);
        if ((rc = make_builder(s, err)) != NB_OK) return rc;
        return NB_SCHEMA_CHANGED;
      }
      if (row == ROW_BAD) rc = NB_DATA;
      if (row == ROW_NOMEM) {
        csv_error_move(err, &rerr);
        return NB_NOMEM;
      }
    }
    if (rc == NB_DATA) {
      /* A bad record: the reader is already past it. */
      uint64_t after = csv_reader_offset(s->reader);
      int64_t after_line = csv_reader_line(s->reader);
      uint64_t before = s->records++;
      if (rows == 0) {
        size_t len = encode_position(s->position, after, after_line, s->records);
        csv_error_move(err, &rerr);
        set_info(s, info, s->position, len, after);
        if (inferred) csv_reader_unmark(s->reader);
        return NB_DATA;
      }
      s->has_pending = true;
      s->pending_rc = NB_DATA;
      s->pending = rerr;
      s->pending_position_len = encode_position(s->pending_position, after, after_line, s->records);
      if (inferred) csv_reader_unmark(s->reader);
      /* The batch ends where the bad record starts. */
      return finish_batch(s, out, info, csv_reader_record_offset(s->reader), rec.line, before,
                          err);
    }
    if (rc == NB_IO && rows > 0) {
      /* The input failed: deliver the rows decoded before the failure,
       * then end the stream with it (the reader fails again anyway). */
      s->has_pending = true;
      s->pending_rc = rc;
      s->pending = rerr;
      if (inferred) csv_reader_unmark(s->reader);
      break;
    }
    if (rc != NB_OK) {
      nb_batch_builder_reset(s->builder);
      if (inferred) csv_reader_unmark(s->reader);
      csv_error_move(err, &rerr);
      return rc;
    }
    s->records++;
    rows++;
    bytes += rec.raw_len + 1;
    if (rows >= src->batch_rows || bytes >= src->batch_bytes) break;
  }
  if (inferred) csv_reader_unmark(s->reader);
  if (rows == 0 && s->at_end) return end_stream(s);
  return finish_batch(s, out, info, csv_reader_offset(s->reader), csv_reader_line(s->reader),
                      s->records, err);
}

/* ------------------------------------------------------------------------
 * The other slots
 * ------------------------------------------------------------------------ */

int csv_source_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err) {
  CsvSource *src = source;
  CsvStream *s = stream_at(src, index, err);
  int rc;
  if (s == NULL) return NB_INVALID;
  if ((rc = ensure_schema(s, err)) != NB_OK) return rc;
  return nb_schema_export(s->fields, s->n_columns, out, err);
}

int csv_source_seek(void *source, uint32_t index, const void *position, size_t position_len,
                    NbError *err) {
  CsvSource *src = source;
  CsvStream *s = stream_at(src, index, err);
  uint64_t values[POSITION_VALUES];
  int rc;

  if (s == NULL) return NB_INVALID;
  if ((rc = nb_position_decode(position, position_len, values, POSITION_VALUES, err)) != NB_OK)
    return rc;
  if ((rc = schema_for_next(s, err)) != NB_OK) return rc;
  if (values[0] < s->data_offset || values[1] < (uint64_t)s->data_line) {
    nb_error_set(err, NB_INVALID, "invalid saved position for file \"%s\"", s->path);
    nb_error_detail(err, "The position (offset %llu, line %llu) lies before the first record.",
                    (unsigned long long)values[0], (unsigned long long)values[1]);
    return NB_INVALID;
  }
  s->has_pending = false;
  nb_error_release(&s->pending);
  if (s->reader == NULL || csv_reader_offset(s->reader) > values[0]) {
    bool skip_blank = s->n_columns != 1;
    if ((rc = stream_open_file(s, err)) != NB_OK) return rc;
    csv_reader_skip_blank_lines(s->reader, skip_blank);
  }
  rc = csv_reader_skip_to(s->reader, values[0], (int64_t)values[1], err);
  if (rc == NB_END) {
    nb_error_set(err, NB_INVALID, "saved position is beyond the end of file \"%s\"", s->path);
    nb_error_detail(err, "The position is at byte %llu; the file is shorter.",
                    (unsigned long long)values[0]);
    nb_error_hint(err, "The file changed since the position was saved; start without the state.");
    return NB_INVALID;
  }
  if (rc != NB_OK) return rc;
  s->records = values[2];
  s->at_end = false;
  s->finished = false;
  return NB_OK;
}

int csv_source_stream_count(void *source, uint32_t *count, NbError *err) {
  CsvSource *src = source;
  (void)err;
  *count = src->n_streams;
  return NB_OK;
}

static bool compressed_name(const char *path) {
  static const char *const ext[] = {".gz", ".zst", ".lz4", ".sz"};
  size_t len = strlen(path), i;
  for (i = 0; i < sizeof ext / sizeof ext[0]; i++) {
    size_t n = strlen(ext[i]);
    if (len >= n && strcmp(path + len - n, ext[i]) == 0) return true;
  }
  return false;
}

int csv_source_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err) {
  CsvSource *src = source;
  CsvStream *s = stream_at(src, index, err);
  if (s == NULL) return NB_INVALID;
  nb_stream_info_set(out, s->path, s->size_bytes);
  return NB_OK;
}

static int64_t file_size(const char *path) {
  struct stat st;
  /* Progress is in decompressed bytes: a compressed file's size on disk
   * would not match, so its size is unknown. */
  if (strcmp(path, "-") == 0 || compressed_name(path)) return -1;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return (int64_t)st.st_size;
}

/* nb_path_expand's callback: one stream per file.  The size is csv's own
 * (see file_size), not the listed one. */
static int add_stream(void *cookie, const char *path, int64_t size_bytes) {
  CsvSource *src = cookie;
  (void)size_bytes;
  CsvStream *grown = realloc(src->streams, (src->n_streams + 1) * sizeof *grown);
  CsvStream *s;
  if (grown == NULL) return NB_NOMEM;
  src->streams = grown;
  s = &src->streams[src->n_streams];
  memset(s, 0, sizeof *s);
  nb_error_init(&s->pending);
  s->source = src;
  s->path = strdup(path);
  if (s->path == NULL) return NB_NOMEM;
  s->size_bytes = file_size(path);
  src->n_streams++;
  return NB_OK;
}

/* One stream per file: the path itself, or every match of a glob pattern
 * in sorted order.  A pattern with a URL scheme ("s3://b/logs/day*.csv") is
 * listed by the host (ABI 1.2 file_list, served by a storage module). */
static int find_streams(CsvSource *src, const char *path, NbError *err) {
  int rc = nb_path_expand(src->host, path, add_stream, src, err);
  if (rc == NB_NOMEM) nb_error_set(err, NB_NOMEM, "out of memory");
  return rc;
}

/* A positive size setting no larger than limit. */
static int limit_setting(const NbDeclaredSettings *set, const char *name, int64_t limit,
                         size_t *out, NbError *err) {
  int64_t value;
  int rc = nb_declared_int(set, name, &value, err);
  if (rc != NB_OK) return rc;
  if (value < 1 || value > limit) {
    nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\": %lld", name,
                 (long long)value);
    nb_error_detail(err, "The value must be between 1 and %lld.", (long long)limit);
    return NB_INVALID;
  }
  *out = (size_t)value;
  return NB_OK;
}

int csv_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source,
                    NbError *err) {
  NbDeclaredSettings set = CSV_DECLARED(args, NB_SETTING_SOURCE);
  CsvSource *src;
  const char *path;
  const char *columns;
  int choice = 0;
  int rc;

  *source = NULL;
  src = calloc(1, sizeof *src);
  if (src == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  src->host = host;
  src->batch_rows = args->batch_rows ? args->batch_rows : 65536;
  src->batch_bytes = args->batch_bytes ? args->batch_bytes : ((uint64_t)16 << 20);
  if ((rc = csv_format_from_settings(&set, &src->format, err)) != NB_OK) goto fail;
  src->ascii_syntax = (unsigned char)src->format.delimiter < 0x80 &&
                      (unsigned char)src->format.quote < 0x80;
  if ((rc = nb_declared_bool(&set, "strict", &src->strict, err)) != NB_OK) goto fail;
  if ((rc = nb_declared_bool(&set, "infer_types", &src->infer, err)) != NB_OK) goto fail;
  if ((rc = nb_declared_enum(&set, "header_names", &choice, err)) != NB_OK) goto fail;
  src->header_names = (CsvHeaderNames)choice; /* choices in enum order */
  if ((rc = limit_setting(&set, "max_columns", CSV_LIMIT_MAX_COLUMNS, &src->max_columns, err)) !=
      NB_OK)
    goto fail;
  if ((rc = limit_setting(&set, "max_record_bytes", CSV_LIMIT_MAX_RECORD_BYTES,
                          &src->max_record_bytes, err)) != NB_OK)
    goto fail;
  if ((rc = nb_declared_string(&set, "columns", &columns, err)) != NB_OK) goto fail;
  if ((rc = csv_declared_columns_parse(columns, &src->declared, &src->n_declared, err)) != NB_OK)
    goto fail;
  /* REQUIRED: not NULL, not empty. */
  if ((rc = nb_declared_string(&set, "path", &path, err)) != NB_OK) goto fail;
  if ((rc = find_streams(src, path, err)) != NB_OK) goto fail;
  *source = src;
  return NB_OK;
fail:
  csv_source_close(src);
  return rc;
}

void csv_source_close(void *source) {
  CsvSource *src = source;
  uint32_t i;
  if (src == NULL) return;
  for (i = 0; i < src->n_streams; i++) {
    CsvStream *s = &src->streams[i];
    stream_close_file(s);
    stream_free_schema(s);
    nb_error_release(&s->pending);
    free(s->path);
  }
  free(src->streams);
  csv_declared_columns_free(src->declared, src->n_declared);
  csv_format_free(&src->format);
  free(src);
}
