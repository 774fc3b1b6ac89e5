/*
 * csv_connector.c - the csv connector's description: its settings, its
 * capabilities and its vtable, handed to the host by NB_CONNECTOR_EXPORT.
 * The work is done in csv_source.c and csv_dest.c.
 */
#include "csv_internal.h"

#define SRC NB_SETTING_SOURCE
#define DST NB_SETTING_DEST

/* The one place of each setting's default and choices: the opens read
 * them from here (nb_declared_*). */
const NbSettingSpec csv_settings[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL,
               "File to read or write; \"-\" for stdin/stdout; a source may use a glob "
               "pattern, a destination \"{stream}\" for one file per stream"),
    NB_SETTING(NB_SETTING_BOOL, 0, "header", "true", NULL,
               "The first line holds the column names (source) / write one (destination)"),
    NB_SETTING(NB_SETTING_STRING, 0, "delimiter", ",", NULL,
               "Field delimiter, one byte; \\t for a tab"),
    NB_SETTING(NB_SETTING_STRING, 0, "quote", "\"", NULL, "Quote character, one byte"),
    NB_SETTING(NB_SETTING_STRING, 0, "null_string", NULL, NULL,
               "Unquoted field text that means null (e.g. \"\" or NULL); unset: no nulls"),
    NB_SETTING(NB_SETTING_STRING, SRC, "columns", NULL, NULL,
               "Column types, e.g. \"zip:string; amount:decimal(10,2); id:int64\"; "
               "other columns are strings"),
    NB_SETTING(NB_SETTING_BOOL, SRC, "infer_types", "false", NULL,
               "Infer int64 and exact numbers from the first batch, never losing text"),
    NB_SETTING(NB_SETTING_ENUM, SRC, "header_names", "dedupe", "dedupe|strict",
               "Empty or repeated header names: dedupe renames them (empty: column_N, N the "
               "1-based position; a repeat of NAME: NAME_2, NAME_3, ..., skipping names "
               "the header has); strict refuses the file"),
    NB_SETTING(NB_SETTING_INT, SRC, "max_columns", "16384", NULL,
               "Most fields per record (1 to 1048576); a longer record is a bad record, a "
               "longer header an error.  Memory: about 0.5 KB per column (see README)"),
    NB_SETTING(NB_SETTING_INT, SRC, "max_record_bytes", "67108864", NULL,
               "Longest record in bytes (1 to 1073741824); a longer one is a bad record.  "
               "Memory: the reader holds up to twice this (see README)"),
    NB_SETTING(NB_SETTING_BOOL, SRC, "strict", "false", NULL,
               "Reject quotes inside unquoted fields and text after a closing quote"),
    NB_SETTING(NB_SETTING_ENUM, DST, "line_ending", "lf", "lf|crlf", "Line end of written rows"),
    NB_SETTING(NB_SETTING_ENUM, DST, "quote_style", "minimal", "minimal|all",
               "minimal: quote only fields that need it (RFC 4180); all: quote every value"),
};

static const NbConnector csv_connector = {
    .name = "csv",
    .version = "1.0.0",
    .description = "Read and write CSV files (RFC 4180)",
    /* The host declares and applies "compression" and "compression_level". */
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE |
                    NB_CAP_HOST_FILE_COMPRESSION,
    .settings = csv_settings,
    .n_settings = CSV_N_SETTINGS,
    .source_open = csv_source_open,
    .source_stream_count = csv_source_stream_count,
    .source_stream_info = csv_source_stream_info,
    .source_schema = csv_source_schema,
    .source_seek = csv_source_seek,
    .source_next = csv_source_next,
    .source_close = csv_source_close,
    .dest_open = csv_dest_open,
    .dest_prepare = csv_dest_prepare,
    .dest_write = csv_dest_write,
    .dest_commit = csv_dest_commit,
    .dest_close = csv_dest_close,
};

/* The entry, with opens that check settings first (nebula/sdk.h). */
NB_CONNECTOR_EXPORT(csv_connector)

_Static_assert(NB_COUNT(csv_settings) == CSV_N_SETTINGS, "CSV_N_SETTINGS is the declaration's size");
