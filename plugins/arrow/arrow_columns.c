/*
 * arrow_columns.c - IPC record batch columns into engine arrays.
 *
 * Every Buffer (offset, length) is checked against the body, every
 * FieldNode against the batch, a validity bitmap's set bits against the
 * node's null count, string offsets (first >= 0, non-decreasing, last
 * within the data) and dictionary indices (within the dictionary) before
 * any value is read.  Compressed buffers (int64 uncompressed length, then
 * an LZ4 frame or a zstd frame; -1: stored as is) are decompressed by the
 * host's block codecs into a buffer of the recorded size, never larger
 * than max_bytes.
 *
 * Arrays the engine carries as they are (int64, float64, bool, utf8,
 * large_utf8, decimal128, date32, timestamp[us]) point into the body when
 * it is aligned and uncompressed: no copy.  Others are converted exactly:
 * int8..int32 and uint8..uint32 widen to int64, uint64 becomes
 * decimal128(20,0) (it may not fit int64), float32 widens to float64,
 * date64 becomes date32 (a value that is not a whole day is an error),
 * timestamps in s and ms are multiplied to microseconds (overflow is an
 * error) and ns divided (a value with sub-microsecond digits is an error:
 * never rounded).
 */
#include "arrow_columns.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

IpcBody *ipc_body_new(size_t len) {
  IpcBody *b = malloc(sizeof *b);
  if (b == NULL) return NULL;
  b->data = malloc(len ? len : 1);
  if (b->data == NULL) {
    free(b);
    return NULL;
  }
  b->len = (int64_t)len;
  b->refs = 1;
  return b;
}

void ipc_body_unref(IpcBody *body) {
  if (body == NULL) return;
  if (__atomic_sub_fetch(&body->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    free(body->data);
    free(body);
  }
}

bool ipc_engine_field(const IpcField *f, NbField *out, const char **why) {
  memset(out, 0, sizeof *out);
  out->name = f->name;
  out->nullable = true;
  switch (f->type) {
  case IPC_T_INT:
    if (!f->is_signed && f->bit_width == 64) {
      out->type = NB_TYPE_DECIMAL128;
      out->precision = 20;
    } else {
      out->type = NB_TYPE_INT64;
    }
    return true;
  case IPC_T_FLOAT: out->type = NB_TYPE_FLOAT64; return true;
  case IPC_T_BOOL: out->type = NB_TYPE_BOOL; return true;
  case IPC_T_UTF8:
    out->type = NB_TYPE_UTF8;
    if (f->extension != NULL && strcmp(f->extension, "arrow.json") == 0)
      out->type = NB_TYPE_JSON;
    else if (f->extension != NULL && strcmp(f->extension, "nebula.number") == 0)
      out->type = NB_TYPE_NUMBER;
    return true;
  case IPC_T_LARGE_UTF8: out->type = NB_TYPE_LARGE_UTF8; return true;
  case IPC_T_DECIMAL:
    out->type = NB_TYPE_DECIMAL128;
    out->precision = f->precision;
    out->scale = f->scale;
    return true;
  case IPC_T_DATE: out->type = NB_TYPE_DATE32; return true;
  case IPC_T_TIMESTAMP:
    out->type = NB_TYPE_TIMESTAMP;
    out->timezone = f->timezone != NULL ? f->timezone : "";
    return true;
  case IPC_T_BINARY: case IPC_T_LARGE_BINARY:
    *why = "binary columns have no engine type (only text travels)";
    return false;
  case IPC_T_TIME:
    *why = "time-of-day columns have no engine type";
    return false;
  case IPC_T_NULL:
    *why = "columns of type null have no engine type";
    return false;
  default:
    *why = "unsupported column type";
    return false;
  }
}

/* ------------------------------------------------------------------------
 * Arrays
 * ------------------------------------------------------------------------ */

typedef struct ColPriv {
  IpcBody *body;           /* referenced, may be NULL */
  void *owned[3];          /* buffers we allocated */
  const void *bufs[3];
} ColPriv;

static void release_column(struct ArrowArray *a) {
  ColPriv *p = a->private_data;
  if (p != NULL) {
    for (int i = 0; i < 3; i++) free(p->owned[i]);
    ipc_body_unref(p->body);
    free(p);
  }
  a->release = NULL;
}

static int fail(ColumnCtx *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ColumnCtx *c, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof c->msg, fmt, ap);
  va_end(ap);
  c->status = status;
  return status;
}

