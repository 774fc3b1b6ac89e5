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
 * The header hash lets a resumed run check that its columns are those of
 * the header already in the file.
 */
#include "csv_internal.h"

#include <stdlib.h>
#include <string.h>

#include "csv_writer.h"

#define STATE_MAGIC "NBCSVD1"
#define STATE_MAGIC_LEN 8

typedef struct OutFile {
  char *path;
  NbFile *file;
  CsvWriter *writer;
  bool header_done;     /* the header is in the file (written or resumed) */
  bool has_columns;     /* names below are set */
  char **names;
  size_t n_names;
  uint64_t resumed_hash; /* header hash from the state, 0 if none */
  uint64_t committed;
} OutFile;

typedef struct OutStream {
  char *name;
  size_t file;             /* index into files */
  struct ArrowSchema schema; /* owned copy, for nb_batch_views */
  size_t n_columns;
} OutStream;

typedef struct ResumeEntry {
  char *path;
  uint64_t length;
  uint64_t hash;
} ResumeEntry;

typedef struct CsvDest {
  const NbHostApi *host;
  CsvFormat format;
  const char *compression;
  int32_t level;
  bool crlf;
  bool quote_all;
  char *path;
  bool per_stream;

  OutFile *files;
  size_t n_files;
  OutStream *streams;
  size_t n_streams;

  ResumeEntry *resume;
  size_t n_resume;

  uint8_t *state;
  size_t state_cap;
} CsvDest;

static const char *const compression_choices[] = {"none", "gzip", "zstd", "lz4", "snappy",
                                                  "auto"};

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* FNV-1a over the column names, each followed by a NUL. */
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
  return h | 1; /* never 0, which means "unknown" */
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

/* The stream's file base name without directory and extension(s). */
static char *stream_base_name(const char *stream) {
  const char *base = strrchr(stream, '/');
  const char *dot;
  base = base != NULL ? base + 1 : stream;
  dot = strchr(base + (base[0] == '.' ? 1 : 0), '.');
  return strndup(base, dot != NULL ? (size_t)(dot - base) : strlen(base));
}

/* path with every "{stream}" replaced by the stream's base name. */
static char *resolve_path(const char *tmpl, const char *stream) {
  static const char token[] = "{stream}";
  const size_t token_len = sizeof token - 1;
  char *base = stream_base_name(stream);
  char *out, *o;
  const char *p;
  size_t count = 0, len;
  if (base == NULL) return NULL;
  for (p = strstr(tmpl, token); p != NULL; p = strstr(p + token_len, token)) count++;
  len = strlen(tmpl) + count * strlen(base) + 1;
  out = malloc(len);
  if (out != NULL) {
    o = out;
    for (p = tmpl; *p != '\0';) {
      if (strncmp(p, token, token_len) == 0) {
        strcpy(o, base);
        o += strlen(base);
        p += token_len;
      } else {
        *o++ = *p++;
      }
    }
    *o = '\0';
  }
  free(base);
  return out;
}

static void list_names(char *const *names, size_t n, char *buf, size_t cap) {
  size_t used = 0, i;
  buf[0] = '\0';
  if (n == 0) snprintf(buf, cap, "no columns");
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
  OutFile *f = ((void **)ctx)[0];
  const CsvDest *d = ((void **)ctx)[1];
  return d->host->file_write(f->file, buf, len, err);
}

/* The sink context: the file and the destination, kept beside the file so
 * the pointer stays valid when the files array grows. */
typedef struct SinkCtx {
  void *pair[2];
} SinkCtx;

static const ResumeEntry *find_resume(const CsvDest *d, const char *path) {
  size_t i;
  for (i = 0; i < d->n_resume; i++)
    if (d->per_stream ? strcmp(d->resume[i].path, path) == 0 : true) return &d->resume[i];
  return NULL;
}

static void out_file_free(const CsvDest *d, OutFile *f) {
  size_t i;
  if (f->writer != NULL) {
    csv_writer_flush(f->writer, NULL);
    csv_writer_free(f->writer);
  }
  if (f->file != NULL) d->host->file_close(f->file, NULL);
  for (i = 0; i < f->n_names; i++) free(f->names[i]);
  free(f->names);
  free(f->path);
}

typedef struct FileSlot {
  OutFile file;
  SinkCtx sink;
} FileSlot;

static int open_out_file(CsvDest *d, const char *path, size_t *index, NbError *err) {
  OutFile *grown;
  OutFile *f;
  NbWriteOptions options;
  CsvWriterOptions wopt;
  CsvSink sink;
  const ResumeEntry *resume = find_resume(d, path);
  void **pair;
  int rc;
  size_t i;

  for (i = 0; i < d->n_files; i++) {
    if (strcmp(d->files[i].path, path) == 0) {
      *index = i;
      return NB_OK;
    }
  }
  grown = realloc(d->files, (d->n_files + 1) * sizeof *grown);
  if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  d->files = grown;
  f = &d->files[d->n_files];
  memset(f, 0, sizeof *f);
  f->path = strdup(path);
  pair = malloc(2 * sizeof *pair);
  if (f->path == NULL || pair == NULL) {
    free(f->path);
    free(pair);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }

  memset(&options, 0, sizeof options);
  options.struct_size = (uint32_t)sizeof options;
  options.compression = d->compression;
  options.level = d->level;
  options.resume_length = resume != NULL ? (int64_t)resume->length : -1;
  rc = d->host->file_open_write(d->host->host_data, path, &options, &f->file, err);
  if (rc != NB_OK) {
    free(f->path);
    free(pair);
    return rc;
  }
  memset(&wopt, 0, sizeof wopt);
  wopt.delimiter = d->format.delimiter;
  wopt.quote = d->format.quote;
  wopt.null_string = d->format.null_string;
  wopt.crlf = d->crlf;
  wopt.quote_all = d->quote_all;
  /* The writer's sink context must not move: the files array may grow, so
   * the sink finds its file through the index kept in pair[0]. */
  pair[0] = (void *)(uintptr_t)d->n_files;
  pair[1] = d;
  sink.write = file_sink_write;
  sink.ctx = pair;
  rc = csv_writer_new(&wopt, &sink, &f->writer, err);
  if (rc != NB_OK) {
    d->host->file_close(f->file, NULL);
    free(f->path);
    free(pair);
    return rc;
  }
  f->committed = resume != NULL ? resume->length : 0;
  f->header_done = resume != NULL && resume->length > 0;
  f->resumed_hash = resume != NULL && resume->length > 0 ? resume->hash : 0;
  *index = d->n_files++;
  return NB_OK;
}
