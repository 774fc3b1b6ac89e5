/*
 * pg_cdc.h - mode "cdc" of the postgresql source: one table's changes
 * read from a logical replication slot with the pgoutput plugin, after an
 * optional initial snapshot consistent with the slot.
 */
#ifndef NEBULA_PG_CDC_H
#define NEBULA_PG_CDC_H

#include <libpq-fe.h>

#include "nebula/sdk.h"
#include "pg_conn.h"

typedef struct PgCdc PgCdc;

/* A column of the table, as the source described it (types from
 * pg_source.c's mapping; arrays as text). */
typedef struct PgCdcColumn {
  const char *name;
  NbField field;
} PgCdcColumn;

/* Check the server (wal_level, the REPLICATION attribute), the
 * publication (created when asked) and the slot; nothing is streamed
 * yet.  conn (the source's SQL connection) and server are borrowed for
 * the handle's life; cols are copied.  Returns NB_OK, NB_INVALID,
 * NB_NOT_FOUND, NB_IO, NB_UNAVAILABLE, NB_NOMEM. */
int pg_cdc_open(const NbHostApi *host, const NbSettings *settings, PgServer *server,
                PGconn *conn, const char *table, const char *sql_name,
                const PgCdcColumn *cols, size_t ncols, uint64_t batch_rows,
                uint64_t batch_bytes, PgCdc **out, NbError *err);
int pg_cdc_schema(PgCdc *cdc, struct ArrowSchema *out, NbError *err);
int pg_cdc_seek(PgCdc *cdc, const void *position, size_t len, NbError *err);
int pg_cdc_next(PgCdc *cdc, struct ArrowArray *out, NbBatchInfo *info, NbError *err);
void pg_cdc_close(PgCdc *cdc);

#endif
