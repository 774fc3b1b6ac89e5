/*
 * pq_colreader.h - decoding one column chunk page by page into a window of
 * row-aligned physical values (flat columns: the rows a batch needs) or
 * into level slots (leaves of nested columns: the whole chunk): pages v1 and v2, every codec
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

/* Decoded values of a column chunk: a window of rows [first_row,
 * first_row + n_rows) (flat columns; see pq_col_reader_fill), or every
 * level slot of the chunk (nested leaves, first_row 0). */
typedef struct PqColData {
  size_t n_rows;
  size_t first_row;        /* row of the chunk held in slot 0 */
  uint8_t *valid;          /* 1 byte per slot; NULL when REQUIRED */
  PqBuf values;            /* fixed width: n_rows * width bytes (null rows
                              zero); BYTE_ARRAY: the bytes back to back */
  uint64_t *offsets;       /* BYTE_ARRAY: n_rows + 1 offsets into values */
  size_t width;            /* bytes per value of a fixed-width type */
  /* Nested leaves (PqChunkRef.nested): n_rows counts level slots, not
   * rows; a slot holds a value when def[slot] == max_def. */
  uint8_t *def;
  uint8_t *rep;
  size_t cap_slots;        /* slots valid/offsets/def/rep have room for */
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

/* A column chunk being decoded page by page: only the compressed chunk
 * bytes, the dictionary and the decoded window stay in memory. */
typedef struct PqColReader PqColReader;

/* Start reading the chunk data[0..len) (the reader takes data, malloc'd,
 * even on failure; ref and the strings it points to must outlive it). */
int pq_col_reader_open(const NbHostApi *host, const PqChunkRef *ref, uint8_t *data, size_t len,
                       PqColReader **out, NbError *err);

/* Flat columns: drop the rows before from_row from the window, then decode
 * pages until rows up to upto_row (at most the row group's rows) are in
 * it.  Nested leaves: decode every page of the chunk (from/upto unused).
 * Errors name file, row group, column and the page's offset. */
int pq_col_reader_fill(PqColReader *r, size_t from_row, size_t upto_row, NbError *err);

/* The window; valid until the next fill or free. */
PqColData *pq_col_reader_data(PqColReader *r);

/* Move the decoded data out (nested leaves, after a fill). */
void pq_col_reader_take(PqColReader *r, PqColData *out);

void pq_col_reader_free(PqColReader *r);
void pq_col_data_free(PqColData *d);

/* Bytes per value of a fixed-width physical type (0 for BYTE_ARRAY). */
size_t pq_phys_width(int32_t phys, int32_t type_length);

#endif /* PQ_COLREADER_H */
