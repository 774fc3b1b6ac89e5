/*
 * csv_writer.c - the CSV record formatter declared in csv_writer.h.
 *
 * Every value is copied once, into the output buffer.  Whether it needs
 * quotes is decided by csv_scan_special (16 bytes per step), so a typical
 * value costs one vector scan and one memcpy; csv_writer_row goes further
 * for values of up to 32 bytes: one or two 16-byte loads give both the
 * test and the copy.  The buffer keeps ROW_SLACK spare bytes for
 * those 16-byte stores.
 */
#include "csv_writer.h"

#include <stdlib.h>
#include <string.h>

#include "csv_scan.h"

#define DEFAULT_BUFFER ((size_t)4 << 20)
#define ROW_SLACK 16

struct CsvWriter {
  CsvSink sink;
  CsvScanner scan;
  char delim;
  char quote;
  bool crlf;
  bool quote_all;
  char *null_string;
  size_t null_len;
  bool has_null_string;
  bool in_record;   /* a value was written in the current record */
  char *buf;
  size_t cap;
  size_t len;
  uint64_t total;   /* bytes handed to the sink */
};

int csv_writer_new(const CsvWriterOptions *options, const CsvSink *sink,
                   CsvWriter **out, NbError *err) {
  CsvWriter *w = calloc(1, sizeof *w);
  *out = NULL;
  if (w == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  w->sink = *sink;
  w->delim = options->delimiter;
  w->quote = options->quote;
  w->crlf = options->crlf;
  w->quote_all = options->quote_all;
  csv_scanner_init(&w->scan, w->delim, w->quote);
  w->cap = options->buffer_size ? options->buffer_size : DEFAULT_BUFFER;
  w->buf = malloc(w->cap + ROW_SLACK);
  if (options->null_string != NULL) {
    w->has_null_string = true;
    w->null_len = strlen(options->null_string);
    w->null_string = strdup(options->null_string);
  }
  if (w->buf == NULL || (w->has_null_string && w->null_string == NULL)) {
    csv_writer_free(w);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  *out = w;
  return NB_OK;
}

void csv_writer_free(CsvWriter *w) {
  if (w == NULL) return;
  free(w->buf);
  free(w->null_string);
  free(w);
}

uint64_t csv_writer_bytes(const CsvWriter *w) { return w->total + w->len; }

int csv_writer_flush(CsvWriter *w, NbError *err) {
  int rc;
  if (w->len == 0) return NB_OK;
  rc = w->sink.write(w->sink.ctx, w->buf, w->len, err);
  if (rc != NB_OK) return rc;
  w->total += w->len;
  w->len = 0;
  return NB_OK;
}

/* Make room for need more bytes: flush when the buffer is full; a single
 * value larger than the buffer grows it. */
static int reserve(CsvWriter *w, size_t need, NbError *err) {
  int rc;
  char *grown;
  if (w->cap - w->len >= need) return NB_OK;
  if ((rc = csv_writer_flush(w, err)) != NB_OK) return rc;
  if (w->cap >= need) return NB_OK;
  grown = realloc(w->buf, need + ROW_SLACK);
  if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  w->buf = grown;
  w->cap = need;
  return NB_OK;
}

static bool needs_quotes(const CsvWriter *w, const char *data, size_t len) {
  if (len == 0 || w->quote_all) return true;
  if (w->has_null_string && len == w->null_len && memcmp(data, w->null_string, len) == 0)
    return true;
  return csv_scan_special(&w->scan, data, data + len) != data + len;
}

/* Copy data between quotes, doubling each quote character. */
static char *put_quoted(char *out, const char *data, size_t len, char quote) {
  const char *end = data + len;
  *out++ = quote;
  for (;;) {
    const char *q = memchr(data, quote, (size_t)(end - data));
    if (q == NULL) break;
    memcpy(out, data, (size_t)(q + 1 - data));
    out += q + 1 - data;
    *out++ = quote;
    data = q + 1;
  }
  memcpy(out, data, (size_t)(end - data));
  out += end - data;
  *out++ = quote;
  return out;
}

/* Worst case of a value: two quotes, every byte a doubled quote. */
static size_t value_bound(size_t len) { return 2 * len + 2; }

/* Write one value at out (room for value_bound(len) bytes); returns the
 * end. */
static char *put_value(const CsvWriter *w, char *out, const char *data, size_t len) {
  if (needs_quotes(w, data, len)) return put_quoted(out, data, len, w->quote);
  memcpy(out, data, len);
  return out + len;
}

int csv_writer_value(CsvWriter *w, const char *data, size_t len, NbError *err) {
  char *out;
  int rc;
  if (len > (SIZE_MAX - 3) / 2) return nb_error_set(err, NB_NOMEM, "out of memory");
  if ((rc = reserve(w, value_bound(len) + 1, err)) != NB_OK) return rc;
  out = w->buf + w->len;
  if (w->in_record) *out++ = w->delim;
  w->in_record = true;
  out = put_value(w, out, data, len);
  w->len = (size_t)(out - w->buf);
  return NB_OK;
}

/* A value of 1 to 32 bytes that needs no quotes is tested and copied in
 * one or two 16-byte blocks (the second overlapping the first); under 16
 * bytes that needs the value to be readable as 16.  Returns the end of the
 * copy, or NULL for the general path. */
static inline char *put_short_plain(const CsvWriter *w, char *out, const CsvOutValue *v) {
#if defined(__SSE2__)
  const char *p = v->data;
  size_t len = v->len;
  unsigned special;
  __m128i head, tail;
  if (len == 0 || len > 32 || w->quote_all) return NULL;
  if (len < 16) {
    if (v->readable - p < 16) return NULL;
    special = csv_scan_mask16(&w->scan, p) & ((1u << len) - 1);
  } else {
    special = csv_scan_mask16(&w->scan, p) | csv_scan_mask16(&w->scan, p + len - 16);
  }
  if (special != 0) return NULL;
  if (w->has_null_string && len == w->null_len && memcmp(p, w->null_string, len) == 0)
    return NULL;
  head = _mm_loadu_si128((const __m128i *)(const void *)p);
  _mm_storeu_si128((__m128i *)(void *)out, head);
  if (len > 16) {
    tail = _mm_loadu_si128((const __m128i *)(const void *)(p + len - 16));
    _mm_storeu_si128((__m128i *)(void *)(out + len - 16), tail);
  }
  return out + len;
#else
  (void)w;
  (void)out;
  (void)v;
  return NULL;
#endif
}

int csv_writer_row(CsvWriter *w, const CsvOutValue *values, size_t n, NbError *err) {
  size_t need = 2, i;
  char *out;
  int rc;
  for (i = 0; i < n; i++) {
    size_t len = values[i].data != NULL ? values[i].len : w->null_len;
    if (len > (SIZE_MAX / 4 - need) / 2) return nb_error_set(err, NB_NOMEM, "out of memory");
    need += value_bound(len) + 1;
  }
  if ((rc = reserve(w, need, err)) != NB_OK) return rc;
  out = w->buf + w->len;
  for (i = 0; i < n; i++) {
    const CsvOutValue *v = &values[i];
    char *end;
    if (i > 0 || w->in_record) *out++ = w->delim;
    if (v->data == NULL) {
      memcpy(out, w->null_string != NULL ? w->null_string : "", w->null_len);
      out += w->null_len;
    } else if ((end = put_short_plain(w, out, v)) != NULL) {
      out = end;
    } else {
      out = put_value(w, out, v->data, v->len);
    }
  }
  if (w->crlf) *out++ = '\r';
  *out++ = '\n';
  w->in_record = false;
  w->len = (size_t)(out - w->buf);
  return NB_OK;
}

int csv_writer_null(CsvWriter *w, NbError *err) {
  int rc = reserve(w, w->null_len + 1, err);
  if (rc != NB_OK) return rc;
  if (w->in_record) w->buf[w->len++] = w->delim;
  w->in_record = true;
  memcpy(w->buf + w->len, w->null_string != NULL ? w->null_string : "", w->null_len);
  w->len += w->null_len;
  return NB_OK;
}

int csv_writer_end_record(CsvWriter *w, NbError *err) {
  int rc = reserve(w, 2, err);
  if (rc != NB_OK) return rc;
  if (w->crlf) w->buf[w->len++] = '\r';
  w->buf[w->len++] = '\n';
  w->in_record = false;
  return NB_OK;
}
