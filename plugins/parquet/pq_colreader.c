/*
 * pq_colreader.c - decoding a column chunk (see pq_colreader.h), written
 * from parquet-format's Encodings.md and parquet.thrift.
 */
#include "pq_colreader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq_crc32.h"
#include "pq_rle.h"

/* Non-null values of one page (or of the dictionary), back to back. */
typedef struct Dense {
  PqBuf bytes;
  PqBuf offs;              /* BYTE_ARRAY: uint64 offsets, count + 1 */
  size_t count;
} Dense;

/* The reader (PqColReader): decoding state that lives for the chunk. */
typedef struct Ctx {
  const NbHostApi *host;
  const PqChunkRef *ref;
  NbError *err;
  uint64_t page_at;        /* file offset of the page being decoded */
  size_t width;
  Dense dict;
  bool has_dict;
  Dense page;
  PqBuf levels;            /* uint32 definition level per row (slot) of the page */
  PqBuf rep_levels;        /* uint32 repetition level per slot (nested leaves) */
  uint32_t max_def;        /* 0 REQUIRED, 1 OPTIONAL flat, deeper nested */
  PqBuf indices;           /* uint32 scratch; a dictionary page's indices */
  PqBuf inflated;          /* decompressed page */
  /* The data page being consumed: its levels (levels, rep_levels), its
   * values (page, or dictionary indices in `indices` when pg_dict), the
   * next slot and the next value to place in the window. */
  size_t pg_slots, pg_next, pg_vnext;
  bool pg_dict;
  PqRleDecoder pg_idx;     /* pg_dict: the page's indices, decoded as placed */
  PqColData *out;          /* &window */
  size_t rows_done;        /* rows (nested: slots) decoded so far */
  PqChunkRef ref_copy;     /* ref points here */
  uint8_t *chunk;          /* the compressed chunk, owned */
  size_t chunk_len;
  size_t pos;              /* offset in chunk of the next page header */
  size_t total_rows;       /* flat: the row group's rows */
  PqColData window;
} Ctx;

struct PqColReader {
  Ctx c;
};

size_t pq_phys_width(int32_t phys, int32_t type_length) {
  switch (phys) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32: case PQ_FLOAT: return 4;
    case PQ_INT64: case PQ_DOUBLE: return 8;
    case PQ_INT96: return 12;
    case PQ_FIXED: return type_length > 0 ? (size_t)type_length : 0;
    default: return 0;
  }
}

static int fail(Ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Ctx *c, const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  nb_error_set(c->err, NB_DATA,
               "corrupt Parquet file \"%s\": row group %u, column \"%s\", page at offset %llu: %s",
               c->ref->file, (unsigned)c->ref->row_group, c->ref->column,
               (unsigned long long)c->page_at, why);
  nb_error_locate(c->err, c->ref->file, 0, 0);
  return NB_DATA;
}

static int nomem(Ctx *c) {
  return nb_error_set(c->err, NB_NOMEM, "out of memory reading column \"%s\" of \"%s\"",
                      c->ref->column, c->ref->file);
}

static void dense_clear(Dense *d) {
  d->bytes.len = d->offs.len = 0;
  d->count = 0;
  pq_buf_le64(&d->offs, 0);
}

static void dense_free(Dense *d) {
  pq_buf_free(&d->bytes);
  pq_buf_free(&d->offs);
}

static void dense_push_bytes(Dense *d, const uint8_t *p, size_t n, bool byte_array) {
  pq_buf_put(&d->bytes, p, n);
  if (byte_array) pq_buf_le64(&d->offs, d->bytes.len);
  d->count++;
}

/* ------------------------------------------------------------------------
 * Value encodings
 * ------------------------------------------------------------------------ */

static int decode_plain(Ctx *c, const uint8_t *p, size_t len, size_t k, Dense *out) {
  int32_t phys = c->ref->phys;
  if (phys == PQ_BOOLEAN) {
    if ((k + 7) / 8 > len) return fail(c, "PLAIN booleans: %zu values need %zu bytes, the page has %zu", k, (k + 7) / 8, len);
    if (!pq_buf_reserve(&out->bytes, k)) return nomem(c);
    for (size_t i = 0; i < k; i++) out->bytes.data[out->bytes.len++] = (p[i >> 3] >> (i & 7)) & 1;
    out->count += k;
    return NB_OK;
  }
  if (phys == PQ_BYTE_ARRAY) {
    size_t pos = 0;
    for (size_t i = 0; i < k; i++) {
      if (len - pos < 4) return fail(c, "PLAIN byte array %zu of %zu: length past the end of the page", i + 1, k);
      uint32_t n = pq_le32(p + pos);
      pos += 4;
      if (n > len - pos) return fail(c, "PLAIN byte array %zu of %zu: %u bytes past the end of the page", i + 1, k, n);
      dense_push_bytes(out, p + pos, n, true);
      pos += n;
    }
    return out->bytes.failed || out->offs.failed ? nomem(c) : NB_OK;
  }
  size_t w = c->width;
  if (w == 0 || k > len / w) return fail(c, "PLAIN: %zu values of %zu bytes do not fit the page's %zu bytes", k, w, len);
  pq_buf_put(&out->bytes, p, k * w);
  out->count += k;
  return out->bytes.failed ? nomem(c) : NB_OK;
}

