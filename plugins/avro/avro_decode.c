/*
 * avro_decode.c - Avro binary values -> Nebula columns (see avro_decode.h).
 *
 * Every read is bounded by the block's cursor; a value that does not fit
 * (a union index or enum index out of range, a count or length beyond the
 * block, a decimal wider than 128 bits, a time out of its day, text that
 * is not UTF-8) fails the record with a reason.  Nested values recurse at
 * most MAX_DEPTH levels.
 */
#include "avro_decode.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_DEPTH 64

/* ------------------------------------------------------------------------
 * Columns
 * ------------------------------------------------------------------------ */

static bool is_nullable_union(const AvroNode *n, int *null_branch) {
  if (n->kind != AVRO_UNION || n->n_children != 2) return false;
  for (int i = 0; i < 2; i++) {
    if (n->children[i]->kind == AVRO_NULL && n->children[1 - i]->kind != AVRO_NULL) {
      *null_branch = i;
      return true;
    }
  }
  return false;
}

static void column_type(const AvroNode *n, NbField *f) {
  f->timezone = "UTC";
  switch (n->kind) {
  case AVRO_BOOLEAN: f->type = NB_TYPE_BOOL; return;
  case AVRO_INT:
    f->type = n->logical == AVRO_LOGICAL_DATE ? NB_TYPE_DATE32
              : n->logical == AVRO_LOGICAL_TIME_MILLIS ? NB_TYPE_UTF8 : NB_TYPE_INT64;
    return;
  case AVRO_LONG:
    switch (n->logical) {
    case AVRO_LOGICAL_TIME_MICROS: f->type = NB_TYPE_UTF8; return;
    case AVRO_LOGICAL_TS_MILLIS:
    case AVRO_LOGICAL_TS_MICROS: f->type = NB_TYPE_TIMESTAMP; return;
    case AVRO_LOGICAL_LOCAL_TS_MILLIS:
    case AVRO_LOGICAL_LOCAL_TS_MICROS:
      f->type = NB_TYPE_TIMESTAMP;
      f->timezone = "";
      return;
    default: f->type = NB_TYPE_INT64; return;
    }
  case AVRO_FLOAT:
  case AVRO_DOUBLE: f->type = NB_TYPE_FLOAT64; return;
  case AVRO_STRING:
    f->type = n->nebula_type == 1 ? NB_TYPE_NUMBER : n->nebula_type == 2 ? NB_TYPE_JSON : NB_TYPE_UTF8;
    return;
  case AVRO_BYTES:
  case AVRO_FIXED:
    if (n->logical == AVRO_LOGICAL_DECIMAL) {
      /* Wider than decimal128: exact text (a JSON number). */
      f->type = n->precision <= 38 ? NB_TYPE_DECIMAL128 : NB_TYPE_NUMBER;
      f->precision = n->precision;
      f->scale = n->scale;
    } else {
      f->type = NB_TYPE_UTF8;
    }
    return;
  case AVRO_ENUM:
  case AVRO_NULL: f->type = NB_TYPE_UTF8; return;
  default: f->type = NB_TYPE_JSON; return;
  }
}

int avro_columns(const AvroSchema *schema, AvroColumn **out, size_t *n, NbError *err) {
  const AvroNode *root = schema->root;
  bool record = root->kind == AVRO_RECORD;
  size_t count = record ? root->n_children : 1;
  AvroColumn *cols = calloc(count + 1, sizeof *cols);
  if (cols == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading an Avro schema");
  for (size_t i = 0; i < count; i++) {
    AvroColumn *c = &cols[i];
    const AvroNode *node = record ? root->children[i] : root;
    c->field.name = record ? root->column_names[i] : "value";
    c->null_branch = -1;
    if (is_nullable_union(node, &c->null_branch)) node = node->children[1 - c->null_branch];
    c->field.nullable = c->null_branch >= 0 || node->kind == AVRO_NULL;
    c->node = node;
    column_type(node, &c->field);
  }
  *out = cols;
  *n = count;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Text helpers
 * ------------------------------------------------------------------------ */

static bool valid_utf8(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) n = 1, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) n = 2, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) n = 3, cp = c & 0x07;
    else return false;
    if (len - i <= n) return false;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

