/*
 * pq_colwriter.c - buffering and encoding one column of a row group
 * (see pq_colwriter.h).
 *
 * Type mapping (docs/parquet-connector.md): utf8 / large_utf8 / number ->
 * BYTE_ARRAY STRING; json -> BYTE_ARRAY JSON; int64 -> INT64; float64 ->
 * DOUBLE; bool -> BOOLEAN; date32 -> INT32 DATE; timestamp -> INT64
 * TIMESTAMP(MICROS, isAdjustedToUTC unless the zone is ""); decimal128(p,
 * s) -> INT32 (p <= 9), INT64 (p <= 18) or FIXED_LEN_BYTE_ARRAY of the
 * fewest bytes that hold p digits, DECIMAL(p, s).
 *
 * Statistics follow the spec's column orders: signed for integers and
 * decimals, unsigned bytewise for strings, NaN left out of float min/max
 * (and -0.0 / +0.0 written for a zero min / max).  String min/max longer
 * than STAT_MAX bytes are truncated: the min to a prefix (still a lower
 * bound), the max to a prefix whose last byte is incremented (an upper
 * bound), or left out when that cannot be done.
 */
#include "pq_colwriter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq_crc32.h"
#include "pq_format.h"
#include "pq_rle.h"

#define STAT_MAX 64

/* Fewest bytes of a two's complement integer holding every value of
 * precision decimal digits. */
static int32_t decimal_bytes(int32_t precision) {
  /* log2(10) * p + 1 sign bit, rounded up to bytes. */
  double bits = (double)precision * 3.32192809488736234787 + 1.0;
  return (int32_t)ceil(bits / 8.0);
}

int pq_col_init(PqColWriter *col, const NbField *f, size_t dict_limit,
                NbError *err) {
  memset(col, 0, sizeof *col);
  col->name = strdup(f->name);
  if (col->name == NULL) return nb_error_set(err, NB_NOMEM, "out of memory preparing column \"%s\"", f->name);
  col->nb_type = f->type;
  col->nullable = f->nullable;
  switch (f->type) {
    case NB_TYPE_UTF8: case NB_TYPE_LARGE_UTF8: case NB_TYPE_NUMBER: case NB_TYPE_JSON:
      col->phys = PQ_BYTE_ARRAY; break;
    case NB_TYPE_INT64: col->phys = PQ_INT64; break;
    case NB_TYPE_FLOAT64: col->phys = PQ_DOUBLE; break;
    case NB_TYPE_BOOL: col->phys = PQ_BOOLEAN; break;
    case NB_TYPE_DATE32: col->phys = PQ_INT32; break;
    case NB_TYPE_TIMESTAMP:
      col->phys = PQ_INT64;
      col->utc = f->timezone == NULL || f->timezone[0] != '\0';
      break;
    case NB_TYPE_DECIMAL128:
      if (f->precision < 1 || f->precision > 38 || f->scale < 0 || f->scale > f->precision) {
        free(col->name);
        col->name = NULL;
        return nb_error_set(err, NB_INVALID, "column \"%s\": decimal(%d,%d) cannot be written to Parquet",
                            f->name, f->precision, f->scale);
      }
      col->precision = f->precision;
      col->scale = f->scale;
      if (f->precision <= 9) col->phys = PQ_INT32;
      else if (f->precision <= 18) col->phys = PQ_INT64;
      else {
        col->phys = PQ_FIXED;
        col->type_length = decimal_bytes(f->precision);
      }
      break;
    default:
      free(col->name);
      col->name = NULL;
      return nb_error_set(err, NB_INVALID, "column \"%s\" has a type the parquet destination does not know", f->name);
  }
  col->dict_limit = dict_limit;
  col->dict_on = dict_limit > 0 && col->phys != PQ_BOOLEAN;
  return NB_OK;
}

