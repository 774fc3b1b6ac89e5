/*
 * csv_connector.c - the csv connector's description: its settings, its
 * capabilities and the entry function that hands the vtable to the host.
 * The work is done in csv_source.c and csv_dest.c.
 */
#include "csv_internal.h"

#define SRC NB_SETTING_SOURCE
#define DST NB_SETTING_DEST

static const NbSettingSpec csv_settings[] = {
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
    NB_SETTING(NB_SETTING_ENUM, DST, "compression", "auto", "none|gzip|zstd|lz4|snappy|auto",
               "Output compression; auto chooses by file extension"),
    NB_SETTING(NB_SETTING_INT, DST, "compression_level", "0", NULL,
               "Compression level; 0 is the codec's default"),
    NB_SETTING(NB_SETTING_ENUM, DST, "line_ending", "lf", "lf|crlf", "Line end of written rows"),
    NB_SETTING(NB_SETTING_ENUM, DST, "quote_style", "minimal", "minimal|all",
               "minimal: quote only fields that need it (RFC 4180); all: quote every value"),
};

#define CSV_N_SETTINGS ((uint32_t)(sizeof csv_settings / sizeof csv_settings[0]))

/* The host checks settings before opening, but another host (or the
 * conformance kit) may not: refuse unrecognized or ill-typed settings here
 * too, before anything is opened. */
static int csv_checked_source_open(const NbHostApi *host, const NbOpenArgs *args,
                                   void **source, NbError *err) {
  int rc = nb_settings_check(args->settings, csv_settings, CSV_N_SETTINGS, NB_SETTING_SOURCE, err);
  return rc != NB_OK ? rc : csv_source_open(host, args, source, err);
}

static int csv_checked_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                                 NbError *err) {
  int rc = nb_settings_check(args->settings, csv_settings, CSV_N_SETTINGS, NB_SETTING_DEST, err);
  return rc != NB_OK ? rc : csv_dest_open(host, args, dest, err);
}

static void csv_describe(NbConnector *c) {
  c->name = "csv";
  c->version = "1.0.0";
  c->description = "Read and write CSV files (RFC 4180)";
  c->capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE;
  c->settings = csv_settings;
  c->n_settings = CSV_N_SETTINGS;
  c->source_open = csv_checked_source_open;
  c->source_stream_count = csv_source_stream_count;
  c->source_stream_info = csv_source_stream_info;
  c->source_schema = csv_source_schema;
  c->source_seek = csv_source_seek;
  c->source_next = csv_source_next;
  c->source_close = csv_source_close;
  c->dest_open = csv_checked_dest_open;
  c->dest_prepare = csv_dest_prepare;
  c->dest_write = csv_dest_write;
  c->dest_commit = csv_dest_commit;
  c->dest_close = csv_dest_close;
}

NB_CONNECTOR_ENTRY(csv_describe)
