/*
 * arrow_connector.c - the arrow connector's description: settings and
 * vtable, handed to the host by NB_CONNECTOR_EXPORT.
 *
 * Arrow IPC, file format (".arrow": magic, stream, footer) and streaming
 * format (".arrows"), read and written without an Arrow library: the
 * flatbuffers messages are encoded and decoded in flatbuf.c/arrow_ipc.c.
 * See arrow_source.c and arrow_dest.c.
 */
#include "arrow_connector.h"

static const NbSettingSpec arrow_settings[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL,
               "file to read (a glob pattern, \"-\" for standard input) or to write (\"{stream}\" is replaced by the stream's base name, \"-\" for standard output)"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "format", "auto", "auto|file|stream",
               "file (random access, with footer) or stream (streaming format); auto chooses stream for a path ending in .arrows or \"-\", else file.  The source detects the format from the file's first bytes"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "compression", "none", "none|lz4_frame|zstd",
               "record batch body compression (each buffer compressed on its own, as the IPC format defines)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST, "compression_level", "0", NULL,
               "codec level; 0 is the codec's default"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "max_batch_bytes", "268435456", NULL,
               "largest record batch or dictionary message accepted (metadata plus body, and each decompressed buffer), in bytes; a larger one is an error, so memory stays bounded"),
};

static const NbConnector arrow_connector = {
    .name = "arrow",
    .version = "1.0.0",
    .description = "Arrow IPC files (.arrow) and streams (.arrows)",
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE,
    .settings = arrow_settings,
    .n_settings = NB_COUNT(arrow_settings),
    .source_open = arrow_source_open,
    .source_stream_count = arrow_source_stream_count,
    .source_stream_info = arrow_source_stream_info,
    .source_schema = arrow_source_schema,
    .source_seek = arrow_source_seek,
    .source_next = arrow_source_next,
    .source_close = arrow_source_close,
    .dest_open = arrow_dest_open,
    .dest_prepare = arrow_dest_prepare,
    .dest_write = arrow_dest_write,
    .dest_commit = arrow_dest_commit,
    .dest_close = arrow_dest_close,
    .dest_finish = arrow_dest_finish, /* ABI 1.1 */
};

NB_CONNECTOR_EXPORT(arrow_connector)