static void dict_free(PqColWriter *col) {
  pq_buf_free(&col->dict_plain);
  free(col->dict_off);
  free(col->dict_len);
  free(col->hash);
  col->dict_off = col->dict_len = col->hash = NULL;
  col->n_dict = col->dict_cap = col->hash_cap = 0;
  pq_buf_free(&col->indices);
}

void pq_col_free(PqColWriter *col) {
  free(col->name);
  pq_buf_free(&col->defs);
  pq_buf_free(&col->plain);
  pq_buf_free(&col->min);
  pq_buf_free(&col->max);
  dict_free(col);
  memset(col, 0, sizeof *col);
}

void pq_col_reset(PqColWriter *col) {
  col->defs.len = col->plain.len = col->plain_len_dict = 0;
  col->n_rows = col->n_values = 0;
  dict_free(col);
  col->dict_on = col->dict_limit > 0 && col->phys != PQ_BOOLEAN;
  col->has_minmax = false;
  col->min.len = col->max.len = 0;
  col->null_count = 0;
}

/* The PLAIN bytes of the values so far, held or not. */
static size_t plain_length(const PqColWriter *col) {
  return col->dict_on ? col->plain_len_dict : col->plain.len;
}

/* The same count whether plain is held or not: row groups end where they
 * did when every value was also kept PLAIN. */
size_t pq_col_bytes(const PqColWriter *col) {
  return plain_length(col) + col->defs.len + col->indices.len + col->dict_plain.len;
}

/* ------------------------------------------------------------------------
 * Schema
 * ------------------------------------------------------------------------ */

void pq_col_schema(const PqColWriter *col, TWriter *w) {
  tw_struct_begin(w);
  tw_i32(w, 1, col->phys);
  if (col->phys == PQ_FIXED) tw_i32(w, 2, col->type_length);
  tw_i32(w, 3, col->nullable ? PQ_OPTIONAL : PQ_REQUIRED);
  tw_binary(w, 4, col->name, strlen(col->name));
  switch (col->nb_type) {
    case NB_TYPE_UTF8: case NB_TYPE_LARGE_UTF8: case NB_TYPE_NUMBER:
      tw_i32(w, 6, PQ_CT_UTF8);
      tw_struct_field(w, 10);
      tw_empty_struct(w, PQ_LT_STRING);
      tw_struct_end(w);
      break;
    case NB_TYPE_JSON:
      tw_i32(w, 6, PQ_CT_JSON);
      tw_struct_field(w, 10);
      tw_empty_struct(w, PQ_LT_JSON);
      tw_struct_end(w);
      break;
    case NB_TYPE_DATE32:
      tw_i32(w, 6, PQ_CT_DATE);
      tw_struct_field(w, 10);
      tw_empty_struct(w, PQ_LT_DATE);
      tw_struct_end(w);
      break;
    case NB_TYPE_TIMESTAMP:
      /* The converted type means "adjusted to UTC": only then. */
      if (col->utc) tw_i32(w, 6, PQ_CT_TS_MICROS);
      tw_struct_field(w, 10);
      tw_struct_field(w, PQ_LT_TIMESTAMP);
      tw_bool(w, 1, col->utc);
      tw_struct_field(w, 2);
      tw_empty_struct(w, PQ_UNIT_MICROS);
      tw_struct_end(w);
      tw_struct_end(w);
      tw_struct_end(w);
      break;
    case NB_TYPE_DECIMAL128:
      tw_i32(w, 6, PQ_CT_DECIMAL);
      tw_i32(w, 7, col->scale);
      tw_i32(w, 8, col->precision);
      tw_struct_field(w, 10);
      tw_struct_field(w, PQ_LT_DECIMAL);
      tw_i32(w, 1, col->scale);
      tw_i32(w, 2, col->precision);
      tw_struct_end(w);
      tw_struct_end(w);
      break;
    default:
      break;
  }
  tw_struct_end(w);
}

/* ------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------ */

/* 8 bytes as a big-endian number: comparing two such words compares the
 * bytes in order, as unsigned. */
static uint64_t load_be64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

