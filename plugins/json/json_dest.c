/*
 * json_dest.c - the json destination: each row becomes one JSON object
 * whose keys are the schema's column names in schema order, written as
 * JSON Lines or as one JSON array.
 *
 * Values: null -> null; UTF8 -> a string, escaped (", \ and control
 * characters; U+2028/U+2029 too with escape_unicode_separators), and a
 * value that is not valid UTF-8 is refused (NB_DATA naming row and column:
 * replacing bytes would change the data); NUMBER, INT64, FLOAT64,
 * DECIMAL128 -> the number as text, NUMBER checked against the JSON number
 * grammar (FLOAT64 NaN and infinities have no JSON form: NB_DATA); JSON -> the text
 * after checking it is one valid JSON value (insignificant whitespace is
 * removed so a JSON Lines record stays on one line); BOOL -> true/false;
 * DATE32 and TIMESTAMP -> quoted ISO 8601 strings.
 *
 * dest_write is all or nothing: on NB_DATA none of the batch is written.
 * It works in two phases: check_batch looks for a value that cannot be
 * written (cheaply: one scan of each text column tells whether it is all
 * ASCII, and whether it is "plain", needing no escaping at all), then the
 * rows are formatted, passed to file_write every FLUSH_BYTES, so memory
 * does not grow with the batch.  Formatting is the hot path: each column's
 * key ("{\"name\":" or ",\"name\":") is escaped once per schema and
 * copied as a block.  Batches of UTF8 columns only (text sources: CSV,
 * generate) are formatted by write_rows_by_column, 32 rows at a time and
 * one column at a time (each row's length first, then its bytes), which
 * reads the batch in order instead of from every column at once; values of
 * plain columns are copied in 16-byte blocks.  Other batches take
 * write_rows, row by row, room reserved once per 64 rows and plain ASCII
 * strings copied 16 bytes at a time (json_put_plain_string).
 *
 * Array format: "[\n" before the first row, ",\n" between rows, and the
 * closing "\n]\n" ("[]\n" with no rows) by dest_finish (ABI 1.1), which
 * the host calls when the run completed: a failure to write or sync it
 * fails the run.  A destination closed without dest_finish (a failed or
 * stopped run, or a 1.0 host) still gets the bracket at close, as before,
 * where a failure can only be logged.  Commits never include the bracket,
 * so the state (committed length and whether a row was written, per file)
 * lets a resumed run truncate to the last commit and go on with ",\n".
 *
 * "{stream}" in path gives one file per stream (the stream name's base
 * name without extensions); without it all streams go to the one file,
 * which is created at open.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_connector.h"
#include "json_parser.h"
#include "json_reader.h"
#include "json_utf8.h"
#include "json_writer.h"

typedef struct OutFile {
  char *path;
  NbFile *file;
  JsonBuf buf;             /* written rows not yet passed to file_write */
  bool any_row;            /* a row is in the file or the buffer */
  bool ended;              /* the array's closing bracket is written */
} OutFile;

typedef struct DestStream {
  char *name;
  size_t out;              /* index in files */
  struct ArrowSchema schema; /* our copy */
  NbField *fields;         /* point into schema */
  size_t n_fields;
  char *keys;              /* "{\"a\":" ",\"b\":" ... back to back,
                              then KEY_BLOCK bytes of padding */
  size_t *key_off;
  size_t *key_len;
  size_t row_bound;        /* fixed part of a row's size bound */
} DestStream;

/* A file of the saved state: its committed length. */
typedef struct SavedFile {
  char *path;
  uint64_t length;
  bool any_row;
} SavedFile;

typedef struct JsonDest {
  const NbHostApi *host;
  char *path;
  bool per_stream;
  JsonFormat format;
  char *compression;
  int32_t level;
  bool escape_separators;
  OutFile *files;
  size_t n_files;
  DestStream *streams;
  size_t n_streams;
  SavedFile *saved;        /* from the last commit (or the resumed state) */
  size_t n_saved;
  JsonParser validator;
  JsonBuf scratch;
  JsonBuf state;
} JsonDest;

#define STATE_MAGIC "nebula-json-dest 1\n"

/* ------------------------------------------------------------------------
 * State: committed length and "a row was written" per file
 * ------------------------------------------------------------------------ */

static SavedFile *saved_find(JsonDest *d, const char *path) {
  for (size_t i = 0; i < d->n_saved; i++)
    if (strcmp(d->saved[i].path, path) == 0) return &d->saved[i];
  return NULL;
}

static int saved_set(JsonDest *d, const char *path, uint64_t length,
                     bool any_row) {
  SavedFile *f = saved_find(d, path);
  if (f == NULL) {
    SavedFile *v = realloc(d->saved, (d->n_saved + 1) * sizeof *v);
    if (v == NULL) return NB_NOMEM;
    d->saved = v;
    f = &v[d->n_saved];
    f->path = strdup(path);
    if (f->path == NULL) return NB_NOMEM;
    d->n_saved++;
  }
  f->length = length;
  f->any_row = any_row;
  return NB_OK;
}

/* "nebula-json-dest 1\n" then per file "<length> <any_row> <path length>
 * <path>\n". */
