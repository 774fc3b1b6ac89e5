/*
 * pq_rle.c - the RLE / bit-packing hybrid of Parquet's encodings document:
 * a run header is a ULEB128 varint; its low bit 0 means an RLE run of
 * (header >> 1) copies of one value stored in ceil(bit_width / 8) little-
 * endian bytes, 1 means (header >> 1) groups of 8 values bit-packed
 * LSB first.
 */
#include "pq_rle.h"

#include "thrift.h"

int pq_bit_width(uint64_t max) {
  int w = 0;
  while (max != 0) {
    w++;
    max >>= 1;
  }
  return w;
}

static void put_rle_run(PqBuf *out, uint32_t value, size_t count, int bit_width) {
  tw_varint(out, (uint64_t)count << 1);
  for (int i = 0; i < (bit_width + 7) / 8; i++) pq_buf_byte(out, (uint8_t)(value >> (8 * i)));
}

/* Bit-pack n values (a multiple of 8, or the last values zero-padded),
 * LSB first, through a 64-bit accumulator. */
static void put_packed(PqBuf *out, const uint32_t *v, size_t n, int bit_width) {
  size_t groups = (n + 7) / 8;
  tw_varint(out, (uint64_t)groups << 1 | 1);
  size_t bytes = groups * (size_t)bit_width;
  if (!pq_buf_reserve(out, bytes)) return;
  uint8_t *dst = out->data + out->len;
  uint64_t acc = 0;
  int bits = 0;
  size_t o = 0;
  uint64_t mask = bit_width == 32 ? 0xFFFFFFFFu : ((1u << bit_width) - 1);
  for (size_t i = 0; i < groups * 8; i++) {
    uint64_t x = i < n ? (v[i] & mask) : 0;
    acc |= x << bits;
    bits += bit_width;
    while (bits >= 8) {
      dst[o++] = (uint8_t)acc;
      acc >>= 8;
      bits -= 8;
    }
  }
  out->len += bytes;
}

static size_t run_length(const uint32_t *v, size_t i, size_t n) {
  size_t j = i + 1;
  while (j < n && v[j] == v[i]) j++;
  return j - i;
}

/* True when v[j..j+8) are equal: worth an RLE run of its own. */
static bool starts_run(const uint32_t *v, size_t j, size_t n) {
  if (n - j < 8) return false;
  for (size_t k = 1; k < 8; k++)
    if (v[j + k] != v[j]) return false;
  return true;
}

void pq_rle_encode(PqBuf *out, const uint32_t *v, size_t n, int bit_width) {
  size_t i = 0;
  while (i < n) {
    size_t r = run_length(v, i, n);
    if (r >= 8 || bit_width == 0) {
      put_rle_run(out, v[i], r, bit_width);
      i += r;
      continue;
    }
    size_t j = i;
    while (j < n && (j == i || !starts_run(v, j, n))) j += 8;
    if (j > n) j = n;
    put_packed(out, v + i, j - i, bit_width);
    i = j;
  }
}

void pq_rle_encode_u8(PqBuf *out, const uint8_t *values, size_t n, int bit_width) {
  /* One pass over all values: a bit-packed run may be padded only at the
   * very end, so the values are not encoded in pieces. */
  uint32_t *v = malloc((n ? n : 1) * sizeof *v);
  if (v == NULL) {
    out->failed = true;
    return;
  }
  for (size_t i = 0; i < n; i++) v[i] = values[i];
  pq_rle_encode(out, v, n, bit_width);
  free(v);
}

void pq_rle_init(PqRleDecoder *d, const uint8_t *p, size_t len, int bit_width) {
  memset(d, 0, sizeof *d);
  d->p = p;
  d->end = p + len;
  d->bit_width = bit_width;
}

static bool next_run(PqRleDecoder *d, const char **why) {
  uint64_t h = 0;
  int shift = 0;
  for (;;) {
    if (d->p >= d->end) {
      *why = "RLE data ends before the values it should hold";
      return false;
    }
    uint8_t b = *d->p++;
    h |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) break;
    shift += 7;
    if (shift > 35) {
      *why = "RLE run header too long";
      return false;
    }
  }
  if (h & 1) {
    uint64_t groups = h >> 1;
    uint64_t bytes = groups * (uint64_t)d->bit_width;
    uint64_t avail = (uint64_t)(d->end - d->p);
    if (bytes > avail) {
      /* A last run may be cut short: use the values that are there. */
      bytes = avail;
      groups = d->bit_width ? bytes * 8 / (uint64_t)d->bit_width / 8 : groups;
    }
    uint64_t count = d->bit_width ? bytes * 8 / (uint64_t)d->bit_width : groups * 8;
    if (count > UINT32_MAX) count = UINT32_MAX;
    d->packed = true;
    d->bits = d->p;
    d->bit_pos = 0;
    d->run_left = (uint32_t)count;
    d->p += bytes;
  } else {
    uint64_t count = h >> 1;
    int nbytes = (d->bit_width + 7) / 8;
    if ((size_t)(d->end - d->p) < (size_t)nbytes) {
      *why = "RLE run value past the end of the data";
      return false;
    }
    uint32_t v = 0;
    for (int i = 0; i < nbytes; i++) v |= (uint32_t)d->p[i] << (8 * i);
    d->p += nbytes;
    d->packed = false;
    d->value = v;
    d->run_left = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
  }
  return true;
}

static uint32_t unpack_one(PqRleDecoder *d) {
  uint64_t pos = d->bit_pos;
  int w = d->bit_width;
  uint64_t acc = 0;
  size_t byte = (size_t)(pos >> 3);
  int shift = (int)(pos & 7);
  int need = shift + w;
  for (int i = 0; i * 8 < need; i++) acc |= (uint64_t)d->bits[byte + (size_t)i] << (8 * i);
  d->bit_pos += (uint64_t)w;
  return (uint32_t)((acc >> shift) & (w == 32 ? 0xFFFFFFFFu : ((1u << w) - 1)));
}

bool pq_rle_get(PqRleDecoder *d, uint32_t *out, size_t n, const char **why) {
  size_t i = 0;
  if (d->bit_width < 0 || d->bit_width > 32) {
    *why = "bit width larger than 32";
    return false;
  }
  while (i < n) {
    if (d->run_left == 0) {
      if (!next_run(d, why)) return false;
      continue;
    }
    size_t k = n - i < d->run_left ? n - i : d->run_left;
    if (d->packed) {
      for (size_t j = 0; j < k; j++) out[i + j] = unpack_one(d);
    } else {
      for (size_t j = 0; j < k; j++) out[i + j] = d->value;
    }
    d->run_left -= (uint32_t)k;
    i += k;
  }
  return true;
}