/* Unsigned byte order, a prefix first: memcmp's order, 8 bytes a step and
 * no call (every value of a column without a dictionary is compared with
 * min and max).  An empty value may have no bytes at all (a or b NULL). */
static int compare_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  size_t n = alen < blen ? alen : blen, i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x = load_be64(a + i), y = load_be64(b + i);
    if (x != y) return x < y ? -1 : 1;
  }
  for (; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return (alen > blen) - (alen < blen);
}

static int compare_values(const PqColWriter *col, const uint8_t *a, size_t alen,
                          const uint8_t *b, size_t blen) {
  switch (col->phys) {
    case PQ_INT32: {
      int32_t x, y;
      memcpy(&x, a, 4);
      memcpy(&y, b, 4);
      return (x > y) - (x < y);
    }
    case PQ_INT64: {
      int64_t x, y;
      memcpy(&x, a, 8);
      memcpy(&y, b, 8);
      return (x > y) - (x < y);
    }
    case PQ_DOUBLE: {
      double x, y;
      memcpy(&x, a, 8);
      memcpy(&y, b, 8);
      return (x > y) - (x < y);
    }
    case PQ_BOOLEAN:
      return (a[0] > b[0]) - (a[0] < b[0]);
    case PQ_FIXED: {
      /* Big-endian two's complement: the first byte signed. */
      if (a[0] != b[0]) return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
      int c = memcmp(a + 1, b + 1, alen - 1);
      return (c > 0) - (c < 0);
    }
    default:
      return compare_bytes(a, alen, b, blen);
  }
}

static void stats_update(PqColWriter *col, const uint8_t *v, size_t len) {
  if (col->phys == PQ_DOUBLE) {
    double d;
    memcpy(&d, v, 8);
    if (isnan(d)) return;
  }
  if (!col->has_minmax) {
    col->min.len = col->max.len = 0;
    pq_buf_put(&col->min, v, len);
    pq_buf_put(&col->max, v, len);
    col->has_minmax = true;
    return;
  }
  if (compare_values(col, v, len, col->min.data, col->min.len) < 0) {
    col->min.len = 0;
    pq_buf_put(&col->min, v, len);
  } else if (compare_values(col, v, len, col->max.data, col->max.len) > 0) {
    col->max.len = 0;
    pq_buf_put(&col->max, v, len);
  }
}

/* ------------------------------------------------------------------------
 * Dictionary
 * ------------------------------------------------------------------------ */

static uint64_t load64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

static uint64_t load32(const uint8_t *p) {
  uint32_t w;
  memcpy(&w, p, 4);
  return w;
}

/* The last n % 8 bytes (n < 8 here, or the tail of a longer value) as one
 * word, read with loads that stay inside [p, p + n): overlapping loads
 * instead of a loop over bytes.  The hash only places entries in the
 * table (the dictionary's order is its insertion order), so no output
 * byte depends on it. */
static uint64_t hash_tail(const uint8_t *p, size_t n) {
  if (n >= 8) return load64(p + n - 8);
  if (n >= 4) return load32(p) | load32(p + n - 4) << 32;
  if (n > 0) return (uint64_t)p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16;
  return 0;
}

/* A multiplicative hash over 8-byte words (the dictionary's hot path). */
static uint32_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ load64(p + i)) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  if (i < n) h ^= hash_tail(p, n);
  /* A full avalanche: the table index takes the low bits, and the bytes
   * that vary most (a timestamp's seconds) may sit in the high ones. */
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 32;
  return (uint32_t)h;
}

static bool dict_grow(PqColWriter *col) {
  uint32_t cap = col->hash_cap ? col->hash_cap * 2 : 1024;
  uint32_t *h = calloc(cap, sizeof *h);
  if (h == NULL) return false;
  for (uint32_t e = 0; e < col->n_dict; e++) {
    const uint8_t *v = col->dict_plain.data + col->dict_off[e] + (col->phys == PQ_BYTE_ARRAY ? 4 : 0);
    uint32_t i = hash_bytes(v, col->dict_len[e]) & (cap - 1);
    while (h[i] != 0) i = (i + 1) & (cap - 1);
    h[i] = e + 1;
  }
  free(col->hash);
  col->hash = h;
  col->hash_cap = cap;
  return true;
}