static int parse_state(JsonDest *d, const char *s, size_t len, NbError *err) {
  const char *end = s + len;
  size_t magic = strlen(STATE_MAGIC);
  if (len < magic || memcmp(s, STATE_MAGIC, magic) != 0) goto bad;
  s += magic;
  while (s < end) {
    unsigned long long length, path_len;
    int any_row, used = 0;
    char head[96];
    size_t n = (size_t)(end - s) < sizeof head - 1 ? (size_t)(end - s) : sizeof head - 1;
    memcpy(head, s, n);
    head[n] = '\0';
    if (sscanf(head, "%llu %d %llu %n", &length, &any_row, &path_len, &used) != 3 || used == 0)
      goto bad;
    s += used;
    if (path_len == 0 || path_len > (size_t)(end - s) - 1 || s[path_len] != '\n') goto bad;
    char *path = strndup(s, (size_t)path_len);
    if (path == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the json destination");
    int rc = saved_set(d, path, length, any_row != 0);
    free(path);
    if (rc != NB_OK) return nb_error_set(err, rc, "out of memory opening the json destination");
    s += path_len + 1;
  }
  return NB_OK;
bad:
  nb_error_set(err, NB_INVALID, "the saved state is not a json destination state");
  nb_error_hint(err, "Resume with the same destination, or start afresh without the state file.");
  return NB_INVALID;
}

static int build_state(JsonDest *d) {
  JsonBuf *b = &d->state;
  b->len = 0;
  if (!json_buf_reserve(b, strlen(STATE_MAGIC))) return NB_NOMEM;
  json_buf_put(b, STATE_MAGIC, strlen(STATE_MAGIC));
  for (size_t i = 0; i < d->n_saved; i++) {
    const SavedFile *f = &d->saved[i];
    size_t plen = strlen(f->path);
    if (!json_buf_reserve(b, plen + 80)) return NB_NOMEM;
    b->len += (size_t)snprintf(b->data + b->len, 80, "%llu %d %zu ",
                               (unsigned long long)f->length, f->any_row ? 1 : 0, plen);
    json_buf_put(b, f->path, plen);
    json_buf_put(b, "\n", 1);
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

static int flush(JsonDest *d, OutFile *f, NbError *err) {
  if (f->buf.len == 0) return NB_OK;
  int rc = d->host->file_write(f->file, f->buf.data, f->buf.len, err);
  f->buf.len = 0;
  return rc;
}

/* The index of the open file for path, opening it if needed. */
static int open_file(JsonDest *d, const char *path, size_t *index,
                     NbError *err) {
  for (size_t i = 0; i < d->n_files; i++) {
    if (strcmp(d->files[i].path, path) == 0) {
      *index = i;
      return NB_OK;
    }
  }
  OutFile *v = realloc(d->files, (d->n_files + 1) * sizeof *v);
  if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  d->files = v;
  OutFile *f = &v[d->n_files];
  memset(f, 0, sizeof *f);
  f->path = strdup(path);
  if (f->path == NULL || !json_buf_reserve(&f->buf, JSON_IO_SIZE + JSON_IO_SIZE / 4)) {
    free(f->path);
    json_buf_free(&f->buf);
    return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  }

  NbWriteOptions opts;
  memset(&opts, 0, sizeof opts);
  opts.struct_size = (uint32_t)sizeof opts;
  opts.compression = d->compression;
  opts.level = d->level;
  opts.resume_length = -1;
  const SavedFile *saved = saved_find(d, path);
  if (saved != NULL) {
    /* Resume: drop what was written after the last commit. */
    opts.resume_length = (int64_t)saved->length;
    f->any_row = saved->any_row;
  }
  int rc = d->host->file_open_write(d->host->host_data, path, &opts, &f->file, err);
  if (rc != NB_OK) {
    free(f->path);
    json_buf_free(&f->buf);
    return rc;
  }
  *index = d->n_files++;
  return NB_OK;
}

/* path with every "{stream}" replaced by the stream name's base name
 * without its extensions ("data/in.csv.gz" -> "in"). */
static char *stream_path(const char *pattern, const char *stream) {
  const char *base = strrchr(stream, '/');
  base = base ? base + 1 : stream;
  const char *dot = strchr(base + (base[0] == '.'), '.');
  size_t blen = dot ? (size_t)(dot - base) : strlen(base);
  size_t n = 0;
  for (const char *p = pattern; (p = strstr(p, "{stream}")) != NULL; p += 8) n++;
  char *out = malloc(strlen(pattern) + n * blen + 1);
  if (out == NULL) return NULL;
  char *o = out;
  for (const char *p = pattern; *p;) {
    if (strncmp(p, "{stream}", 8) == 0) {
      memcpy(o, base, blen);
      o += blen;
      p += 8;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
  return out;
}

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------ */

static int bad_value(JsonDest *d, const OutFile *f, const DestStream *s,
                     size_t col, int64_t row, NbError *err, const char *fmt,
                     ...) __attribute__((format(printf, 7, 8)));
static int bad_value(JsonDest *d, const OutFile *f, const DestStream *s,
                     size_t col, int64_t row, NbError *err, const char *fmt,
                     ...) {
  char why[200];
  va_list ap;
  (void)d;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  nb_error_set(err, NB_DATA, "cannot write column \"%s\" of row %lld of stream \"%s\" as JSON: %s",
               s->fields[col].name, (long long)row + 1, s->name, why);
  nb_error_locate(err, f->path, row + 1, (int64_t)col + 1);
  nb_error_detail(err, "Nothing of this batch was written to file \"%s\".", f->path);
  return NB_DATA;
}

/* Write a string value, escaped. */
static int put_string(JsonDest *d, OutFile *f, const char *text, size_t len,
                      size_t *bad) {
  if (!json_buf_reserve(&f->buf, JSON_ESCAPED_MAX(len))) return NB_NOMEM;
  size_t n = json_escape_string(f->buf.data + f->buf.len, text, len,
                                d->escape_separators, bad);
  if (n == (size_t)-1) return NB_DATA;
  f->buf.len += n;
  return NB_OK;
}

/* Check that text is one valid JSON value, copied into the scratch buffer
 * the validator needs (a NUL and padding after the text).  *space tells
 * whether it holds insignificant whitespace. */
static int check_json(JsonDest *d, const char *text, size_t len, bool *space) {
  JsonBuf *sc = &d->scratch;
  sc->len = 0;
  if (!json_buf_reserve(sc, len + 1 + JSON_PADDING)) return NB_NOMEM;
  memcpy(sc->data, text, len);
  memset(sc->data + len, 0, 1 + JSON_PADDING);
  *space = false;
  JsonResult r = json_validate(&d->validator, sc->data, len, space);
  if (r == JSON_NOMEM) return NB_NOMEM;
  return r == JSON_OK ? NB_OK : NB_DATA;
}

/* Write a JSON column's text (already checked): one value, without
 * whitespace. */
static int put_json(JsonDest *d, OutFile *f, const char *text, size_t len) {
  bool space;
  int rc = check_json(d, text, len, &space);
  if (rc != NB_OK) return rc;
  if (!json_buf_reserve(&f->buf, len)) return NB_NOMEM;
  if (space) f->buf.len += json_minify(d->scratch.data, len, f->buf.data + f->buf.len);
  else json_buf_put(&f->buf, text, len);
  return NB_OK;
}

/* The bytes of a string column's value (UTF8, NUMBER, JSON, LARGE_UTF8). */
static inline const char *string_at(const NbColumnView *v, int64_t row, size_t *len) {
  int64_t i = row + v->offset;
  if (v->field.type == NB_TYPE_LARGE_UTF8) {
    const int64_t *o = v->offsets;
    *len = (size_t)(o[i + 1] - o[i]);
    return (const char *)v->data + o[i];
  }
  const int32_t *o = v->offsets;
  *len = (size_t)(o[i + 1] - o[i]);
  return (const char *)v->data + o[i];
}

/* The end of the bytes a string column's child array uses: its data
 * buffer holds at least that many. */
static const char *string_data_end(const NbColumnView *v) {
  int64_t last = v->array->offset + v->array->length;
  if (v->field.type == NB_TYPE_LARGE_UTF8)
    return (const char *)v->data + ((const int64_t *)v->offsets)[last];
  return (const char *)v->data + ((const int32_t *)v->offsets)[last];
}

static bool is_string_type(NbType type) {
  return type == NB_TYPE_UTF8 || type == NB_TYPE_LARGE_UTF8 || type == NB_TYPE_NUMBER ||
         type == NB_TYPE_JSON;
}

/* Bytes of string data of rows [first, end) of a string column. */
static size_t string_bytes(const NbColumnView *v, int64_t first, int64_t end) {
  size_t len;
  const char *a = string_at(v, first, &len);
  const char *b = end > first ? string_at(v, end - 1, &len) + len : a;
  return (size_t)(b - a);
}

/* What write_row needs of a column, gathered once per batch so the row
 * loop reads one small struct per value.  offsets is set only for UTF8
 * columns (int32 offsets), whose values take the fast string path and may
 * be read up to `readable`, the end of the column's data; check_batch sets
 * plain for those whose bytes in the batch need no escaping at all. */
typedef struct ColumnPlan {
  const char *key;
  size_t key_len;
  const int32_t *offsets;
  const char *data;
  const char *readable;
  const uint8_t *validity;
  int64_t offset;
  const NbColumnView *view;
  bool plain; /* a UTF8 column whose values need no escaping (check_batch) */
  size_t tail; /* bytes every row writes after this column's value */
} ColumnPlan;

static void plan_columns(const JsonDest *d, const DestStream *s, const NbColumnView *views,
                         ColumnPlan *plan) {
  size_t tail = d->format == JSON_FORMAT_LINES ? 2 : 1; /* "}\n" or "}" */
  for (size_t c = s->n_fields; c-- > 0;) {
    plan[c].tail = tail;
    tail += s->key_len[c] + 2; /* key, and at least two bytes of value */
  }
  for (size_t c = 0; c < s->n_fields; c++) {
    const NbColumnView *v = &views[c];
    ColumnPlan *p = &plan[c];
    size_t after = p->tail;
    memset(p, 0, sizeof *p);
    p->tail = after;
    p->key = s->keys + s->key_off[c];
    p->key_len = s->key_len[c];
    p->validity = v->validity;
    p->offset = v->offset;
    p->view = v;
    if (v->field.type == NB_TYPE_UTF8) {
      p->offsets = v->offsets;
      p->data = (const char *)v->data;
      p->readable = string_data_end(v);
    }
  }
}

/* One scan of a text column's bytes: true when none needs escaping (no
 * '"', '\\', control or non-ASCII byte), so its values can be copied as
 * they are; *ascii tells whether they are all ASCII (valid UTF-8). */
static bool scan_plain(const char *s, size_t len, bool *ascii) {
  size_t i = 0;
  unsigned special = 0;
#if defined(__SSE2__)
  __m128i any = _mm_setzero_si128(), high = _mm_setzero_si128();
  for (; i + 16 <= len; i += 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    any = _mm_or_si128(any, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                                      _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                                         _mm_cmplt_epi8(x, _mm_set1_epi8(0x20))));
    high = _mm_or_si128(high, x);
  }
  special = (unsigned)_mm_movemask_epi8(any);
  *ascii = _mm_movemask_epi8(high) == 0;
#else
  *ascii = true;
#endif
  for (; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80) *ascii = false;
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) special = 1;
  }
  return special == 0;
}

/* Phase one of a batch: find a value that cannot be written (invalid
 * UTF-8, a float without JSON form, a NUMBER or JSON value that does not
 * parse) before anything is written, so that a refused batch leaves
 * nothing behind although phase two flushes as it goes.  Text columns
 * whose bytes are all ASCII (the usual case) are cleared in one scan. */
static int check_batch(JsonDest *d, const OutFile *f, const DestStream *s,
                       const NbColumnView *views, ColumnPlan *plan, int64_t length,
                       NbError *err) {
  for (size_t c = 0; c < s->n_fields; c++) {
    const NbColumnView *v = &views[c];
    NbType type = v->field.type;
    bool text = type == NB_TYPE_UTF8 || type == NB_TYPE_LARGE_UTF8;
    if (text) {
      size_t len;
      bool ascii;
      if (length == 0) continue;
      /* Bytes of null values are scanned too: harmless, and rare. */
      plan[c].plain = scan_plain(string_at(v, 0, &len), string_bytes(v, 0, length), &ascii) &&
                      plan[c].offsets != NULL;
      if (ascii) continue;
    } else if (type != NB_TYPE_FLOAT64 && type != NB_TYPE_NUMBER && type != NB_TYPE_JSON) {
      continue; /* always writable */
    }
    for (int64_t row = 0; row < length; row++) {
      size_t len;
      const char *value;
      if (nb_view_is_null(v, row)) continue;
      if (type == NB_TYPE_FLOAT64) {
        double x;
        memcpy(&x, v->data + 8 * (row + v->offset), sizeof x);
        if (!isfinite(x))
          return bad_value(d, f, s, c, row, err, "%s has no JSON representation",
                           isnan(x) ? "NaN" : "an infinite number");
        continue;
      }
      value = string_at(v, row, &len);
      if (text) {
        size_t bad = json_utf8_check(value, len);
        if (bad != len)
          return bad_value(d, f, s, c, row, err,
                           "the value is not valid UTF-8 (byte 0x%02X at offset %zu)",
                           (unsigned char)value[bad], bad);
      } else if (type == NB_TYPE_NUMBER) {
        if (!json_number_valid(value, len))
          return bad_value(d, f, s, c, row, err, "\"%.*s\" is not a JSON number",
                           (int)(len > 40 ? 40 : len), value);
      } else {
        bool space;
        int rc = check_json(d, value, len, &space);
        if (rc == NB_NOMEM)
          return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", f->path);
        if (rc != NB_OK)
          return bad_value(d, f, s, c, row, err, "the value is not valid JSON: %s",
                           d->validator.error);
      }
    }
  }
  return NB_OK;
}

/* Write one non-null value that check_batch accepted, through the general
 * (slower) paths.  Returns NB_OK or NB_NOMEM. */
static int write_value(JsonDest *d, OutFile *f, const NbColumnView *v, int64_t row) {
  char scratch[NB_TEXT_SCRATCH];
  const char *text;
  size_t len, bad;
  int64_t i = row + v->offset;

  switch (v->field.type) {
    case NB_TYPE_UTF8:
    case NB_TYPE_LARGE_UTF8:
      text = string_at(v, row, &len);
      return put_string(d, f, text, len, &bad);
    case NB_TYPE_BOOL:
      if (!json_buf_reserve(&f->buf, 5)) return NB_NOMEM;
      if ((v->data[i >> 3] >> (i & 7)) & 1) json_buf_put(&f->buf, "true", 4);
      else json_buf_put(&f->buf, "false", 5);
      return NB_OK;
    case NB_TYPE_FLOAT64:
    case NB_TYPE_INT64:
    case NB_TYPE_DECIMAL128:
    case NB_TYPE_NUMBER:
      len = nb_view_text(v, row, scratch, &text);
      if (!json_buf_reserve(&f->buf, len)) return NB_NOMEM;
      json_buf_put(&f->buf, text, len);
      return NB_OK;
    case NB_TYPE_JSON:
      len = nb_view_text(v, row, scratch, &text);
      return put_json(d, f, text, len);
    case NB_TYPE_DATE32:
    case NB_TYPE_TIMESTAMP:
    default:
      len = nb_view_text(v, row, scratch, &text);
      return put_string(d, f, text, len, &bad);
  }
}

/* Formatted rows are passed to file_write (which copies them into the
 * host's 1 MiB write buffer) every FLUSH_BYTES: small enough that the rows
 * are still in the core's cache when copied, and that the buffer stays
 * small next to the batch being read. */
#define FLUSH_BYTES ((size_t)64 << 10)

/* Keys of at most KEY_BLOCK bytes are copied as one fixed-size block (the
 * key buffer and the output have room for it): no memcpy call per value. */
#define KEY_BLOCK 32
/* Rows formatted per capacity check. */
#define ROWS_PER_STEP 64

/* Room rows [first, end) may need: per row the keys and brackets, per
 * value its fixed bound (stream_set_schema) plus, for strings, six bytes
 * per byte of text (every byte escaped), and the slack of the block
 * copies. */
static size_t rows_bound(const DestStream *s, const NbColumnView *views, int64_t first,
                         int64_t end) {
  size_t n = (size_t)(end - first);
  size_t bound = n * s->row_bound + 2 * KEY_BLOCK;
  for (size_t c = 0; c < s->n_fields; c++)
    if (is_string_type(views[c].field.type)) bound += 6 * string_bytes(&views[c], first, end);
  return bound;
}

/* One row, into room reserved by the caller.  Plain ASCII strings are
 * copied by json_put_plain_string; everything else takes write_value. */
static int write_row(JsonDest *d, OutFile *f, const DestStream *s, const ColumnPlan *plan,
                     int64_t row) {
  char *out = f->buf.data + f->buf.len;
  if (d->format != JSON_FORMAT_LINES) {
    memcpy(out, f->any_row ? ",\n" : "[\n", 2);
    out += 2;
    f->any_row = true;
  }
  if (s->n_fields == 0) *out++ = '{';
  for (size_t c = 0; c < s->n_fields; c++) {
    const ColumnPlan *p = &plan[c];
    int64_t i = row + p->offset;
    if (p->key_len <= KEY_BLOCK) memcpy(out, p->key, KEY_BLOCK);
    else memcpy(out, p->key, p->key_len);
    out += p->key_len;
    if (p->validity != NULL && !((p->validity[i >> 3] >> (i & 7)) & 1)) {
      memcpy(out, "null", 4);
      out += 4;
      continue;
    }
    if (p->plain) {
      /* Copied as it is, in whole 16-byte blocks when they stay within
       * the column's data (the output has the slack: rows_bound). */
      const char *v = p->data + p->offsets[i];
      size_t len = (size_t)(p->offsets[i + 1] - p->offsets[i]);
      *out = '"';
      if (len <= 32 && p->readable - v >= 32) {
        memcpy(out + 1, v, 16);
        if (len > 16) memcpy(out + 17, v + 16, 16);
      } else {
        memcpy(out + 1, v, len);
      }
      out[len + 1] = '"';
      out += len + 2;
      continue;
    }
    if (p->offsets != NULL) {
      char *end = json_put_plain_string(out, p->data + p->offsets[i],
                                        (size_t)(p->offsets[i + 1] - p->offsets[i]), p->readable);
      if (end != NULL) {
        out = end;
        continue;
      }
    }
    f->buf.len = (size_t)(out - f->buf.data);
    int rc = write_value(d, f, p->view, row);
    if (rc != NB_OK) return rc;
    out = f->buf.data + f->buf.len;
  }
  *out++ = '}';
  if (d->format == JSON_FORMAT_LINES) *out++ = '\n';
  f->buf.len = (size_t)(out - f->buf.data);
  return NB_OK;
}

/* Phase two, row by row: format the rows, flushing every FLUSH_BYTES, so
 * the buffer stays small whatever the batch size. */
static int write_rows(JsonDest *d, OutFile *f, const DestStream *s,
                      const NbColumnView *views, const ColumnPlan *plan, int64_t length,
                      NbError *err) {
  for (int64_t first = 0; first < length; first += ROWS_PER_STEP) {
    int64_t end = length - first < ROWS_PER_STEP ? length : first + ROWS_PER_STEP;
    if (f->buf.len >= FLUSH_BYTES) {
      int rc = flush(d, f, err);
      if (rc != NB_OK) return rc;
    }
    if (!json_buf_reserve(&f->buf, rows_bound(s, views, first, end)))
      return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", f->path);
    for (int64_t row = first; row < end; row++) {
      if (write_row(d, f, s, plan, row) != NB_OK)
        return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", f->path);
    }
  }
  return NB_OK;
}

/* Rows formatted per step of write_rows_by_column: their output (about
 * 400 bytes a row for typical text rows) stays in L1 while the columns'
 * values are walked one column at a time. */
#define GROUP_ROWS 32
/* The most a block store may write past the end of the group's bytes. */
#define BLOCK_SPILL 32

/* Copy exactly len bytes, with fixed-size (possibly overlapping) moves up
 * to 32 bytes. */
static inline void copy_exact(char *dst, const char *src, size_t len) {
  if (len >= 16) {
    if (len > 32) {
      memcpy(dst, src, len);
      return;
    }
    memcpy(dst, src, 16);
    memcpy(dst + len - 16, src + len - 16, 16);
  } else if (len >= 8) {
    memcpy(dst, src, 8);
    memcpy(dst + len - 8, src + len - 8, 8);
  } else if (len >= 4) {
    memcpy(dst, src, 4);
    memcpy(dst + len - 4, src + len - 4, 4);
  } else if (len > 0) {
    dst[0] = src[0];
    dst[len / 2] = src[len / 2];
    dst[len - 1] = src[len - 1];
  }
}

static inline bool plan_is_null(const ColumnPlan *p, int64_t i) {
  return p->validity != NULL && !((p->validity[i >> 3] >> (i & 7)) & 1);
}

/* True when the value v[0..len) needs no escaping; whole 16-byte blocks
 * are read, so only when they stay below `readable` (false otherwise: the
 * caller then escapes, which is always right). */
static inline bool value_is_plain(const char *v, size_t len, const char *readable) {
#if defined(__SSE2__)
  if (len == 0) return true;
  if (readable - v < 16 || (size_t)(readable - v) < len) return false;
  if (len <= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)v);
    return (json_plain_mask(x) & ((1u << len) - 1)) == 0;
  }
  for (size_t k = 0; k + 16 < len; k += 16)
    if (json_plain_mask(_mm_loadu_si128((const __m128i *)(const void *)(v + k))) != 0)
      return false;
  return json_plain_mask(_mm_loadu_si128((const __m128i *)(const void *)(v + len - 16))) == 0;
#else
  (void)readable;
  return len == 0;
#endif
}

