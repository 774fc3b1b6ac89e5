/*
 * parquet_connector.c - the parquet connector's description: settings and
 * vtable, handed to the host by NB_CONNECTOR_EXPORT.
 *
 * Source: Parquet files (a glob gives one stream per file), one row group
 * at a time.  Destination: one Parquet file per stream, the row group as
 * the unit of commit, the footer written by dest_finish.
 */
#include "parquet_connector.h"

static const NbSettingSpec parquet_settings[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL,
               "file to read (a glob pattern gives one stream per file) or to write (\"{stream}\" is replaced by the stream's base name)"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "columns", NULL, NULL,
               "comma-separated names of the columns to read (only their column chunks are read); all columns when absent"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "max_page_bytes", "268435456", NULL,
               "largest page (compressed or not) and dictionary accepted; a file claiming more is refused"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "compression", "snappy",
               "none|snappy|zstd|lz4_raw|gzip",
               "codec of the pages"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST, "compression_level", "0", NULL,
               "codec level; 0 is the codec's default"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST, "row_group_bytes", "67108864", NULL,
               "a row group is written when its values reach this many bytes (before encoding)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST, "row_group_rows", "1048576", NULL,
               "a row group is written when it reaches this many rows"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST, "page_bytes", "1048576", NULL,
               "target size of a data page before compression"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST, "dictionary_bytes", "1048576", NULL,
               "a column chunk whose dictionary grows past this many bytes is written PLAIN instead; 0 disables dictionaries"),
};

static const NbConnector parquet_connector = {
    .name = "parquet",
    .version = "1.0.0",
    .description = "Apache Parquet files, written from the format specification",
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE,
    .settings = parquet_settings,
    .n_settings = NB_COUNT(parquet_settings),
    .source_open = parquet_source_open,
    .source_stream_count = parquet_source_stream_count,
    .source_stream_info = parquet_source_stream_info,
    .source_schema = parquet_source_schema,
    .source_seek = parquet_source_seek,
    .source_next = parquet_source_next,
    .source_close = parquet_source_close,
    .dest_open = parquet_dest_open,
    .dest_prepare = parquet_dest_prepare,
    .dest_write = parquet_dest_write,
    .dest_commit = parquet_dest_commit,
    .dest_close = parquet_dest_close,
    .dest_finish = parquet_dest_finish,
};

NB_CONNECTOR_EXPORT(parquet_connector)