/* The dictionary is being dropped: write the PLAIN values of the first
 * n_values indices (the values before the current one) into plain, which
 * held nothing while the dictionary was on.  A dictionary or index buffer
 * that failed to grow cannot give them back: plain fails (out of memory). */
static void plain_from_dictionary(PqColWriter *col, size_t n_values) {
  size_t prefix = col->phys == PQ_BYTE_ARRAY ? 4 : 0;
  col->plain.len = 0;
  if (col->dict_plain.failed || col->indices.failed || col->indices.len / 4 < n_values) {
    col->plain.failed = true;
    return;
  }
  if (!pq_buf_reserve(&col->plain, col->plain_len_dict)) return;
  for (size_t i = 0; i < n_values; i++) {
    uint32_t e;
    memcpy(&e, col->indices.data + 4 * i, 4);
    pq_buf_put(&col->plain, col->dict_plain.data + col->dict_off[e], col->dict_len[e] + prefix);
  }
  if (col->plain.len != col->plain_len_dict) col->plain.failed = true; /* cannot happen */
}

/* Add v to the dictionary and its index to indices.  The dictionary is
 * dropped (the chunk goes PLAIN) when it grows past its limit or memory
 * runs out; plain then gets the values before v back from it, and the
 * caller adds v.  Returns DICT_OLD when v was already an entry. */
enum { DICT_OLD, DICT_NEW, DICT_OFF };
static int dict_add(PqColWriter *col, const uint8_t *v, size_t len) {
  size_t prefix = col->phys == PQ_BYTE_ARRAY ? 4 : 0;
  if ((col->n_dict + 1) * 2 > col->hash_cap && !dict_grow(col)) goto off;
  uint32_t i = hash_bytes(v, len) & (col->hash_cap - 1);
  for (;;) {
    uint32_t e = col->hash[i];
    if (e == 0) break;
    e--;
    if (col->dict_len[e] == len &&
        (len == 0 || memcmp(col->dict_plain.data + col->dict_off[e] + prefix, v, len) == 0)) {
      pq_buf_put(&col->indices, &e, 4);
      if (col->indices.failed) goto off;
      return DICT_OLD;
    }
    i = (i + 1) & (col->hash_cap - 1);
  }
  if (col->dict_plain.len + len + prefix > col->dict_limit || col->n_dict == UINT32_MAX - 1) goto off;
  if (col->n_dict == col->dict_cap) {
    uint32_t cap = col->dict_cap ? col->dict_cap * 2 : 256;
    uint32_t *o = realloc(col->dict_off, cap * sizeof *o);
    if (o == NULL) goto off;
    col->dict_off = o;
    uint32_t *l = realloc(col->dict_len, cap * sizeof *l);
    if (l == NULL) goto off;
    col->dict_len = l;
    col->dict_cap = cap;
  }
  uint32_t e = col->n_dict++;
  col->dict_off[e] = (uint32_t)col->dict_plain.len;
  col->dict_len[e] = (uint32_t)len;
  if (prefix) pq_buf_le32(&col->dict_plain, (uint32_t)len);
  pq_buf_put(&col->dict_plain, v, len);
  col->hash[i] = e + 1;
  pq_buf_put(&col->indices, &e, 4);
  if (col->dict_plain.failed || col->indices.failed) goto off;
  return DICT_NEW;
off:
  plain_from_dictionary(col, col->n_values);
  dict_free(col);
  col->dict_on = false;
  return DICT_OFF;
}

/* ------------------------------------------------------------------------
 * Appending values
 * ------------------------------------------------------------------------ */

