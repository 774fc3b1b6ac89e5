/*
 * arrow_ipc.c - encode and decode the Arrow IPC flatbuffers messages.
 *
 * Field ids, from the .fbs files of the Arrow specification:
 *   Message         version 0, header_type 1, header 2, bodyLength 3
 *   Schema          endianness 0, fields 1
 *   Field           name 0, nullable 1, type_type 2, type 3,
 *                   dictionary 4, children 5, custom_metadata 6
 *   KeyValue        key 0, value 1
 *   Int             bitWidth 0, is_signed 1
 *   FloatingPoint   precision 0 (HALF 0, SINGLE 1, DOUBLE 2)
 *   Decimal         precision 0, scale 1, bitWidth 2 (default 128)
 *   Date            unit 0 (DAY 0, MILLISECOND 1, default 1)
 *   Time            unit 0 (default MILLISECOND), bitWidth 1 (default 32)
 *   Timestamp       unit 0, timezone 1
 *   DictionaryEncoding id 0, indexType 1 (Int), isOrdered 2
 *   RecordBatch     length 0, nodes 1, buffers 2, compression 3
 *   BodyCompression codec 0, method 1 (BUFFER 0)
 *   DictionaryBatch id 0, data 1, isDelta 2
 *   Footer          version 0, schema 1, dictionaries 2, recordBatches 3
 * Structs: FieldNode {length, null_count} and Buffer {offset, length}, 16
 * bytes each; Block {offset: long, metaDataLength: int, pad, bodyLength:
 * long}, 24 bytes.
 */
#include "arrow_ipc.h"

#include <stdlib.h>
#include <string.h>

#define EXT_NAME_KEY "ARROW:extension:name"

void ipc_schema_free(IpcSchema *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->fields[i].name);
    free(s->fields[i].timezone);
    free(s->fields[i].extension);
  }
  free(s->fields);
  s->fields = NULL;
  s->n = 0;
}

/* ------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------ */

static bool decode_batch(const FbTable *t, IpcBatchMeta *m, const char **why) {
  bool present;
  FbTable comp;
  if (!fb_i64(t, 0, 0, &m->length) || m->length < 0) {
    *why = "record batch length is negative or broken";
    return false;
  }
  if (!fb_vector(t, 1, 16, &m->nodes, &present)) {
    *why = "record batch nodes vector lies outside the message";
    return false;
  }
  if (!fb_vector(t, 2, 16, &m->buffers, &present)) {
    *why = "record batch buffers vector lies outside the message";
    return false;
  }
  m->codec = IPC_CODEC_NONE;
  if (!fb_table(t, 3, &comp, &present)) {
    *why = "record batch compression table lies outside the message";
    return false;
  }
  if (present) {
    uint8_t codec, method;
    if (!fb_u8(&comp, 0, 0, &codec) || !fb_u8(&comp, 1, 0, &method) ||
        codec > IPC_CODEC_ZSTD || method != 0) {
      *why = "unknown body compression (only LZ4_FRAME and ZSTD of whole "
             "buffers exist)";
      return false;
    }
    m->codec = codec;
  }
  return true;
}

bool ipc_message_decode(const uint8_t *data, size_t len, IpcMessage *out,
                        const char **why) {
  FbTable root;
  bool present;
  memset(out, 0, sizeof *out);
  if (!fb_root(data, len, &root)) {
    *why = "the Message flatbuffer's root table lies outside the metadata";
    return false;
  }
  if (!fb_i16(&root, 0, 0, &out->version) ||
      !fb_u8(&root, 1, 0, &out->header_type) ||
      !fb_i64(&root, 3, 0, &out->body_length)) {
    *why = "a Message field lies outside its table";
    return false;
  }
  if (out->version < IPC_METADATA_V4 || out->version > IPC_METADATA_V5) {
    *why = "unsupported metadata version (V4 and V5 are read)";
    return false;
  }
  if (out->body_length < 0) {
    *why = "negative body length";
    return false;
  }
  if (!fb_table(&root, 2, &out->header, &present) || !present) {
    *why = "the Message has no readable header";
    return false;
  }
  switch (out->header_type) {
  case IPC_HDR_SCHEMA:
    return true;
  case IPC_HDR_RECORD_BATCH:
    return decode_batch(&out->header, &out->batch, why);
  case IPC_HDR_DICTIONARY: {
    FbTable data_t;
    uint8_t delta;
    if (!fb_i64(&out->header, 0, 0, &out->dict_id) ||
        !fb_u8(&out->header, 2, 0, &delta)) {
      *why = "a DictionaryBatch field lies outside its table";
      return false;
    }
    out->dict_delta = delta != 0;
    if (!fb_table(&out->header, 1, &data_t, &present) || !present) {
      *why = "the DictionaryBatch has no readable data";
      return false;
    }
    return decode_batch(&data_t, &out->batch, why);
  }
  default:
    *why = "unsupported message type (tensors are not read)";
    return false;
  }
}

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

