/*
 * mysql_connector.c - the mysql connector's description: settings and
 * vtable, handed to the host by NB_CONNECTOR_EXPORT.
 *
 * MariaDB and MySQL servers through MariaDB Connector/C.  Source: tables
 * (or one query) streamed with unbuffered results, full or incremental by
 * a cursor column (mysql_source.c).  Destination: multi-row INSERTs in one
 * transaction per commit, with a bookkeeping table written in the same
 * transaction (mysql_dest.c).  Connection setting names are those of the
 * postgres connector.
 */
#include "mysql_internal.h"

static const NbSettingSpec mysql_settings[] = {
    NB_SETTING(NB_SETTING_STRING, 0, "host", "127.0.0.1", NULL,
               "server host name or address (ignored when socket is given)"),
    NB_SETTING(NB_SETTING_INT, 0, "port", "3306", NULL, "server TCP port"),
    NB_SETTING(NB_SETTING_STRING, 0, "socket", NULL, NULL,
               "Unix socket path of a local server, instead of host and port"),
    NB_SETTING(NB_SETTING_STRING, 0, "user", "root", NULL, "user name"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SECRET, "password", NULL, NULL,
               "password of the user (secret: never printed)"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "database", NULL, NULL,
               "database (schema) holding the tables"),
    NB_SETTING(NB_SETTING_INT, 0, "connect_timeout", "10", NULL,
               "seconds to wait for a connection"),
    NB_SETTING(NB_SETTING_ENUM, 0, "ssl_mode", "prefer", "disable|prefer|require|verify_full",
               "TLS: disable, prefer (use it when offered), require, or verify_full (check the certificate and host name)"),
    NB_SETTING(NB_SETTING_STRING, 0, "ssl_ca", NULL, NULL,
               "file of CA certificates for ssl_mode verify_full"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "tables", NULL, NULL,
               "comma-separated tables to read, one stream each; default every base table of the database"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "query", NULL, NULL,
               "one SELECT to read instead of tables, as the stream \"query\""),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE, "mode", "full", "full|incremental|cdc",
               "full reads whole tables; incremental reads by the cursor column, ties broken by the primary key; cdc reads the tables' changes from the binary log"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "cursor", NULL, NULL,
               "column that grows with each change, for mode incremental"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE, "zero_dates", "null", "null|error",
               "zero dates (0000-00-00, 2024-00-10): null (counted in mysql_zero_dates_as_null, with a warning) or error (a bad record)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "server_id", "4040", NULL,
               "mode cdc: replica server id of the binlog connection (stream i uses server_id + i); unique among the server's replicas"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE, "stop_at_catchup", "false", NULL,
               "mode cdc: end the run at the end of the binary log instead of waiting for changes"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "start_file", NULL, NULL,
               "mode cdc, first run: binlog file to start in (default: the server's current position)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "start_pos", "4", NULL,
               "mode cdc, first run: position in start_file"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_SOURCE, "start_gtid", NULL, NULL,
               "mode cdc, first run (MariaDB): start after this GTID position (@@gtid_binlog_pos), instead of start_file"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "heartbeat_seconds", "1", NULL,
               "mode cdc: the server's heartbeat period on an idle binlog (batches waiting are handed over then)"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_SOURCE, "snapshot", "false", NULL,
               "mode cdc, first run: read the table's rows (op r) in a consistent snapshot first, then the changes from exactly its binlog position (MariaDB)"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "table", "{stream}", NULL,
               "table to write; \"{stream}\" is replaced by the stream's base name"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "mode", "append", "append|replace|upsert",
               "append rows, replace the table's rows in the first commit, or upsert by the table's primary or unique key"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "key", NULL, NULL,
               "comma-separated primary key columns of a table the destination creates"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "bulk_load", "load_data", "load_data|insert",
               "load_data (LOAD DATA LOCAL INFILE served from memory; INSERT when the server refuses it) or insert (multi-row INSERT statements); upsert always uses INSERT"),
    NB_SETTING(NB_SETTING_BOOL, NB_SETTING_DEST, "apply_deletes", "false", NULL,
               "mode upsert of CDC records (_op or op column): c/u/r upsert, d deletes by key, t empties the table, in record order; the CDC metadata columns are not written"),
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_DEST, "pipeline_id", "nebula", NULL,
               "name of this pipeline in the bookkeeping table _nebula_commits"),
};

static const NbConnector mysql_connector = {
    .name = "mysql",
    .version = "0.1.0",
    .description = "MariaDB and MySQL tables: streamed full or incremental reads, transactional loads",
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE,
    .settings = mysql_settings,
    .n_settings = NB_COUNT(mysql_settings),
    .source_open = my_source_open,
    .source_stream_count = my_source_stream_count,
    .source_stream_info = my_source_stream_info,
    .source_schema = my_source_schema,
    .source_seek = my_source_seek,
    .source_next = my_source_next,
    .source_close = my_source_close,
    .dest_open = my_dest_open,
    .dest_prepare = my_dest_prepare,
    .dest_write = my_dest_write,
    .dest_commit = my_dest_commit,
    .dest_close = my_dest_close,
    .dest_finish = my_dest_finish, /* ABI 1.1 */
};

/* The entry, with opens that check settings first (nebula/sdk.h). */
NB_CONNECTOR_EXPORT(mysql_connector)