static void plain_add(PqColWriter *col, const uint8_t *v, size_t len) {
  if (col->phys == PQ_BYTE_ARRAY) pq_buf_le32(&col->plain, (uint32_t)len);
  pq_buf_put(&col->plain, v, len);
}

static void add_value(PqColWriter *col, const uint8_t *v, size_t len) {
  int added = col->dict_on ? dict_add(col, v, len) : DICT_OFF;
  if (added == DICT_OFF) plain_add(col, v, len);
  else col->plain_len_dict += len + (col->phys == PQ_BYTE_ARRAY ? 4 : 0);
  col->n_values++;
  /* A value already in the dictionary cannot move min or max. */
  if (added != DICT_OLD) stats_update(col, v, len);
}

/* A decimal128 (little-endian) as the column's physical value; false when
 * it has more digits' worth of bits than the column holds. */
static bool decimal_value(const PqColWriter *col, const uint8_t *le, uint8_t *out, size_t *len) {
  size_t n = col->phys == PQ_INT32 ? 4 : col->phys == PQ_INT64 ? 8 : (size_t)col->type_length;
  uint8_t sign = (le[15] & 0x80) ? 0xFF : 0x00;
  for (size_t i = n; i < 16; i++)
    if (le[i] != sign) return false;
  if (n < 16 && ((le[n - 1] & 0x80) ? 0xFF : 0x00) != sign) return false;
  if (col->phys == PQ_FIXED) {
    for (size_t i = 0; i < n; i++) out[i] = le[n - 1 - i];
  } else {
    memcpy(out, le, n);
  }
  *len = n;
  return true;
}

static int value_error(const PqColWriter *col, int64_t row, NbError *err, const char *why) {
  nb_error_set(err, NB_DATA, "cannot write row %lld of column \"%s\" to Parquet: %s",
               (long long)row + 1, col->name, why);
  nb_error_locate(err, NULL, row + 1, 0);
  return NB_DATA;
}

void pq_col_mark(const PqColWriter *col, PqColMark *m) {
  m->defs_len = col->defs.len;
  m->plain_len = plain_length(col);
  m->indices_len = col->indices.len;
  m->n_rows = col->n_rows;
  m->n_values = col->n_values;
  m->null_count = col->null_count;
}

void pq_col_rollback(PqColWriter *col, const PqColMark *m) {
  /* Dictionary entries added since stay: unused entries are harmless, and
   * statistics stay valid (if wider) bounds. */
  col->defs.len = m->defs_len;
  /* A dictionary dropped since gave plain every value back: cut it there. */
  if (col->dict_on) col->plain_len_dict = m->plain_len;
  else col->plain.len = m->plain_len;
  if (col->dict_on) col->indices.len = m->indices_len;
  col->n_rows = m->n_rows;
  col->n_values = m->n_values;
  col->null_count = m->null_count;
}