/* One body buffer, at least min_len bytes, 8-aligned; *owned is set when
 * it had to be decompressed or copied. */
static int get_buffer(ColumnCtx *c, const IpcField *f, int64_t min_len,
                      const uint8_t **data, int64_t *len, void **owned) {
  uint32_t i = c->buffer++;
  *owned = NULL;
  if (i >= c->meta->buffers.count)
    return fail(c, NB_DATA, "column \"%s\": the batch lists %u buffers, buffer %u is missing",
                f->name, c->meta->buffers.count, i);
  IpcBufferRef r = ipc_buffer_at(c->meta, i);
  if (r.offset < 0 || r.length < 0 || r.offset > c->body->len ||
      r.length > c->body->len - r.offset)
    return fail(c, NB_DATA, "column \"%s\": buffer %u (offset %lld, length %lld) lies outside the body of %lld bytes",
                f->name, i, (long long)r.offset, (long long)r.length, (long long)c->body->len);
  const uint8_t *p = c->body->data + r.offset;
  int64_t n = r.length;
  if (c->meta->codec != IPC_CODEC_NONE && n > 0) {
    if (n < 8)
      return fail(c, NB_DATA, "column \"%s\": compressed buffer %u is %lld bytes, shorter than its length prefix",
                  f->name, i, (long long)n);
    int64_t raw = fb_read_i64(p);
    p += 8;
    n -= 8;
    if (raw != -1) {
      if (raw < 0 || raw > c->max_bytes)
        return fail(c, NB_DATA, "column \"%s\": buffer %u claims %lld bytes uncompressed (max_batch_bytes is %lld)",
                    f->name, i, (long long)raw, (long long)c->max_bytes);
      const char *codec = c->meta->codec == IPC_CODEC_ZSTD ? "zstd" : "lz4_frame";
      if (!NB_HOST_HAS(c->host, block_decompress))
        return fail(c, NB_DATA, "column \"%s\": the body is compressed (%s) and this host has no block codecs (ABI 1.2)",
                    f->name, codec);
      uint8_t *out = malloc(raw ? (size_t)raw : 1);
      if (out == NULL) return fail(c, NB_NOMEM, "out of memory decompressing column \"%s\"", f->name);
      size_t got = 0;
      NbError e;
      nb_error_init(&e);
      int rc = c->host->block_decompress(c->host->host_data, codec, p, (size_t)n, out,
                                         (size_t)raw, &got, &e);
      if (rc != NB_OK || got != (size_t)raw) {
        fail(c, rc == NB_NOMEM ? NB_NOMEM : NB_DATA,
             "column \"%s\": buffer %u does not decompress (%s) to its recorded %lld bytes: %s",
             f->name, i, codec, (long long)raw, e.message ? e.message : "size differs");
        nb_error_release(&e);
        free(out);
        return c->status;
      }
      nb_error_release(&e);
      *owned = out;
      p = out;
      n = raw;
    }
  }
  if (n < min_len)
    return fail(c, NB_DATA, "column \"%s\": buffer %u is %lld bytes, %lld are needed",
                f->name, i, (long long)n, (long long)min_len);
  if (((uintptr_t)p & 7) != 0 && *owned == NULL) {
    uint8_t *copy = malloc(n ? (size_t)n : 1);
    if (copy == NULL) return fail(c, NB_NOMEM, "out of memory reading column \"%s\"", f->name);
    memcpy(copy, p, (size_t)n);
    *owned = copy;
    p = copy;
  }
  *data = p;
  *len = n;
  return NB_OK;
}

static int64_t count_set(const uint8_t *bits, int64_t n) {
  int64_t set = 0, i = 0;
  for (; i + 8 <= n; i += 8) set += __builtin_popcount(bits[i >> 3]);
  for (; i < n; i++) set += (bits[i >> 3] >> (i & 7)) & 1;
  return set;
}

