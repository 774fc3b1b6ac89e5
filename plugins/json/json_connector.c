/*
 * json_connector.c - the json connector's description: settings and
 * vtable, handed to the host by NB_CONNECTOR_EXPORT.
 *
 * Source: JSON Lines or one JSON array of records (format = auto detects
 * which from the first non-whitespace byte), parsed strictly per RFC 8259.
 * Destination: JSON Lines or one JSON array.  See json_source.c and
 * json_dest.c for the decisions on types, errors and resume.
 */
#include "json_connector.h"

/* The one place of each setting's default and choices: the opens read
 * them from here (nb_declared_*). */
const NbSettingSpec json_settings[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL,
               "file to read (a glob pattern, \"-\" for standard input) or to write (\"{stream}\" is replaced by the stream's base name, \"-\" for standard output)"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE, "format", "auto", "auto|lines|array",
               "lines (JSON Lines), array (one JSON array of records) or auto (which of the two, from the first non-blank byte)"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "format", "lines", "lines|array",
               "lines (JSON Lines) or array (one JSON array of records)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "max_depth", "512", NULL,
               "deepest nesting of objects and arrays accepted; deeper documents are rejected"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE, "duplicate_keys", "error", "error|first|last",
               "an object with a member name twice: error (a bad record, handled by on_error), or keep the first or the last value of each name (the others are dropped, counted in json_duplicate_members_dropped, with a warning)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "max_record_bytes", "67108864", NULL,
               "longest record accepted, in bytes (from its first non-blank byte to its end); a longer one is a bad record.  Memory per file is about 2 x max_record_bytes + 2 MiB plus the batch"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "max_columns", "16384", NULL,
               "most columns of a file (different member names), and most members of one object; a record that would exceed it is a bad record"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_DEST, "escape_unicode_separators",
               "false", NULL,
               "write U+2028 and U+2029 as \\u2028 and \\u2029, for consumers that parse JSON as JavaScript"),
};

static const NbConnector json_connector = {
    .name = "json",
    .version = "1.0.0",
    .description = "JSON Lines and JSON array files, read strictly per RFC 8259",
    /* The host declares and applies "compression" and "compression_level". */
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE |
                    NB_CAP_HOST_FILE_COMPRESSION,
    .settings = json_settings,
    .n_settings = JSON_N_SETTINGS,
    .source_open = json_source_open,
    .source_stream_count = json_source_stream_count,
    .source_stream_info = json_source_stream_info,
    .source_schema = json_source_schema,
    .source_seek = json_source_seek,
    .source_next = json_source_next,
    .source_close = json_source_close,
    .dest_open = json_dest_open,
    .dest_prepare = json_dest_prepare,
    .dest_write = json_dest_write,
    .dest_commit = json_dest_commit,
    .dest_close = json_dest_close,
    .dest_finish = json_dest_finish, /* ABI 1.1 */
};

/* The entry, with opens that check settings first (nebula/sdk.h). */
NB_CONNECTOR_EXPORT(json_connector)

/* The count, checked against the array at compile time. */
_Static_assert(NB_COUNT(json_settings) == JSON_N_SETTINGS, "JSON_N_SETTINGS is the declaration's size");