/* The type table of a field into f.  Returns false on a broken table. */
static bool decode_type(const FbTable *type, IpcField *f, const char **why) {
  int16_t s16;
  uint8_t u8;
  bool ok = true;
  switch (f->type) {
  case IPC_T_INT:
    ok = fb_i32(type, 0, 0, &f->bit_width) && fb_u8(type, 1, 0, &u8);
    f->is_signed = u8 != 0;
    if (ok && f->bit_width != 8 && f->bit_width != 16 && f->bit_width != 32 &&
        f->bit_width != 64) {
      *why = "integer bit width is not 8, 16, 32 or 64";
      return false;
    }
    break;
  case IPC_T_FLOAT:
    ok = fb_i16(type, 0, 0, &s16);
    if (ok && (s16 < 1 || s16 > 2)) {
      *why = "unsupported floating point precision (half floats are not "
             "read)";
      return false;
    }
    f->bit_width = s16 == 1 ? 32 : 64;
    break;
  case IPC_T_DECIMAL:
    ok = fb_i32(type, 0, 0, &f->precision) && fb_i32(type, 1, 0, &f->scale) &&
         fb_i32(type, 2, 128, &f->bit_width);
    if (ok && (f->bit_width != 128 || f->precision < 1 || f->precision > 38 ||
               f->scale < 0 || f->scale > f->precision)) {
      *why = "unsupported decimal (decimal128 with 1 <= precision <= 38 and "
             "0 <= scale <= precision is read)";
      return false;
    }
    break;
  case IPC_T_DATE:
    ok = fb_i16(type, 0, 1, &f->unit);
    if (ok && (f->unit < 0 || f->unit > 1)) {
      *why = "unknown date unit";
      return false;
    }
    break;
  case IPC_T_TIME:
    ok = fb_i16(type, 0, 1, &f->unit) && fb_i32(type, 1, 32, &f->bit_width);
    if (ok && (f->unit < 0 || f->unit > 3 ||
               f->bit_width != (f->unit <= IPC_UNIT_MILLI ? 32 : 64))) {
      *why = "time unit and bit width do not match";
      return false;
    }
    break;
  case IPC_T_TIMESTAMP: {
    const char *tz;
    size_t n;
    bool present;
    ok = fb_i16(type, 0, 0, &f->unit) && fb_string(type, 1, &tz, &n, &present);
    if (ok && (f->unit < 0 || f->unit > 3)) {
      *why = "unknown timestamp unit";
      return false;
    }
    if (ok && present) {
      f->timezone = dup_n(tz, n);
      if (f->timezone == NULL) return false;
    }
    break;
  }
  case IPC_T_NULL: case IPC_T_BOOL: case IPC_T_UTF8: case IPC_T_LARGE_UTF8:
  case IPC_T_BINARY: case IPC_T_LARGE_BINARY:
    break;
  default:
    *why = "unsupported column type (nested, interval, duration, view and "
           "union types are not read)";
    return false;
  }
  if (!ok) *why = "a type field lies outside its table";
  return ok;
}

