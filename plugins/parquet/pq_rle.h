/*
 * pq_rle.h - Parquet's RLE / bit-packing hybrid (definition levels,
 * dictionary indices, RLE booleans), encoder and bounds-checked decoder.
 */
#ifndef PQ_RLE_H
#define PQ_RLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pq_buf.h"

/* Bits needed for values up to max (0 for max 0). */
int pq_bit_width(uint64_t max);

/* Append the hybrid encoding of values[0..n) with bit_width (0..32). */
void pq_rle_encode(PqBuf *out, const uint32_t *values, size_t n, int bit_width);
/* The same for byte values (definition levels). */
void pq_rle_encode_u8(PqBuf *out, const uint8_t *values, size_t n, int bit_width);

typedef struct PqRleDecoder {
  const uint8_t *p;
  const uint8_t *end;
  int bit_width;
  uint32_t run_left;       /* values left in the current run */
  bool packed;             /* the current run is bit-packed */
  uint32_t value;          /* RLE run value */
  const uint8_t *bits;     /* bit-packed run data */
  uint64_t bit_pos;        /* next bit in bits */
} PqRleDecoder;

void pq_rle_init(PqRleDecoder *d, const uint8_t *p, size_t len, int bit_width);
/* Decode exactly n values; false (with *why) when the data ends first or
 * is malformed. */
bool pq_rle_get(PqRleDecoder *d, uint32_t *out, size_t n, const char **why);

#endif /* PQ_RLE_H */