int pq_col_append(PqColWriter *col, const NbColumnView *v, int64_t start,
                  int64_t length, NbError *err) {
  if (!pq_buf_reserve(&col->defs, (size_t)length)) goto nomem;
  for (int64_t r = start; r < start + length; r++) {
    int64_t i = r + v->offset;
    bool null = nb_view_is_null(v, r);
    if (null && !col->nullable) return value_error(col, r, err, "a null in a column declared not nullable");
    if (col->nullable) col->defs.data[col->defs.len++] = null ? 0 : 1;
    col->n_rows++;
    if (null) {
      col->null_count++;
      continue;
    }
    uint8_t tmp[16];
    size_t len;
    switch (col->nb_type) {
      case NB_TYPE_UTF8: case NB_TYPE_NUMBER: case NB_TYPE_JSON: {
        const int32_t *o = v->offsets;
        if (o[i + 1] < o[i]) return value_error(col, r, err, "negative string length");
        add_value(col, v->data + o[i], (size_t)(o[i + 1] - o[i]));
        break;
      }
      case NB_TYPE_LARGE_UTF8: {
        const int64_t *o = v->offsets;
        if (o[i + 1] < o[i] || o[i + 1] - o[i] > INT32_MAX)
          return value_error(col, r, err, "a string longer than 2 GiB");
        add_value(col, v->data + o[i], (size_t)(o[i + 1] - o[i]));
        break;
      }
      case NB_TYPE_INT64: case NB_TYPE_TIMESTAMP: case NB_TYPE_FLOAT64:
        add_value(col, v->data + 8 * i, 8);
        break;
      case NB_TYPE_DATE32:
        add_value(col, v->data + 4 * i, 4);
        break;
      case NB_TYPE_BOOL:
        tmp[0] = (v->data[i >> 3] >> (i & 7)) & 1;
        add_value(col, tmp, 1);
        break;
      case NB_TYPE_DECIMAL128:
        if (!decimal_value(col, v->data + 16 * i, tmp, &len))
          return value_error(col, r, err, "the decimal has more digits than its precision");
        add_value(col, tmp, len);
        break;
      default:
        return value_error(col, r, err, "unsupported type");
    }
  }
  if (col->plain.failed || col->min.failed || col->max.failed) goto nomem;
  return NB_OK;
nomem:
  return nb_error_set(err, NB_NOMEM, "out of memory buffering column \"%s\" of a Parquet row group", col->name);
}

/* ------------------------------------------------------------------------
 * Writing a chunk
 * ------------------------------------------------------------------------ */

/* Compress body into out as one page with its header. */
static int put_page(const PqChunkParams *p, PqBuf *out, int page_type,
                    const PqBuf *body, int32_t num_values, int32_t encoding,
                    int64_t *uncompressed, PqBuf *scratch, NbError *err) {
  const uint8_t *data = body->data;
  size_t len = body->len;
  const char *codec = pq_codec_block_name(p->codec);
  if (body->len > INT32_MAX) return nb_error_set(err, NB_INTERNAL, "a Parquet page larger than 2 GiB");
  if (codec != NULL) {
    size_t bound = p->host->block_compress_bound(p->host->host_data, codec, body->len);
    if (bound == 0) return nb_error_set(err, NB_INTERNAL, "the host cannot compress with %s", codec);
    scratch->len = 0;
    if (!pq_buf_reserve(scratch, bound)) return nb_error_set(err, NB_NOMEM, "out of memory compressing a page");
    size_t clen = 0;
    int rc = p->host->block_compress(p->host->host_data, codec, p->level, body->data, body->len,
                                     scratch->data, bound, &clen, err);
    if (rc != NB_OK) return rc;
    data = scratch->data;
    len = clen;
    if (len > INT32_MAX) return nb_error_set(err, NB_INTERNAL, "a compressed Parquet page larger than 2 GiB");
  }
  size_t before = out->len;
  pq_page_header_encode(out, page_type, (int32_t)body->len, (int32_t)len, pq_crc32(data, len), num_values,
                        encoding);
  *uncompressed += (int64_t)(out->len - before) + (int64_t)body->len;
  pq_buf_put(out, data, len);
  return out->failed ? nb_error_set(err, NB_NOMEM, "out of memory writing a page") : NB_OK;
}

/* Bytes of the PLAIN values [*pos, ...) for k values; advances *pos. */
static size_t plain_span(const PqColWriter *col, size_t *pos, size_t k) {
  size_t start = *pos;
  if (col->phys == PQ_BYTE_ARRAY) {
    size_t p = start;
    for (size_t i = 0; i < k; i++) p += 4 + pq_le32(col->plain.data + p);
    *pos = p;
  } else {
    size_t w = col->phys == PQ_FIXED ? (size_t)col->type_length
             : col->phys == PQ_INT32 ? 4 : col->phys == PQ_BOOLEAN ? 1 : 8;
    *pos = start + k * w;
  }
  return *pos - start;
}