/* The page's indices are decoded as its rows are placed (next_indices):
 * a page of a million rows never holds a million indices or values. */
static int decode_dict_indices(Ctx *c, const uint8_t *p, size_t len, size_t k, Dense *out) {
  (void)out;
  (void)k;
  if (!c->has_dict) return fail(c, "dictionary-encoded page without a dictionary page");
  if (len < 1) return fail(c, "dictionary indices: no bit width");
  int bw = p[0];
  if (bw > 32) return fail(c, "dictionary indices: bit width %d", bw);
  pq_rle_init(&c->pg_idx, p + 1, len - 1, bw);
  c->pg_dict = true;
  return NB_OK;
}

/* The page's next k dictionary indices into c->indices, each checked. */
static int next_indices(Ctx *c, size_t k) {
  const char *why = NULL;
  if (!pq_buf_reserve(&c->indices, k * 4 + 4)) return nomem(c);
  uint32_t *idx = (uint32_t *)(void *)c->indices.data;
  if (!pq_rle_get(&c->pg_idx, idx, k, &why)) return fail(c, "dictionary indices: %s", why);
  for (size_t i = 0; i < k; i++)
    if (idx[i] >= c->dict.count)
      return fail(c, "dictionary index %u out of range (the dictionary has %zu entries)", idx[i], c->dict.count);
  return NB_OK;
}

/* RLE / bit-packed hybrid values behind a 4-byte length: booleans (bit
 * width 1, as the format defines), and INT32 / INT64 as parquetjs writes
 * them with its column option `typeLength`, the bit width, which it also
 * stores as the column's type_length (1..32 here: the decoder's values
 * are 32 bits).  The values are unsigned in that width. */
static int decode_rle_values(Ctx *c, const uint8_t *p, size_t len, size_t k, Dense *out) {
  const char *why = NULL;
  int32_t phys = c->ref->phys;
  int bit_width = phys == PQ_BOOLEAN ? 1 : (int)c->ref->type_length;
  const char *what = phys == PQ_BOOLEAN ? "booleans" : "integers";
  if (phys != PQ_BOOLEAN && (bit_width < 1 || bit_width > 32))
    return fail(c, "RLE %s need a bit width of 1 to 32 in the column's type_length, found %d", what,
                (int)c->ref->type_length);
  if (len < 4) return fail(c, "RLE %s: no length", what);
  uint32_t n = pq_le32(p);
  if (n > len - 4) return fail(c, "RLE %s: length %u past the end of the page", what, n);
  size_t w = phys == PQ_BOOLEAN ? 1 : c->width;
  if (k > SIZE_MAX / 8 - 1 || !pq_buf_reserve(&c->indices, k * 4 + 4) || !pq_buf_reserve(&out->bytes, k * w))
    return nomem(c);
  uint32_t *v = (uint32_t *)(void *)c->indices.data;
  PqRleDecoder d;
  pq_rle_init(&d, p + 4, n, bit_width);
  if (!pq_rle_get(&d, v, k, &why)) return fail(c, "RLE %s: %s", what, why);
  uint8_t *dst = out->bytes.data + out->bytes.len;
  for (size_t i = 0; i < k; i++) {
    if (phys == PQ_BOOLEAN) {
      dst[i] = (uint8_t)(v[i] & 1);
    } else if (w == 4) {
      memcpy(dst + 4 * i, &v[i], 4);
    } else {
      int64_t x = (int64_t)v[i];
      memcpy(dst + 8 * i, &x, 8);
    }
  }
  out->bytes.len += k * w;
  out->count += k;
  return NB_OK;
}

static int decode_byte_stream_split(Ctx *c, const uint8_t *p, size_t len, size_t k, Dense *out) {
  size_t w = c->width;
  if (c->ref->phys == PQ_BYTE_ARRAY || c->ref->phys == PQ_BOOLEAN || c->ref->phys == PQ_INT96)
    return fail(c, "BYTE_STREAM_SPLIT is not defined for %s", pq_type_name(c->ref->phys));
  if (w == 0 || k > len / w) return fail(c, "BYTE_STREAM_SPLIT: %zu values of %zu bytes do not fit the page's %zu bytes", k, w, len);
  if (k == 0) return NB_OK; /* an all-null page: the buffer may not exist yet */
  if (!pq_buf_reserve(&out->bytes, k * w)) return nomem(c);
  uint8_t *dst = out->bytes.data + out->bytes.len;
  for (size_t i = 0; i < k; i++)
    for (size_t b = 0; b < w; b++) dst[i * w + b] = p[b * k + i];
  out->bytes.len += k * w;
  out->count += k;
  return NB_OK;
}

