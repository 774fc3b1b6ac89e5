/*
 * csv_dest.c - the csv connector's destination: writes each stream's
 * batches as CSV rows, the header once per file, through the host's file
 * functions (compression, "-" for stdout), and resumes after a crash by
 * truncating each file to its last committed length.
 *
 * Files: without "{stream}" in `path` every stream goes to the one file and
 * all streams must have the same column names; with it, each stream gets
 * the file named after it (streams whose names give the same file share it
 * under the same rule).
 *
 * State returned by dest_commit:
 *   - one file: nb_position_encode(length, header hash);
 *   - "{stream}": the positions format cannot hold names, so a small format
 *     of our own: "NBCSVD1\0", u32 count, then per file u64 length, u64
 *     header hash, u32 path length, path bytes (little-endian).
 * The header hash lets a resumed run check that its columns are the ones
 * of the header already in the file.
 */
#include "csv_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_writer.h"

#define STATE_MAGIC "NBCSVD1" /* 8 bytes with its NUL */
#define STATE_MAGIC_LEN 8

typedef struct CsvDest CsvDest;

typedef struct OutFile {
  const CsvDest *dest;
  char *path;
  NbFile *file;
  CsvWriter *writer;
  bool header_done;      /* the header is in the file (written or resumed) */
  bool has_columns;      /* names below are set */
  char **names;
  size_t n_names;
  uint64_t hash;         /* of names, or from the state when resumed */
  uint64_t committed;
} OutFile;

typedef struct OutStream {
  char *name;
  OutFile *file;
  struct ArrowSchema schema; /* owned copy, for nb_batch_views */
} OutStream;

typedef struct ResumeEntry {
  char *path;            /* NULL in single-file mode */
  uint64_t length;
  uint64_t hash;
} ResumeEntry;

struct CsvDest {
  const NbHostApi *host;
  CsvFormat format;
  bool crlf;
  bool quote_all;
  char *path;
  bool per_stream;

  OutFile **files;
  size_t n_files;
  OutStream *streams;
  size_t n_streams;

  ResumeEntry *resume;
  size_t n_resume;

  uint8_t *state;
  size_t state_cap;
};


/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* FNV-1a over the column names, each followed by a NUL; never 0. */
static uint64_t names_hash(char *const *names, size_t n) {
  uint64_t h = 14695981039346656037ull;
  size_t i;
  for (i = 0; i < n; i++) {
    const unsigned char *p = (const unsigned char *)names[i];
    do {
      h ^= *p;
      h *= 1099511628211ull;
    } while (*p++ != '\0');
  }
  return h | 1;
}