/* Add to width[r] what column p adds to row first + r beyond its key and
 * two quotes: the value's bytes, escaped if need be (escaping into the
 * scratch buffer only to learn the length), or 2 for "null". */
static int measure_column(JsonDest *d, const ColumnPlan *p, int64_t first, size_t n,
                          uint32_t *width) {
  const int32_t *o = p->offsets + p->offset + first;
  size_t r = 0;
  if (p->plain) {
#if defined(__SSE2__)
    for (; r + 4 <= n; r += 4) {
      __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)(o + r));
      __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(o + r + 1));
      __m128i *w = (__m128i *)(void *)(width + r);
      _mm_storeu_si128(w, _mm_add_epi32(_mm_loadu_si128(w), _mm_sub_epi32(hi, lo)));
    }
#endif
    for (; r < n; r++) width[r] += (uint32_t)(o[r + 1] - o[r]);
    if (p->validity != NULL) {
      for (r = 0; r < n; r++)
        if (plan_is_null(p, first + (int64_t)r + p->offset))
          width[r] = width[r] + 2 - (uint32_t)(o[r + 1] - o[r]);
    }
    return NB_OK;
  }
  for (r = 0; r < n; r++) {
    const char *v = p->data + o[r];
    size_t len = (size_t)(o[r + 1] - o[r]), bad, w;
    if (plan_is_null(p, first + (int64_t)r + p->offset)) {
      width[r] += 2;
      continue;
    }
    if (value_is_plain(v, len, p->readable)) {
      width[r] += (uint32_t)len;
      continue;
    }
    if (!json_buf_reserve(&d->scratch, JSON_ESCAPED_MAX(len))) return NB_NOMEM;
    w = json_escape_string(d->scratch.data, v, len, d->escape_separators, &bad);
    if (w == (size_t)-1) return NB_DATA; /* check_batch let it through: cannot happen */
    width[r] += (uint32_t)(w - 2);
  }
  return NB_OK;
}