static void put_values(const PqColWriter *col, PqBuf *body, size_t v0, size_t k,
                       size_t *plain_pos, int dict_bits) {
  if (col->dict_on) {
    pq_buf_byte(body, (uint8_t)dict_bits);
    pq_rle_encode(body, (const uint32_t *)col->indices.data + v0, k, dict_bits);
    return;
  }
  size_t start = *plain_pos;
  size_t n = plain_span(col, plain_pos, k);
  if (col->phys != PQ_BOOLEAN) {
    pq_buf_put(body, col->plain.data + start, n);
    return;
  }
  size_t bytes = (k + 7) / 8;
  if (!pq_buf_reserve(body, bytes)) return;
  uint8_t *d = body->data + body->len;
  memset(d, 0, bytes);
  for (size_t i = 0; i < k; i++)
    if (col->plain.data[start + i]) d[i >> 3] |= (uint8_t)(1u << (i & 7));
  body->len += bytes;
}

static void put_stats(const PqColWriter *col, TWriter *w) {
  tw_struct_field(w, 12);
  tw_i64(w, 3, col->null_count);
  if (col->has_minmax) {
    uint8_t lo[STAT_MAX], hi[STAT_MAX + 1];
    const uint8_t *min = col->min.data, *max = col->max.data;
    size_t min_len = col->min.len, max_len = col->max.len;
    bool max_ok = true, max_exact = true, min_exact = true;
    double d;
    if (col->phys == PQ_DOUBLE) {
      memcpy(&d, min, 8);
      if (d == 0) { d = -0.0; memcpy(lo, &d, 8); min = lo; }
      memcpy(&d, max, 8);
      if (d == 0) { d = 0.0; memcpy(hi, &d, 8); max = hi; }
    }
    if (col->phys == PQ_BYTE_ARRAY && min_len > STAT_MAX) {
      min_len = STAT_MAX;
      min_exact = false;
    }
    if (col->phys == PQ_BYTE_ARRAY && max_len > STAT_MAX) {
      /* Increment the last byte below 0xFF of a prefix. */
      size_t n = STAT_MAX;
      memcpy(hi, max, n);
      while (n > 0 && hi[n - 1] == 0xFF) n--;
      if (n == 0) max_ok = false;
      else hi[n - 1]++;
      max = hi;
      max_len = n;
      max_exact = false;
    }
    if (max_ok) tw_binary(w, 5, max, max_len);
    tw_binary(w, 6, min, min_len);
    if (max_ok) tw_bool(w, 7, max_exact);
    tw_bool(w, 8, min_exact);
  }
  tw_struct_end(w);
}

static void put_chunk_meta(const PqColWriter *col, const PqChunkParams *p,
                           PqBuf *meta, int64_t dict_offset, int64_t data_offset,
                           int64_t compressed, int64_t uncompressed) {
  TWriter w;
  tw_init(&w, meta);
  tw_struct_begin(&w);
  tw_i64(&w, 2, (int64_t)p->file_offset);
  tw_struct_field(&w, 3);
  tw_i32(&w, 1, col->phys);
  tw_list(&w, 2, T_I32, col->dict_on ? 3 : 2);
  if (col->dict_on) {
    tw_elem_i32(&w, PQ_ENC_PLAIN);
    tw_elem_i32(&w, PQ_ENC_RLE);
    tw_elem_i32(&w, PQ_ENC_RLE_DICTIONARY);
  } else {
    tw_elem_i32(&w, PQ_ENC_PLAIN);
    tw_elem_i32(&w, PQ_ENC_RLE);
  }
  tw_list(&w, 3, T_BINARY, 1);
  tw_elem_binary(&w, col->name, strlen(col->name));
  tw_i32(&w, 4, p->codec);
  tw_i64(&w, 5, (int64_t)col->n_rows);
  tw_i64(&w, 6, uncompressed);
  tw_i64(&w, 7, compressed);
  tw_i64(&w, 9, data_offset);
  if (dict_offset >= 0) tw_i64(&w, 11, dict_offset);
  put_stats(col, &w);
  tw_struct_end(&w);
  tw_struct_end(&w);
}