static inline bool bit(const uint8_t *bits, int64_t i) {
  return (bits[i >> 3] >> (i & 7)) & 1;
}

/* The array shell: priv owns the buffers; the body is referenced only if
 * a buffer points into it. */
static int make_array(ColumnCtx *c, const IpcField *f, int64_t rows,
                      int64_t nulls, int n_buffers, ColPriv *p,
                      struct ArrowArray *out) {
  bool uses_body = false;
  for (int i = 0; i < n_buffers; i++)
    if (p->bufs[i] != NULL && p->bufs[i] != p->owned[i]) uses_body = true;
  if (uses_body) {
    __atomic_add_fetch(&c->body->refs, 1, __ATOMIC_ACQ_REL);
    p->body = c->body;
  }
  memset(out, 0, sizeof *out);
  out->length = rows;
  out->null_count = nulls;
  out->n_buffers = n_buffers;
  out->buffers = p->bufs;
  out->private_data = p;
  out->release = release_column;
  (void)f;
  return NB_OK;
}

static void priv_free(ColPriv *p) {
  for (int i = 0; i < 3; i++) free(p->owned[i]);
  free(p);
}

/* The node and validity bitmap of the next column. */
static int get_node(ColumnCtx *c, const IpcField *f, int64_t rows,
                    IpcNode *node, ColPriv *p) {
  uint32_t i = c->node++;
  if (i >= c->meta->nodes.count)
    return fail(c, NB_DATA, "column \"%s\": the batch lists %u field nodes, node %u is missing",
                f->name, c->meta->nodes.count, i);
  *node = ipc_node_at(c->meta, i);
  if (node->length != rows)
    return fail(c, NB_DATA, "column \"%s\" has %lld values in a batch of %lld rows",
                f->name, (long long)node->length, (long long)rows);
  if (node->null_count < 0 || node->null_count > rows)
    return fail(c, NB_DATA, "column \"%s\": null count %lld is outside 0..%lld",
                f->name, (long long)node->null_count, (long long)rows);
  const uint8_t *bits;
  int64_t len;
  int rc = get_buffer(c, f, node->null_count > 0 ? (rows + 7) / 8 : 0, &bits, &len,
                      &p->owned[0]);
  if (rc != NB_OK) return rc;
  if (node->null_count == 0) {
    free(p->owned[0]);
    p->owned[0] = NULL;
    p->bufs[0] = NULL;
    return NB_OK;
  }
  if (rows - count_set(bits, rows) != node->null_count)
    return fail(c, NB_DATA, "column \"%s\": the validity bitmap has %lld nulls, the field node says %lld",
                f->name, (long long)(rows - count_set(bits, rows)), (long long)node->null_count);
  p->bufs[0] = bits;
  return NB_OK;
}

static int new_owned(ColumnCtx *c, const IpcField *f, ColPriv *p, int i,
                     size_t bytes) {
  free(p->owned[i]);
  p->owned[i] = malloc(bytes ? bytes : 1);
  if (p->owned[i] == NULL)
    return fail(c, NB_NOMEM, "out of memory converting column \"%s\"", f->name);
  p->bufs[i] = p->owned[i];
  return NB_OK;
}

/* Signed/unsigned integers of any width into int64 (uint64: into the low
 * half of a decimal128 with a zero high half). */
static int convert_ints(ColumnCtx *c, const IpcField *f, int width,
                        bool is_signed, const uint8_t *in, int64_t rows,
                        ColPriv *p) {
  bool to_decimal = !is_signed && width == 64;
  int rc = new_owned(c, f, p, 1, (size_t)rows * (to_decimal ? 16 : 8));
  if (rc != NB_OK) return rc;
  int64_t *out = p->owned[1];
  for (int64_t r = 0; r < rows; r++) {
    int64_t v;
    switch (width) {
    case 8: v = is_signed ? (int64_t)((const int8_t *)in)[r] : (int64_t)in[r]; break;
    case 16: v = is_signed ? (int64_t)((const int16_t *)in)[r] : (int64_t)((const uint16_t *)in)[r]; break;
    case 32: v = is_signed ? (int64_t)((const int32_t *)in)[r] : (int64_t)((const uint32_t *)in)[r]; break;
    default: v = ((const int64_t *)in)[r]; break;
    }
    if (to_decimal) {
      out[2 * r] = v;     /* low 64 bits, unsigned */
      out[2 * r + 1] = 0;
    } else {
      out[r] = v;
    }
  }
  return NB_OK;
}