/* DELTA_BINARY_PACKED: k values into vals (uint64, wrapping arithmetic);
 * *used is the bytes consumed. */
typedef struct Bytes {
  const uint8_t *p, *end;
} Bytes;

static bool uvarint(Bytes *b, uint64_t *v) {
  uint64_t out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (b->p >= b->end) return false;
    uint8_t x = *b->p++;
    out |= (uint64_t)(x & 0x7F) << shift;
    if (!(x & 0x80)) {
      *v = out;
      return true;
    }
  }
  return false;
}

static bool zvarint(Bytes *b, int64_t *v) {
  uint64_t u;
  if (!uvarint(b, &u)) return false;
  *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
  return true;
}

static uint64_t read_bits(const uint8_t *p, uint64_t bit, int w) {
  uint64_t v = 0;
  for (int got = 0; got < w;) {
    uint64_t byte = bit >> 3;
    int off = (int)(bit & 7);
    int take = 8 - off < w - got ? 8 - off : w - got;
    v |= (uint64_t)((p[byte] >> off) & ((1u << take) - 1)) << got;
    got += take;
    bit += (uint64_t)take;
  }
  return v;
}

static int decode_delta(Ctx *c, const uint8_t *p, size_t len, size_t k, uint64_t *vals,
                        size_t *used, size_t *total_out) {
  Bytes b = {p, p + len};
  uint64_t block, minis, total;
  int64_t first;
  if (!uvarint(&b, &block) || !uvarint(&b, &minis) || !uvarint(&b, &total) || !zvarint(&b, &first))
    return fail(c, "DELTA_BINARY_PACKED: truncated header");
  if (block == 0 || block % 128 != 0 || block > (1u << 20) || minis == 0 || block % minis != 0 ||
      (block / minis) % 32 != 0)
    return fail(c, "DELTA_BINARY_PACKED: block of %llu values in %llu miniblocks", (unsigned long long)block,
                (unsigned long long)minis);
  if (total < k) return fail(c, "DELTA_BINARY_PACKED: %llu values where %zu are needed", (unsigned long long)total, k);
  uint64_t per_mini = block / minis;
  uint64_t value = (uint64_t)first;
  size_t n = 0;
  if (k > 0) vals[n++] = value;
  uint64_t left = total > 0 ? total - 1 : 0;
  while (left > 0) {
    int64_t min_delta;
    if (!zvarint(&b, &min_delta)) return fail(c, "DELTA_BINARY_PACKED: truncated block header");
    if ((uint64_t)(b.end - b.p) < minis) return fail(c, "DELTA_BINARY_PACKED: truncated bit widths");
    const uint8_t *widths = b.p;
    b.p += minis;
    for (uint64_t m = 0; m < minis && left > 0; m++) {
      int w = widths[m];
      if (w > 64) return fail(c, "DELTA_BINARY_PACKED: bit width %d", w);
      uint64_t bytes = per_mini * (uint64_t)w / 8;
      if (bytes > (uint64_t)(b.end - b.p)) return fail(c, "DELTA_BINARY_PACKED: miniblock past the end of the page");
      uint64_t take = left < per_mini ? left : per_mini;
      for (uint64_t i = 0; i < take; i++) {
        uint64_t delta = w ? read_bits(b.p, i * (uint64_t)w, w) : 0;
        value += (uint64_t)min_delta + delta;
        if (n < k) vals[n++] = value;
      }
      left -= take;
      b.p += bytes;
    }
  }
  *used = (size_t)(b.p - p);
  *total_out = (size_t)total;
  return NB_OK;
}

static int decode_delta_values(Ctx *c, const uint8_t *p, size_t len, size_t k, Dense *out) {
  size_t used, total;
  int32_t phys = c->ref->phys;
  if (phys != PQ_INT32 && phys != PQ_INT64) return fail(c, "DELTA_BINARY_PACKED is not defined for %s", pq_type_name(phys));
  uint64_t *vals = malloc((k ? k : 1) * sizeof *vals);
  if (vals == NULL) return nomem(c);
  int rc = decode_delta(c, p, len, k, vals, &used, &total);
  for (size_t i = 0; rc == NB_OK && i < k; i++) {
    if (phys == PQ_INT32) {
      uint32_t v = (uint32_t)vals[i];
      dense_push_bytes(out, (const uint8_t *)&v, 4, false);
    } else {
      dense_push_bytes(out, (const uint8_t *)&vals[i], 8, false);
    }
  }
  free(vals);
  if (rc == NB_OK && out->bytes.failed) rc = nomem(c);
  return rc;
}