/* The common case of write_column: a plain column whose values of the
 * group may be read in 16-byte blocks.  The key is stored as one 32-byte
 * block kept in registers (with the opening quote) when key_spill, a value
 * of up to 32 bytes as one or two blocks when value_spill; otherwise
 * exactly. */
static inline __attribute__((always_inline)) void write_plain_column(
    const ColumnPlan *p, int64_t first, size_t n, char *base, size_t *cur, bool key_spill,
    bool value_spill) {
  /* Locals, not p->...: the stores through out could alias *p, which
   * would make the compiler reload every field after every value. */
  const int32_t *o = p->offsets + p->offset + first;
  const char *data = p->data, *key = p->key;
  const uint8_t *validity = p->validity;
  int64_t bit = first + p->offset;
  size_t key_len = p->key_len;
  char block[KEY_BLOCK];
  uint64_t k[KEY_BLOCK / 8];
  int32_t start = o[0];
  memcpy(block, key, KEY_BLOCK);
  block[key_len] = '"';
  memcpy(k, block, KEY_BLOCK);
  for (size_t r = 0; r < n; r++, bit++) {
    char *out = base + cur[r];
    int32_t end = o[r + 1];
    const char *v = data + start;
    size_t len = (size_t)(end - start);
    start = end;
    if (validity != NULL && !((validity[bit >> 3] >> (bit & 7)) & 1)) {
      copy_exact(out, key, key_len);
      memcpy(out + key_len, "null", 4);
      cur[r] += key_len + 4;
      continue;
    }
    if (key_spill) {
      memcpy(out, k, KEY_BLOCK);
    } else {
      copy_exact(out, key, key_len);
      out[key_len] = '"';
    }
    out += key_len + 1;
    if (value_spill && len <= 32) {
      memcpy(out, v, 16);
      if (len > 16) memcpy(out + 16, v + 16, 16);
    } else {
      copy_exact(out, v, len);
    }
    out[len] = '"';
    cur[r] = (size_t)(out + len + 1 - base);
  }
}