static bool decode_metadata(const FbTable *field, IpcField *f,
                            const char **why) {
  FbVector kvs;
  bool present;
  if (!fb_vector(field, 6, 4, &kvs, &present)) goto bad;
  for (uint32_t i = 0; i < kvs.count; i++) {
    FbTable kv;
    const char *k, *v;
    size_t kn, vn;
    if (!fb_vector_table(&kvs, i, &kv) || !fb_string(&kv, 0, &k, &kn, &present) ||
        !fb_string(&kv, 1, &v, &vn, &present))
      goto bad;
    if (kn == strlen(EXT_NAME_KEY) && memcmp(k, EXT_NAME_KEY, kn) == 0) {
      free(f->extension);
      f->extension = dup_n(v, vn);
      if (f->extension == NULL) return false;
    }
  }
  return true;
bad:
  *why = "field metadata lies outside the message";
  return false;
}

static bool decode_dictionary(const FbTable *field, IpcField *f,
                              const char **why) {
  FbTable enc, index;
  bool present;
  uint8_t sign = 1;
  if (!fb_table(field, 4, &enc, &present)) goto bad;
  if (!present) return true;
  f->dictionary = true;
  f->index_width = 32;
  f->index_signed = true;
  if (!fb_i64(&enc, 0, 0, &f->dict_id) || !fb_table(&enc, 1, &index, &present))
    goto bad;
  if (present && (!fb_i32(&index, 0, 0, &f->index_width) ||
                  !fb_u8(&index, 1, 0, &sign)))
    goto bad;
  f->index_signed = sign != 0;
  if (f->index_width != 8 && f->index_width != 16 && f->index_width != 32 &&
      f->index_width != 64) {
    *why = "dictionary index bit width is not 8, 16, 32 or 64";
    return false;
  }
  return true;
bad:
  *why = "dictionary encoding lies outside the message";
  return false;
}

static int decode_field(const FbTable *t, IpcField *f, const char **why) {
  const char *name;
  size_t n;
  bool present;
  uint8_t nullable;
  FbTable type;
  FbVector children;
  if (!fb_string(t, 0, &name, &n, &present) || !fb_u8(t, 1, 0, &nullable) ||
      !fb_u8(t, 2, 0, &f->type) || !fb_vector(t, 5, 4, &children, &present)) {
    *why = "a Field lies outside the message";
    return -1;
  }
  f->name = dup_n(name, n);
  if (f->name == NULL) return -2;
  f->nullable = nullable != 0;
  if (children.count != 0) {
    *why = "nested columns (list, struct, map) are not read";
    return -1;
  }
  if (!fb_table(t, 3, &type, &present) || !present) {
    *why = "a Field has no readable type";
    return -1;
  }
  *why = NULL;
  if (!decode_type(&type, f, why) || !decode_metadata(t, f, why) ||
      !decode_dictionary(t, f, why))
    return *why != NULL ? -1 : -2;
  return 0;
}

int ipc_schema_decode(const FbTable *schema, IpcSchema *out,
                      const char **why) {
  FbVector fields;
  bool present;
  int16_t endian;
  memset(out, 0, sizeof *out);
  if (!fb_i16(schema, 0, 0, &endian) ||
      !fb_vector(schema, 1, 4, &fields, &present)) {
    *why = "the Schema lies outside the message";
    return -1;
  }
  if (endian != 0) {
    *why = "big-endian data is not read";
    return -1;
  }
  if (fields.count > IPC_MAX_COLUMNS) {
    *why = "more than 65536 columns";
    return -1;
  }
  out->fields = calloc(fields.count ? fields.count : 1, sizeof *out->fields);
  if (out->fields == NULL) return -2;
  for (uint32_t i = 0; i < fields.count; i++) {
    FbTable ft;
    out->n = i + 1;
    if (!fb_vector_table(&fields, i, &ft)) {
      *why = "a Field lies outside the message";
      return -1;
    }
    int rc = decode_field(&ft, &out->fields[i], why);
    if (rc != 0) return rc;
  }
  out->n = fields.count;
  return 0;
}

IpcNode ipc_node_at(const IpcBatchMeta *m, uint32_t i) {
  const uint8_t *p = fb_vector_struct(&m->nodes, i, 16);
  IpcNode n = {-1, -1};
  if (p != NULL) {
    n.length = fb_read_i64(p);
    n.null_count = fb_read_i64(p + 8);
  }
  return n;
}

