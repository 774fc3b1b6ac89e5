/*
 * pq_colreader.h - decoding one column chunk into row-aligned physical
 * values (flat columns) or level slots (leaves of nested columns): pages v1 and v2, every codec
 * the host's block slots offer, PLAIN, dictionary (PLAIN_DICTIONARY,
 * RLE_DICTIONARY), RLE booleans, DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT.
 *
 * Every length, count and index comes from the file and is checked before
 * use; a problem is an NB_DATA error naming file, row group, column and the
 * offset of the page in the file.
 */
#ifndef PQ_COLREADER_H
#define PQ_COLREADER_H

#include "nebula/sdk.h"
#include "pq_buf.h"
#include "pq_format.h"

/* The decoded values of a column chunk, one slot per row. */
typedef struct PqColData {
  size_t n_rows;
  uint8_t *valid;          /* 1 byte per row; NULL when REQUIRED */
  PqBuf values;            /* fixed width: n_rows * width bytes (null rows
                              zero); BYTE_ARRAY: the bytes back to back */
  uint64_t *offsets;       /* BYTE_ARRAY: n_rows + 1 offsets into values */
  size_t width;            /* bytes per value of a fixed-width type */
  /* Nested leaves (PqChunkRef.nested): n_rows counts level slots, not
   * rows; a slot holds a value when def[slot] == max_def. */
  uint8_t *def;
  uint8_t *rep;
  size_t cap_slots;
} PqColData;

/* What the reader needs to know of the column and where it is. */
typedef struct PqChunkRef {
  const char *file;        /* for messages */
  uint32_t row_group;
  const char *column;      /* name, for messages */
  int32_t phys;            /* PqType */
  int32_t type_length;     /* FIXED_LEN_BYTE_ARRAY */
  bool optional;           /* max definition level 1 (else 0) */
  int64_t num_rows;        /* rows of the row group */
  uint64_t chunk_offset;   /* file offset of data[0] */
  int32_t codec;
  size_t max_page_bytes;
  /* A leaf of a nested column: repetition and definition levels of up to
   * max_rep / max_def, one slot per level entry, at most max_slots. */
  bool nested;
  uint8_t max_def, max_rep;
  size_t max_slots;
} PqChunkRef;

/* Decode the column chunk data[0..len).  out is zeroed first; free it with
 * pq_col_data_free even on failure. */
int pq_col_decode(const NbHostApi *host, const PqChunkRef *ref,
                  const uint8_t *data, size_t len, PqColData *out,
                  NbError *err);
void pq_col_data_free(PqColData *d);

/* Bytes per value of a fixed-width physical type (0 for BYTE_ARRAY). */
size_t pq_phys_width(int32_t phys, int32_t type_length);

#endif /* PQ_COLREADER_H */