static void put_u32(uint8_t *p, uint32_t v) {
  int i;
  for (i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  int i;
  for (i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  int i;
  for (i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  int i;
  for (i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void list_names(char *const *names, size_t n, char *buf, size_t cap) {
  size_t used = 0, i;
  if (n == 0) {
    snprintf(buf, cap, "no columns");
    return;
  }
  buf[0] = '\0';
  for (i = 0; i < n && used + 1 < cap; i++) {
    int k = snprintf(buf + used, cap - used, "%s\"%s\"", i ? ", " : "", names[i]);
    if (k < 0) break;
    used += (size_t)k;
  }
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

static int file_sink_write(void *ctx, const void *buf, size_t len, NbError *err) {
  OutFile *f = ctx;
  return f->dest->host->file_write(f->file, buf, len, err);
}

static const ResumeEntry *find_resume(const CsvDest *d, const char *path) {
  size_t i;
  for (i = 0; i < d->n_resume; i++)
    if (!d->per_stream || strcmp(d->resume[i].path, path) == 0) return &d->resume[i];
  return NULL;
}

static void out_file_free(OutFile *f) {
  size_t i;
  if (f == NULL) return;
  if (f->writer != NULL && f->file != NULL) csv_writer_flush(f->writer, NULL);
  csv_writer_free(f->writer);
  if (f->file != NULL) f->dest->host->file_close(f->file, NULL);
  for (i = 0; i < f->n_names; i++) free(f->names[i]);
  free(f->names);
  free(f->path);
  free(f);
}

/* The open file for path, opening it (truncated to its committed length
 * when resuming) on first use. */
static int get_out_file(CsvDest *d, const char *path, OutFile **out, NbError *err) {
  const ResumeEntry *resume = find_resume(d, path);
  NbWriteOptions options;
  CsvWriterOptions wopt;
  CsvSink sink;
  OutFile **grown;
  OutFile *f;
  size_t i;
  int rc;

  for (i = 0; i < d->n_files; i++) {
    if (strcmp(d->files[i]->path, path) == 0) {
      *out = d->files[i];
      return NB_OK;
    }
  }
  grown = realloc(d->files, (d->n_files + 1) * sizeof *grown);
  if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->files = grown;
  f = calloc(1, sizeof *f);
  if (f == NULL || (f->path = strdup(path)) == NULL) {
    free(f);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  f->dest = d;

  memset(&options, 0, sizeof options);
  options.struct_size = (uint32_t)sizeof options;
  /* compression NULL: the host applies the pipeline's (NB_CAP_HOST_FILE_COMPRESSION). */
  options.resume_length = resume != NULL ? (int64_t)resume->length : -1;
  rc = d->host->file_open_write(d->host->host_data, path, &options, &f->file, err);
  if (rc != NB_OK) {
    f->file = NULL;
    out_file_free(f);
    return rc;
  }
  memset(&wopt, 0, sizeof wopt);
  wopt.delimiter = d->format.delimiter;
  wopt.quote = d->format.quote;
  wopt.null_string = d->format.null_string;
  wopt.crlf = d->crlf;
  wopt.quote_all = d->quote_all;
  sink.write = file_sink_write;
  sink.ctx = f;
  if ((rc = csv_writer_new(&wopt, &sink, &f->writer, err)) != NB_OK) {
    out_file_free(f);
    return rc;
  }
  if (resume != NULL) {
    f->committed = resume->length;
    f->header_done = resume->length > 0;
    f->hash = resume->length > 0 ? resume->hash : 0;
  }
  d->files[d->n_files++] = f;
  *out = f;
  return NB_OK;
}

static int write_header(OutFile *f, NbError *err) {
  size_t i;
  int rc;
  if (f->n_names == 0) return NB_OK; /* zero columns: nothing to write */
  for (i = 0; i < f->n_names; i++)
    if ((rc = csv_writer_value(f->writer, f->names[i], strlen(f->names[i]), err)) != NB_OK)
      return rc;
  return csv_writer_end_record(f->writer, err);
}

static int columns_mismatch(const OutFile *f, const char *stream, char *const *names, size_t n,
                            NbError *err) {
  char have[1024], got[1024];
  list_names(f->names, f->n_names, have, sizeof have);
  list_names(names, n, got, sizeof got);
  nb_error_set(err, NB_INVALID, "stream \"%s\" does not have the columns of file \"%s\"", stream,
               f->path);
  if (f->has_columns)
    nb_error_detail(err, "The file has %s.  The stream has %s.", have, got);
  else
    nb_error_detail(err,
                    "The stream has %s, which differ from the header written to the file by "
                    "the interrupted run.",
                    got);
  nb_error_hint(err, "Write streams with different columns to separate files with \"{stream}\" "
                     "in the setting \"path\".");
  return NB_INVALID;
}

/* Check the stream's columns against the file's; the first stream sets
 * them and writes the header. */
static int claim_columns(OutFile *f, const char *stream, const NbField *fields, size_t n,
                         NbError *err) {
  const bool header = f->dest->format.header;
  char **names = calloc(n ? n : 1, sizeof *names);
  size_t i;
  int rc = NB_OK;

  if (names == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  for (i = 0; i < n && rc == NB_OK; i++)
    if ((names[i] = strdup(fields[i].name != NULL ? fields[i].name : "")) == NULL)
      rc = nb_error_set(err, NB_NOMEM, "out of memory");
  if (rc == NB_OK && f->has_columns) {
    bool same = f->n_names == n;
    for (i = 0; same && i < n; i++) same = !header || strcmp(f->names[i], names[i]) == 0;
    if (!same) rc = columns_mismatch(f, stream, names, n, err);
  } else if (rc == NB_OK) {
    uint64_t hash = names_hash(names, n);
    if (header && f->hash != 0 && f->hash != hash) {
      rc = columns_mismatch(f, stream, names, n, err);
    } else {
      f->names = names;
      f->n_names = n;
      f->hash = hash;
      f->has_columns = true;
      names = NULL;
      if (header && !f->header_done) rc = write_header(f, err);
      f->header_done = true;
    }
  }
  if (names != NULL) {
    for (i = 0; i < n; i++) free(names[i]);
    free(names);
  }
  return rc;
}

/* ------------------------------------------------------------------------
 * Slots
 * ------------------------------------------------------------------------ */

int csv_dest_prepare(void *dest, const char *stream_name, const struct ArrowSchema *schema,
                     uint32_t *dest_stream, NbError *err) {
  CsvDest *d = dest;
  NbField *fields = NULL;
  size_t n = 0, i;
  char *path = NULL;
  OutFile *f = NULL;
  OutStream *s = NULL;
  int rc;

  if ((rc = nb_schema_fields(schema, &fields, &n, err)) != NB_OK) return rc;
  path = d->per_stream ? nb_stream_path(d->path, stream_name) : strdup(d->path);
  if (path == NULL) {
    rc = nb_error_set(err, NB_NOMEM, "out of memory");
    goto done;
  }
  if ((rc = get_out_file(d, path, &f, err)) != NB_OK) goto done;
  if ((rc = claim_columns(f, stream_name, fields, n, err)) != NB_OK) goto done;

  for (i = 0; i < d->n_streams; i++)
    if (strcmp(d->streams[i].name, stream_name) == 0) s = &d->streams[i];
  if (s == NULL) {
    OutStream *grown = realloc(d->streams, (d->n_streams + 1) * sizeof *grown);
    if (grown == NULL) {
      rc = nb_error_set(err, NB_NOMEM, "out of memory");
      goto done;
    }
    d->streams = grown;
    s = &d->streams[d->n_streams];
    memset(s, 0, sizeof *s);
    if ((s->name = strdup(stream_name)) == NULL) {
      rc = nb_error_set(err, NB_NOMEM, "out of memory");
      goto done;
    }
    d->n_streams++;
  } else if (s->schema.release != NULL) {
    s->schema.release(&s->schema);
  }
  s->file = f;
  rc = nb_schema_export(fields, n, &s->schema, err);
  *dest_stream = (uint32_t)(s - d->streams);
done:
  free(fields);
  free(path);
  return rc;
}

/* The end of the bytes a string column's child array uses (its data
 * buffer holds at least that many), or NULL for other types. */
static const char *text_end(const NbColumnView *v) {
  int64_t last = v->array->offset + v->array->length;
  if (v->field.type == NB_TYPE_UTF8 || v->field.type == NB_TYPE_NUMBER ||
      v->field.type == NB_TYPE_JSON)
    return (const char *)v->data + ((const int32_t *)v->offsets)[last];
  if (v->field.type == NB_TYPE_LARGE_UTF8)
    return (const char *)v->data + ((const int64_t *)v->offsets)[last];
  return NULL;
}

/* Rows go to the writer a record at a time (csv_writer_row).  Values of
 * int32-offset string columns are taken straight from the Arrow buffers,
 * with the end of the column's data as the limit the writer may read up
 * to; other types are formatted by nb_view_text into one scratch slot per
 * column. */
int csv_dest_write(void *dest, uint32_t dest_stream, const struct ArrowArray *batch,
                   NbError *err) {
  CsvDest *d = dest;
  OutStream *s;
  CsvWriter *w;
  NbColumnView *views = NULL;
  CsvOutValue *row_values = NULL;
  const char **ends = NULL;
  char (*scratch)[NB_TEXT_SCRATCH] = NULL;
  size_t n = 0, c;
  int64_t row;
  int rc;

  if (dest_stream >= d->n_streams)
    return nb_error_set(err, NB_INVALID, "destination stream %u is out of range", dest_stream);
  s = &d->streams[dest_stream];
  w = s->file->writer;
  if ((rc = nb_batch_views(&s->schema, batch, &views, &n, err)) != NB_OK) return rc;
  if (n == 0) {
    free(views);
    return NB_OK;
  }
  row_values = calloc(n, sizeof *row_values);
  ends = calloc(n, sizeof *ends);
  scratch = calloc(n, sizeof *scratch);
  if (row_values == NULL || ends == NULL || scratch == NULL) {
    rc = nb_error_set(err, NB_NOMEM, "out of memory");
    goto done;
  }
  for (c = 0; c < n; c++) ends[c] = text_end(&views[c]);
  for (row = 0; row < batch->length; row++) {
    for (c = 0; c < n; c++) {
      const NbColumnView *v = &views[c];
      CsvOutValue *out = &row_values[c];
      if (nb_view_is_null(v, row)) {
        out->data = NULL;
      } else if (v->field.type != NB_TYPE_LARGE_UTF8 && ends[c] != NULL) {
        const int32_t *o = v->offsets;
        int64_t i = row + v->offset;
        out->data = (const char *)v->data + o[i];
        out->len = (size_t)(o[i + 1] - o[i]);
        out->readable = ends[c];
      } else {
        out->len = nb_view_text(v, row, scratch[c], &out->data);
        out->readable = out->data + out->len;
      }
    }
    if ((rc = csv_writer_row(w, row_values, n, err)) != NB_OK) goto done;
  }
done:
  free(row_values);
  free(ends);
  free(scratch);
  free(views);
  return rc;
}

static int reserve_state(CsvDest *d, size_t need, NbError *err) {
  uint8_t *grown;
  if (d->state_cap >= need) return NB_OK;
  grown = realloc(d->state, need);
  if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->state = grown;
  d->state_cap = need;
  return NB_OK;
}

static int encode_state(CsvDest *d, size_t *len, NbError *err) {
  size_t need = STATE_MAGIC_LEN + 4, i;
  uint8_t *p;
  int rc;
  if (!d->per_stream) {
    uint64_t values[2] = {0, 0};
    if (d->n_files > 0) {
      values[0] = d->files[0]->committed;
      values[1] = d->files[0]->hash;
    } else if (d->n_resume > 0) {
      values[0] = d->resume[0].length;
      values[1] = d->resume[0].hash;
    }
    if ((rc = reserve_state(d, NB_POSITION_MAX_BYTES, err)) != NB_OK) return rc;
    *len = nb_position_encode(d->state, d->state_cap, values, 2);
    return NB_OK;
  }
  for (i = 0; i < d->n_files; i++) need += 20 + strlen(d->files[i]->path);
  if ((rc = reserve_state(d, need, err)) != NB_OK) return rc;
  memcpy(d->state, STATE_MAGIC, STATE_MAGIC_LEN);
  put_u32(d->state + STATE_MAGIC_LEN, (uint32_t)d->n_files);
  p = d->state + STATE_MAGIC_LEN + 4;
  for (i = 0; i < d->n_files; i++) {
    const OutFile *f = d->files[i];
    size_t plen = strlen(f->path);
    put_u64(p, f->committed);
    put_u64(p + 8, f->hash);
    put_u32(p + 16, (uint32_t)plen);
    memcpy(p + 20, f->path, plen);
    p += 20 + plen;
  }
  *len = need;
  return NB_OK;
}

int csv_dest_commit(void *dest, const void **state, size_t *state_len, NbError *err) {
  CsvDest *d = dest;
  size_t i, len = 0;
  int rc;
  for (i = 0; i < d->n_files; i++) {
    OutFile *f = d->files[i];
    uint64_t length = 0;
    if ((rc = csv_writer_flush(f->writer, err)) != NB_OK) return rc;
    if ((rc = d->host->file_commit(f->file, &length, err)) != NB_OK) return rc;
    f->committed = length;
  }
  if ((rc = encode_state(d, &len, err)) != NB_OK) return rc;
  *state = d->state;
  *state_len = len;
  return NB_OK;
}

static int state_error(NbError *err, const char *why) {
  nb_error_set(err, NB_INVALID, "destination state is not a csv state for this \"path\"");
  nb_error_detail(err, "%s", why);
  nb_error_hint(err, "Start without the state file, or restore the setting \"path\" of the "
                     "interrupted run.");
  return NB_INVALID;
}

static int decode_state(CsvDest *d, const uint8_t *state, size_t len, NbError *err) {
  const uint8_t *p, *end = state + len;
  uint32_t count, i;
  if (!d->per_stream) {
    uint64_t values[2];
    NbError why;
    nb_error_init(&why);
    if (nb_position_decode(state, len, values, 2, &why) != NB_OK) {
      nb_error_release(&why);
      return state_error(err, "The state does not hold the length of one file.");
    }
    d->resume = calloc(1, sizeof *d->resume);
    if (d->resume == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    d->resume[0].length = values[0];
    d->resume[0].hash = values[1];
    d->n_resume = 1;
    return NB_OK;
  }
  if (len < STATE_MAGIC_LEN + 4 || memcmp(state, STATE_MAGIC, STATE_MAGIC_LEN) != 0)
    return state_error(err, "The state does not hold a list of files.");
  count = get_u32(state + STATE_MAGIC_LEN);
  p = state + STATE_MAGIC_LEN + 4;
  d->resume = calloc(count ? count : 1, sizeof *d->resume);
  if (d->resume == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  for (i = 0; i < count; i++) {
    uint32_t plen;
    if ((size_t)(end - p) < 20) return state_error(err, "The list of files is truncated.");
    plen = get_u32(p + 16);
    if ((size_t)(end - p) - 20 < plen) return state_error(err, "The list of files is truncated.");
    d->resume[i].length = get_u64(p);
    d->resume[i].hash = get_u64(p + 8);
    d->resume[i].path = strndup((const char *)p + 20, plen);
    if (d->resume[i].path == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    d->n_resume = i + 1;
    p += 20 + plen;
  }
  return NB_OK;
}

int csv_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest, NbError *err) {
  NbDeclaredSettings set = CSV_DECLARED(args, NB_SETTING_DEST);
  CsvDest *d;
  const char *path;
  int choice;
  int rc;

  *dest = NULL;
  d = calloc(1, sizeof *d);
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->host = host;
  if ((rc = csv_format_from_settings(&set, &d->format, err)) != NB_OK) goto fail;
  if ((rc = nb_declared_enum(&set, "line_ending", &choice, err)) != NB_OK) goto fail;
  d->crlf = choice == 1; /* "lf|crlf" */
  if ((rc = nb_declared_enum(&set, "quote_style", &choice, err)) != NB_OK) goto fail;
  d->quote_all = choice == 1; /* "minimal|all" */
  /* REQUIRED: not NULL, not empty. */
  if ((rc = nb_declared_string(&set, "path", &path, err)) != NB_OK) goto fail;
  if ((d->path = strdup(path)) == NULL) {
    rc = nb_error_set(err, NB_NOMEM, "out of memory");
    goto fail;
  }
  d->per_stream = nb_path_has_stream(path);
  if (args->state != NULL &&
      (rc = decode_state(d, args->state, args->state_len, err)) != NB_OK)
    goto fail;
  *dest = d;
  return NB_OK;
fail:
  csv_dest_close(d);
  return rc;
}

void csv_dest_close(void *dest) {
  CsvDest *d = dest;
  size_t i;
  if (d == NULL) return;
  for (i = 0; i < d->n_streams; i++) {
    if (d->streams[i].schema.release != NULL) d->streams[i].schema.release(&d->streams[i].schema);
    free(d->streams[i].name);
  }
  free(d->streams);
  for (i = 0; i < d->n_files; i++) out_file_free(d->files[i]);
  free(d->files);
  for (i = 0; i < d->n_resume; i++) free(d->resume[i].path);
  free(d->resume);
  free(d->state);
  free(d->path);
  csv_format_free(&d->format);
  free(d);
}