static bool put_hex(AvroBuf *b, const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  if (!avro_buf_reserve(b, 2 * n)) return false;
  for (size_t i = 0; i < n; i++) {
    b->data[b->len++] = (uint8_t)digits[p[i] >> 4];
    b->data[b->len++] = (uint8_t)digits[p[i] & 15];
  }
  return true;
}

/* "HH:MM:SS.fff" or "HH:MM:SS.ffffff" of a time of day. */
static bool put_time(AvroBuf *b, int64_t v, bool micros) {
  int64_t unit = micros ? 1000000 : 1000;
  if (v < 0 || v >= 86400 * unit || !avro_buf_reserve(b, 32)) return false;
  int64_t s = v / unit, frac = v % unit;
  b->len += (size_t)snprintf((char *)b->data + b->len, 32, micros ? "%02d:%02d:%02d.%06lld" : "%02d:%02d:%02d.%03lld",
                             (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60), (long long)frac);
  return true;
}

/* A big-endian two's complement integer of n bytes as 128 bits; false
 * when it does not fit. */
static bool decimal_value(const uint8_t *p, size_t n, uint64_t *low, int64_t *high) {
  uint8_t fill = n > 0 && (p[0] & 0x80) ? 0xff : 0x00;
  while (n > 16) {
    if (*p != fill) return false;
    p++, n--;
  }
  if (n == 16 && ((p[0] & 0x80) ? 0xff : 0x00) != fill) return false;
  uint8_t be[16];
  memset(be, fill, 16);
  if (n > 0) memcpy(be + 16 - n, p, n);
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; i++) hi = hi << 8 | be[i];
  for (int i = 8; i < 16; i++) lo = lo << 8 | be[i];
  *low = lo;
  *high = (int64_t)hi;
  return true;
}

/* Decimal digits of an arbitrary-width big-endian two's complement
 * integer with scale fraction digits (a JSON number), for decimals wider
 * than 128 bits. */
static bool put_big_decimal(AvroBuf *b, const uint8_t *p, size_t n, int32_t scale) {
  if (n == 0) return avro_buf_bytes(b, "0", 1);
  bool neg = (p[0] & 0x80) != 0;
  /* n bytes have at most 3n digits; a scale wider than the value adds
   * leading zeros up to scale + 1 digits (scale <= 1000, avro_schema_in.c). */
  size_t digits_cap = n * 3 + 2;
  if (scale >= 0 && (size_t)scale + 2 > digits_cap) digits_cap = (size_t)scale + 2;
  uint8_t *mag = malloc(n);
  char *digits = malloc(digits_cap);
  if (mag == NULL || digits == NULL) {
    free(mag);
    free(digits);
    return false;
  }
  memcpy(mag, p, n);
  if (neg) { /* two's complement negate */
    for (size_t i = 0; i < n; i++) mag[i] = (uint8_t)~mag[i];
    for (size_t i = n; i-- > 0;)
      if (++mag[i] != 0) break;
  }
  size_t nd = 0;
  for (;;) { /* repeated division by 10 */
    bool zero = true;
    unsigned rem = 0;
    for (size_t i = 0; i < n; i++) {
      unsigned cur = rem << 8 | mag[i];
      mag[i] = (uint8_t)(cur / 10);
      rem = cur % 10;
      zero = zero && mag[i] == 0;
    }
    digits[nd++] = (char)('0' + rem);
    if (zero) break;
  }
  while (nd <= (size_t)scale) digits[nd++] = '0';
  bool ok = avro_buf_reserve(b, nd + 3);
  if (ok) {
    if (neg) b->data[b->len++] = '-';
    for (size_t i = nd; i-- > 0;) {
      b->data[b->len++] = (uint8_t)digits[i];
      if (i == (size_t)scale && scale > 0) b->data[b->len++] = '.';
    }
  }
  free(mag);
  free(digits);
  return ok;
}

/* ------------------------------------------------------------------------
 * Primitive values by the node's kind (the same for JSON text and columns)
 * ------------------------------------------------------------------------ */

