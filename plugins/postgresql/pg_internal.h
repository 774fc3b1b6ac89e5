/*
 * pg_internal.h - the postgresql connector's source and destination slots.
 */
#ifndef NEBULA_PG_INTERNAL_H
#define NEBULA_PG_INTERNAL_H

#include "nebula/sdk.h"

int pg_source_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                   NbError *err);
int pg_source_stream_count(void *source, uint32_t *count, NbError *err);
int pg_source_stream_info(void *source, uint32_t index, NbStreamInfo *out,
                          NbError *err);
int pg_source_schema(void *source, uint32_t index, struct ArrowSchema *out,
                     NbError *err);
int pg_source_seek(void *source, uint32_t index, const void *position,
                   size_t position_len, NbError *err);
int pg_source_next(void *source, uint32_t index, struct ArrowArray *out,
                   NbBatchInfo *info, NbError *err);
void pg_source_close(void *source);

int pg_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **out,
                 NbError *err);
int pg_dest_prepare(void *dest, const char *stream_name,
                    const struct ArrowSchema *schema, uint32_t *dest_stream,
                    NbError *err);
int pg_dest_write(void *dest, uint32_t dest_stream,
                  const struct ArrowArray *batch, NbError *err);
int pg_dest_commit(void *dest, const void **state, size_t *state_len,
                   NbError *err);
int pg_dest_finish(void *dest, NbError *err);
void pg_dest_close(void *dest);

#endif
