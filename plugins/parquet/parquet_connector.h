/*
 * parquet_connector.h - what the parts of the parquet connector share: the
 * vtable functions of the source (parquet_source.c) and the destination
 * (parquet_dest.c), handed to the host by parquet_connector.c.
 */
#ifndef PARQUET_CONNECTOR_H
#define PARQUET_CONNECTOR_H

#include "nebula/sdk.h"

#define PQ_CREATED_BY "nebula parquet connector 1.0.0"

int parquet_source_open(const NbHostApi *host, const NbOpenArgs *args,
                        void **source, NbError *err);
int parquet_source_stream_count(void *source, uint32_t *count, NbError *err);
int parquet_source_stream_info(void *source, uint32_t index, NbStreamInfo *out,
                               NbError *err);
int parquet_source_schema(void *source, uint32_t index, struct ArrowSchema *out,
                          NbError *err);
int parquet_source_seek(void *source, uint32_t index, const void *position,
                        size_t position_len, NbError *err);
int parquet_source_next(void *source, uint32_t index, struct ArrowArray *out,
                        NbBatchInfo *info, NbError *err);
void parquet_source_close(void *source);

int parquet_dest_open(const NbHostApi *host, const NbOpenArgs *args,
                      void **dest, NbError *err);
int parquet_dest_prepare(void *dest, const char *stream_name,
                         const struct ArrowSchema *schema,
                         uint32_t *dest_stream, NbError *err);
int parquet_dest_write(void *dest, uint32_t dest_stream,
                       const struct ArrowArray *batch, NbError *err);
int parquet_dest_commit(void *dest, const void **state, size_t *state_len,
                        NbError *err);
int parquet_dest_finish(void *dest, NbError *err);
void parquet_dest_close(void *dest);

#endif /* PARQUET_CONNECTOR_H */
