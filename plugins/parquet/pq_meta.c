/*
 * pq_meta.c - decoding Parquet's footer (FileMetaData) and page headers,
 * and encoding page headers, over the compact protocol of thrift.c.
 *
 * Only the fields the connector uses are kept; every other field, known
 * or not, is skipped.  Allocations are bounded by the footer's size: list
 * counts are checked against the bytes left by the reader.
 */
#include <stdlib.h>
#include <string.h>

#include "pq_format.h"
#include "thrift.h"

const char *pq_codec_name(int codec) {
  static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                      "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
  return codec >= 0 && codec < 8 ? names[codec] : "unknown";
}

const char *pq_codec_block_name(int codec) {
  switch (codec) {
    case PQ_CODEC_SNAPPY: return "snappy";
    case PQ_CODEC_GZIP: return "gzip";
    case PQ_CODEC_ZSTD: return "zstd";
    case PQ_CODEC_LZ4_RAW: return "lz4_raw";
    default: return NULL;
  }
}

const char *pq_encoding_name(int e) {
  static const char *const names[] = {
      "PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
      "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
      "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return e >= 0 && e < 10 ? names[e] : "unknown";
}

const char *pq_type_name(int t) {
  static const char *const names[] = {"BOOLEAN", "INT32", "INT64", "INT96",
                                      "FLOAT", "DOUBLE", "BYTE_ARRAY",
                                      "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && t < 8 ? names[t] : "unknown";
}

/* The member of a union of empty structs (TimeUnit): its field id. */
static int32_t read_unit(TReader *r, uint8_t type) {
  int16_t last = 0, id;
  uint8_t ft;
  int32_t unit = PQ_UNIT_NONE;
  if (!tr_enter(r, type)) return unit;
  while (tr_field(r, &last, &id, &ft)) {
    if (id >= 1 && id <= 3 && ft == T_STRUCT) unit = id;
    tr_skip(r, ft);
  }
  tr_leave(r);
  return unit;
}

/* TimeType / TimestampType {1: bool isAdjustedToUTC, 2: TimeUnit unit}. */
static void read_time_type(TReader *r, uint8_t type, PqSchemaElem *e) {
  int16_t last = 0, id;
  uint8_t ft;
  if (!tr_enter(r, type)) return;
  while (tr_field(r, &last, &id, &ft)) {
    if (id == 1) tr_bool(r, ft, &e->lt_utc);
    else if (id == 2) e->lt_unit = read_unit(r, ft);
    else tr_skip(r, ft);
  }
  tr_leave(r);
}

static void read_small_struct(TReader *r, uint8_t type, PqSchemaElem *e, int which) {
  int16_t last = 0, id;
  uint8_t ft;
  int32_t v;
  if (!tr_enter(r, type)) return;
  while (tr_field(r, &last, &id, &ft)) {
    if (which == PQ_LT_DECIMAL && id == 1 && tr_i32(r, ft, &v)) e->lt_scale = v;
    else if (which == PQ_LT_DECIMAL && id == 2 && tr_i32(r, ft, &v)) e->lt_precision = v;
    else if (which == PQ_LT_INTEGER && id == 1 && tr_i32(r, ft, &v)) e->lt_bits = v;
    else if (which == PQ_LT_INTEGER && id == 2) tr_bool(r, ft, &e->lt_signed);
    else tr_skip(r, ft);
  }
  tr_leave(r);
}

static void read_logical(TReader *r, uint8_t type, PqSchemaElem *e) {
  int16_t last = 0, id;
  uint8_t ft;
  if (!tr_enter(r, type)) return;
  while (tr_field(r, &last, &id, &ft)) {
    if (ft != T_STRUCT) {
      tr_skip(r, ft);
      continue;
    }
    e->logical = id;
    if (id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP) read_time_type(r, ft, e);
    else if (id == PQ_LT_DECIMAL || id == PQ_LT_INTEGER) read_small_struct(r, ft, e, id);
    else tr_skip(r, ft);
  }
  tr_leave(r);
}

static void read_schema_elem(TReader *r, uint8_t type, PqSchemaElem *e) {
  int16_t last = 0, id;
  uint8_t ft;
  memset(e, 0, sizeof *e);
  e->type = e->repetition = e->converted = -1;
  if (!tr_enter(r, type)) {
    tr_fail(r, "schema element is not a struct");
    return;
  }
  bool has_name = false;
  while (tr_field(r, &last, &id, &ft)) {
    switch (id) {
      case 1: tr_i32(r, ft, &e->type); break;
      case 2: tr_i32(r, ft, &e->type_length); break;
      case 3: tr_i32(r, ft, &e->repetition); break;
      case 4: has_name = tr_binary(r, ft, &e->name, &e->name_len); break;
      case 5: tr_i32(r, ft, &e->num_children); break;
      case 6: tr_i32(r, ft, &e->converted); break;
      case 7: tr_i32(r, ft, &e->scale); break;
      case 8: tr_i32(r, ft, &e->precision); break;
      case 10: read_logical(r, ft, e); break;
      default: tr_skip(r, ft);
    }
  }
  tr_leave(r);
  if (r->error == NULL && !has_name) tr_fail(r, "schema element without a name");
}

#define N_FIELDS(table) (sizeof table / sizeof table[0])

/* ColumnMetaData: the fields the connector uses. */
static const TFieldSpec COLUMN_META[] = {
    TF(1, TF_I32, PqColumnChunk, type),
    TF(4, TF_I32, PqColumnChunk, codec),
    TF(5, TF_I64, PqColumnChunk, num_values),
    TF(6, TF_I64, PqColumnChunk, total_uncompressed),
    TF(7, TF_I64, PqColumnChunk, total_compressed),
    TF(9, TF_I64, PqColumnChunk, data_page_offset),
    TF(11, TF_I64, PqColumnChunk, dict_page_offset),
};

static void read_column_meta(TReader *r, uint8_t type, PqColumnChunk *c) {
  if (tr_struct_fields(r, type, COLUMN_META, N_FIELDS(COLUMN_META), c))
    c->has_meta = true;
}

static void read_column_chunk(TReader *r, uint8_t type, PqColumnChunk *c) {
  int16_t last = 0, id;
  uint8_t ft;
  memset(c, 0, sizeof *c);
  c->type = -1;
  c->dict_page_offset = -1;
  if (!tr_enter(r, type)) {
    tr_fail(r, "column chunk is not a struct");
    return;
  }
  while (tr_field(r, &last, &id, &ft)) {
    if (id == 1 && ft == T_BINARY) {
      c->external = true;
      tr_skip(r, ft);
    } else if (id == 3) {
      read_column_meta(r, ft, c);
    } else {
      tr_skip(r, ft);
    }
  }
  tr_leave(r);
}

static void read_row_group(TReader *r, uint8_t type, PqRowGroup *g) {
  int16_t last = 0, id;
  uint8_t ft, et;
  uint32_t n;
  memset(g, 0, sizeof *g);
  if (!tr_enter(r, type)) {
    tr_fail(r, "row group is not a struct");
    return;
  }
  while (tr_field(r, &last, &id, &ft)) {
    if (id == 1 && g->columns == NULL && tr_list(r, ft, &et, &n)) {
      g->columns = calloc(n ? n : 1, sizeof *g->columns);
      if (g->columns == NULL) {
        tr_fail(r, "out of memory");
        break;
      }
      g->n_columns = n;
      for (uint32_t i = 0; i < n && r->error == NULL; i++) read_column_chunk(r, et, &g->columns[i]);
    } else if (id == 2) {
      tr_i64(r, ft, &g->total_byte_size);
    } else if (id == 3) {
      tr_i64(r, ft, &g->num_rows);
    } else {
      tr_skip(r, ft);
    }
  }
  tr_leave(r);
}

static void read_key_value(TReader *r, uint8_t type, PqKeyValue *kv) {
  int16_t last = 0, id;
  uint8_t ft;
  memset(kv, 0, sizeof *kv);
  if (!tr_enter(r, type)) return;
  while (tr_field(r, &last, &id, &ft)) {
    if (id == 1) tr_binary(r, ft, &kv->key, &kv->key_len);
    else if (id == 2) tr_binary(r, ft, &kv->value, &kv->value_len);
    else tr_skip(r, ft);
  }
  tr_leave(r);
}

bool pq_meta_decode(const uint8_t *buf, size_t len, PqFileMeta *m,
                    const char **why, size_t *at) {
  TReader r;
  int16_t last = 0, id;
  uint8_t ft, et;
  uint32_t n;
  bool has_schema = false, has_rows = false, has_groups = false;
  memset(m, 0, sizeof *m);
  tr_init(&r, buf, len);
  r.depth = 1;
  while (tr_field(&r, &last, &id, &ft)) {
    if (id == 2 && !has_schema && tr_list(&r, ft, &et, &n)) {
      has_schema = true;
      m->schema = calloc(n ? n : 1, sizeof *m->schema);
      if (m->schema == NULL) {
        tr_fail(&r, "out of memory");
        break;
      }
      m->n_schema = n;
      for (uint32_t i = 0; i < n && r.error == NULL; i++) read_schema_elem(&r, et, &m->schema[i]);
    } else if (id == 3) {
      has_rows = tr_i64(&r, ft, &m->num_rows);
    } else if (id == 4 && !has_groups && tr_list(&r, ft, &et, &n)) {
      has_groups = true;
      m->row_groups = calloc(n ? n : 1, sizeof *m->row_groups);
      if (m->row_groups == NULL) {
        tr_fail(&r, "out of memory");
        break;
      }
      m->n_row_groups = n;
      for (uint32_t i = 0; i < n && r.error == NULL; i++) read_row_group(&r, et, &m->row_groups[i]);
    } else if (id == 5 && m->kv == NULL && tr_list(&r, ft, &et, &n)) {
      m->kv = calloc(n ? n : 1, sizeof *m->kv);
      if (m->kv == NULL) {
        tr_fail(&r, "out of memory");
        break;
      }
      for (uint32_t i = 0; i < n && r.error == NULL; i++) read_key_value(&r, et, &m->kv[m->n_kv++]);
    } else if (id == 6) {
      tr_binary(&r, ft, &m->created_by, &m->created_by_len);
    } else {
      tr_skip(&r, ft);
    }
  }
  if (r.error == NULL && (!has_schema || !has_rows || !has_groups))
    tr_fail(&r, "FileMetaData lacks its schema, num_rows or row_groups");
  if (r.error != NULL) {
    *why = r.error;
    *at = r.error_at;
    pq_meta_free(m);
    return false;
  }
  return true;
}

void pq_meta_free(PqFileMeta *m) {
  if (m->row_groups != NULL)
    for (uint32_t i = 0; i < m->n_row_groups; i++) free(m->row_groups[i].columns);
  free(m->row_groups);
  free(m->schema);
  free(m->kv);
  memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------------
 * Page headers
 * ------------------------------------------------------------------------ */

/* DataPageHeader, DictionaryPageHeader and DataPageHeaderV2. */
static const TFieldSpec DATA_PAGE_V1[] = {
    TF(1, TF_I32, PqPageHeader, num_values),
    TF(2, TF_I32, PqPageHeader, encoding),
    TF(3, TF_I32, PqPageHeader, def_encoding),
    TF(4, TF_I32, PqPageHeader, rep_encoding),
};
static const TFieldSpec DICT_PAGE[] = {
    TF(1, TF_I32, PqPageHeader, num_values),
    TF(2, TF_I32, PqPageHeader, encoding),
};
static const TFieldSpec DATA_PAGE_V2[] = {
    TF(1, TF_I32, PqPageHeader, num_values),
    TF(2, TF_I32, PqPageHeader, num_nulls),
    TF(3, TF_I32, PqPageHeader, num_rows),
    TF(4, TF_I32, PqPageHeader, encoding),
    TF(5, TF_I32, PqPageHeader, def_bytes),
    TF(6, TF_I32, PqPageHeader, rep_bytes),
    TF(7, TF_BOOL, PqPageHeader, v2_compressed),
};

/* The page's own header (the one its type names): has_body once read. */
static void read_page_body(TReader *r, uint8_t type, const TFieldSpec *fields, size_t n,
                           PqPageHeader *h) {
  if (tr_struct_fields(r, type, fields, n, h)) h->has_body = true;
}



bool pq_page_header_decode(const uint8_t *buf, size_t len, PqPageHeader *h,
                           size_t *used, const char **why) {
  TReader r;
  int16_t last = 0, id;
  uint8_t ft;
  memset(h, 0, sizeof *h);
  h->type = -1;
  h->v2_compressed = true;
  h->uncompressed_size = h->compressed_size = -1;
  tr_init(&r, buf, len);
  r.depth = 1;
  while (tr_field(&r, &last, &id, &ft)) {
    switch (id) {
      case 1: tr_i32(&r, ft, &h->type); break;
      case 2: tr_i32(&r, ft, &h->uncompressed_size); break;
      case 3: tr_i32(&r, ft, &h->compressed_size); break;
      case 4: {
        int32_t v;
        if (tr_i32(&r, ft, &v)) {
          h->has_crc = true;
          h->crc = (uint32_t)v;
        }
        break;
      }
      case 5: if (h->type == PQ_PAGE_DATA) read_page_body(&r, ft, DATA_PAGE_V1, N_FIELDS(DATA_PAGE_V1), h); else tr_skip(&r, ft); break;
      case 7: if (h->type == PQ_PAGE_DICTIONARY) read_page_body(&r, ft, DICT_PAGE, N_FIELDS(DICT_PAGE), h); else tr_skip(&r, ft); break;
      case 8: if (h->type == PQ_PAGE_DATA_V2) read_page_body(&r, ft, DATA_PAGE_V2, N_FIELDS(DATA_PAGE_V2), h); else tr_skip(&r, ft); break;
      default: tr_skip(&r, ft);
    }
  }
  if (r.error == NULL && (h->type < 0 || h->uncompressed_size < 0 || h->compressed_size < 0))
    tr_fail(&r, "page header lacks its type or sizes");
  if (r.error != NULL) {
    *why = r.error;
    return false;
  }
  *used = (size_t)(r.p - r.start);
  return true;
}

void pq_page_header_encode(PqBuf *out, int page_type, int32_t uncompressed,
                           int32_t compressed, uint32_t crc,
                           int32_t num_values, int32_t encoding) {
  TWriter w;
  tw_init(&w, out);
  tw_struct_begin(&w);
  tw_i32(&w, 1, page_type);
  tw_i32(&w, 2, uncompressed);
  tw_i32(&w, 3, compressed);
  tw_i32(&w, 4, (int32_t)crc);
  if (page_type == PQ_PAGE_DICTIONARY) {
    tw_struct_field(&w, 7);
    tw_i32(&w, 1, num_values);
    tw_i32(&w, 2, encoding);
    tw_struct_end(&w);
  } else {
    tw_struct_field(&w, 5);
    tw_i32(&w, 1, num_values);
    tw_i32(&w, 2, encoding);
    tw_i32(&w, 3, PQ_ENC_RLE);
    tw_i32(&w, 4, PQ_ENC_RLE);
    tw_struct_end(&w);
  }
  tw_struct_end(&w);
}
