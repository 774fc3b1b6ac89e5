/*
 * pq_format.h - the numbers of the Parquet format (parquet-format's
 * parquet.thrift): physical types, converted types, encodings, codecs,
 * page types, and the decoded footer the source works from.
 */
#ifndef PQ_FORMAT_H
#define PQ_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#include "pq_buf.h"

enum PqType {
  PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3, PQ_FLOAT = 4,
  PQ_DOUBLE = 5, PQ_BYTE_ARRAY = 6, PQ_FIXED = 7
};

enum PqConverted {
  PQ_CT_UTF8 = 0, PQ_CT_MAP = 1, PQ_CT_MAP_KV = 2, PQ_CT_LIST = 3,
  PQ_CT_ENUM = 4, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIME_MILLIS = 7,
  PQ_CT_TIME_MICROS = 8, PQ_CT_TS_MILLIS = 9, PQ_CT_TS_MICROS = 10,
  PQ_CT_UINT_8 = 11, PQ_CT_UINT_16 = 12, PQ_CT_UINT_32 = 13,
  PQ_CT_UINT_64 = 14, PQ_CT_INT_8 = 15, PQ_CT_INT_16 = 16, PQ_CT_INT_32 = 17,
  PQ_CT_INT_64 = 18, PQ_CT_JSON = 19, PQ_CT_BSON = 20, PQ_CT_INTERVAL = 21
};

/* LogicalType union members (field ids). */
enum PqLogical {
  PQ_LT_NONE = 0, PQ_LT_STRING = 1, PQ_LT_MAP = 2, PQ_LT_LIST = 3,
  PQ_LT_ENUM = 4, PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIME = 7,
  PQ_LT_TIMESTAMP = 8, PQ_LT_INTEGER = 10, PQ_LT_NULL = 11, PQ_LT_JSON = 12,
  PQ_LT_BSON = 13, PQ_LT_UUID = 14, PQ_LT_FLOAT16 = 15
};

enum PqUnit { PQ_UNIT_NONE = 0, PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 };

enum PqEncoding {
  PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3,
  PQ_ENC_BIT_PACKED = 4, PQ_ENC_DELTA_BINARY_PACKED = 5,
  PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6, PQ_ENC_DELTA_BYTE_ARRAY = 7,
  PQ_ENC_RLE_DICTIONARY = 8, PQ_ENC_BYTE_STREAM_SPLIT = 9
};

enum PqCodec {
  PQ_CODEC_NONE = 0, PQ_CODEC_SNAPPY = 1, PQ_CODEC_GZIP = 2, PQ_CODEC_LZO = 3,
  PQ_CODEC_BROTLI = 4, PQ_CODEC_LZ4 = 5, PQ_CODEC_ZSTD = 6, PQ_CODEC_LZ4_RAW = 7
};

enum PqPageType {
  PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3
};

enum PqRepetition { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };

/* The name of a codec for messages, and for the host's block slots (NULL:
 * the host has no such block codec). */
const char *pq_codec_name(int codec);
const char *pq_codec_block_name(int codec);
const char *pq_encoding_name(int encoding);
const char *pq_type_name(int type);

/* One SchemaElement; strings point into the footer buffer. */
typedef struct PqSchemaElem {
  const uint8_t *name;
  uint32_t name_len;
  int32_t type;            /* -1: a group */
  int32_t type_length;
  int32_t repetition;      /* -1 when absent */
  int32_t num_children;
  int32_t converted;       /* -1 when absent */
  int32_t scale;
  int32_t precision;
  int32_t logical;         /* PqLogical */
  int32_t lt_unit;         /* TIME / TIMESTAMP */
  bool lt_utc;             /* TIME / TIMESTAMP isAdjustedToUTC */
  int32_t lt_bits;         /* INTEGER bitWidth */
  bool lt_signed;          /* INTEGER isSigned */
  int32_t lt_scale, lt_precision; /* DECIMAL */
} PqSchemaElem;

typedef struct PqColumnChunk {
  int32_t type;
  int32_t codec;
  int64_t num_values;
  int64_t total_compressed;
  int64_t total_uncompressed;
  int64_t data_page_offset;
  int64_t dict_page_offset; /* -1 when absent */
  bool has_meta;
  bool external;            /* file_path set: data in another file */
} PqColumnChunk;

typedef struct PqRowGroup {
  PqColumnChunk *columns;
  uint32_t n_columns;
  int64_t num_rows;
  int64_t total_byte_size;
} PqRowGroup;

typedef struct PqKeyValue {
  const uint8_t *key, *value; /* value NULL when absent */
  uint32_t key_len, value_len;
} PqKeyValue;

typedef struct PqFileMeta {
  PqSchemaElem *schema;
  uint32_t n_schema;
  int64_t num_rows;
  PqRowGroup *row_groups;
  uint32_t n_row_groups;
  const uint8_t *created_by;
  uint32_t created_by_len;
  PqKeyValue *kv;
  uint32_t n_kv;
} PqFileMeta;

/* Decode FileMetaData from buf[0..len).  On failure returns false with
 * *why (static) and *at (offset in the footer). */
bool pq_meta_decode(const uint8_t *buf, size_t len, PqFileMeta *out,
                    const char **why, size_t *at);
void pq_meta_free(PqFileMeta *m);

/* A decoded PageHeader. */
typedef struct PqPageHeader {
  int32_t type;
  int32_t uncompressed_size;
  int32_t compressed_size;
  int32_t num_values;
  int32_t encoding;
  int32_t def_encoding;
  int32_t rep_encoding;
  /* v2 */
  int32_t num_nulls;
  int32_t num_rows;
  int32_t def_bytes;
  int32_t rep_bytes;
  bool v2_compressed;
  bool has_crc;
  uint32_t crc;            /* CRC-32 of the page's bytes as stored */
  bool has_body;           /* the header of its type was present */
} PqPageHeader;

/* Decode a page header from buf; *used is its length. */
bool pq_page_header_decode(const uint8_t *buf, size_t len, PqPageHeader *h,
                           size_t *used, const char **why);

/* Statistics as written by the destination (min/max may be absent). */
typedef struct PqStats {
  const uint8_t *min;
  const uint8_t *max;
  uint32_t min_len, max_len;
  int64_t null_count;
} PqStats;

/* Encode a data page v1 / dictionary page header into out; crc is the
 * CRC-32 of the page's stored bytes. */
void pq_page_header_encode(PqBuf *out, int page_type, int32_t uncompressed,
                           int32_t compressed, uint32_t crc,
                           int32_t num_values, int32_t encoding);

#endif /* PQ_FORMAT_H */
