/*
 * arrow_connector.h - the arrow connector's vtable functions (Arrow IPC
 * file and streaming formats, source and destination).
 */
#ifndef NEBULA_ARROW_CONNECTOR_H
#define NEBULA_ARROW_CONNECTOR_H

#include "nebula/sdk.h"

int arrow_source_open(const NbHostApi *host, const NbOpenArgs *args,
                      void **source, NbError *err);
int arrow_source_stream_count(void *source, uint32_t *count, NbError *err);
int arrow_source_stream_info(void *source, uint32_t index, NbStreamInfo *out,
                             NbError *err);
int arrow_source_schema(void *source, uint32_t index, struct ArrowSchema *out,
                        NbError *err);
int arrow_source_seek(void *source, uint32_t index, const void *position,
                      size_t position_len, NbError *err);
int arrow_source_next(void *source, uint32_t index, struct ArrowArray *out,
                      NbBatchInfo *info, NbError *err);
void arrow_source_close(void *source);

int arrow_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                    NbError *err);
int arrow_dest_prepare(void *dest, const char *stream_name,
                       const struct ArrowSchema *schema, uint32_t *dest_stream,
                       NbError *err);
int arrow_dest_write(void *dest, uint32_t dest_stream,
                     const struct ArrowArray *batch, NbError *err);
int arrow_dest_commit(void *dest, const void **state, size_t *state_len,
                      NbError *err);
int arrow_dest_finish(void *dest, NbError *err);
void arrow_dest_close(void *dest);

#endif