/* An int or a long, as 64 bits. */
static bool read_integer(const AvroNode *n, AvroCursor *c, int64_t *out) {
  int32_t v;
  if (n->kind != AVRO_INT) return avro_read_long(c, out);
  if (!avro_read_int(c, &v)) return false;
  *out = v;
  return true;
}

/* A float or a double, as a double (exact: every float is a double). */
static bool read_real(const AvroNode *n, AvroCursor *c, double *out) {
  float f;
  if (n->kind != AVRO_FLOAT) return avro_read_double(c, out);
  if (!avro_read_float(c, &f)) return false;
  *out = f;
  return true;
}

/* The bytes of a bytes or a fixed value. */
static bool read_binary(const AvroNode *n, AvroCursor *c, const uint8_t **p, size_t *len) {
  if (n->kind == AVRO_BYTES) return avro_read_bytes(c, p, len);
  *len = n->fixed_size;
  return avro_read_fixed(c, *len, p);
}

/* ------------------------------------------------------------------------
 * Values as JSON text (nested columns)
 * ------------------------------------------------------------------------ */

static bool put_json_double(AvroBuf *b, double v) {
  if (!avro_buf_reserve(b, 40)) return false;
  if (v != v) return avro_buf_bytes(b, "\"NaN\"", 5);
  if (v > 1.7976931348623157e308) return avro_buf_bytes(b, "\"Infinity\"", 10);
  if (v < -1.7976931348623157e308) return avro_buf_bytes(b, "\"-Infinity\"", 11);
  /* The shortest text that reads back as v (issue 9, item 7): "%.17g"
   * wrote 0.1 as 0.10000000000000001. */
  b->len += nb_format_double(v, (char *)b->data + b->len, 40);
  return true;
}

static bool json_value(const AvroNode *n, AvroCursor *c, AvroBuf *b, int depth, const char **why);

/* The blocks of an array or map: count (negative: followed by a byte
 * size), items, until a count of 0. */
static bool json_blocks(const AvroNode *n, AvroCursor *c, AvroBuf *b, int depth, const char **why) {
  bool map = n->kind == AVRO_MAP;
  bool first = true;
  if (!avro_buf_bytes(b, map ? "{" : "[", 1)) goto nomem;
  for (;;) {
    int64_t count;
    if (!avro_read_long(c, &count)) goto truncated;
    if (count == 0) break;
    if (count < 0) {
      int64_t size;
      if (count == INT64_MIN || !avro_read_long(c, &size) || size < 0) goto truncated;
      count = -count;
    }
    /* Each item takes at least min_bytes (a key at least one). */
    size_t min = n->children[0]->min_bytes + (map ? 1 : 0);
    if (min > 0 && (uint64_t)count > avro_cursor_left(c) / min) goto truncated;
    if (min == 0 && count > (1 << 24)) {
      *why = "an array of more than 16777216 empty items in one block";
      return false;
    }
    for (int64_t i = 0; i < count; i++) {
      if (!first && !avro_buf_bytes(b, ",", 1)) goto nomem;
      first = false;
      if (map) {
        const uint8_t *key;
        size_t len;
        if (!avro_read_bytes(c, &key, &len)) goto truncated;
        if (!valid_utf8(key, len)) {
          *why = "a map key that is not UTF-8";
          return false;
        }
        if (!avro_buf_json_string(b, key, len) || !avro_buf_bytes(b, ":", 1)) goto nomem;
      }
      if (!json_value(n->children[0], c, b, depth + 1, why)) return false;
    }
  }
  if (!avro_buf_bytes(b, map ? "}" : "]", 1)) goto nomem;
  return true;
truncated:
  *why = map ? "a truncated map or a count beyond the block" : "a truncated array or a count beyond the block";
  return false;
nomem:
  *why = "out of memory";
  return false;
}