/* Lengths (DELTA_BINARY_PACKED) then the bytes: DELTA_LENGTH_BYTE_ARRAY,
 * and DELTA_BYTE_ARRAY's prefix lengths + suffixes. */
static int decode_delta_strings(Ctx *c, const uint8_t *p, size_t len, size_t k, Dense *out, bool prefixed) {
  size_t used, total;
  uint64_t *pre = NULL, *lens = malloc((k ? k : 1) * sizeof *lens);
  PqBuf prev = {0};
  int rc = lens == NULL ? nomem(c) : NB_OK;
  if (c->ref->phys != PQ_BYTE_ARRAY && c->ref->phys != PQ_FIXED)
    rc = fail(c, "%s is not defined for %s", prefixed ? "DELTA_BYTE_ARRAY" : "DELTA_LENGTH_BYTE_ARRAY",
              pq_type_name(c->ref->phys));
  if (rc == NB_OK && prefixed) {
    pre = malloc((k ? k : 1) * sizeof *pre);
    if (pre == NULL) rc = nomem(c);
    if (rc == NB_OK) rc = decode_delta(c, p, len, k, pre, &used, &total);
    if (rc == NB_OK) {
      p += used;
      len -= used;
    }
  }
  if (rc == NB_OK) rc = decode_delta(c, p, len, k, lens, &used, &total);
  size_t pos = used;
  for (size_t i = 0; rc == NB_OK && i < k; i++) {
    uint64_t n = lens[i], keep = prefixed ? pre[i] : 0;
    if (n > len - pos) {
      rc = fail(c, "delta byte array %zu: %llu bytes past the end of the page", i + 1, (unsigned long long)n);
      break;
    }
    if (keep > prev.len) {
      rc = fail(c, "DELTA_BYTE_ARRAY %zu: prefix of %llu bytes, the previous value has %zu", i + 1,
                (unsigned long long)keep, prev.len);
      break;
    }
    prev.len = (size_t)keep;
    pq_buf_put(&prev, p + pos, (size_t)n);
    pos += (size_t)n;
    if (prev.failed) {
      rc = nomem(c);
      break;
    }
    if (c->ref->phys == PQ_FIXED && prev.len != c->width) {
      rc = fail(c, "delta byte array %zu has %zu bytes, the column %zu", i + 1, prev.len, c->width);
      break;
    }
    dense_push_bytes(out, prev.data, prev.len, c->ref->phys == PQ_BYTE_ARRAY);
  }
  if (rc == NB_OK && (out->bytes.failed || out->offs.failed)) rc = nomem(c);
  free(lens);
  free(pre);
  pq_buf_free(&prev);
  return rc;
}

static int decode_values(Ctx *c, int encoding, const uint8_t *p, size_t len, size_t k, Dense *out) {
  switch (encoding) {
    case PQ_ENC_PLAIN: return decode_plain(c, p, len, k, out);
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: return decode_dict_indices(c, p, len, k, out);
    case PQ_ENC_RLE:
      if (c->ref->phys == PQ_BOOLEAN || c->ref->phys == PQ_INT32 || c->ref->phys == PQ_INT64)
        return decode_rle_values(c, p, len, k, out);
      break;
    case PQ_ENC_BYTE_STREAM_SPLIT: return decode_byte_stream_split(c, p, len, k, out);
    case PQ_ENC_DELTA_BINARY_PACKED: return decode_delta_values(c, p, len, k, out);
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return decode_delta_strings(c, p, len, k, out, false);
    case PQ_ENC_DELTA_BYTE_ARRAY: return decode_delta_strings(c, p, len, k, out, true);
    default: break;
  }
  nb_error_set(c->err, NB_DATA, "Parquet file \"%s\": row group %u, column \"%s\", page at offset %llu: encoding %s (%d) of %s values is not supported",
               c->ref->file, (unsigned)c->ref->row_group, c->ref->column, (unsigned long long)c->page_at,
               pq_encoding_name(encoding), encoding, pq_type_name(c->ref->phys));
  return NB_DATA;
}

/* ------------------------------------------------------------------------
 * Pages
 * ------------------------------------------------------------------------ */

