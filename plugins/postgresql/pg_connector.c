/*
 * pg_connector.c - the postgresql connector's description: settings and
 * vtable, handed to the host by NB_CONNECTOR_EXPORT.
 *
 * Source: tables (or one query) read with COPY ... TO STDOUT, full or
 * incremental by a cursor column.  Destination: tables written with COPY
 * ... FROM STDIN, one transaction per engine commit, with a bookkeeping
 * table that makes a commit and its state one fact.  See pg_source.c and
 * pg_dest.c, and docs/postgresql-connector.md.
 */
#include "pg_internal.h"

static const NbSettingSpec pg_settings[] = {
    NB_SETTING(NB_SETTING_STRING, 0, "dsn", NULL, NULL,
               "libpq connection string or URI (postgresql://user@host:5432/db); the settings below override its parts"),
    NB_SETTING(NB_SETTING_STRING, 0, "host", NULL, NULL,
               "server host name, address or Unix socket directory"),
    NB_SETTING(NB_SETTING_INT, 0, "port", NULL, NULL, "server port (default 5432)"),
    NB_SETTING(NB_SETTING_STRING, 0, "dbname", NULL, NULL, "database name"),
    NB_SETTING(NB_SETTING_STRING, 0, "user", NULL, NULL, "user name"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SECRET, "password", NULL, NULL,
               "password; never logged or printed"),
    NB_SETTING(NB_SETTING_ENUM, 0, "sslmode", NULL,
               "disable|allow|prefer|require|verify-ca|verify-full",
               "libpq's sslmode (default prefer)"),
    NB_SETTING(NB_SETTING_INT, 0, "connect_timeout", "10", NULL,
               "seconds to wait for a connection"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "tables", NULL, NULL,
               "comma-separated tables or views to read (schema.name); default every table and view outside the system schemas"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "query", NULL, NULL,
               "one SELECT to read instead of tables (stream \"query\"; full mode only)"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE, "mode", "full", "full|incremental|cdc",
               "full reads every row; incremental reads rows after the saved cursor value and primary key; cdc streams one table's changes from a logical replication slot"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "cursor", NULL, NULL,
               "incremental mode: NOT NULL column whose value grows with each change (e.g. updated_at)"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "slot", NULL, NULL,
               "cdc: logical replication slot (pgoutput) to read"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "publication", NULL, NULL,
               "cdc: publication that names the table"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE | NB_SETTING_TUNING, "create_slot", "false", NULL,
               "cdc: create the slot when it does not exist"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE | NB_SETTING_TUNING, "create_publication", "false", NULL,
               "cdc: create the publication (FOR TABLE the table) when it does not exist"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE, "snapshot", "false", NULL,
               "cdc: with a slot this run creates, first read the table's rows (op r) as of the slot's start"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE | NB_SETTING_TUNING, "stop_at_catchup", "false", NULL,
               "cdc: end the stream when the changes committed before the run started are read (otherwise stream until stopped)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE | NB_SETTING_TUNING, "status_interval", "10", NULL,
               "cdc: seconds between status updates (heartbeats) to the server"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE | NB_SETTING_TUNING, "copy_format", "binary", "binary|text",
               "format of the COPY that reads tables and the query in modes full and incremental (the values are the same)"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "mode", "append", "append|replace|upsert",
               "append inserts; replace loads a new table and swaps it in at the end; upsert inserts or updates on the primary key"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "table", "{stream}", NULL,
               "target table (schema.name); {stream} is the stream's table or file base name"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "schema", "public", NULL,
               "schema of target tables named without one, and of the nebula_commits bookkeeping table"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "primary_key", NULL, NULL,
               "comma-separated key columns for upsert and for tables created (default the existing table's primary key)"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_DEST, "apply_deletes", "false", NULL,
               "upsert of CDC records (a text column op): op d deletes the key's row, op t empties the table"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "pipeline_id", "default", NULL,
               "name of this pipeline in the nebula_commits table; give each pipeline writing to the database its own"),
};

static const NbConnector pg_connector = {
    .name = "postgresql",
    .version = "0.1.0",
    .description = "PostgreSQL tables through libpq: COPY out (full or incremental) and COPY in (append, replace, upsert)",
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE,
    .settings = pg_settings,
    .n_settings = NB_COUNT(pg_settings),
    .source_open = pg_source_open,
    .source_stream_count = pg_source_stream_count,
    .source_stream_info = pg_source_stream_info,
    .source_schema = pg_source_schema,
    .source_seek = pg_source_seek,
    .source_next = pg_source_next,
    .source_close = pg_source_close,
    .dest_open = pg_dest_open,
    .dest_prepare = pg_dest_prepare,
    .dest_write = pg_dest_write,
    .dest_commit = pg_dest_commit,
    .dest_close = pg_dest_close,
    .dest_finish = pg_dest_finish, /* ABI 1.1 */
};

/* The entry, with opens that check settings first (nebula/sdk.h). */
NB_CONNECTOR_EXPORT(pg_connector)