static bool json_value(const AvroNode *n, AvroCursor *c, AvroBuf *b, int depth, const char **why) {
  const uint8_t *p;
  size_t len;
  int64_t l;
  double d;
  if (depth > MAX_DEPTH) {
    *why = "a value nested deeper than 64 levels";
    return false;
  }
  switch (n->kind) {
  case AVRO_NULL: return avro_buf_bytes(b, "null", 4) || (*why = "out of memory", false);
  case AVRO_BOOLEAN:
    if (!avro_read_fixed(c, 1, &p) || *p > 1) break;
    return avro_buf_bytes(b, *p ? "true" : "false", *p ? 4 : 5) || (*why = "out of memory", false);
  case AVRO_INT:
  case AVRO_LONG:
    if (!read_integer(n, c, &l)) break;
    if (!avro_buf_reserve(b, 24)) goto nomem;
    b->len += (size_t)snprintf((char *)b->data + b->len, 24, "%lld", (long long)l);
    return true;
  case AVRO_FLOAT:
  case AVRO_DOUBLE:
    if (!read_real(n, c, &d)) break;
    return put_json_double(b, d) || (*why = "out of memory", false);
  case AVRO_STRING:
    if (!avro_read_bytes(c, &p, &len)) break;
    if (!valid_utf8(p, len)) {
      *why = "a string that is not UTF-8";
      return false;
    }
    return avro_buf_json_string(b, p, len) || (*why = "out of memory", false);
  case AVRO_BYTES:
  case AVRO_FIXED:
    if (!read_binary(n, c, &p, &len)) break;
    if (n->logical == AVRO_LOGICAL_DECIMAL) return put_big_decimal(b, p, len, n->scale) || (*why = "out of memory", false);
    if (!avro_buf_bytes(b, "\"", 1) || !put_hex(b, p, len) || !avro_buf_bytes(b, "\"", 1)) goto nomem;
    return true;
  case AVRO_ENUM:
    if (!avro_read_long(c, &l)) break;
    if (l < 0 || (uint64_t)l >= n->n_symbols) {
      *why = "an enum index out of range";
      return false;
    }
    return avro_buf_json_string(b, n->symbols[l], strlen(n->symbols[l])) || (*why = "out of memory", false);
  case AVRO_UNION:
    if (!avro_read_long(c, &l)) break;
    if (l < 0 || (uint64_t)l >= n->n_children) {
      *why = "a union branch index out of range";
      return false;
    }
    return json_value(n->children[l], c, b, depth + 1, why);
  case AVRO_RECORD:
    if (!avro_buf_bytes(b, "{", 1)) goto nomem;
    for (size_t i = 0; i < n->n_children; i++) {
      if ((i > 0 && !avro_buf_bytes(b, ",", 1)) ||
          !avro_buf_json_string(b, n->field_names[i], strlen(n->field_names[i])) ||
          !avro_buf_bytes(b, ":", 1))
        goto nomem;
      if (!json_value(n->children[i], c, b, depth + 1, why)) return false;
    }
    return avro_buf_bytes(b, "}", 1) || (*why = "out of memory", false);
  case AVRO_ARRAY:
  case AVRO_MAP: return json_blocks(n, c, b, depth, why);
  }
  *why = "a truncated or malformed value";
  return false;
nomem:
  *why = "out of memory";
  return false;
}

/* ------------------------------------------------------------------------
 * Values into columns
 * ------------------------------------------------------------------------ */

static bool append_text(NbColumnBuilder *col, const AvroBuf *b, const char **why) {
  if (nb_column_append_utf8(col, b->len ? (const char *)b->data : "", b->len) != NB_OK) {
    *why = "out of memory (or more than 2 GiB of text in one batch)";
    return false;
  }
  return true;
}