IpcBufferRef ipc_buffer_at(const IpcBatchMeta *m, uint32_t i) {
  const uint8_t *p = fb_vector_struct(&m->buffers, i, 16);
  IpcBufferRef r = {-1, -1};
  if (p != NULL) {
    r.offset = fb_read_i64(p);
    r.length = fb_read_i64(p + 8);
  }
  return r;
}

/* ------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------ */

/* The type table of f; returns its position. */
static size_t write_type(FbBuilder *b, const IpcField *f) {
  bool tz = f->type == IPC_T_TIMESTAMP && f->timezone != NULL;
  fb_table_start(b);
  switch (f->type) {
  case IPC_T_INT:
    fb_add_scalar(b, 0, 4, (uint32_t)f->bit_width);
    fb_add_scalar(b, 1, 1, f->is_signed);
    break;
  case IPC_T_FLOAT:
    fb_add_scalar(b, 0, 2, f->bit_width == 32 ? 1 : 2);
    break;
  case IPC_T_DECIMAL:
    fb_add_scalar(b, 0, 4, (uint32_t)f->precision);
    fb_add_scalar(b, 1, 4, (uint32_t)f->scale);
    fb_add_scalar(b, 2, 4, 128);
    break;
  case IPC_T_DATE:
    fb_add_scalar(b, 0, 2, (uint16_t)f->unit);
    break;
  case IPC_T_TIMESTAMP:
    fb_add_scalar(b, 0, 2, (uint16_t)f->unit);
    if (tz) fb_add_offset(b, 1);
    break;
  default:
    break;
  }
  size_t table = fb_table_end(b);
  if (tz) {
    size_t tz_slot = b->slots[1];
    fb_patch(b, tz_slot, fb_string_write(b, f->timezone, strlen(f->timezone)));
  }
  return table;
}

/* A Field table and its children; returns its position. */
static size_t write_field(FbBuilder *b, const IpcField *f) {
  fb_table_start(b);
  fb_add_offset(b, 0);
  fb_add_scalar(b, 1, 1, f->nullable);
  fb_add_scalar(b, 2, 1, f->type);
  fb_add_offset(b, 3);
  fb_add_offset(b, 5);
  if (f->extension != NULL) fb_add_offset(b, 6);
  size_t table = fb_table_end(b);
  size_t name_slot = b->slots[0], type_slot = b->slots[3],
         children_slot = b->slots[5], meta_slot = b->slots[6];
  fb_patch(b, name_slot, fb_string_write(b, f->name, strlen(f->name)));
  fb_patch(b, type_slot, write_type(b, f));
  fb_patch(b, children_slot, fb_vector_write(b, 4, 4, 0, NULL));
  if (f->extension != NULL) {
    size_t vec = fb_vector_write(b, 4, 4, 1, NULL);
    fb_patch(b, meta_slot, vec);
    fb_table_start(b);
    fb_add_offset(b, 0);
    fb_add_offset(b, 1);
    size_t kv = fb_table_end(b);
    size_t key_slot = b->slots[0], value_slot = b->slots[1];
    fb_patch(b, vec + 4, kv);
    fb_patch(b, key_slot, fb_string_write(b, EXT_NAME_KEY, strlen(EXT_NAME_KEY)));
    fb_patch(b, value_slot,
             fb_string_write(b, f->extension, strlen(f->extension)));
  }
  return table;
}

static void write_schema_table(FbBuilder *b, size_t slot, const IpcSchema *s) {
  fb_table_start(b);
  fb_add_offset(b, 1);
  size_t table = fb_table_end(b);
  size_t fields_slot = b->slots[1];
  fb_patch(b, slot, table);
  size_t vec = fb_vector_write(b, 4, 4, (uint32_t)s->n, NULL);
  fb_patch(b, fields_slot, vec);
  for (size_t i = 0; i < s->n && !b->failed; i++)
    fb_patch(b, vec + 4 + 4 * i, write_field(b, &s->fields[i]));
}

/* Message {version, header_type, header, bodyLength}; returns the header
 * slot. */
static size_t write_message(FbBuilder *b, uint8_t header_type,
                            int64_t body_length) {
  size_t root = fb_begin(b);
  fb_table_start(b);
  fb_add_scalar(b, 0, 2, IPC_METADATA_V5);
  fb_add_scalar(b, 1, 1, header_type);
  fb_add_offset(b, 2);
  fb_add_scalar(b, 3, 8, (uint64_t)body_length);
  size_t table = fb_table_end(b);
  size_t header_slot = b->slots[2];
  fb_patch(b, root, table);
  return header_slot;
}