/* Write column p of rows first .. first + n - 1, each at base + cur[r].
 * Block stores may write past what they copy (a key block up to
 * KEY_BLOCK - 2 bytes past the value, a value block up to 16): into bytes
 * the row writes later when the column's tail is long enough, otherwise
 * the bytes are copied exactly. */
static void write_column(JsonDest *d, const ColumnPlan *p, int64_t first, size_t n, char *base,
                         size_t *cur) {
  const int32_t *o = p->offsets + p->offset + first;
  bool key_spill = p->tail >= KEY_BLOCK && p->key_len < KEY_BLOCK;
  bool value_spill = p->tail >= 16;
  if (p->plain && p->key_len < KEY_BLOCK && p->readable - (p->data + o[n]) >= 32) {
    /* Constant flags: one loop without tests per combination. */
    if (key_spill && value_spill) write_plain_column(p, first, n, base, cur, true, true);
    else if (value_spill) write_plain_column(p, first, n, base, cur, false, true);
    else write_plain_column(p, first, n, base, cur, false, false);
    return;
  }
  for (size_t r = 0; r < n; r++) {
    char *out = base + cur[r];
    const char *v = p->data + o[r];
    size_t len = (size_t)(o[r + 1] - o[r]), bad;
    if (key_spill) memcpy(out, p->key, KEY_BLOCK);
    else copy_exact(out, p->key, p->key_len);
    out += p->key_len;
    if (plan_is_null(p, first + (int64_t)r + p->offset)) {
      memcpy(out, "null", 4);
      out += 4;
    } else if (p->plain || value_is_plain(v, len, p->readable)) {
      *out = '"';
      copy_exact(out + 1, v, len);
      out[len + 1] = '"';
      out += len + 2;
    } else {
      out += json_escape_string(out, v, len, d->escape_separators, &bad);
    }
    cur[r] = (size_t)(out - base);
  }
}

