/*
 * arrow_columns.h - one column of an IPC record batch body into an Arrow C
 * Data Interface array of the engine's types (nebula/sdk.h), every buffer
 * and offset checked against the body first.
 */
#ifndef NEBULA_ARROW_COLUMNS_H
#define NEBULA_ARROW_COLUMNS_H

#include "arrow_ipc.h"
#include "nebula/sdk.h"

/* A message body, shared by the arrays that point into it. */
typedef struct IpcBody {
  uint8_t *data;
  int64_t len;
  int refs;                /* atomic */
} IpcBody;

IpcBody *ipc_body_new(size_t len);
void ipc_body_unref(IpcBody *body);

typedef struct ColumnCtx {
  const NbHostApi *host;
  const IpcBatchMeta *meta;
  IpcBody *body;
  uint32_t node;           /* next FieldNode */
  uint32_t buffer;         /* next Buffer */
  int64_t max_bytes;       /* largest decompressed buffer */
  int status;              /* on failure: NB_DATA or NB_NOMEM */
  char msg[320];           /* on failure: what is wrong */
} ColumnCtx;

/* The engine's type for an IPC column (a dictionary column: its values'
 * type).  false with *why (static text) when the engine has none. */
bool ipc_engine_field(const IpcField *f, NbField *out, const char **why);

/* Decode the next column of the batch (rows rows) into *out, an array of
 * the engine's type ipc_engine_field gives.  A dictionary-encoded column
 * is decoded to plain values from dict (its values, decoded earlier with
 * the same function; NULL: the column's dictionary has not been seen).
 * Returns NB_OK, or c->status with c->msg. */
int ipc_decode_column(ColumnCtx *c, const IpcField *f,
                      const struct ArrowArray *dict, int64_t rows,
                      struct ArrowArray *out);

#endif
