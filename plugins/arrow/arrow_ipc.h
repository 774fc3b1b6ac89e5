/*
 * arrow_ipc.h - the Arrow IPC messages Nebula reads and writes (Schema,
 * RecordBatch, DictionaryBatch, Footer), from the Arrow columnar format
 * specification (format/Schema.fbs, Message.fbs, File.fbs), over the
 * checked flatbuffers of flatbuf.h.
 */
#ifndef NEBULA_ARROW_IPC_H
#define NEBULA_ARROW_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatbuf.h"

#define IPC_CONTINUATION 0xFFFFFFFFu
#define IPC_METADATA_V4 3
#define IPC_METADATA_V5 4
#define IPC_MAGIC "ARROW1"
#define IPC_MAX_COLUMNS 65536
/* The largest Message flatbuffer accepted (Arrow C++ has no fixed limit;
 * a schema of thousands of columns stays far below this). */
#define IPC_MAX_METADATA (64u << 20)

/* MessageHeader union */
enum { IPC_HDR_SCHEMA = 1, IPC_HDR_DICTIONARY = 2, IPC_HDR_RECORD_BATCH = 3 };
/* Type union (Schema.fbs) */
enum {
  IPC_T_NULL = 1, IPC_T_INT = 2, IPC_T_FLOAT = 3, IPC_T_BINARY = 4,
  IPC_T_UTF8 = 5, IPC_T_BOOL = 6, IPC_T_DECIMAL = 7, IPC_T_DATE = 8,
  IPC_T_TIME = 9, IPC_T_TIMESTAMP = 10, IPC_T_LARGE_BINARY = 19,
  IPC_T_LARGE_UTF8 = 20
};
enum { IPC_UNIT_SECOND = 0, IPC_UNIT_MILLI = 1, IPC_UNIT_MICRO = 2,
       IPC_UNIT_NANO = 3 };
/* BodyCompression.codec; IPC_CODEC_NONE is ours (no compression table). */
enum { IPC_CODEC_LZ4_FRAME = 0, IPC_CODEC_ZSTD = 1, IPC_CODEC_NONE = 255 };

/* One column as the IPC schema describes it. */
typedef struct IpcField {
  char *name;
  bool nullable;
  uint8_t type;            /* IPC_T_* */
  int32_t bit_width;       /* INT: 8..64; FLOAT: 16/32/64; DECIMAL: 128;
                              TIME: 32/64 */
  bool is_signed;          /* INT */
  int32_t precision, scale;/* DECIMAL */
  int16_t unit;            /* DATE: 0 day, 1 ms; TIME/TIMESTAMP: IPC_UNIT_* */
  char *timezone;          /* TIMESTAMP: NULL when none */
  char *extension;         /* ARROW:extension:name, NULL when none */
  bool dictionary;         /* dictionary-encoded */
  int64_t dict_id;
  int32_t index_width;     /* bits of the dictionary's index type */
  bool index_signed;
} IpcField;

typedef struct IpcSchema {
  IpcField *fields;
  size_t n;
} IpcSchema;

void ipc_schema_free(IpcSchema *s);

/* One buffer of a record batch body: offset and length in the body. */
typedef struct IpcBufferRef {
  int64_t offset;
  int64_t length;
} IpcBufferRef;

typedef struct IpcNode {
  int64_t length;
  int64_t null_count;
} IpcNode;

/* The metadata of a RecordBatch (also inside a DictionaryBatch). */
typedef struct IpcBatchMeta {
  int64_t length;
  FbVector nodes;          /* of 16-byte FieldNode structs */
  FbVector buffers;        /* of 16-byte Buffer structs */
  int codec;               /* IPC_CODEC_* */
} IpcBatchMeta;

/* A decoded Message header. */
typedef struct IpcMessage {
  int16_t version;
  uint8_t header_type;
  int64_t body_length;
  FbTable header;
  /* DictionaryBatch */
  int64_t dict_id;
  bool dict_delta;
  IpcBatchMeta batch;      /* RecordBatch or the DictionaryBatch's data */
} IpcMessage;

/* Decoders: false with a reason in *why (static text) on a message that
 * breaks the format. */
bool ipc_message_decode(const uint8_t *data, size_t len, IpcMessage *out,
                        const char **why);
/* The Schema of a message whose header_type is IPC_HDR_SCHEMA.  Returns
 * 0, -1 on a malformed schema (*why), -2 on allocation failure. */
int ipc_schema_decode(const FbTable *schema, IpcSchema *out,
                      const char **why);
IpcNode ipc_node_at(const IpcBatchMeta *m, uint32_t i);
IpcBufferRef ipc_buffer_at(const IpcBatchMeta *m, uint32_t i);

/* Encoders into b (reset first).  The result is b->data[0..b->len), padded
 * to 8 bytes. */
void ipc_schema_message(FbBuilder *b, const IpcSchema *s);
void ipc_batch_message(FbBuilder *b, int64_t length, const IpcNode *nodes,
                       uint32_t n_nodes, const IpcBufferRef *buffers,
                       uint32_t n_buffers, int codec, int64_t body_length);

/* A Block of the file footer. */
typedef struct IpcBlock {
  int64_t offset;
  int32_t meta_length;
  int64_t body_length;
} IpcBlock;

void ipc_footer(FbBuilder *b, const IpcSchema *s, const IpcBlock *blocks,
                size_t n_blocks);

#endif