/* Decompress src into c->inflated (exactly size bytes). */
static int inflate_page(Ctx *c, const uint8_t *src, size_t len, size_t size, const uint8_t **out) {
  if (c->ref->codec == PQ_CODEC_NONE) {
    if (len != size) return fail(c, "uncompressed page of %zu bytes claims %zu", len, size);
    *out = src;
    return NB_OK;
  }
  const char *codec = pq_codec_block_name(c->ref->codec);
  if (codec == NULL || !NB_HOST_HAS(c->host, block_decompress)) {
    nb_error_set(c->err, NB_DATA, "Parquet file \"%s\": row group %u, column \"%s\": codec %s is not supported",
                 c->ref->file, (unsigned)c->ref->row_group, c->ref->column, pq_codec_name(c->ref->codec));
    nb_error_hint(c->err, "Rewrite the file with SNAPPY, GZIP, ZSTD, LZ4_RAW or no compression.");
    return NB_DATA;
  }
  c->inflated.len = 0;
  if (!pq_buf_reserve(&c->inflated, size ? size : 1)) return nomem(c);
  size_t got = 0;
  NbError local;
  nb_error_init(&local);
  int rc = c->host->block_decompress(c->host->host_data, codec, src, len, c->inflated.data, size, &got, &local);
  if (rc == NB_NOMEM) {
    nb_error_release(&local);
    return nomem(c);
  }
  if (rc != NB_OK || got != size) {
    rc = fail(c, "%s page does not decompress to its %zu bytes%s%s", codec, size, local.message ? ": " : "",
              local.message ? local.message : "");
    nb_error_release(&local);
    return rc;
  }
  nb_error_release(&local);
  *out = c->inflated.data;
  return NB_OK;
}

/* Bits of a level whose maximum is max (0 when the level is always 0). */
static int level_bits(uint32_t max) {
  int w = 0;
  while (w < 32 && (1u << w) <= max) w++;
  return w;
}

/* n levels (hybrid, the bit width of max) into buf; *k is the number of
 * levels equal to max (for definition levels: the non-null values). */
static int decode_levels_of(Ctx *c, const char *what, const uint8_t *p, size_t len, size_t n, uint32_t max,
                            PqBuf *buf, size_t *k) {
  const char *why = NULL;
  if (!pq_buf_reserve(buf, n * 4 + 4)) return nomem(c);
  uint32_t *lv = (uint32_t *)(void *)buf->data;
  PqRleDecoder d;
  pq_rle_init(&d, p, len, level_bits(max));
  if (!pq_rle_get(&d, lv, n, &why)) return fail(c, "%s levels: %s", what, why);
  size_t nn = 0;
  for (size_t i = 0; i < n; i++) {
    if (lv[i] > max) return fail(c, "%s level %u above the column's maximum %u", what, lv[i], max);
    nn += lv[i] == max;
  }
  *k = nn;
  return NB_OK;
}

static int decode_levels(Ctx *c, const uint8_t *p, size_t len, size_t n, size_t *k) {
  return decode_levels_of(c, "definition", p, len, n, c->max_def, &c->levels, k);
}

/* Room for `slots` slots in the window: its row count is only known page
 * by page (nested leaves) or batch by batch (flat columns). */
static int grow_slots(Ctx *c, size_t slots) {
  PqColData *o = c->out;
  if (slots <= o->cap_slots) return NB_OK;
  size_t cap = o->cap_slots < 1024 ? 1024 : o->cap_slots;
  while (cap < slots) {
    if (cap > SIZE_MAX / 32) return nomem(c);
    cap *= 2;
  }
  if (c->ref->nested || c->ref->optional) {
    uint8_t *valid = realloc(o->valid, cap);
    if (valid == NULL) return nomem(c);
    o->valid = valid;
  }
  if (c->ref->nested) {
    uint8_t *def = realloc(o->def, cap);
    if (def == NULL) return nomem(c);
    o->def = def;
    uint8_t *rp = realloc(o->rep, cap);
    if (rp == NULL) return nomem(c);
    o->rep = rp;
  }
  if (c->ref->phys == PQ_BYTE_ARRAY) {
    uint64_t *offs = realloc(o->offsets, (cap + 1) * sizeof *offs);
    if (offs == NULL) return nomem(c);
    if (o->cap_slots == 0) offs[0] = 0;
    o->offsets = offs;
  }
  o->cap_slots = cap;
  return NB_OK;
}

/* Value v of the page being consumed (pg_dict: the value of the v-th index
 * of c->indices): its bytes and length. */
static const uint8_t *page_value(const Ctx *c, size_t v, size_t *n) {
  const Dense *d = c->pg_dict ? &c->dict : &c->page;
  size_t e = c->pg_dict ? ((const uint32_t *)(void *)c->indices.data)[v] : v;
  if (c->ref->phys != PQ_BYTE_ARRAY) {
    *n = c->width;
    return d->bytes.data + e * c->width;
  }
  const uint64_t *offs = (const uint64_t *)(void *)d->offs.data;
  *n = (size_t)(offs[e + 1] - offs[e]);
  return *n ? d->bytes.data + offs[e] : NULL; /* data may be NULL when empty */
}