/* Phase two for a batch whose columns are all UTF8 (int32 offsets), the
 * shape of text sources (CSV, generate): GROUP_ROWS rows at a time, first
 * the length of each row, then its bytes, both walking one column at a
 * time.  Reading each column's offsets and bytes in order is what the
 * hardware prefetchers follow; walking all columns row by row would read
 * as many streams at once as there are columns (twice), and stall on
 * them. */
static int write_rows_by_column(JsonDest *d, OutFile *f, const DestStream *s,
                                const NbColumnView *views, const ColumnPlan *plan,
                                int64_t length, NbError *err) {
  bool array = d->format != JSON_FORMAT_LINES;
  size_t end_len = array ? 1 : 2, fixed = end_len + (array ? 2 : 0);
  uint32_t width[GROUP_ROWS];
  size_t cur[GROUP_ROWS];
  size_t text = 0;
  for (size_t c = 0; c < s->n_fields; c++) {
    fixed += s->key_len[c] + 2;
    if (length > 0)
      text += (size_t)(plan[c].offsets[plan[c].offset + length] - plan[c].offsets[plan[c].offset]);
  }
  /* Row widths are counted in 32 bits: enough unless a row could pass
   * 4 GiB (every byte of the batch in it, escaped). */
  if (text > (UINT32_MAX - fixed) / 6)
    return write_rows(d, f, s, views, plan, length, err);
  for (int64_t first = 0; first < length; first += GROUP_ROWS) {
    size_t n = length - first < GROUP_ROWS ? (size_t)(length - first) : GROUP_ROWS;
    size_t total = 0;
    char *base;
    int rc;
    if (f->buf.len >= FLUSH_BYTES && (rc = flush(d, f, err)) != NB_OK) return rc;
    for (size_t r = 0; r < n; r++) width[r] = fixed;
    for (size_t c = 0; c < s->n_fields; c++) {
      rc = measure_column(d, &plan[c], first, n, width);
      if (rc == NB_NOMEM)
        return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", f->path);
      if (rc != NB_OK)
        return nb_error_set(err, NB_INTERNAL, "a value of stream \"%s\" could not be escaped",
                            s->name);
    }
    for (size_t r = 0; r < n; r++) {
      cur[r] = total;
      total += width[r];
    }
    if (!json_buf_reserve(&f->buf, total + BLOCK_SPILL + KEY_BLOCK))
      return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", f->path);
    base = f->buf.data + f->buf.len;
    if (array) {
      for (size_t r = 0; r < n; r++) {
        memcpy(base + cur[r], f->any_row || r > 0 ? ",\n" : "[\n", 2);
        cur[r] += 2;
      }
    }
    for (size_t c = 0; c < s->n_fields; c++) write_column(d, &plan[c], first, n, base, cur);
    if (array) {
      for (size_t r = 0; r < n; r++) base[cur[r]] = '}';
    } else {
      for (size_t r = 0; r < n; r++) memcpy(base + cur[r], "}\n", 2);
    }
    f->buf.len += total;
    f->any_row = true;
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------ */

static void stream_clear_schema(DestStream *s) {
  if (s->schema.release != NULL) s->schema.release(&s->schema);
  memset(&s->schema, 0, sizeof s->schema);
  free(s->fields);
  free(s->keys);
  free(s->key_off);
  free(s->key_len);
  s->fields = NULL;
  s->keys = NULL;
  s->key_off = s->key_len = NULL;
  s->n_fields = 0;
}

/* The most a value of this type writes, text of strings aside: quotes, or
 * a formatted number, date or timestamp (escaped as a string at worst),
 * or null. */
static size_t value_bound(NbType type) {
  switch (type) {
    case NB_TYPE_UTF8:
    case NB_TYPE_LARGE_UTF8: return 4; /* quotes, or null */
    case NB_TYPE_NUMBER:
    case NB_TYPE_JSON: return 4;       /* null */
    default: return JSON_ESCAPED_MAX(NB_TEXT_SCRATCH);
  }
}

/* Keep a copy of the schema and escape each column's key once. */
static int stream_set_schema(JsonDest *d, DestStream *s,
                             const struct ArrowSchema *schema, NbError *err) {
  NbField *borrowed;
  size_t n;
  int rc = nb_schema_fields(schema, &borrowed, &n, err);
  if (rc != NB_OK) return rc;
  struct ArrowSchema copy;
  memset(&copy, 0, sizeof copy);
  rc = nb_schema_export(borrowed, n, &copy, err);
  free(borrowed);
  if (rc != NB_OK) return rc;
  stream_clear_schema(s);
  s->schema = copy;
  rc = nb_schema_fields(&s->schema, &s->fields, &s->n_fields, err);
  if (rc != NB_OK) return rc;

  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += JSON_ESCAPED_MAX(strlen(s->fields[i].name)) + 2;
  s->keys = calloc(1, total + 1 + KEY_BLOCK);
  s->key_off = calloc(n + 1, sizeof *s->key_off);
  s->key_len = calloc(n + 1, sizeof *s->key_len);
  if (s->keys == NULL || s->key_off == NULL || s->key_len == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", s->name);
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name = s->fields[i].name;
    size_t bad;
    s->key_off[i] = pos;
    s->keys[pos++] = i == 0 ? '{' : ',';
    size_t w = json_escape_string(s->keys + pos, name, strlen(name),
                                  d->escape_separators, &bad);
    if (w == (size_t)-1) {
      nb_error_set(err, NB_INVALID, "column name of column %zu of stream \"%s\" is not valid UTF-8",
                   i + 1, s->name);
      nb_error_detail(err, "A JSON member name must be valid UTF-8.");
      return NB_INVALID;
    }
    pos += w;
    s->keys[pos++] = ':';
    s->key_len[i] = pos - s->key_off[i];
  }
  /* Brackets, separator and line end, then per column its key and the
   * most a value writes apart from the escaped text of strings (counted
   * per batch by rows_bound). */
  s->row_bound = 4;
  for (size_t i = 0; i < n; i++) s->row_bound += s->key_len[i] + value_bound(s->fields[i].type);
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

int json_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                   NbError *err) {
  const char *path, *compression;
  int format;
  int64_t level;
  bool escape;
  int rc;

  *dest = NULL;
  rc = nb_setting_string(args->settings, "path", NULL, &path, err);
  if (rc != NB_OK) return rc;
  if (path == NULL || path[0] == '\0')
    return nb_error_set(err, NB_INVALID, "setting \"path\" of the json destination is required");
  rc = nb_setting_enum(args->settings, "format", "auto|lines|array", JSON_FORMAT_LINES, &format, err);
  if (rc != NB_OK) return rc;
  if (format == JSON_FORMAT_AUTO) {
    nb_error_set(err, NB_INVALID, "invalid value \"auto\" for setting \"format\" of the json destination");
    nb_error_hint(err, "Use \"lines\" (JSON Lines, the default) or \"array\".");
    return NB_INVALID;
  }
  rc = nb_setting_enum(args->settings, "compression", "none|gzip|zstd|lz4|snappy|auto", 5,
                       &(int){0}, err);
  if (rc != NB_OK) return rc;
  rc = nb_setting_string(args->settings, "compression", "auto", &compression, err);
  if (rc != NB_OK) return rc;
  rc = nb_setting_int(args->settings, "compression_level", 0, &level, err);
  if (rc != NB_OK) return rc;
  if (level < INT32_MIN || level > INT32_MAX)
    return nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"compression_level\"",
                        (long long)level);
  rc = nb_setting_bool(args->settings, "escape_unicode_separators", false, &escape, err);
  if (rc != NB_OK) return rc;

  JsonDest *d = calloc(1, sizeof *d);
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the json destination");
  d->host = host;
  d->format = (JsonFormat)format;
  d->level = (int32_t)level;
  d->escape_separators = escape;
  d->path = strdup(path);
  d->compression = strdup(compression);
  d->per_stream = strstr(path, "{stream}") != NULL;
  if (d->path == NULL || d->compression == NULL || !json_parser_init(&d->validator, UINT32_MAX)) {
    json_dest_close(d);
    return nb_error_set(err, NB_NOMEM, "out of memory opening the json destination");
  }
  if (args->state != NULL) {
    rc = parse_state(d, args->state, args->state_len, err);
    if (rc != NB_OK) {
      json_dest_close(d);
      return rc;
    }
  }
  if (!d->per_stream) {
    size_t index;
    rc = open_file(d, d->path, &index, err);
    if (rc != NB_OK) {
      json_dest_close(d);
      return rc;
    }
  }
  *dest = d;
  return NB_OK;
}

int json_dest_prepare(void *dest, const char *stream_name,
                      const struct ArrowSchema *schema, uint32_t *dest_stream,
                      NbError *err) {
  JsonDest *d = dest;
  size_t i;
  for (i = 0; i < d->n_streams; i++)
    if (strcmp(d->streams[i].name, stream_name) == 0) break;
  if (i == d->n_streams) {
    DestStream *v = realloc(d->streams, (d->n_streams + 1) * sizeof *v);
    if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", stream_name);
    d->streams = v;
    DestStream *s = &v[i];
    memset(s, 0, sizeof *s);
    s->name = strdup(stream_name);
    char *path = d->per_stream ? stream_path(d->path, stream_name) : strdup(d->path);
    if (s->name == NULL || path == NULL) {
      free(s->name);
      free(path);
      return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", stream_name);
    }
    int rc = open_file(d, path, &s->out, err);
    free(path);
    if (rc != NB_OK) {
      free(s->name);
      return rc;
    }
    d->n_streams++;
  }
  int rc = stream_set_schema(d, &d->streams[i], schema, err);
  if (rc != NB_OK) return rc;
  *dest_stream = (uint32_t)i;
  return NB_OK;
}

int json_dest_write(void *dest, uint32_t dest_stream,
                    const struct ArrowArray *batch, NbError *err) {
  JsonDest *d = dest;
  if (dest_stream >= d->n_streams)
    return nb_error_set(err, NB_INVALID, "destination stream %u was not prepared", dest_stream);
  DestStream *s = &d->streams[dest_stream];
  OutFile *f = &d->files[s->out];
  NbColumnView *views = NULL;
  size_t n_views = 0;
  int rc;

  if (s->n_fields > 0) {
    rc = nb_batch_views(&s->schema, batch, &views, &n_views, err);
    if (rc != NB_OK) return rc;
  }
  ColumnPlan *plan = calloc(s->n_fields + 1, sizeof *plan);
  if (plan == NULL) {
    free(views);
    return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", f->path);
  }
  plan_columns(d, s, views, plan);
  rc = check_batch(d, f, s, views, plan, batch->length, err);
  if (rc == NB_OK) {
    bool all_utf8 = s->n_fields > 0;
    for (size_t c = 0; c < s->n_fields; c++) all_utf8 = all_utf8 && plan[c].offsets != NULL;
    if (all_utf8) rc = write_rows_by_column(d, f, s, views, plan, batch->length, err);
    else rc = write_rows(d, f, s, views, plan, batch->length, err);
  }
  free(plan);
  free(views);
  if (rc != NB_OK) return rc;
  if (f->buf.len >= FLUSH_BYTES) return flush(d, f, err);
  return NB_OK;
}

int json_dest_commit(void *dest, const void **state, size_t *state_len,
                     NbError *err) {
  JsonDest *d = dest;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    uint64_t length = 0;
    int rc = flush(d, f, err);
    if (rc != NB_OK) return rc;
    rc = d->host->file_commit(f->file, &length, err);
    if (rc != NB_OK) return rc;
    if (saved_set(d, f->path, length, f->any_row) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory committing file \"%s\"", f->path);
  }
  if (build_state(d) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory committing the json destination");
  *state = d->state.data;
  *state_len = d->state.len;
  return NB_OK;
}

/* The end of an array document: "\n]\n", or "[]\n" with no rows. */
static bool put_array_end(JsonDest *d, OutFile *f) {
  if (d->format != JSON_FORMAT_ARRAY || f->ended) return true;
  if (!json_buf_reserve(&f->buf, 4)) return false;
  if (f->any_row) json_buf_put(&f->buf, "\n]\n", 3);
  else json_buf_put(&f->buf, "[]\n", 3);
  f->ended = true;
  return true;
}

int json_dest_finish(void *dest, NbError *err) {
  JsonDest *d = dest;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    uint64_t length = 0;
    if (!put_array_end(d, f))
      return nb_error_set(err, NB_NOMEM, "out of memory ending file \"%s\"", f->path);
    int rc = flush(d, f, err);
    /* Durable, as a commit would make it, but not part of any state: a
     * resumed run truncates to the last commit. */
    if (rc == NB_OK) rc = d->host->file_commit(f->file, &length, err);
    if (rc != NB_OK) {
      nb_error_detail(err, "Could not write the end of file \"%s\"%s.", f->path,
                      d->format == JSON_FORMAT_ARRAY ? " (the closing bracket of the JSON array)" : "");
      return rc;
    }
  }
  return NB_OK;
}

void json_dest_close(void *dest) {
  JsonDest *d = dest;
  if (d == NULL) return;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    NbError e;
    nb_error_init(&e);
    int rc = NB_OK;
    put_array_end(d, f);
    rc = flush(d, f, &e);
    if (rc == NB_OK) rc = d->host->file_close(f->file, &e);
    else d->host->file_close(f->file, NULL);
    if (rc != NB_OK)
      nb_log(d->host, NB_LOG_ERROR, "could not finish file \"%s\": %s", f->path,
             e.message ? e.message : nb_status_name(rc));
    nb_error_release(&e);
    json_buf_free(&f->buf);
    free(f->path);
  }
  for (size_t i = 0; i < d->n_streams; i++) {
    stream_clear_schema(&d->streams[i]);
    free(d->streams[i].name);
  }
  for (size_t i = 0; i < d->n_saved; i++) free(d->saved[i].path);
  free(d->saved);
  free(d->files);
  free(d->streams);
  json_parser_free(&d->validator);
  json_buf_free(&d->scratch);
  json_buf_free(&d->state);
  free(d->path);
  free(d->compression);
  free(d);
}