/* Hand the pages encoded so far to the sink when they pass its size. */
static int drain(const PqChunkParams *p, PqBuf *out, size_t start, uint64_t *sunk, bool always, NbError *err) {
  if (p->sink == NULL || out->len == start || (!always && out->len - start < p->sink_bytes)) return NB_OK;
  int rc = p->sink(p->sink_ctx, out->data + start, out->len - start, err);
  if (rc != NB_OK) return rc;
  *sunk += out->len - start;
  out->len = start;
  return NB_OK;
}

int pq_col_write_chunk(PqColWriter *col, const PqChunkParams *p, PqBuf *out,
                       PqBuf *meta, int64_t *uncompressed, NbError *err) {
  PqBuf body = {0}, scratch = {0};
  int rc = NB_OK;
  size_t start = out->len;
  uint64_t sunk = 0;       /* bytes of this chunk already given to the sink */
  int64_t dict_offset = -1, unc = 0;
  int dict_bits = 0;
  if (col->dict_on && col->n_dict > 0) {
    dict_offset = (int64_t)(p->file_offset + sunk + (out->len - start));
    rc = put_page(p, out, PQ_PAGE_DICTIONARY, &col->dict_plain, (int32_t)col->n_dict,
                  PQ_ENC_PLAIN, &unc, &scratch, err);
    if (rc != NB_OK) goto done;
    dict_bits = pq_bit_width(col->n_dict - 1);
  } else if (col->dict_on) {
    dict_free(col);        /* all nulls: nothing to index */
    col->dict_on = false;
  }
  int64_t data_offset = (int64_t)(p->file_offset + sunk + (out->len - start));
  size_t total = col->dict_on ? col->indices.len / 2 + col->defs.len / 8 : col->plain.len + col->defs.len / 8;
  size_t rows_per_page = col->n_rows;
  if (total > p->page_bytes && col->n_rows > 0) {
    size_t pages = (total + p->page_bytes - 1) / p->page_bytes;
    rows_per_page = (col->n_rows + pages - 1) / pages;
  }
  if (rows_per_page == 0) rows_per_page = 1;
  size_t v = 0, plain_pos = 0, r = 0;
  do {
    size_t r1 = col->n_rows - r < rows_per_page ? col->n_rows : r + rows_per_page;
    size_t k = r1 - r;
    body.len = 0;
    if (col->nullable) {
      size_t at = body.len;
      pq_buf_le32(&body, 0);
      pq_rle_encode_u8(&body, col->defs.data + r, r1 - r, 1);
      if (!body.failed) {
        uint32_t n = (uint32_t)(body.len - at - 4);
        uint8_t le[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
        memcpy(body.data + at, le, 4);
      }
      k = 0;
      for (size_t i = r; i < r1; i++) k += col->defs.data[i];
    }
    put_values(col, &body, v, k, &plain_pos, dict_bits);
    if (body.failed) {
      rc = nb_error_set(err, NB_NOMEM, "out of memory encoding a page of column \"%s\"", col->name);
      goto done;
    }
    rc = put_page(p, out, PQ_PAGE_DATA, &body, (int32_t)(r1 - r),
                  col->dict_on ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN, &unc, &scratch, err);
    if (rc == NB_OK) rc = drain(p, out, start, &sunk, false, err);
    if (rc != NB_OK) goto done;
    v += k;
    r = r1;
  } while (r < col->n_rows);
  int64_t compressed = (int64_t)(sunk + (out->len - start));
  rc = drain(p, out, start, &sunk, true, err);
  if (rc != NB_OK) goto done;
  put_chunk_meta(col, p, meta, dict_offset, data_offset, compressed, unc);
  *uncompressed += unc;
  if (meta->failed) rc = nb_error_set(err, NB_NOMEM, "out of memory writing column metadata");
done:
  pq_buf_free(&body);
  pq_buf_free(&scratch);
  return rc;
}
