/*
 * json_connector.h - what the parts of the json connector share: the
 * vtable functions of the source (json_source.c) and the destination
 * (json_dest.c), handed to the host by json_connector.c.
 */
#ifndef JSON_CONNECTOR_H
#define JSON_CONNECTOR_H

#include "nebula/sdk.h"

/* Bytes per read and size of the output buffer before it is flushed. */
#define JSON_IO_SIZE ((size_t)1 << 20)

/* Largest max_columns (the hash index holds uint32_t). */
#define JSON_MAX_MAX_COLUMNS (1 << 24)

/* Largest max_record_bytes accepted: the read buffer grows to one byte
 * more, and the parser's scratch area to as much again. */
#define JSON_MAX_MAX_RECORD ((uint64_t)1 << 40 < (uint64_t)SIZE_MAX / 4 \
                                 ? (uint64_t)1 << 40 : (uint64_t)SIZE_MAX / 4)

/* The settings declaration (json_connector.c): the opens read defaults
 * and choices from it. */
#define JSON_N_SETTINGS 8
extern const NbSettingSpec json_settings[JSON_N_SETTINGS];

int json_source_open(const NbHostApi *host, const NbOpenArgs *args,
                     void **source, NbError *err);
int json_source_stream_count(void *source, uint32_t *count, NbError *err);
int json_source_stream_info(void *source, uint32_t index, NbStreamInfo *out,
                            NbError *err);
int json_source_schema(void *source, uint32_t index, struct ArrowSchema *out,
                       NbError *err);
int json_source_seek(void *source, uint32_t index, const void *position,
                     size_t position_len, NbError *err);
int json_source_next(void *source, uint32_t index, struct ArrowArray *out,
                     NbBatchInfo *info, NbError *err);
void json_source_close(void *source);

int json_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                   NbError *err);
int json_dest_prepare(void *dest, const char *stream_name,
                      const struct ArrowSchema *schema, uint32_t *dest_stream,
                      NbError *err);
int json_dest_write(void *dest, uint32_t dest_stream,
                    const struct ArrowArray *batch, NbError *err);
int json_dest_commit(void *dest, const void **state, size_t *state_len,
                     NbError *err);
/* ABI 1.1: write the end of every file (an array's closing bracket) and
 * make it durable.  Returns NB_OK, or the host's NB_IO / NB_NOMEM. */
int json_dest_finish(void *dest, NbError *err);
void json_dest_close(void *dest);

#endif /* JSON_CONNECTOR_H */