void ipc_schema_message(FbBuilder *b, const IpcSchema *s) {
  size_t header_slot = write_message(b, IPC_HDR_SCHEMA, 0);
  write_schema_table(b, header_slot, s);
  fb_pad(b, 8);
}

void ipc_batch_message(FbBuilder *b, int64_t length, const IpcNode *nodes,
                       uint32_t n_nodes, const IpcBufferRef *buffers,
                       uint32_t n_buffers, int codec, int64_t body_length) {
  size_t header_slot = write_message(b, IPC_HDR_RECORD_BATCH, body_length);
  fb_table_start(b);
  fb_add_scalar(b, 0, 8, (uint64_t)length);
  fb_add_offset(b, 1);
  fb_add_offset(b, 2);
  if (codec != IPC_CODEC_NONE) fb_add_offset(b, 3);
  size_t table = fb_table_end(b);
  size_t nodes_slot = b->slots[1], buffers_slot = b->slots[2],
         comp_slot = b->slots[3];
  fb_patch(b, header_slot, table);
  /* FieldNode and Buffer are two little-endian int64 each. */
  size_t v = fb_vector_write(b, 16, 8, n_nodes, NULL);
  fb_patch(b, nodes_slot, v);
  for (uint32_t i = 0; i < n_nodes && !b->failed; i++) {
    uint8_t *p = b->data + v + 4 + 16 * (size_t)i;
    for (int k = 0; k < 8; k++) {
      p[k] = (uint8_t)((uint64_t)nodes[i].length >> (8 * k));
      p[8 + k] = (uint8_t)((uint64_t)nodes[i].null_count >> (8 * k));
    }
  }
  v = fb_vector_write(b, 16, 8, n_buffers, NULL);
  fb_patch(b, buffers_slot, v);
  for (uint32_t i = 0; i < n_buffers && !b->failed; i++) {
    uint8_t *p = b->data + v + 4 + 16 * (size_t)i;
    for (int k = 0; k < 8; k++) {
      p[k] = (uint8_t)((uint64_t)buffers[i].offset >> (8 * k));
      p[8 + k] = (uint8_t)((uint64_t)buffers[i].length >> (8 * k));
    }
  }
  if (codec != IPC_CODEC_NONE) {
    fb_table_start(b);
    fb_add_scalar(b, 0, 1, (uint8_t)codec);
    fb_add_scalar(b, 1, 1, 0);
    fb_patch(b, comp_slot, fb_table_end(b));
  }
  fb_pad(b, 8);
}

void ipc_footer(FbBuilder *b, const IpcSchema *s, const IpcBlock *blocks,
                size_t n_blocks) {
  size_t root = fb_begin(b);
  fb_table_start(b);
  fb_add_scalar(b, 0, 2, IPC_METADATA_V5);
  fb_add_offset(b, 1);
  fb_add_offset(b, 2);
  fb_add_offset(b, 3);
  size_t table = fb_table_end(b);
  size_t schema_slot = b->slots[1], dicts_slot = b->slots[2],
         batches_slot = b->slots[3];
  fb_patch(b, root, table);
  write_schema_table(b, schema_slot, s);
  fb_patch(b, dicts_slot, fb_vector_write(b, 24, 8, 0, NULL));
  size_t v = fb_vector_write(b, 24, 8, (uint32_t)n_blocks, NULL);
  fb_patch(b, batches_slot, v);
  for (size_t i = 0; i < n_blocks && !b->failed; i++) {
    uint8_t *p = b->data + v + 4 + 24 * i;
    for (int k = 0; k < 8; k++) {
      p[k] = (uint8_t)((uint64_t)blocks[i].offset >> (8 * k));
      p[16 + k] = (uint8_t)((uint64_t)blocks[i].body_length >> (8 * k));
    }
    for (int k = 0; k < 4; k++)
      p[8 + k] = (uint8_t)((uint32_t)blocks[i].meta_length >> (8 * k));
  }
}