/* Place the page's next n slots in the window, after its last row. */
static int place_rows(Ctx *c, size_t n) {
  PqColData *o = c->out;
  const uint32_t *lv = c->max_def > 0 ? (const uint32_t *)(void *)c->levels.data + c->pg_next : NULL;
  size_t at = c->rows_done - o->first_row; /* window slot of the first */
  int rc = grow_slots(c, at + n);
  if (rc != NB_OK) return rc;
  if (c->ref->nested) {
    const uint32_t *rl = c->ref->max_rep > 0 ? (const uint32_t *)(void *)c->rep_levels.data + c->pg_next : NULL;
    for (size_t i = 0; i < n; i++) {
      o->def[at + i] = (uint8_t)(lv ? lv[i] : 0);
      o->rep[at + i] = (uint8_t)(rl ? rl[i] : 0);
    }
  }
  bool ba = c->ref->phys == PQ_BYTE_ARRAY;
  size_t v = c->pg_vnext, n_bytes;
  if (c->pg_dict) {
    size_t values = n;
    if (lv != NULL) {
      values = 0;
      for (size_t i = 0; i < n; i++) values += lv[i] == c->max_def;
    }
    rc = next_indices(c, values);
    if (rc != NB_OK) return rc;
    v = 0;
  }
  if (!ba && !pq_buf_reserve(&o->values, n * c->width)) return nomem(c);
  for (size_t i = 0; i < n; i++) {
    size_t row = at + i;
    bool valid = lv == NULL || lv[i] == c->max_def;
    if (o->valid != NULL) o->valid[row] = valid;
    if (ba) {
      if (valid) {
        const uint8_t *p = page_value(c, v++, &n_bytes);
        if (n_bytes > 0) pq_buf_put(&o->values, p, n_bytes);
      }
      o->offsets[row + 1] = o->values.len;
    } else {
      uint8_t *dst = o->values.data + o->values.len;
      if (valid) memcpy(dst, page_value(c, v++, &n_bytes), c->width);
      else memset(dst, 0, c->width);
      o->values.len += c->width;
    }
  }
  if (o->values.failed) return nomem(c);
  c->pg_next += n;
  c->pg_vnext = c->pg_dict ? c->pg_vnext + v : v;
  c->rows_done += n;
  o->n_rows = at + n;
  return NB_OK;
}

/* Pass over the page's next n rows (before a resumed position) without
 * placing them; the window is empty then. */
static int skip_rows(Ctx *c, size_t n) {
  const uint32_t *lv = c->max_def > 0 ? (const uint32_t *)(void *)c->levels.data + c->pg_next : NULL;
  size_t values = n;
  if (lv != NULL) {
    values = 0;
    for (size_t i = 0; i < n; i++) values += lv[i] == c->max_def;
  }
  /* Indices are passed over in bounded steps (and still checked). */
  for (size_t left = values; c->pg_dict && left > 0;) {
    size_t step = left < 65536 ? left : 65536;
    int rc = next_indices(c, step);
    if (rc != NB_OK) return rc;
    left -= step;
  }
  c->pg_next += n;
  c->pg_vnext += values;
  c->rows_done += n;
  c->out->first_row = c->rows_done;
  return NB_OK;
}