static bool is_valid(const ColPriv *p, int64_t r) {
  return p->bufs[0] == NULL || bit(p->bufs[0], r);
}

static int convert_time(ColumnCtx *c, const IpcField *f, const uint8_t *in,
                        int64_t rows, ColPriv *p) {
  int rc;
  if (f->type == IPC_T_DATE) { /* date64: milliseconds, whole days */
    rc = new_owned(c, f, p, 1, (size_t)rows * 4);
    if (rc != NB_OK) return rc;
    int32_t *out = p->owned[1];
    for (int64_t r = 0; r < rows; r++) {
      int64_t ms = ((const int64_t *)in)[r];
      int64_t days = ms / 86400000;
      if (!is_valid(p, r)) { out[r] = 0; continue; }
      if (ms % 86400000 != 0 || days < INT32_MIN || days > INT32_MAX)
        return fail(c, NB_DATA, "column \"%s\", row %lld: date64 value %lld is not a whole day",
                    f->name, (long long)r + 1, (long long)ms);
      out[r] = (int32_t)days;
    }
    return NB_OK;
  }
  rc = new_owned(c, f, p, 1, (size_t)rows * 8);
  if (rc != NB_OK) return rc;
  int64_t *out = p->owned[1];
  for (int64_t r = 0; r < rows; r++) {
    int64_t v = ((const int64_t *)in)[r], us = 0;
    bool ok = true;
    if (!is_valid(p, r)) { out[r] = 0; continue; }
    switch (f->unit) {
    case IPC_UNIT_SECOND: ok = !__builtin_mul_overflow(v, 1000000, &us); break;
    case IPC_UNIT_MILLI: ok = !__builtin_mul_overflow(v, 1000, &us); break;
    default: ok = v % 1000 == 0; us = v / 1000; break;
    }
    if (!ok)
      return fail(c, NB_DATA, "column \"%s\", row %lld: timestamp %lld %s %s",
                  f->name, (long long)r + 1, (long long)v,
                  f->unit == IPC_UNIT_NANO ? "ns" : f->unit == IPC_UNIT_MILLI ? "ms" : "s",
                  f->unit == IPC_UNIT_NANO ? "has digits below a microsecond (the engine keeps microseconds; it is not rounded)"
                                           : "does not fit microseconds in 64 bits");
    out[r] = us;
  }
  return NB_OK;
}

/* The offset of the first byte that is not valid UTF-8 (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), or len. */
static size_t utf8_invalid_at(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c == 0xe0) { n = 2; lo = 0xa0; }
    else if (c == 0xed) { n = 2; hi = 0x9f; }
    else if (c >= 0xe1 && c <= 0xef) n = 2;
    else if (c == 0xf0) { n = 3; lo = 0x90; }
    else if (c >= 0xf1 && c <= 0xf3) n = 3;
    else if (c == 0xf4) { n = 3; hi = 0x8f; }
    else return i;
    if (n >= len - i) return i; /* cut short */
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k <= n; k++)
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return i;
    i += n + 1;
  }
  return len;
}

