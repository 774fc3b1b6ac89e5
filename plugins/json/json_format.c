/*
 * json_format.c - the json destination's row formatter: each row becomes
 * one JSON object whose keys are the schema's column names in schema
 * order, framed as JSON Lines or as the elements of one JSON array.
 *
 * Values: null -> null; UTF8 -> a string, escaped (", \\ and control
 * characters; U+2028/U+2029 too with escape_unicode_separators), and a
 * value that is not valid UTF-8 is refused (NB_DATA naming row and column:
 * replacing bytes would change the data); NUMBER, INT64, FLOAT64,
 * DECIMAL128 -> the number as text, NUMBER checked against the JSON number
 * grammar (FLOAT64 NaN and infinities have no JSON form: NB_DATA); JSON -> the text
 * after checking it is one valid JSON value (insignificant whitespace is
 * removed so a JSON Lines record stays on one line); BOOL -> true/false;
 * DATE32 and TIMESTAMP -> quoted ISO 8601 strings.
 *
 * A batch is all or nothing: on NB_DATA none of it is written.  It works
 * in two phases: check_batch looks for a value that cannot be written
 * (cheaply: one scan of each text column tells whether it is all ASCII,
 * and whether it is "plain", needing no escaping at all), then the rows
 * are formatted, passed to file_write every FLUSH_BYTES, so memory does
 * not grow with the batch.  Formatting is the hot path: each column's key
 * ("{\"name\":" or ",\"name\":") is escaped once per schema and copied
 * as a block.  Batches of UTF8 columns only (text sources: CSV, generate)
 * are formatted by write_rows_by_column, 32 rows at a time and one column
 * at a time (each row's length first, then its bytes), which reads the
 * batch in order instead of from every column at once.  Other batches take
 * write_rows, row by row, room reserved once per 64 rows.  Either way a
 * plain string value is written by put_plain (one primitive: 16-byte
 * blocks where the input and output have the slack, an exact copy
 * otherwise), and a row is framed by row_open / row_close.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sdk/copy_exact.h"
#include "json_dest_internal.h"
#include "json_utf8.h"

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

/* Rows formatted per capacity check. */
#define ROWS_PER_STEP 64

/* The one string primitive: write the value v[0..len), which needs no
 * escaping, with its quotes at out; returns the end.  With `blocks`, a
 * value of up to 32 bytes is moved as one or two 16-byte blocks (no
 * branch on its length beyond that): the caller guarantees 32 readable
 * bytes at v and room for 32 bytes after the opening quote.  Otherwise
 * exactly len bytes are copied. */
static inline __attribute__((always_inline)) char *put_plain(char *out, const char *v,
                                                             size_t len, bool blocks) {
  *out++ = '"';
  if (blocks && len <= 32) {
    memcpy(out, v, 16);
    if (len > 16) memcpy(out + 16, v + 16, 16);
  } else {
    nb_copy_exact(out, v, len);
  }
  out[len] = '"';
  return out + len + 1;
}

/* Row framing, the same for both phase-two paths: before a row's first
 * key "[\n" (first row) or ",\n" in an array, nothing in JSON Lines; after
 * its last value "}" in an array, "}\n" in JSON Lines. */
static inline char *row_open(char *out, bool array, bool first_row) {
  if (!array) return out;
  memcpy(out, first_row ? "[\n" : ",\n", 2);
  return out + 2;
}

static inline char *row_close(char *out, bool array) {
  *out++ = '}';
  if (!array) *out++ = '\n';
  return out;
}

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

/* One row, into room reserved by the caller.  Strings that need no
 * escaping are copied by put_plain; everything else takes write_value. */
static int write_row(JsonDest *d, OutFile *f, const DestStream *s, const ColumnPlan *plan,
                     int64_t row) {
  bool array = d->format != JSON_FORMAT_LINES;
  char *out = row_open(f->buf.data + f->buf.len, array, !f->any_row);
  f->any_row = true;
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
    if (p->offsets != NULL) {
      /* Blocks when they stay within the column's data (the output has
       * the slack: rows_bound). */
      const char *v = p->data + p->offsets[i];
      size_t len = (size_t)(p->offsets[i + 1] - p->offsets[i]);
      if (p->plain || value_is_plain(v, len, p->readable)) {
        out = put_plain(out, v, len, p->readable - v >= 32);
        continue;
      }
    }
    f->buf.len = (size_t)(out - f->buf.data);
    int rc = write_value(d, f, p->view, row);
    if (rc != NB_OK) return rc;
    out = f->buf.data + f->buf.len;
  }
  out = row_close(out, array);
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
      int rc = json_dest_flush(d, f, err);
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
 * block kept in registers when key_spill, a value of up to 32 bytes as
 * one or two blocks when value_spill (put_plain); otherwise exactly. */
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
  uint64_t k[KEY_BLOCK / 8];
  int32_t start = o[0];
  memcpy(k, key, KEY_BLOCK);
  for (size_t r = 0; r < n; r++, bit++) {
    char *out = base + cur[r];
    int32_t end = o[r + 1];
    const char *v = data + start;
    size_t len = (size_t)(end - start);
    start = end;
    if (validity != NULL && !((validity[bit >> 3] >> (bit & 7)) & 1)) {
      nb_copy_exact(out, key, key_len);
      memcpy(out + key_len, "null", 4);
      cur[r] += key_len + 4;
      continue;
    }
    if (key_spill) memcpy(out, k, KEY_BLOCK);
    else nb_copy_exact(out, key, key_len);
    out = put_plain(out + key_len, v, len, value_spill);
    cur[r] = (size_t)(out - base);
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
    else nb_copy_exact(out, p->key, p->key_len);
    out += p->key_len;
    if (plan_is_null(p, first + (int64_t)r + p->offset)) {
      memcpy(out, "null", 4);
      out += 4;
    } else if (p->plain || value_is_plain(v, len, p->readable)) {
      out = put_plain(out, v, len, false);
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
    if (f->buf.len >= FLUSH_BYTES && (rc = json_dest_flush(d, f, err)) != NB_OK) return rc;
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
    for (size_t r = 0; r < n; r++)
      cur[r] = (size_t)(row_open(base + cur[r], array, !f->any_row && r == 0) - base);
    for (size_t c = 0; c < s->n_fields; c++) write_column(d, &plan[c], first, n, base, cur);
    for (size_t r = 0; r < n; r++) row_close(base + cur[r], array);
    f->buf.len += total;
    f->any_row = true;
  }
  return NB_OK;
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

/* Escape each column's key once: "{\"a\":" for the first, ",\"b\":" for
 * the others, back to back in s->keys. */
int json_format_keys(JsonDest *d, DestStream *s, NbError *err) {
  size_t n = s->n_fields;
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

int json_format_batch(JsonDest *d, OutFile *f, const DestStream *s,
                      const struct ArrowArray *batch, NbError *err) {
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
  return rc;
}

/* The end of an array document: "\n]\n", or "[]\n" with no rows. */
bool json_format_end(JsonDest *d, OutFile *f) {
  if (d->format != JSON_FORMAT_ARRAY || f->ended) return true;
  if (!json_buf_reserve(&f->buf, 4)) return false;
  if (f->any_row) json_buf_put(&f->buf, "\n]\n", 3);
  else json_buf_put(&f->buf, "[]\n", 3);
  f->ended = true;
  return true;
}