static int data_page(Ctx *c, const PqPageHeader *h, const uint8_t *body, size_t len) {
  size_t n = (size_t)h->num_values, k = n;
  const uint8_t *p;
  int rc;
  if (c->ref->nested) {
    if (h->num_values < 0 || (uint64_t)h->num_values > (uint64_t)c->ref->max_slots - c->rows_done)
      return fail(c, "page of %d level slots where at most %zu are left in the memory limit", h->num_values,
                  c->ref->max_slots - c->rows_done);
  } else if (h->num_values < 0 || (uint64_t)h->num_values > (uint64_t)c->ref->num_rows - c->rows_done)
    return fail(c, "page of %d values where %llu rows are left in the row group", h->num_values,
                (unsigned long long)((uint64_t)c->ref->num_rows - c->rows_done));
  if (h->type == PQ_PAGE_DATA) {
    rc = inflate_page(c, body, len, (size_t)h->uncompressed_size, &p);
    if (rc != NB_OK) return rc;
    size_t plen = (size_t)h->uncompressed_size;
    if (c->ref->max_rep > 0) {
      size_t reps;
      if (plen < 4) return fail(c, "no room for the repetition levels' length");
      uint32_t ln = pq_le32(p);
      if (ln > plen - 4) return fail(c, "repetition levels of %u bytes past the end of the page", ln);
      rc = decode_levels_of(c, "repetition", p + 4, ln, n, c->ref->max_rep, &c->rep_levels, &reps);
      if (rc != NB_OK) return rc;
      p += 4 + ln;
      plen -= 4 + (size_t)ln;
    }
    if (c->max_def > 0) {
      if (h->def_encoding != PQ_ENC_RLE)
        return fail(c, "definition levels in encoding %s", pq_encoding_name(h->def_encoding));
      if (plen < 4) return fail(c, "no room for the definition levels' length");
      uint32_t ln = pq_le32(p);
      if (ln > plen - 4) return fail(c, "definition levels of %u bytes past the end of the page", ln);
      rc = decode_levels(c, p + 4, ln, n, &k);
      if (rc != NB_OK) return rc;
      p += 4 + ln;
      plen -= 4 + (size_t)ln;
    }
    dense_clear(&c->page);
    c->pg_dict = false;
    rc = decode_values(c, h->encoding, p, plen, k, &c->page);
  } else {
    size_t rl = 0;
    if (c->ref->max_rep > 0) {
      size_t reps;
      if (h->rep_bytes < 0 || (size_t)h->rep_bytes > len || (size_t)h->rep_bytes > (size_t)h->uncompressed_size)
        return fail(c, "repetition levels of %d bytes past the end of the page", h->rep_bytes);
      rl = (size_t)h->rep_bytes;
      rc = decode_levels_of(c, "repetition", body, rl, n, c->ref->max_rep, &c->rep_levels, &reps);
      if (rc != NB_OK) return rc;
      body += rl;
      len -= rl;
    } else if (h->rep_bytes != 0) {
      return fail(c, "repetition levels in a column that does not repeat");
    }
    if (h->def_bytes < 0 || (size_t)h->def_bytes > len || (size_t)h->def_bytes > (size_t)h->uncompressed_size - rl)
      return fail(c, "definition levels of %d bytes past the end of the page", h->def_bytes);
    if (!c->ref->nested && h->num_rows != h->num_values)
      return fail(c, "num_rows %d and num_values %d differ in a flat column", h->num_rows, h->num_values);
    size_t dl = (size_t)h->def_bytes;
    if (c->max_def > 0) {
      rc = decode_levels(c, body, dl, n, &k);
      if (rc != NB_OK) return rc;
    } else if (dl != 0) {
      return fail(c, "definition levels in a required column");
    }
    if (h->num_nulls < 0 || (size_t)h->num_nulls != n - k) return fail(c, "num_nulls %d, the levels say %zu", h->num_nulls, n - k);
    size_t vsize = (size_t)h->uncompressed_size - rl - dl;
    if (h->v2_compressed) {
      rc = inflate_page(c, body + dl, len - dl, vsize, &p);
      if (rc != NB_OK) return rc;
    } else {
      if (len - dl != vsize) return fail(c, "uncompressed values of %zu bytes claim %zu", len - dl, vsize);
      p = body + dl;
    }
    dense_clear(&c->page);
    c->pg_dict = false;
    rc = decode_values(c, h->encoding, p, vsize, k, &c->page);
  }
  if (rc != NB_OK) return rc;
  size_t got = c->pg_dict ? k : c->page.count; /* indices: checked as placed */
  if (got != k) return fail(c, "%zu values decoded where %zu are needed", got, k);
  c->pg_slots = n;
  c->pg_next = c->pg_vnext = 0;
  /* A nested leaf keeps every slot; a flat column's rows are placed as
   * batches ask for them (pq_col_reader_fill). */
  return c->ref->nested ? place_rows(c, n) : NB_OK;
}

static int dictionary_page(Ctx *c, const PqPageHeader *h, const uint8_t *body, size_t len) {
  const uint8_t *p;
  if (c->has_dict) return fail(c, "a second dictionary page");
  if (h->num_values < 0) return fail(c, "dictionary of %d values", h->num_values);
  if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
    return fail(c, "dictionary page in encoding %s", pq_encoding_name(h->encoding));
  int rc = inflate_page(c, body, len, (size_t)h->uncompressed_size, &p);
  if (rc != NB_OK) return rc;
  dense_clear(&c->dict);
  rc = decode_plain(c, p, (size_t)h->uncompressed_size, (size_t)h->num_values, &c->dict);
  c->has_dict = rc == NB_OK;
  return rc;
}

/* Decode the page at c->pos (advancing it past the page). */
static int next_page(Ctx *c) {
  PqPageHeader h;
  size_t used = 0;
  const char *why = NULL;
  c->page_at = c->ref->chunk_offset + c->pos;
  if (!pq_page_header_decode(c->chunk + c->pos, c->chunk_len - c->pos, &h, &used, &why))
    return fail(c, "bad page header: %s", why);
  c->pos += used;
  if ((size_t)h.compressed_size > c->chunk_len - c->pos)
    return fail(c, "page of %d bytes past the end of the column chunk", h.compressed_size);
  if ((size_t)h.uncompressed_size > c->ref->max_page_bytes || (size_t)h.compressed_size > c->ref->max_page_bytes)
    return fail(c, "page of %d bytes (%d compressed) is larger than max_page_bytes", h.uncompressed_size,
                h.compressed_size);
  const uint8_t *body = c->chunk + c->pos;
  c->pos += (size_t)h.compressed_size;
  if (h.has_crc && pq_crc32(body, (size_t)h.compressed_size) != h.crc)
    return fail(c, "the page's CRC-32 does not match its bytes");
  if ((h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2 || h.type == PQ_PAGE_DICTIONARY) && !h.has_body)
    return fail(c, "page header without its %s header", h.type == PQ_PAGE_DICTIONARY ? "dictionary page" : "data page");
  if (h.type == PQ_PAGE_DICTIONARY) return dictionary_page(c, &h, body, (size_t)h.compressed_size);
  if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) return data_page(c, &h, body, (size_t)h.compressed_size);
  return NB_OK; /* index pages and unknown page types are skipped */
}