/* Offsets (int32 or int64) and data of a string column, checked. */
static int decode_strings(ColumnCtx *c, const IpcField *f, int64_t rows,
                          bool large, ColPriv *p) {
  const uint8_t *offs, *data;
  int64_t len, data_len;
  int w = large ? 8 : 4;
  int rc = get_buffer(c, f, (rows + 1) * w, &offs, &len, &p->owned[1]);
  if (rc == NB_OK) rc = get_buffer(c, f, 0, &data, &data_len, &p->owned[2]);
  if (rc != NB_OK) return rc;
  int64_t prev = large ? ((const int64_t *)offs)[0] : ((const int32_t *)offs)[0];
  if (prev < 0)
    return fail(c, NB_DATA, "column \"%s\": first string offset %lld is negative", f->name, (long long)prev);
  for (int64_t r = 1; r <= rows; r++) {
    int64_t o = large ? ((const int64_t *)offs)[r] : ((const int32_t *)offs)[r];
    if (o < prev)
      return fail(c, NB_DATA, "column \"%s\", row %lld: string offsets decrease (%lld after %lld)",
                  f->name, (long long)r, (long long)o, (long long)prev);
    prev = o;
  }
  if (prev > data_len)
    return fail(c, NB_DATA, "column \"%s\": string offsets reach byte %lld of a %lld-byte data buffer",
                f->name, (long long)prev, (long long)data_len);
  /* Utf8 must be UTF-8 (the format says so; a destination would write the
   * bytes as text).  Checked per value, so a character cannot straddle
   * two values. */
  int64_t start = large ? ((const int64_t *)offs)[0] : ((const int32_t *)offs)[0];
  for (int64_t r = 0; r < rows; r++) {
    int64_t end = large ? ((const int64_t *)offs)[r + 1] : ((const int32_t *)offs)[r + 1];
    size_t bad = is_valid(p, r) ? utf8_invalid_at(data + start, (size_t)(end - start))
                                : (size_t)(end - start);
    if (bad != (size_t)(end - start))
      return fail(c, NB_DATA, "column \"%s\", row %lld: the text is not valid UTF-8 (byte %zu of the value)",
                  f->name, (long long)r + 1, bad + 1);
    start = end;
  }
  p->bufs[1] = offs;
  p->bufs[2] = data;
  return NB_OK;
}

/* A column of plain values (no dictionary). */
static int decode_values(ColumnCtx *c, const IpcField *f, int64_t rows,
                         struct ArrowArray *out) {
  IpcNode node;
  ColPriv *p = calloc(1, sizeof *p);
  if (p == NULL) return fail(c, NB_NOMEM, "out of memory reading column \"%s\"", f->name);
  int rc = get_node(c, f, rows, &node, p);
  int n_buffers = 2;
  const uint8_t *vals = NULL;
  int64_t len;
  void *owned = NULL;
  if (rc != NB_OK) goto out;
  switch (f->type) {
  case IPC_T_UTF8: case IPC_T_LARGE_UTF8:
    n_buffers = 3;
    rc = decode_strings(c, f, rows, f->type == IPC_T_LARGE_UTF8, p);
    break;
  case IPC_T_BOOL:
    rc = get_buffer(c, f, (rows + 7) / 8, &vals, &len, &p->owned[1]);
    p->bufs[1] = vals;
    break;
  case IPC_T_INT:
    rc = get_buffer(c, f, rows * (f->bit_width / 8), &vals, &len, &owned);
    if (rc != NB_OK) break;
    if (f->bit_width == 64 && f->is_signed) {
      p->owned[1] = owned;
      p->bufs[1] = vals;
      owned = NULL;
    } else {
      rc = convert_ints(c, f, f->bit_width, f->is_signed, vals, rows, p);
    }
    break;
  case IPC_T_FLOAT:
    rc = get_buffer(c, f, rows * (f->bit_width / 8), &vals, &len, &owned);
    if (rc != NB_OK) break;
    if (f->bit_width == 64) {
      p->owned[1] = owned;
      p->bufs[1] = vals;
      owned = NULL;
    } else if ((rc = new_owned(c, f, p, 1, (size_t)rows * 8)) == NB_OK) {
      for (int64_t r = 0; r < rows; r++)
        ((double *)p->owned[1])[r] = (double)((const float *)vals)[r];
    }
    break;
  case IPC_T_DECIMAL:
    rc = get_buffer(c, f, rows * 16, &vals, &len, &p->owned[1]);
    p->bufs[1] = vals;
    break;
  case IPC_T_DATE:
  case IPC_T_TIMESTAMP: {
    bool native = f->type == IPC_T_DATE ? f->unit == 0 : f->unit == IPC_UNIT_MICRO;
    int width = f->type == IPC_T_DATE && f->unit == 0 ? 4 : 8;
    rc = get_buffer(c, f, rows * width, &vals, &len, &owned);
    if (rc != NB_OK) break;
    if (native) {
      p->owned[1] = owned;
      p->bufs[1] = vals;
      owned = NULL;
    } else {
      rc = convert_time(c, f, vals, rows, p);
    }
    break;
  }
  default:
    rc = fail(c, NB_DATA, "column \"%s\" has a type that is not read", f->name);
  }
out:
  free(owned);
  if (rc != NB_OK) {
    priv_free(p);
    return rc;
  }
  return make_array(c, f, rows, node.null_count, n_buffers, p, out);
}