static bool decode_value(const AvroColumn *col, NbColumnBuilder *out, AvroCursor *c,
                         AvroBuf *scratch, const char **why) {
  const AvroNode *n = col->node;
  const uint8_t *p;
  size_t len;
  int64_t l;
  int32_t i32;
  double d;
  int rc = NB_OK;
  switch (col->field.type) {
  case NB_TYPE_BOOL:
    if (!avro_read_fixed(c, 1, &p) || *p > 1) goto bad;
    rc = nb_column_append_bool(out, *p == 1);
    break;
  case NB_TYPE_INT64:
    if (!read_integer(n, c, &l)) goto bad;
    rc = nb_column_append_int64(out, l);
    break;
  case NB_TYPE_DATE32:
    if (!avro_read_int(c, &i32)) goto bad;
    rc = nb_column_append_date32(out, i32);
    break;
  case NB_TYPE_TIMESTAMP:
    if (!avro_read_long(c, &l)) goto bad;
    if (n->logical == AVRO_LOGICAL_TS_MILLIS || n->logical == AVRO_LOGICAL_LOCAL_TS_MILLIS) {
      if (l > INT64_MAX / 1000 || l < INT64_MIN / 1000) {
        *why = "a timestamp-millis beyond the range of microseconds in 64 bits";
        return false;
      }
      l *= 1000;
    }
    rc = nb_column_append_timestamp(out, l);
    break;
  case NB_TYPE_FLOAT64:
    if (!read_real(n, c, &d)) goto bad;
    rc = nb_column_append_double(out, d);
    break;
  case NB_TYPE_DECIMAL128: {
    uint64_t low;
    int64_t high;
    if (!read_binary(n, c, &p, &len)) goto bad;
    if (!decimal_value(p, len, &low, &high)) {
      *why = "a decimal wider than 128 bits";
      return false;
    }
    rc = nb_column_append_decimal128(out, low, high);
    break;
  }
  default: /* text: strings, enums, hex bytes, times, wide decimals, JSON */
    scratch->len = 0;
    switch (n->kind) {
    case AVRO_STRING:
      if (!avro_read_bytes(c, &p, &len)) goto bad;
      if (!valid_utf8(p, len)) {
        *why = "a string that is not UTF-8";
        return false;
      }
      rc = nb_column_append_utf8(out, len ? (const char *)p : "", len);
      break;
    case AVRO_NULL:
      rc = nb_column_append_null(out);
      break;
    case AVRO_ENUM:
      if (!avro_read_long(c, &l)) goto bad;
      if (l < 0 || (uint64_t)l >= n->n_symbols) {
        *why = "an enum index out of range";
        return false;
      }
      rc = nb_column_append_utf8(out, n->symbols[l], strlen(n->symbols[l]));
      break;
    case AVRO_INT:
      if (!avro_read_int(c, &i32)) goto bad;
      if (!put_time(scratch, i32, false)) {
        *why = "a time-millis outside 0..86399999";
        return false;
      }
      return append_text(out, scratch, why);
    case AVRO_LONG:
      if (!avro_read_long(c, &l)) goto bad;
      if (!put_time(scratch, l, true)) {
        *why = "a time-micros outside 0..86399999999";
        return false;
      }
      return append_text(out, scratch, why);
    case AVRO_BYTES:
    case AVRO_FIXED:
      if (!read_binary(n, c, &p, &len)) goto bad;
      if (n->logical == AVRO_LOGICAL_DECIMAL ? !put_big_decimal(scratch, p, len, n->scale) : !put_hex(scratch, p, len)) {
        *why = "out of memory";
        return false;
      }
      return append_text(out, scratch, why);
    default:
      if (!json_value(n, c, scratch, 0, why)) return false;
      return append_text(out, scratch, why);
    }
  }
  if (rc != NB_OK) {
    *why = "out of memory";
    return false;
  }
  return true;
bad:
  *why = "a truncated or malformed value";
  return false;
}

bool avro_decode_record(const AvroSchema *schema, const AvroColumn *cols, size_t n,
                        NbBatchBuilder *builder, AvroCursor *c, AvroBuf *scratch,
                        const char **why) {
  (void)schema;
  for (size_t i = 0; i < n; i++) {
    const AvroColumn *col = &cols[i];
    NbColumnBuilder *out = nb_batch_builder_column(builder, i);
    if (col->null_branch >= 0) {
      int64_t branch;
      if (!avro_read_long(c, &branch) || branch < 0 || branch > 1) {
        *why = "a union branch index out of range";
        return false;
      }
      if (branch == col->null_branch) {
        if (nb_column_append_null(out) != NB_OK) {
          *why = "out of memory";
          return false;
        }
        continue;
      }
    }
    if (!decode_value(col, out, c, scratch, why)) return false;
  }
  return true;
}