/* Drop the window's rows before `row` (flat columns): what stays moves to
 * slot 0, so the window never holds more than a batch and a page. */
static void discard_rows(Ctx *c, size_t row) {
  PqColData *o = c->out;
  if (row <= o->first_row) return;
  size_t k = row - o->first_row;
  if (k > o->n_rows) k = o->n_rows;
  if (k == 0) return;
  size_t keep = o->n_rows - k;
  if (c->ref->phys == PQ_BYTE_ARRAY) {
    uint64_t base = o->offsets[k];
    size_t bytes = o->values.len - (size_t)base;
    if (bytes > 0) memmove(o->values.data, o->values.data + base, bytes);
    o->values.len = bytes;
    for (size_t i = 0; i <= keep; i++) o->offsets[i] = o->offsets[i + k] - base;
  } else if (keep > 0) {
    memmove(o->values.data, o->values.data + k * c->width, keep * c->width);
    o->values.len = keep * c->width;
  } else {
    o->values.len = 0;
  }
  if (o->valid != NULL && keep > 0) memmove(o->valid, o->valid + k, keep);
  o->n_rows = keep;
  o->first_row += k;
}

int pq_col_reader_open(const NbHostApi *host, const PqChunkRef *ref, uint8_t *data, size_t len,
                       PqColReader **out, NbError *err) {
  *out = NULL;
  PqColReader *r = calloc(1, sizeof *r);
  if (r == NULL) {
    free(data);
    return nb_error_set(err, NB_NOMEM, "out of memory reading column \"%s\" of \"%s\"", ref->column, ref->file);
  }
  Ctx *c = &r->c;
  c->ref_copy = *ref;
  c->ref = &c->ref_copy;
  c->host = host;
  c->err = err;
  c->chunk = data;
  c->chunk_len = len;
  c->out = &c->window;
  c->width = pq_phys_width(ref->phys, ref->type_length);
  c->page_at = ref->chunk_offset;
  c->max_def = ref->nested ? ref->max_def : ref->optional ? 1 : 0;
  c->total_rows = ref->nested ? 0 : (size_t)ref->num_rows;
  c->window.width = c->width;
  dense_clear(&c->dict);
  *out = r;
  if (ref->phys != PQ_BYTE_ARRAY && c->width == 0) return fail(c, "fixed-length type of length %d", ref->type_length);
  if (c->dict.offs.failed) return nomem(c);
  return NB_OK;
}

int pq_col_reader_fill(PqColReader *r, size_t from_row, size_t upto_row, NbError *err) {
  Ctx *c = &r->c;
  int rc = NB_OK;
  c->err = err;
  if (c->ref->nested) {
    while (rc == NB_OK && c->pos < c->chunk_len) rc = next_page(c);
    return rc;
  }
  if (upto_row > c->total_rows) upto_row = c->total_rows;
  discard_rows(c, from_row);
  while (rc == NB_OK && c->rows_done < upto_row) {
    if (c->pg_next < c->pg_slots) {
      /* Rows before from_row (a resumed stream) are passed over. */
      bool skip = c->rows_done < from_row;
      size_t want = (skip ? from_row : upto_row) - c->rows_done, left = c->pg_slots - c->pg_next;
      size_t n = want < left ? want : left;
      rc = skip ? skip_rows(c, n) : place_rows(c, n);
      continue;
    }
    if (c->pos >= c->chunk_len) {
      c->page_at = c->ref->chunk_offset + c->pos;
      return fail(c, "the column chunk ends after %zu of its %zu rows", c->rows_done, c->total_rows);
    }
    rc = next_page(c);
  }
  return rc;
}

PqColData *pq_col_reader_data(PqColReader *r) { return &r->c.window; }

void pq_col_reader_take(PqColReader *r, PqColData *out) {
  *out = r->c.window;
  memset(&r->c.window, 0, sizeof r->c.window);
}

void pq_col_reader_free(PqColReader *r) {
  if (r == NULL) return;
  Ctx *c = &r->c;
  dense_free(&c->dict);
  dense_free(&c->page);
  pq_buf_free(&c->levels);
  pq_buf_free(&c->rep_levels);
  pq_buf_free(&c->indices);
  pq_buf_free(&c->inflated);
  pq_col_data_free(&c->window);
  free(c->chunk);
  free(r);
}

void pq_col_data_free(PqColData *d) {
  free(d->valid);
  free(d->offsets);
  free(d->def);
  free(d->rep);
  pq_buf_free(&d->values);
  memset(d, 0, sizeof *d);
}