/* ------------------------------------------------------------------------
 * Dictionary-encoded columns: decoded to plain values
 * ------------------------------------------------------------------------ */

static int64_t index_at(const uint8_t *idx, int width, bool is_signed,
                        int64_t r) {
  switch (width) {
  case 8: return is_signed ? (int64_t)((const int8_t *)idx)[r] : (int64_t)idx[r];
  case 16: return is_signed ? (int64_t)((const int16_t *)idx)[r] : (int64_t)((const uint16_t *)idx)[r];
  case 32: return is_signed ? (int64_t)((const int32_t *)idx)[r] : (int64_t)((const uint32_t *)idx)[r];
  default: return ((const int64_t *)idx)[r]; /* uint64 beyond INT64_MAX: negative, refused */
  }
}

static size_t value_width(const struct ArrowArray *dict, NbType type) {
  (void)dict;
  switch (type) {
  case NB_TYPE_INT64: case NB_TYPE_FLOAT64: case NB_TYPE_TIMESTAMP: return 8;
  case NB_TYPE_DATE32: return 4;
  case NB_TYPE_DECIMAL128: return 16;
  default: return 0;
  }
}

static int64_t string_offset(const struct ArrowArray *a, bool large, int64_t k) {
  return large ? ((const int64_t *)a->buffers[1])[k] : ((const int32_t *)a->buffers[1])[k];
}

/* Gather the values of a dictionary (dict, decoded with the value type)
 * by the column's indices; an index to a null value is null. */
