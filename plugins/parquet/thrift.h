/*
 * thrift.h - the Thrift compact protocol, as much of it as Parquet's
 * footer and page headers use (parquet-format's parquet.thrift).
 *
 * Writer: fields are written in increasing id order inside a struct;
 * tw_struct_begin / tw_struct_end keep the "last field id" the compact
 * protocol encodes field ids against.
 *
 * Reader: every input is untrusted.  Lengths are checked against the bytes
 * left, list counts are bounded by the bytes left (every element takes at
 * least one byte), nesting is limited to TR_MAX_DEPTH, and unknown fields of
 * every type are skipped.  The first problem sets r->error (a static
 * message) and r->error_at (offset from the start); every later call fails
 * at once, so callers check r->error after a run of reads.
 */
#ifndef PQ_THRIFT_H
#define PQ_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pq_buf.h"

enum {
  T_STOP = 0, T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I16 = 4, T_I32 = 5,
  T_I64 = 6, T_DOUBLE = 7, T_BINARY = 8, T_LIST = 9, T_SET = 10, T_MAP = 11,
  T_STRUCT = 12
};

#define TW_MAX_DEPTH 16
#define TR_MAX_DEPTH 64

typedef struct TWriter {
  PqBuf *out;
  int depth;
  int16_t last[TW_MAX_DEPTH];
} TWriter;

void tw_init(TWriter *w, PqBuf *out);
void tw_struct_begin(TWriter *w);          /* top level or after a field */
void tw_struct_end(TWriter *w);            /* writes the stop byte */
void tw_field(TWriter *w, int16_t id, uint8_t type);
void tw_i32(TWriter *w, int16_t id, int32_t v);
void tw_i64(TWriter *w, int16_t id, int64_t v);
void tw_bool(TWriter *w, int16_t id, bool v);
void tw_binary(TWriter *w, int16_t id, const void *p, size_t n);
void tw_struct_field(TWriter *w, int16_t id); /* field header + begin */
void tw_empty_struct(TWriter *w, int16_t id); /* field whose value is {} */
void tw_list(TWriter *w, int16_t id, uint8_t elem_type, uint32_t n);
/* Elements of a list. */
void tw_elem_i32(TWriter *w, int32_t v);
void tw_elem_binary(TWriter *w, const void *p, size_t n);
void tw_varint(PqBuf *b, uint64_t v);

typedef struct TReader {
  const uint8_t *start;
  const uint8_t *p;
  const uint8_t *end;
  int depth;
  const char *error;       /* NULL while all is well */
  size_t error_at;
} TReader;

void tr_init(TReader *r, const void *data, size_t len);
bool tr_fail(TReader *r, const char *why);
/* Next field of the current struct: true with *id and *type, false at the
 * stop byte or on error.  *last is the struct's last id (start at 0). */
bool tr_field(TReader *r, int16_t *last, int16_t *id, uint8_t *type);
void tr_skip(TReader *r, uint8_t type);
/* Values of the given field type; a field of another type is skipped and
 * reads as "absent" (false). */
bool tr_i32(TReader *r, uint8_t type, int32_t *v);
bool tr_i64(TReader *r, uint8_t type, int64_t *v);
bool tr_bool(TReader *r, uint8_t type, bool *v);
bool tr_binary(TReader *r, uint8_t type, const uint8_t **p, uint32_t *n);
/* A list (or set) header: element type and count (count <= bytes left). */
bool tr_list(TReader *r, uint8_t type, uint8_t *elem_type, uint32_t *n);
/* A struct: enter (checks depth) and leave. */
bool tr_enter(TReader *r, uint8_t type);
void tr_leave(TReader *r);
/* A struct of plain fields read by a table: each field whose id is in
 * fields is read (by its kind) into the member at its offset of out; any
 * other field is skipped.  Returns false when type is not a struct (nothing
 * read), else true, even when a field failed (r->error tells). */
typedef enum TFieldKind { TF_I32, TF_I64, TF_BOOL } TFieldKind;
typedef struct TFieldSpec {
  int16_t id;
  TFieldKind kind;
  size_t offset;            /* of an int32_t, int64_t or bool in out */
} TFieldSpec;
#define TF(id, kind, type, member) {(id), (kind), offsetof(type, member)}
bool tr_struct_fields(TReader *r, uint8_t type, const TFieldSpec *fields,
                      size_t n_fields, void *out);
/* One list element of an integer type. */
bool tr_elem_i32(TReader *r, uint8_t elem_type, int32_t *v);
bool tr_elem_binary(TReader *r, uint8_t elem_type, const uint8_t **p, uint32_t *n);

#endif /* PQ_THRIFT_H */
