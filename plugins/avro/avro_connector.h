/*
 * avro_connector.h - the avro connector's vtable functions.
 */
#ifndef AVRO_CONNECTOR_H
#define AVRO_CONNECTOR_H

#include "nebula/sdk.h"

int avro_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source,
                     NbError *err);
int avro_source_stream_count(void *source, uint32_t *count, NbError *err);
int avro_source_stream_info(void *source, uint32_t index, NbStreamInfo *out,
                            NbError *err);
int avro_source_schema(void *source, uint32_t index, struct ArrowSchema *out,
                       NbError *err);
int avro_source_seek(void *source, uint32_t index, const void *position,
                     size_t position_len, NbError *err);
int avro_source_next(void *source, uint32_t index, struct ArrowArray *out,
                     NbBatchInfo *info, NbError *err);
void avro_source_close(void *source);

int avro_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                   NbError *err);
int avro_dest_prepare(void *dest, const char *stream_name,
                      const struct ArrowSchema *schema, uint32_t *dest_stream,
                      NbError *err);
int avro_dest_write(void *dest, uint32_t dest_stream, const struct ArrowArray *batch,
                    NbError *err);
int avro_dest_commit(void *dest, const void **state, size_t *state_len, NbError *err);
void avro_dest_close(void *dest);

#endif