static int decode_dictionary(ColumnCtx *c, const IpcField *f,
                             const struct ArrowArray *dict, int64_t rows,
                             struct ArrowArray *out) {
  IpcNode node;
  NbField vf;
  const char *why;
  const uint8_t *idx;
  int64_t len;
  void *idx_owned = NULL, *in_valid_owned = NULL;
  ColPriv *p = calloc(1, sizeof *p);
  if (p == NULL) return fail(c, NB_NOMEM, "out of memory reading column \"%s\"", f->name);
  int rc = get_node(c, f, rows, &node, p);
  /* the input validity stays ours until the end; the output gets its own */
  const uint8_t *in_valid = p->bufs[0];
  in_valid_owned = p->owned[0];
  p->owned[0] = NULL;
  p->bufs[0] = NULL;
  if (rc == NB_OK) rc = get_buffer(c, f, rows * (f->index_width / 8), &idx, &len, &idx_owned);
  if (rc != NB_OK) goto done;
  if (!ipc_engine_field(f, &vf, &why)) {
    rc = fail(c, NB_DATA, "column \"%s\": %s", f->name, why);
    goto done;
  }
  const uint8_t *dvalid = dict->null_count > 0 ? dict->buffers[0] : NULL;
  bool strings = vf.type == NB_TYPE_UTF8 || vf.type == NB_TYPE_NUMBER ||
                 vf.type == NB_TYPE_JSON || vf.type == NB_TYPE_LARGE_UTF8;
  bool large = vf.type == NB_TYPE_LARGE_UTF8;
  size_t width = value_width(dict, vf.type);
  int64_t nulls = 0, total = 0;
  /* Pass 1: indices in range, nulls, bytes of string values. */
  for (int64_t r = 0; r < rows; r++) {
    if (in_valid != NULL && !bit(in_valid, r)) { nulls++; continue; }
    int64_t k = index_at(idx, f->index_width, f->index_signed, r);
    if (k < 0 || k >= dict->length) {
      rc = fail(c, NB_DATA, "column \"%s\", row %lld: dictionary index %lld is outside the dictionary of %lld values",
                f->name, (long long)r + 1, (long long)k, (long long)dict->length);
      goto done;
    }
    if (dvalid != NULL && !bit(dvalid, k)) { nulls++; continue; }
    if (strings) {
      total += string_offset(dict, large, k + 1) - string_offset(dict, large, k);
      if (!large && total > INT32_MAX) {
        rc = fail(c, NB_DATA, "column \"%s\": the decoded strings of one batch pass 2 GiB", f->name);
        goto done;
      }
    }
  }
  uint8_t *valid = NULL;
  if (nulls > 0) {
    if ((rc = new_owned(c, f, p, 0, (size_t)(rows + 7) / 8)) != NB_OK) goto done;
    valid = p->owned[0];
    memset(valid, 0, (size_t)(rows + 7) / 8);
  }
  if (strings) {
    if ((rc = new_owned(c, f, p, 1, ((size_t)rows + 1) * (large ? 8 : 4))) != NB_OK ||
        (rc = new_owned(c, f, p, 2, (size_t)total)) != NB_OK)
      goto done;
  } else if (vf.type == NB_TYPE_BOOL) {
    if ((rc = new_owned(c, f, p, 1, (size_t)(rows + 7) / 8)) != NB_OK) goto done;
    memset(p->owned[1], 0, (size_t)(rows + 7) / 8);
  } else {
    if ((rc = new_owned(c, f, p, 1, (size_t)rows * width)) != NB_OK) goto done;
    memset(p->owned[1], 0, (size_t)rows * width);
  }
  /* Pass 2: gather. */
  int64_t pos = 0;
  uint8_t *values = p->owned[1];
  for (int64_t r = 0; r < rows; r++) {
    int64_t k = -1;
    if (in_valid == NULL || bit(in_valid, r)) {
      k = index_at(idx, f->index_width, f->index_signed, r);
      if (dvalid != NULL && !bit(dvalid, k)) k = -1;
    }
    if (k >= 0 && valid != NULL) valid[r >> 3] |= (uint8_t)(1u << (r & 7));
    if (strings) {
      if (k >= 0) {
        int64_t a = string_offset(dict, large, k), n = string_offset(dict, large, k + 1) - a;
        memcpy((uint8_t *)p->owned[2] + pos, (const uint8_t *)dict->buffers[2] + a, (size_t)n);
        pos += n;
      }
      if (large) ((int64_t *)values)[r + 1] = pos;
      else ((int32_t *)values)[r + 1] = (int32_t)pos;
    } else if (vf.type == NB_TYPE_BOOL) {
      if (k >= 0 && bit(dict->buffers[1], k)) values[r >> 3] |= (uint8_t)(1u << (r & 7));
    } else if (k >= 0) {
      memcpy(values + (size_t)r * width, (const uint8_t *)dict->buffers[1] + (size_t)k * width, width);
    }
  }
  if (strings) {
    if (large) ((int64_t *)values)[0] = 0;
    else ((int32_t *)values)[0] = 0;
  }
  free(idx_owned);
  free(in_valid_owned);
  return make_array(c, f, rows, nulls, strings ? 3 : 2, p, out);
done:
  free(idx_owned);
  free(in_valid_owned);
  priv_free(p);
  return rc;
}

int ipc_decode_column(ColumnCtx *c, const IpcField *f,
                      const struct ArrowArray *dict, int64_t rows,
                      struct ArrowArray *out) {
  if (!f->dictionary) return decode_values(c, f, rows, out);
  if (dict == NULL)
    return fail(c, NB_DATA, "column \"%s\" refers to dictionary %lld, which no dictionary batch before it defines",
                f->name, (long long)f->dict_id);
  return decode_dictionary(c, f, dict, rows, out);
}
