/*
 * pq_colwriter.h - one column of the destination's open row group: its
 * values buffered PLAIN-encoded (plus a dictionary while it stays small),
 * definition levels, statistics; written out as one column chunk of data
 * pages v1 when the row group ends.
 */
#ifndef PQ_COLWRITER_H
#define PQ_COLWRITER_H

#include "nebula/sdk.h"
#include "pq_buf.h"
#include "thrift.h"

typedef struct PqColWriter {
  char *name;
  NbType nb_type;
  int32_t phys;            /* PqType */
  int32_t type_length;     /* FIXED_LEN_BYTE_ARRAY */
  int32_t precision, scale;
  bool nullable;
  bool utc;                /* TIMESTAMP: isAdjustedToUTC */
  PqBuf defs;              /* one byte (0 or 1) per row, nullable only */
  PqBuf plain;             /* non-null values, PLAIN (BOOLEAN: one byte);
                              empty while dict_on: the dictionary and the
                              indices hold them, and plain is rebuilt from
                              them if the dictionary is dropped */
  size_t plain_len_dict;   /* while dict_on: the bytes plain would hold
                              (the row group's size counts them) */
  size_t n_rows, n_values;
  /* Dictionary of the chunk; off once it outgrows dict_limit. */
  bool dict_on;
  size_t dict_limit;
  PqBuf dict_plain;        /* the entries, PLAIN */
  uint32_t *dict_off;      /* entry -> offset in dict_plain */
  uint32_t *dict_len;      /* entry -> value length (without prefix) */
  uint32_t n_dict, dict_cap;
  uint32_t *hash;          /* open addressing: entry + 1, 0 empty */
  uint32_t hash_cap;
  PqBuf indices;           /* uint32 per non-null value */
  /* Statistics of the chunk. */
  bool has_minmax;
  PqBuf min, max;
  int64_t null_count;
} PqColWriter;

/* Where and how a chunk is written. */
typedef struct PqChunkParams {
  const NbHostApi *host;
  int codec;               /* PqCodec */
  int32_t level;
  size_t page_bytes;
  uint64_t file_offset;    /* where the chunk will start in the file */
  /* When set, the encoded pages are handed to sink whenever `out` holds
   * more than sink_bytes of them, so a column chunk is never held whole
   * (the destination's memory stays at the buffered row group). */
  int (*sink)(void *ctx, const uint8_t *data, size_t n, NbError *err);
  void *sink_ctx;
  size_t sink_bytes;
} PqChunkParams;

/* Set up col for field (physical type from the logical one). */
int pq_col_init(PqColWriter *col, const NbField *field, size_t dict_limit,
                NbError *err);
void pq_col_free(PqColWriter *col);
/* Forget the buffered values (after the chunk was written). */
void pq_col_reset(PqColWriter *col);
/* The SchemaElement of the column (a list element). */
void pq_col_schema(const PqColWriter *col, TWriter *w);
/* Append rows [start, start + length) of a batch column.  NB_DATA names
 * the row (1-based in err->line) for a value Parquet cannot hold. */
int pq_col_append(PqColWriter *col, const NbColumnView *v, int64_t start,
                  int64_t length, NbError *err);

/* The buffered sizes, to undo a batch that failed half way. */
typedef struct PqColMark {
  size_t defs_len, plain_len, indices_len, n_rows, n_values;
  int64_t null_count;
} PqColMark;
void pq_col_mark(const PqColWriter *col, PqColMark *m);
void pq_col_rollback(PqColWriter *col, const PqColMark *m);
/* Bytes buffered: values, levels, dictionary and indices (the memory a
 * row group holds, compared with row_group_bytes). */
size_t pq_col_bytes(const PqColWriter *col);
/* Encode the chunk's pages into out (or through p->sink), and its
 * ColumnChunk metadata (a list element) into meta.  Returns NB_OK, NB_NOMEM, NB_INTERNAL (codec). */
int pq_col_write_chunk(PqColWriter *col, const PqChunkParams *p, PqBuf *out,
                       PqBuf *meta, int64_t *uncompressed, NbError *err);

#endif /* PQ_COLWRITER_H */
